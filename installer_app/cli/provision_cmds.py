"""``installer-app provision``: the whole workflow, headless, for one or several boards.

The flow itself lives in installer_app/workflow; this module only picks the ports, answers the
workflow's questions from flags, the environment or a prompt, and prints its events: lines for a
person, or with ``--json`` one JSON object per line on stdout (the terminal QR code then goes to
stderr). Several boards run in parallel threads; the exit code is the worst board's
(workflow/outcome.py).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TextIO

from installer_app.cli.argparse_i18n import TableHelpFormatter
from installer_app.cli.context import CliContext, bounded_arg, emit_json, say, tr
from installer_app.cli.parsers import add_command, add_json_flag
from installer_app.config import BOUNDS, ConfigError, Settings
from installer_app.device.errors import DeviceError
from installer_app.device.ports import list_ports
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import one_line, render_plain, terminal_safe
from installer_app.provider.admin_menu import TYPE_SN_PATH, arrows
from installer_app.provider.qr import render_terminal
from installer_app.secrets import Secret, redact
from installer_app.workflow.events import (
    BoardInfo,
    Outcome,
    ProvisionResult,
    ResumeQuestion,
    Step,
    WifiCredentials,
    WorkflowEvent,
)
from installer_app.workflow.outcome import worst_exit_code
from installer_app.workflow.parallel import BoardRuns
from installer_app.workflow.plan import flow_rules
from installer_app.workflow.wiring import Session, open_session

ENV_WIFI_PSK = "INSTALLER_WIFI_PSK"

EXIT_CODES_HELP = QT_TRANSLATE_NOOP(
    "cli",
    "exit codes:\n"
    "  0  done (every board)\n"
    "  2  usage or configuration\n"
    "  3  device (not found, faulty, wrong model, or holding a credential this computer did not "
    "issue)\n"
    "  4  provider (WeCom or the partner service refused, or the SN is registered elsewhere)\n"
    "  5  timed out waiting for the binding or the companion app\n"
    "  6  no credential available (inventory empty)\n"
    "  with several boards: the worst one, in the order 130, 1, 2, 3, 4, 6, 5",
)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        sub,
        "provision",
        [common],
        QT_TRANSLATE_NOOP(
            "cli",
            "provision boards: credential, verify, lock, Wi-Fi, binding QR, binding watch",
        ),
        description=Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "Provision one or more boards end to end. The Wi-Fi password never goes on "
                "the command line: set {env} or type it at the hidden prompt.",
            ),
            env=ENV_WIFI_PSK,
        ).render(),
        epilog=tr(EXIT_CODES_HELP),
        formatter_class=TableHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port",
        action="append",
        metavar="PORT",
        help=tr(QT_TRANSLATE_NOOP("cli", "a board's port (repeat for several)")),
    )
    where.add_argument(
        "--all", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "every detected board"))
    )
    parser.add_argument(
        "--wifi-ssid", metavar="S", help=tr(QT_TRANSLATE_NOOP("cli", "join this Wi-Fi network"))
    )
    add_json_flag(parser, QT_TRANSLATE_NOOP("cli", "one JSON object per line on stdout"))
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "stop once the QR code is shown (not bound yet)")),
    )
    parser.add_argument(
        "--timeout",
        type=bounded_arg(*BOUNDS[("binding", "timeout_s")]),
        metavar="S",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "seconds to wait for the binding and the companion app ([binding] timeout_s)",
            )
        ),
    )
    parser.set_defaults(handler=run_provision)


class CliAnswers:
    """The CLI's answers: carry on, resume, and the Wi-Fi given up front."""

    def __init__(self, wifi: WifiCredentials | None) -> None:
        self._wifi = wifi

    def proceed_with_board(self, board: BoardInfo) -> Literal["continue", "skip", "factory_reset"]:
        return "continue"

    def resume_or_skip(self, question: ResumeQuestion) -> Literal["resume", "skip"]:
        return "resume"

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        return self._wifi


def wifi_from_args(ssid: str | None, env: Mapping[str, str]) -> WifiCredentials | None:
    """The network to join: the SSID flag, the password from the environment or a hidden
    prompt (asked once, before any board starts)."""
    if not ssid:
        return None
    if not 1 <= len(ssid.encode("utf-8")) <= 32:
        raise ConfigError(
            Message(QT_TRANSLATE_NOOP("cli", "The Wi-Fi network name must be 1 to 32 bytes."))
        )
    psk = env.get(ENV_WIFI_PSK)
    if psk is None:
        if not sys.stdin.isatty():
            raise ConfigError(
                Message(
                    QT_TRANSLATE_NOOP(
                        "cli", "The Wi-Fi password for {ssid} is needed, and there is no terminal."
                    ),
                    ssid=ssid,
                ),
                Message(
                    QT_TRANSLATE_NOOP("cli", "Set the environment variable {env}."),
                    env=ENV_WIFI_PSK,
                ),
            )
        prompt = Message(
            QT_TRANSLATE_NOOP("cli", "Wi-Fi password for {ssid} (empty for an open network): "),
            ssid=ssid,
        )
        psk = getpass.getpass(prompt.render(), stream=sys.stderr)
    if not _psk_ok(psk):
        raise ConfigError(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "The Wi-Fi password must be empty (open network), 8 to 63 characters, or 64 "
                    "hex digits.",
                )
            )
        )
    return WifiCredentials(ssid=ssid, psk=Secret(psk))


def _psk_ok(psk: str) -> bool:
    size = len(psk.encode("utf-8"))
    if size == 0 or 8 <= size <= 63:
        return True
    return size == 64 and all(c in "0123456789abcdefABCDEF" for c in psk)


def _ports(args: argparse.Namespace, settings: Settings) -> list[str]:
    if args.port:
        return list(dict.fromkeys(args.port))
    found = [p.device for p in list_ports(settings.device.allowlist) if p.likely or p.simulated]
    if not found:
        raise DeviceError(
            Message(QT_TRANSLATE_NOOP("cli", "No board was found on any serial port.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "Plug the board in (check the cable), or name its port with --port."
                )
            ),
        )
    return found


_STEP_LABELS: dict[Step, Message] = {
    Step.CONNECT: Message(QT_TRANSLATE_NOOP("cli", "Connect")),
    Step.HELLO: Message(QT_TRANSLATE_NOOP("cli", "Board")),
    Step.CREDENTIAL: Message(QT_TRANSLATE_NOOP("cli", "Credential")),
    Step.WRITE: Message(QT_TRANSLATE_NOOP("cli", "Write")),
    Step.VERIFY: Message(QT_TRANSLATE_NOOP("cli", "Verify")),
    Step.COMMIT: Message(QT_TRANSLATE_NOOP("cli", "Lock")),
    Step.WIFI: Message(QT_TRANSLATE_NOOP("cli", "Wi-Fi")),
    Step.QR: Message(QT_TRANSLATE_NOOP("cli", "QR code")),
    Step.BINDING: Message(QT_TRANSLATE_NOOP("cli", "Binding")),
    Step.APP: Message(QT_TRANSLATE_NOOP("cli", "Companion app")),
    Step.DONE: Message(QT_TRANSLATE_NOOP("cli", "Done")),
}

_OUTCOME_LABELS: dict[Outcome, Message] = {
    Outcome.STARTED: Message(QT_TRANSLATE_NOOP("cli", "started")),
    Outcome.PROGRESS: Message(QT_TRANSLATE_NOOP("cli", "in progress")),
    Outcome.WAITING: Message(QT_TRANSLATE_NOOP("cli", "waiting")),
    Outcome.RETRYING: Message(QT_TRANSLATE_NOOP("cli", "retrying")),
    Outcome.OK: Message(QT_TRANSLATE_NOOP("cli", "ok")),
    Outcome.SKIPPED: Message(QT_TRANSLATE_NOOP("cli", "skipped")),
    Outcome.FAILED: Message(QT_TRANSLATE_NOOP("cli", "FAILED")),
}

# Plain data worth a person's eye, per step (the rest is in --json).
_SHOWN = (
    "model_id",
    "hw_id",
    "state",
    "status",
    "sn",
    "device_sn",
    "net_state",
    "corp_name",
    "agentid",
)


class Printer:
    """Renders events and results; one lock so parallel boards never interleave a line."""

    def __init__(self, *, json_lines: bool, several: bool) -> None:
        self.json_lines = json_lines
        self.several = several
        self._lock = threading.Lock()
        self._sn: dict[str | None, str] = {}  # per port, from the events that name it
        self._fallback_shown: set[str | None] = set()

    @property
    def qr_stream(self) -> TextIO:
        return sys.stderr if self.json_lines else sys.stdout

    def event(self, event: WorkflowEvent) -> None:
        with self._lock:
            sn = event.data.get("device_sn")
            if isinstance(sn, str) and sn:
                self._sn[event.port] = sn
            if self.json_lines:
                emit_json(event.to_json())
            elif event.step is not Step.DONE:
                say(self._line(event))
            url = event.data.get("url")
            if (
                event.step is Step.QR
                and isinstance(url, str)
                and event.outcome
                in (
                    Outcome.OK,
                    Outcome.PROGRESS,
                )
            ):
                self._qr(event.port, url)

    def _line(self, event: WorkflowEvent) -> str:
        step = _STEP_LABELS[event.step].render()
        line = f"{self._prefix(event.port)}{step}: {_OUTCOME_LABELS[event.outcome].render()}"
        if event.reason is not None:
            line += f" — {render_plain(event.reason)}"
        details = [
            f"{k}={one_line(str(event.data[k]))}"
            for k in _SHOWN
            if event.data.get(k) not in (None, "")
        ]
        if details:
            line += f" ({' '.join(details)})"
        return line

    def _prefix(self, port: str | None) -> str:
        return f"[{port}] " if self.several and port else ""

    def _qr(self, port: str | None, url: str) -> None:
        stream = self.qr_stream
        print(render_terminal(url), file=stream, flush=True)
        label = Message(QT_TRANSLATE_NOOP("cli", "Scan in WeCom to bind the board: {url}"), url=url)
        print(
            terminal_safe(redact(self._prefix(port) + render_plain(label))), file=stream, flush=True
        )
        sn = self._sn.get(port)
        if sn and port not in self._fallback_shown:
            self._fallback_shown.add(port)  # once per board, not at every renewal of the code
            print(sn_fallback(sn, bold=stream.isatty()), file=stream, flush=True)

    def result(self, result: ProvisionResult) -> None:
        with self._lock:
            if self.json_lines:
                emit_json(result.to_json())
                return
            prefix = self._prefix(result.port)
            if result.ok:
                if result.corpid:
                    text = Message(
                        QT_TRANSLATE_NOOP(
                            "cli", "Done: SN {sn} is bound to {corp}; companion app: {app}."
                        ),
                        sn=result.device_sn,
                        corp=result.corp_name or result.corpid,
                        app=_app_text(result.app_installed),
                    )
                else:
                    text = Message(
                        QT_TRANSLATE_NOOP(
                            "cli", "Done: SN {sn} is provisioned; not bound yet (--no-wait)."
                        ),
                        sn=result.device_sn,
                    )
                say(prefix + render_plain(text))
                return
            label = Message(QT_TRANSLATE_NOOP("cli", "Error")).render()
            say(
                f"{prefix}{label}: {render_plain(result.error) if result.error else '?'}",
                sys.stderr,
            )
            if result.hint is not None:
                say(f"{prefix}  → {render_plain(result.hint)}", sys.stderr)


def sn_fallback(sn: str, *, bold: bool = False) -> str:
    """The other way to bind: the admin types the SN in WeCom. The SN stands alone on its own
    framed line (bold on a terminal) so that it is easy to read out and to copy."""
    head = Message(
        QT_TRANSLATE_NOOP(
            "cli", "Cannot scan? The enterprise admin can add the board by typing its SN:"
        )
    ).render()
    steps = Message(
        QT_TRANSLATE_NOOP("cli", "In the WeCom mobile app: {path}, then type the SN above."),
        path=arrows(TYPE_SN_PATH),
    ).render()
    shown = f"\x1b[1m{sn}\x1b[0m" if bold else sn
    rule = "+" + "-" * (len(sn) + 6) + "+"
    return "\n".join((head, rule, f"|   {shown}   |", rule, steps))


def _app_text(installed: bool | None) -> str:
    if installed is None:
        return Message(QT_TRANSLATE_NOOP("cli", "not checkable")).render()
    if installed:
        return Message(QT_TRANSLATE_NOOP("cli", "installed")).render()
    return Message(QT_TRANSLATE_NOOP("cli", "not installed")).render()


def run_provision(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        return _provision(args, ctx)
    except InstallerError as exc:
        if not args.json:
            raise
        # A script reading --json gets its result line even when nothing could start.
        emit_json(
            ProvisionResult(
                ok=False, exit_code=exc.exit_code, error=exc.message, hint=exc.hint
            ).to_json()
        )
        hint = f" → {render_plain(exc.hint)}" if exc.hint else ""
        say(render_plain(exc.message) + hint, sys.stderr)
        return exc.exit_code


def _provision(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    rules = flow_rules(settings)  # the wizard's Provisioner applies the same rules
    if args.wifi_ssid and not rules.sets_wifi:
        raise ConfigError(
            Message(QT_TRANSLATE_NOOP("cli", "--wifi-ssid does not apply to this configuration.")),
            rules.why_no_wifi(),
        )
    ports = _ports(args, settings)
    wifi = wifi_from_args(args.wifi_ssid, os.environ)
    session = open_session(settings, ctx.data_dir, timeout_s=args.timeout)
    ctx.on_close(session.close)
    printer = Printer(json_lines=args.json, several=len(ports) > 1)
    return provision_boards(session, ports, printer, CliAnswers(wifi), no_wait=args.no_wait)


def provision_boards(
    session: Session,
    ports: Sequence[str],
    printer: Printer,
    answers: CliAnswers,
    *,
    no_wait: bool = False,
) -> int:
    """Run the workflow for every port in parallel (``workflow.parallel.BoardRuns``, as the
    wizard's bench view does); the worst board's exit code. Ctrl-C cancels every board (each
    stops promptly and consistently) and gives 130."""
    runs = BoardRuns(session.provisioner, no_wait=no_wait)
    codes: dict[str, int] = {}

    def finished(result: ProvisionResult) -> None:
        if result.port is not None:
            codes[result.port] = result.exit_code
        printer.result(result)

    for port in ports:
        runs.start(port, answers, printer.event, finished)
    try:
        runs.join()
    except KeyboardInterrupt:
        runs.cancel_all()
        runs.join()
        return ExitCode.INTERRUPTED
    return worst_exit_code(codes.get(port, ExitCode.FAILURE) for port in ports)
