"""simulate-device's options map onto SimulatorConfig; impossible ones are explained."""

from __future__ import annotations

import argparse

import pytest

from installer_app.cli import build_parser
from installer_app.cli.sim_cmds import SimulatorOptionError, config_from_args
from installer_app.errors import ExitCode


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["simulate-device", *argv])


def test_every_option_reaches_the_config() -> None:
    args = parse(
        "--tcp", "4555", "--latency", "0.05", "--model-id", "WX-DOOR-100", "--hw-id",
        "24:0A:C4:12:34:56", "--no-wifi", "--noise", "--drop-rate", "0.1", "--corrupt-rate",
        "0.2", "--flash-fail", "--busy", "3", "--unplug-on", "commit", "--provider-url",
        "http://127.0.0.1:9", "--seed", "5",
    )  # fmt: skip
    config = config_from_args(args)
    assert config.model_id == "WX-DOOR-100"
    assert config.hw_id == bytes.fromhex("240ac4123456")
    assert config.latency_s == 0.05
    assert config.wifi is False
    assert config.noise is True
    assert (config.drop_rate, config.corrupt_rate) == (0.1, 0.2)
    assert (config.flash_fail_next, config.busy_next) == (1, 3)
    assert config.unplug_on == "COMMIT"
    assert config.binding_probe is not None
    assert config.seed == 5


def test_defaults_are_a_well_behaved_board() -> None:
    config = config_from_args(parse("--pty"))
    assert config.model_id == "WX-ATT-200"
    assert config.hw_id is None
    assert config.wifi and not config.noise
    assert config.drop_rate == config.corrupt_rate == 0
    assert config.flash_fail_next == config.busy_next == 0
    assert config.unplug_on is None and config.binding_probe is None


def test_pty_or_tcp_is_required() -> None:
    with pytest.raises(SystemExit):
        parse()
    with pytest.raises(SystemExit):
        parse("--pty", "--tcp", "1")


@pytest.mark.parametrize(
    "argv",
    [
        ("--pty", "--hw-id", "not-hex"),
        ("--pty", "--hw-id", "0102030405"),
        ("--pty", "--unplug-on", "explode"),
        ("--pty", "--model-id", "x" * 65),
    ],
)
def test_impossible_options_are_usage_errors(argv: tuple[str, ...]) -> None:
    with pytest.raises(SimulatorOptionError) as caught:
        config_from_args(parse(*argv))
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint is not None
