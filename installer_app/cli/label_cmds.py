"""``labels`` and ``handover``: device labels (PDF sheet, PDF roll, ZPL) and the site handover
package (PDF, CSV, XLSX), headless. PDFs are drawn by Qt on its offscreen platform
(``launch.render_pdf``): no display needed. See docs/labels.md."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from installer_app.cli.context import CliContext, say, tr
from installer_app.cli.parsers import add_command
from installer_app.errors import ExitCode
from installer_app.handover.package import write_package
from installer_app.handover.rows import Handover, collect, require_rows
from installer_app.handover.team import collect_from_team
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.labels.content import (
    DYNAMIC_PROFILE_NOTE,
    LabelData,
    labels_for,
    records_for_day,
    records_for_sns,
    require_some,
)
from installer_app.labels.layout import RollLabel, SheetGrid, parse_size
from installer_app.labels.pages import roll_document, sheet_document
from installer_app.labels.zpl import document_zpl, write_zpl
from installer_app.launch import render_pdf
from installer_app.printing.document import Rendered
from installer_app.store import Store, open_store
from installer_app.workflow.wiring import check_settings, open_team_client

NO_CJK_FONT = Message(
    QT_TRANSLATE_NOOP(
        "cli",
        "Warning: this computer has no font for Chinese, so Chinese text in the PDF shows as "
        "empty boxes. Install one (on Debian or Ubuntu: apt install fonts-noto-cjk).",
    )
)


def _size_arg(text: str) -> tuple[float, float]:
    try:
        return parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "not a size in mm like 50x30: {text}"), text=repr(text)
            ).render()
        ) from None


def _day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "not a date like 2026-12-01: {text}"), text=repr(text)
            ).render()
        ) from None


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``labels`` and ``handover``."""
    _add_labels(sub, common)
    _add_handover(sub, common)


def _add_labels(sub: Any, common: argparse.ArgumentParser) -> None:
    labels = add_command(
        sub,
        "labels",
        [common],
        QT_TRANSLATE_NOOP("cli", "print device labels: SN, HW_ID, model, static QR code"),
    )
    which = labels.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--sn",
        action="append",
        metavar="SN",
        help=tr(QT_TRANSLATE_NOOP("cli", "a board's SN (repeat for more)")),
    )
    which.add_argument(
        "--site",
        metavar="CORPID",
        help=tr(QT_TRANSLATE_NOOP("cli", "every board bound to this enterprise")),
    )
    which.add_argument(
        "--all-today",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "every board provisioned today")),
    )
    labels.add_argument(
        "--layout",
        choices=("sheet", "roll", "zpl"),
        default="sheet",
        help=tr(QT_TRANSLATE_NOOP("cli", "A4 sheet (PDF), one label per page (PDF), or ZPL")),
    )
    labels.add_argument(
        "--grid",
        type=_size_arg,
        default=(3, 8),
        metavar="COLSxROWS",
        help=tr(QT_TRANSLATE_NOOP("cli", "labels per sheet, columns x rows (default 3x8)")),
    )
    labels.add_argument(
        "--margin",
        type=float,
        metavar="MM",
        help=tr(QT_TRANSLATE_NOOP("cli", "sheet margin on every side, in mm")),
    )
    labels.add_argument(
        "--gap",
        type=float,
        metavar="MM",
        help=tr(QT_TRANSLATE_NOOP("cli", "gap between labels, in mm")),
    )
    labels.add_argument(
        "--size",
        type=_size_arg,
        default=(50.0, 30.0),
        metavar="WxH",
        help=tr(QT_TRANSLATE_NOOP("cli", "roll or ZPL label size in mm (default 50x30)")),
    )
    labels.add_argument(
        "--printer",
        type=Path,
        metavar="PATH",
        help=tr(QT_TRANSLATE_NOOP("cli", "also copy the ZPL to this printer share or device")),
    )
    labels.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help=tr(QT_TRANSLATE_NOOP("cli", "the file to write")),
    )
    labels.set_defaults(handler=_labels)


def _add_handover(sub: Any, common: argparse.ArgumentParser) -> None:
    handover = add_command(
        sub,
        "handover",
        [common],
        QT_TRANSLATE_NOOP("cli", "the site handover: PDF report, CSV and XLSX of one enterprise"),
    )
    handover.add_argument(
        "--corp",
        required=True,
        metavar="CORPID",
        help=tr(QT_TRANSLATE_NOOP("cli", "the enterprise (corpid)")),
    )
    handover.add_argument(
        "--from",
        dest="first",
        type=_day_arg,
        metavar="DATE",
        help=tr(QT_TRANSLATE_NOOP("cli", "first day (YYYY-MM-DD)")),
    )
    handover.add_argument(
        "--to",
        dest="last",
        type=_day_arg,
        metavar="DATE",
        help=tr(QT_TRANSLATE_NOOP("cli", "last day (default today)")),
    )
    handover.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help=tr(QT_TRANSLATE_NOOP("cli", "the folder to write to")),
    )
    handover.add_argument(
        "--local",
        action="store_true",
        help=tr(
            QT_TRANSLATE_NOOP("cli", "team mode: this laptop's records only, not the team server's")
        ),
    )
    handover.set_defaults(handler=_handover)


def _store(ctx: CliContext) -> Store:
    store = open_store(ctx.settings, ctx.data_dir)
    ctx.on_close(store.close)
    return store


def _chosen_labels(args: argparse.Namespace, store: Store) -> list[LabelData]:
    if args.sn:
        what = Message(QT_TRANSLATE_NOOP("cli", "SNs {sns}"), sns=", ".join(args.sn))
        records = records_for_sns(store, args.sn)
    elif args.site:
        what = Message(QT_TRANSLATE_NOOP("cli", "no board is bound to {corp}"), corp=args.site)
        records = store.records_for_corp(args.site.strip())
    else:
        what = Message(QT_TRANSLATE_NOOP("cli", "no board was provisioned today"))
        records = records_for_day(store, datetime.now().astimezone())
    return require_some(labels_for(records), what)


def _labels(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    labels = _chosen_labels(args, _store(ctx))
    if settings.binding.qr == "dynamic":
        say(DYNAMIC_PROFILE_NOTE, sys.stderr)
    missing = [label.sn for label in labels if label.qr_url is None]
    if missing:
        say(
            Message(
                QT_TRANSLATE_NOOP("cli", "No static QR code in the history for: {sns}."),
                sns=", ".join(missing),
            ),
            sys.stderr,
        )
    width, height = args.size
    if args.layout == "zpl":
        write_zpl(
            document_zpl(labels, RollLabel(width, height)), args.output, printer_share=args.printer
        )
    else:
        if args.layout == "sheet":
            cols, rows = args.grid
            margin = (
                {}
                if args.margin is None
                else dict.fromkeys(
                    ("margin_top", "margin_bottom", "margin_left", "margin_right"), args.margin
                )
            )
            gap = {} if args.gap is None else {"gap_x": args.gap, "gap_y": args.gap}
            document = sheet_document(labels, SheetGrid(int(cols), int(rows), **margin, **gap))
        else:
            document = roll_document(labels, RollLabel(width, height))
        _report_fonts(render_pdf(document, args.output))
    say(
        Message(
            QT_TRANSLATE_NOOP("cli", "Wrote {count} labels to {file}."),
            count=len(labels),
            file=str(args.output),
        )
    )
    return ExitCode.OK


def _report_fonts(rendered: Rendered) -> None:
    if rendered.missing_cjk_font:
        say(NO_CJK_FONT, sys.stderr)


def _collect_handover(args: argparse.Namespace, ctx: CliContext) -> Handover:
    """From the team server's records in team mode (every installer's boards), else, or with
    ``--local``, from this laptop's."""
    settings = ctx.settings
    if not settings.team_mode or args.local:
        return collect(_store(ctx), args.corp, args.first, args.last)
    check_settings(settings)
    client = open_team_client(settings)
    ctx.on_close(client.close)
    return collect_from_team(client, args.corp, args.first, args.last)


def _handover(args: argparse.Namespace, ctx: CliContext) -> int:
    handover = require_rows(_collect_handover(args, ctx))
    package = write_package(handover, args.output, render_pdf)
    _report_fonts(package.rendered)
    say(
        Message(
            QT_TRANSLATE_NOOP("cli", "Wrote the handover of {corp} ({count} devices): {files}."),
            corp=handover.corpid,
            count=len(handover.rows),
            files=", ".join(str(p) for p in (package.pdf, package.csv, package.xlsx)),
        )
    )
    return ExitCode.OK
