"""The handover package: the PDF report, the CSV and the XLSX of one site, written together."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from installer_app.handover.report import report_document
from installer_app.handover.rows import Handover
from installer_app.handover.tables import write_csv, write_error, write_xlsx
from installer_app.printing.document import Document, Rendered

# Draws a Document to a PDF file: ``installer_app.launch.render_pdf`` from the command line,
# ``ui.document_pdf.render`` in the wizard (which must not import the launcher: a cycle).
Renderer = Callable[[Document, Path], Rendered]


@dataclass(frozen=True)
class Package:
    pdf: Path
    csv: Path
    xlsx: Path
    rendered: Rendered


def base_name(handover: Handover) -> str:
    """``handover-<corpid>-<first>-<last>``; a corpid is outside text, so only safe characters."""
    corp = re.sub(r"[^0-9A-Za-z_-]+", "_", handover.corpid)[:64] or "site"
    return f"handover-{corp}-{handover.first_day.isoformat()}-{handover.last_day.isoformat()}"


def write_package(handover: Handover, folder: Path, render: Renderer) -> Package:
    """Write the three files into ``folder`` (made when missing), the PDF with ``render``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    stem = folder / base_name(handover)
    pdf, csv_path, xlsx = (
        stem.with_suffix(".pdf"),
        stem.with_suffix(".csv"),
        stem.with_suffix(".xlsx"),
    )
    write_csv(handover, csv_path)
    write_xlsx(handover, xlsx)
    try:
        rendered = render(report_document(handover), pdf)
    except OSError as exc:
        raise write_error(pdf, exc) from None
    return Package(pdf, csv_path, xlsx, rendered)
