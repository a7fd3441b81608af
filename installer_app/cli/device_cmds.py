"""``installer-app ports`` and ``installer-app device info|status|identify|reboot|factory-reset``.

Thin: each handler opens the port through DeviceClient, runs one command and prints the result
for a person (or one JSON object/list with ``--json``). Errors are DeviceErrors, which the CLI's
main prints as message and hint with exit code 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from installer_app.cli.context import CliContext, emit_json, say, tr
from installer_app.cli.parsers import add_actions, add_command, add_json_flag
from installer_app.config import DEFAULT_ALLOWLIST, ConfigError, load_settings
from installer_app.device.client import DeviceClient
from installer_app.device.ports import list_ports
from installer_app.device.responses import DeviceStatus, HelloInfo
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import json_safe, one_line
from installer_app.secrets import redact


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``ports`` and ``device`` to ``sub`` with ``parents=[common]``."""
    ports = add_command(
        sub,
        "ports",
        [common],
        QT_TRANSLATE_NOOP("cli", "list serial ports, likely boards first"),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "List the serial ports, likely boards first (USB-serial bridges on the "
                "allowlist, then running simulators).",
            )
        ),
    )
    add_json_flag(ports, QT_TRANSLATE_NOOP("cli", "print a JSON list"))
    ports.set_defaults(handler=cmd_ports)

    device = add_command(
        sub,
        "device",
        [common],
        QT_TRANSLATE_NOOP("cli", "talk to one board: info, status, identify, reboot, reset"),
    )
    actions = add_actions(device, "device_command")
    for name, handler, source in (
        (
            "info",
            cmd_info,
            QT_TRANSLATE_NOOP("cli", "show the board's model, firmware, HW_ID, state and SN"),
        ),
        (
            "status",
            cmd_status,
            QT_TRANSLATE_NOOP("cli", "show the board's network and WeCom state"),
        ),
        (
            "identify",
            cmd_identify,
            QT_TRANSLATE_NOOP("cli", "make the board blink and beep for 5 s"),
        ),
        (
            "reboot",
            cmd_reboot,
            QT_TRANSLATE_NOOP("cli", "restart the board and show it once it is back"),
        ),
    ):
        text = tr(source)
        parser = actions.add_parser(name, parents=[common], help=text, description=text)
        _port_argument(parser)
        add_json_flag(parser, QT_TRANSLATE_NOOP("cli", "print one JSON object"))
        parser.set_defaults(handler=handler)
    reset = add_command(
        actions,
        "factory-reset",
        [common],
        QT_TRANSLATE_NOOP("cli", "erase the board's credential and Wi-Fi (state BLANK)"),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Erase the board's credential and Wi-Fi settings; it becomes BLANK and can "
                "be provisioned again. Asks the board for its HW_ID first and names it.",
            )
        ),
    )
    _port_argument(reset)
    reset.add_argument(
        "--yes", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "really erase (required)"))
    )
    add_json_flag(reset, QT_TRANSLATE_NOOP("cli", "print one JSON object"))
    reset.set_defaults(handler=cmd_factory_reset)


def _port_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        required=True,
        metavar="PORT",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli", "serial port or pyserial URL (/dev/ttyUSB0, COM3, socket://host:port)"
            )
        ),
    )


def _state_name(value: int) -> str:
    return getattr(value, "name", str(value))


def hello_json(info: HelloInfo) -> dict[str, Any]:
    return {
        "model_id": info.model_id,
        "fw_version": info.fw_version,
        "hw_id": info.hw_id_hex,
        "proto": info.proto,
        "state": info.state.name,
        "sn": info.sn,
    }


def status_json(status: DeviceStatus) -> dict[str, Any]:
    return {
        "net_state": status.net_state.name,
        "wecom_state": status.wecom_state.name,
        "corp_name": status.corp_name,
    }


def _say_hello(port: str, info: HelloInfo) -> None:
    say(Message(QT_TRANSLATE_NOOP("cli", "Board on {port}"), port=port))
    rows = (
        (QT_TRANSLATE_NOOP("cli", "Model"), info.model_id),
        (QT_TRANSLATE_NOOP("cli", "Firmware"), info.fw_version),
        (QT_TRANSLATE_NOOP("cli", "HW ID"), info.hw_id_hex),
        (QT_TRANSLATE_NOOP("cli", "Protocol"), str(info.proto)),
        (QT_TRANSLATE_NOOP("cli", "State"), info.state.name),
        (QT_TRANSLATE_NOOP("cli", "SN"), info.sn or "-"),
    )
    for label, value in rows:
        say(f"  {Message(label).render() + ':':<12} {one_line(value)}")


def _open(args: argparse.Namespace, ctx: CliContext) -> DeviceClient:
    client = DeviceClient.open(args.port)
    ctx.on_close(client.close)
    return client


def cmd_ports(args: argparse.Namespace, ctx: CliContext) -> int:
    # The file only, not ctx.settings: listing ports needs no secret, so it must not wake the
    # OS credential store, and it must work even with a broken config file.
    try:
        allowlist = load_settings(ctx.config_path).device.allowlist
    except ConfigError:
        allowlist = DEFAULT_ALLOWLIST
    found = list_ports(allowlist)
    if args.json:
        line = json.dumps([p.to_json() for p in found], ensure_ascii=False)
        print(json_safe(redact(line)), flush=True)
        return ExitCode.OK
    if not found:
        say(Message(QT_TRANSLATE_NOOP("cli", "No serial ports found. Plug the board in.")))
        return ExitCode.OK
    likely = Message(QT_TRANSLATE_NOOP("cli", "likely")).render()
    simulated = Message(QT_TRANSLATE_NOOP("cli", "simulated")).render()
    header = (
        Message(QT_TRANSLATE_NOOP("cli", "Port")).render(),
        "VID:PID",
        Message(QT_TRANSLATE_NOOP("cli", "Serial")).render(),
        Message(QT_TRANSLATE_NOOP("cli", "Description")).render(),
        "",
    )
    rows = [
        (
            one_line(p.device),
            p.vid_pid or "-",
            one_line(p.serial_number or "-"),
            one_line(p.description or "-"),
            simulated if p.simulated else likely if p.likely else "",
        )
        for p in found
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        say("  ".join([*cells, row[4]]).rstrip())
    return ExitCode.OK


def cmd_info(args: argparse.Namespace, ctx: CliContext) -> int:
    info = _open(args, ctx).hello()
    if args.json:
        emit_json({"port": args.port, **hello_json(info)})
    else:
        _say_hello(args.port, info)
    return ExitCode.OK


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    status = _open(args, ctx).status()
    if args.json:
        emit_json({"port": args.port, **status_json(status)})
        return ExitCode.OK
    say(
        Message(
            QT_TRANSLATE_NOOP("cli", "Network: {net}   WeCom: {wecom}"),
            net=status.net_state.name,
            wecom=status.wecom_state.name,
        )
    )
    if status.corp_name is not None:
        say(Message(QT_TRANSLATE_NOOP("cli", "Bound to: {corp}"), corp=status.corp_name))
    return ExitCode.OK


def cmd_identify(args: argparse.Namespace, ctx: CliContext) -> int:
    _open(args, ctx).identify()
    if args.json:
        emit_json({"port": args.port, "identify": True})
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "The board on {port} is blinking and beeping for 5 seconds."
                ),
                port=args.port,
            )
        )
    return ExitCode.OK


def cmd_reboot(args: argparse.Namespace, ctx: CliContext) -> int:
    client = _open(args, ctx)
    if not args.json:
        say(Message(QT_TRANSLATE_NOOP("cli", "Restarting the board on {port}…"), port=args.port))
    info = client.reboot()
    if args.json:
        emit_json({"port": client.port_name, **hello_json(info)})
    else:
        say(Message(QT_TRANSLATE_NOOP("cli", "The board is back.")))
        _say_hello(client.port_name, info)
    return ExitCode.OK


def cmd_factory_reset(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.yes:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Refusing to erase without --yes: factory-reset deletes the board's SN, "
                    "credential and Wi-Fi settings, and a board bound to an enterprise stops "
                    "working until it is provisioned again. Run installer-app device info "
                    "--port {port} to see which board it is, then add --yes.",
                ),
                port=args.port,
            ),
            sys.stderr,
        )
        return ExitCode.USAGE
    client = _open(args, ctx)
    before = client.hello()
    client.factory_reset(before.hw_id)
    after = client.hello()
    if args.json:
        emit_json(
            {
                "port": args.port,
                "reset": True,
                "previous_sn": before.sn,
                "previous_state": before.state.name,
                **hello_json(after),
            }
        )
        return ExitCode.OK
    say(
        Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "Board {model} (HW ID {hw_id}, SN {sn}) on {port} was reset: its state is "
                "now {state}.",
            ),
            model=before.model_id,
            hw_id=before.hw_id_hex,
            sn=before.sn or "-",
            port=args.port,
            state=after.state.name,
        )
    )
    return ExitCode.OK
