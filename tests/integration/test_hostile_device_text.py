"""A hostile board: escape sequences, newlines and bidi overrides in MODEL_ID, FW_VERSION and SN.

``installer-app device info`` and ``provision`` run as real processes against a simulated board on
a real pty. Whatever the board says, the terminal gets no control character (its escapes are shown
as ``\\x1b`` and the like, visibly) and no forged line; ``--json`` stays valid JSON carrying the
raw value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from installer_app.secrets import Secret
from installer_app.store import SecretCipher, Stage, Store
from tests.fixtures.device import RunningSim
from tests.fixtures.workflow import MODEL_ID, WorkflowEnv
from tests.integration.test_device_cli import run
from tests.integration.test_provision_cli import run_cli

# Clear the screen, set the window title, forge a line; colour, DEL, carriage return, backspace.
# (The protocol's text fields are ASCII, and the client refuses anything else, so C1 and bidi
# controls cannot come from a board: tests/unit/test_terminal_text.py covers them.)
HOSTILE_MODEL = "\x1b[2J\x1b]0;pwned\x07WX\nState:       PROVISIONED"
HOSTILE_FW = "1.0\x1b[31m\x7f\r\x08"
HOSTILE_SN = "SN\x1b[31mRED\x1b[0m"
# What a terminal would act on: C0 but newline, DEL, C1, bidi controls and separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def hostile_board(
    make_sim: Callable[..., RunningSim], tmp_path: Path, **overrides: object
) -> RunningSim:
    state = tmp_path / "flash.json"
    state.write_text(
        json.dumps(
            {
                "format": 1,
                "hw_id": "a1b2c3d4e5f6",
                "credential": {"sn": HOSTILE_SN, "secret_no": "s3cr3t-hostile-board-0001"},
                "wifi": None,
                "bound_corp": None,
            }
        ),
        encoding="utf-8",
    )
    overrides.setdefault("model_id", HOSTILE_MODEL)
    overrides.setdefault("fw_version", HOSTILE_FW)
    return make_sim("pty", state_file=state, **overrides)


def test_device_info_escapes_what_the_board_says(
    make_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    board = hostile_board(make_sim, tmp_path)
    result = run("device", "info", "--port", board.url)
    assert result.returncode == 0, result.stderr
    assert not UNSAFE.search(result.stdout), repr(result.stdout)
    # No forged line: one "State:" row, the app's own, with what the board really is.
    states = [line.split()[1] for line in result.stdout.splitlines() if "State:" in line[:8]]
    assert states == ["PROVISIONED"] and len(result.stdout.splitlines()) == 7
    assert "\\x1b[2J\\x1b]0;pwned\\x07WX\\nState:" in result.stdout
    assert "1.0\\x1b[31m\\x7f\\r\\x08" in result.stdout
    assert "SN\\x1b[31mRED\\x1b[0m" in result.stdout


def test_device_info_json_keeps_the_raw_value_escaped_by_json(
    make_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    board = hostile_board(make_sim, tmp_path)
    result = run("device", "info", "--port", board.url, "--json")
    assert result.returncode == 0, result.stderr
    assert not UNSAFE.search(result.stdout), repr(result.stdout)
    (line,) = result.stdout.splitlines()
    info = json.loads(line)
    assert (info["model_id"], info["fw_version"], info["sn"]) == (
        HOSTILE_MODEL,
        HOSTILE_FW,
        HOSTILE_SN,
    )


def test_provision_shows_a_hostile_model_escaped(
    wf: WorkflowEnv, make_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    board = hostile_board(make_sim, tmp_path)
    cli = run_cli(wf, ["--port", board.url, "--no-wait"])
    assert cli.code != 0
    assert not UNSAFE.search(cli.stdout + cli.stderr), repr(cli.stdout + cli.stderr)
    assert "\\x1b]0;pwned\\x07WX\\nState:" in cli.stdout + cli.stderr
    assert not any(line.startswith("State:") for line in (cli.stdout + cli.stderr).splitlines())


def test_provision_event_lines_escape_the_board_sn(
    wf: WorkflowEnv, make_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    board = hostile_board(make_sim, tmp_path, model_id=MODEL_ID, fw_version="1.4.2")
    cli = run_cli(wf, ["--port", board.url, "--no-wait"])
    output = cli.stdout + cli.stderr
    assert not UNSAFE.search(output), repr(output)
    assert "SN\\x1b[31mRED\\x1b[0m" in output


def test_history_escapes_a_hostile_corp_name(key_file: Path, tmp_path: Path) -> None:
    """A corp name comes from WeCom or the board: it reaches `history` as one escaped line."""
    data = tmp_path / "data"
    with Store.open(data / "installer.db", SecretCipher.from_key_file(key_file)) as store:
        store.reserve(
            "WXH1",
            "0a0b0c0d",
            Secret("hostile-corp-secret-1"),
            source="register",
            model_id="WX-ATT-200",
            installer="li",
        )
        store.advance("WXH1", Stage.COMMITTED, installer="li")
        store.advance(
            "WXH1",
            Stage.BOUND,
            installer="li\x1b[8m",
            corpid="ww01",
            corp_name="Evil\nWXH2 forged\u202e",
        )
    result = run("history", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert not UNSAFE.search(result.stdout), repr(result.stdout)
    (line,) = result.stdout.splitlines()
    assert "Evil\\nWXH2 forged\\u202e" in line and "li\\x1b[8m" in line


def test_provision_json_lines_stay_json_with_the_raw_values(
    wf: WorkflowEnv, make_sim: Callable[..., RunningSim], tmp_path: Path
) -> None:
    board = hostile_board(make_sim, tmp_path, model_id=MODEL_ID)
    cli = run_cli(wf, ["--port", board.url, "--no-wait", "--json"])
    assert not UNSAFE.search(cli.stdout), repr(cli.stdout)
    hello = next(
        line for line in cli.json_lines() if line.get("step") == "hello" and "fw_version" in line
    )
    assert (hello["fw_version"], hello["sn"]) == (HOSTILE_FW, HOSTILE_SN)
