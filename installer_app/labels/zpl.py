"""ZPL II for Zebra label printers: one ``^XA … ^XZ`` label per board.

The QR code is ``^BQN`` (model 2) with ``^FDMA,<url>``: error correction M, automatic mode, as
the PDF labels. Only ASCII goes on a ZPL label (SN, HW_ID, model, the link), so no printer font
download is needed; ``^CI28`` still declares UTF-8 so a stray character cannot garble the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from installer_app.atomic_write import SHARED, replace_atomically
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.labels.content import LabelData
from installer_app.labels.layout import RollLabel

DOTS_PER_MM = 8  # 203 dpi, the common Zebra head


class ZplError(InstallerError):
    exit_code = ExitCode.USAGE


def _field(text: str) -> str:
    """Field data cannot hold ZPL's command prefixes (``^`` ``~``): they would start a command."""
    return "".join(ch for ch in text if ch.isprintable() and ch not in "^~")


def label_zpl(label: LabelData, size: RollLabel, dots_per_mm: int = DOTS_PER_MM) -> str:
    width = round(size.width * dots_per_mm)
    height = round(size.height * dots_per_mm)
    pad = 2 * dots_per_mm
    # ^BQ magnification: module size in dots; a version-4/5 code is ~33-37 modules + quiet zone.
    magnification = max(1, min(10, (height - 2 * pad) // 41))
    text_x = pad + magnification * 41 + pad
    font = max(18, min(40, height // 8))
    lines = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
    ]
    if label.qr_url:
        lines.append(f"^FO{pad},{pad}^BQN,2,{magnification}^FDMA,{_field(label.qr_url)}^FS")
    lines += [
        f"^FO{text_x},{pad}^A0N,{font},{font}^FD{_field(label.sn)}^FS",
        f"^FO{text_x},{pad + font + 10}^A0N,{font * 3 // 4},{font * 3 // 4}"
        f"^FDHW_ID {_field(label.hw_id)}^FS",
        f"^FO{text_x},{pad + 2 * font + 20}^A0N,{font * 3 // 4},{font * 3 // 4}"
        f"^FD{_field(label.model_id)}^FS",
        "^PQ1",
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def document_zpl(labels: Sequence[LabelData], size: RollLabel) -> str:
    size.check()
    return "".join(label_zpl(label, size) for label in labels)


def write_zpl(text: str, path: Path, *, printer_share: Path | None = None) -> None:
    """Save the job to ``path`` and, when given, copy it to the printer share (a raw queue such as
    ``\\\\server\\zebra`` or ``/dev/usb/lp0``: written straight, not replaced atomically)."""
    try:
        with replace_atomically(path, mode=SHARED, encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as exc:
        raise _write_error(path, exc) from None
    if printer_share is not None:
        try:
            with open(printer_share, "wb") as share:
                share.write(text.encode("utf-8"))
        except OSError as exc:
            raise _write_error(printer_share, exc) from None


def _write_error(path: Path, exc: OSError) -> ZplError:
    return ZplError(
        Message(
            QT_TRANSLATE_NOOP("labels", "Cannot write {file}: {reason}."),
            file=str(path),
            reason=exc.strerror or type(exc).__name__,
        ),
        Message(QT_TRANSLATE_NOOP("labels", "Check the path and that you may write there.")),
    )
