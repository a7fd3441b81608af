"""Where labels go, in millimetres: an A4 sheet with a grid of labels, or one label per page for
a roll printer. Pure arithmetic; ``LayoutError`` says what does not fit."""

from __future__ import annotations

from dataclasses import dataclass

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.printing.document import Box

A4_MM = (210.0, 297.0)
# A label narrower or shorter than this cannot hold a QR code a phone reads and the SN under it.
MIN_LABEL_MM = 15.0


class LayoutError(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class SheetGrid:
    """``cols`` × ``rows`` labels on a page; margins around the grid, gaps between labels."""

    cols: int = 3
    rows: int = 8
    margin_top: float = 10.0
    margin_bottom: float = 10.0
    margin_left: float = 8.0
    margin_right: float = 8.0
    gap_x: float = 2.5
    gap_y: float = 0.0
    page_w: float = A4_MM[0]
    page_h: float = A4_MM[1]

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def label_w(self) -> float:
        usable = self.page_w - self.margin_left - self.margin_right - self.gap_x * (self.cols - 1)
        return usable / self.cols

    @property
    def label_h(self) -> float:
        usable = self.page_h - self.margin_top - self.margin_bottom - self.gap_y * (self.rows - 1)
        return usable / self.rows

    def check(self) -> SheetGrid:
        """``self`` when every label has room, else ``LayoutError``."""
        if not (1 <= self.cols <= 20 and 1 <= self.rows <= 40):
            raise LayoutError(
                Message(
                    QT_TRANSLATE_NOOP(
                        "labels",
                        "A sheet holds 1 to 20 columns and 1 to 40 rows, not {cols} × {rows}.",
                    ),
                    cols=self.cols,
                    rows=self.rows,
                )
            )
        values = (self.margin_top, self.margin_bottom, self.margin_left, self.margin_right)
        if min((*values, self.gap_x, self.gap_y)) < 0:
            raise LayoutError(
                Message(QT_TRANSLATE_NOOP("labels", "Margins and gaps cannot be negative."))
            )
        if self.label_w < MIN_LABEL_MM or self.label_h < MIN_LABEL_MM:
            raise LayoutError(
                Message(
                    QT_TRANSLATE_NOOP(
                        "labels",
                        "With these margins and gaps each label is {w} × {h} mm; it needs at "
                        "least {min} × {min} mm.",
                    ),
                    w=f"{self.label_w:.1f}",
                    h=f"{self.label_h:.1f}",
                    min=f"{MIN_LABEL_MM:g}",
                ),
                Message(
                    QT_TRANSLATE_NOOP("labels", "Use fewer columns or rows, or smaller margins.")
                ),
            )
        return self

    def slot(self, index: int) -> tuple[int, Box]:
        """The page (0-based) and the box of the ``index``-th label, filled row by row."""
        page, within = divmod(index, self.per_page)
        row, col = divmod(within, self.cols)
        x = self.margin_left + col * (self.label_w + self.gap_x)
        y = self.margin_top + row * (self.label_h + self.gap_y)
        return page, Box(x, y, self.label_w, self.label_h)


@dataclass(frozen=True)
class RollLabel:
    """One label per page: the page is the label (a roll printer's media size)."""

    width: float = 50.0
    height: float = 30.0

    def check(self) -> RollLabel:
        if not (MIN_LABEL_MM <= self.width <= 300 and MIN_LABEL_MM <= self.height <= 300):
            raise LayoutError(
                Message(
                    QT_TRANSLATE_NOOP(
                        "labels", "A roll label is {min} to 300 mm wide and high, not {w} × {h} mm."
                    ),
                    w=f"{self.width:g}",
                    h=f"{self.height:g}",
                    min=f"{MIN_LABEL_MM:g}",
                )
            )
        return self


def parse_size(text: str) -> tuple[float, float]:
    """``"50x30"`` (mm) → (50.0, 30.0); ValueError for anything else."""
    parts = text.lower().replace("×", "x").replace("*", "x").split("x")
    if len(parts) != 2:
        raise ValueError(f"not a size WxH in mm: {text!r}")
    w, h = (float(p.strip().removesuffix("mm")) for p in parts)
    return w, h
