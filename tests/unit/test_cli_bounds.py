"""Every timing and count a command line takes has a sane range (issue 11, hardening 5): nan,
inf and out-of-range values are a usage error (exit 2) that names the option, before anything
runs. docs/configuration.md lists the ranges and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer_app.cli import main

BAD = [
    ["provision", "--all", "--timeout", "nan"],
    ["provision", "--all", "--timeout", "inf"],
    ["provision", "--all", "--timeout", "0"],
    ["provision", "--all", "--timeout", "1e-9"],
    ["provision", "--all", "--timeout", "86401"],
    ["provision", "--all", "--timeout", "1e400"],
    ["demo", "--headless", "--scan-after", "nan"],
    ["demo", "--headless", "--scan-after", "-1"],
    ["demo", "--headless", "--scan-after", "1e9"],
    ["demo", "--headless", "--boards", "17"],
    ["emulate-provider", "--install-delay", "nan"],
    ["emulate-provider", "--install-delay", "-0.5"],
    ["emulate-provider", "--auto-scan", "inf"],
    ["emulate-provider", "--token-ttl", "0"],
    ["emulate-provider", "--token-ttl", "nan"],
    ["emulate-provider", "--token-ttl", "1e12"],
    ["emulate-provider", "--port", "70000"],
    ["emulate-provider", "--port", "80.5"],
    ["simulate-device", "--tcp", "-1"],
    ["simulate-device", "--pty", "--latency", "nan"],
    ["simulate-device", "--pty", "--latency", "3600"],
    ["simulate-device", "--pty", "--drop-rate", "1.5"],
    ["simulate-device", "--pty", "--corrupt-rate", "-0.1"],
    ["simulate-device", "--pty", "--busy", "1e9"],
    ["simulate-device", "--pty", "--busy", "2.5"],
]


@pytest.mark.parametrize("argv", BAD, ids=lambda argv: " ".join(argv))
def test_out_of_range_timing_or_count_is_a_usage_error_naming_the_option(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    option = argv[-2]
    with pytest.raises(SystemExit) as exit_info:
        main(["--lang", "en", *argv])
    _out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert option in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["provision", "--all", "--timeout", "1"], "timeout", 1.0),
        (["provision", "--all", "--timeout", "86400"], "timeout", 86400.0),
        (["demo", "--scan-after", "0"], "scan_after", 0.0),
        (["emulate-provider", "--port", "0"], "port", 0),
        (["emulate-provider", "--token-ttl", "2"], "token_ttl", 2.0),
        (["simulate-device", "--pty", "--busy", "3"], "busy", 3),
        (["emulate-provider", "--corpid-form", "open"], "corpid_form", "open"),
        (["simulate-device", "--pty", "--drop-rate", "1"], "drop_rate", 1.0),
    ],
)
def test_values_inside_the_ranges_are_taken(argv: list[str], dest: str, value: float) -> None:
    from installer_app.cli import build_parser

    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value and type(getattr(args, dest)) is type(value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[provider]\nwecom_base_url = "http://qyapi.weixin.qq.com"\n', "wecom_base_url"),
        ('[provider]\nwecom_base_url = "http://[::1"\n', "[provider] wecom_base_url"),
        ('[partner]\nbase_url = "ftp://partner.example"\n', "[partner] base_url"),
        ('[partner]\nbase_url = "file:///etc/passwd"\n', "[partner] base_url"),
        ("[binding]\npoll_interval_s = 1e-9\n", "[binding] poll_interval_s"),
        ("[binding]\ntimeout_s = nan\n", "[binding] timeout_s"),
    ],
)
def test_check_refuses_such_settings_with_exit_2_not_a_network_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    code = main(
        ["check", "--config", str(config), "--data-dir", str(tmp_path / "d"), "--lang", "en"]
    )
    _out, err = capsys.readouterr()
    assert code == 2
    assert key in err and "Traceback" not in err
    assert "network" not in err.lower()
