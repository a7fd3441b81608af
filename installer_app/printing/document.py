"""A printable document as plain data: pages of text boxes, QR codes, lines and filled boxes,
every position in millimetres from the page's top-left corner.

The label sheets and the site handover are built as a ``Document`` in the Qt-free core (pure,
testable) and drawn by one renderer, ``ui/document_pdf.py``, reached through
``installer_app.launch.render_pdf`` (Qt's QPdfWriter: the fonts of the machine, CJK included,
and no PDF library in the build; see docs/labels.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Box:
    """A rectangle in mm."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class Text:
    """Text in ``box``, wrapped at word (or, for ``anywhere``, any) boundaries and clipped to it.
    ``size_pt`` in typographic points; text from outside is drawn as it is, never as markup."""

    box: Box
    text: str
    size_pt: float = 9.0
    bold: bool = False
    align: Align = "left"
    wrap_anywhere: bool = False


@dataclass(frozen=True)
class QrCode:
    """A QR code of ``url`` filling the square ``box`` (its quiet zone included)."""

    box: Box
    url: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width_mm: float = 0.2


@dataclass(frozen=True)
class Frame:
    """A rectangle outline (``fill`` grey level 0..255, or None for none)."""

    box: Box
    width_mm: float = 0.2
    fill: int | None = None


Item = Text | QrCode | Line | Frame


@dataclass
class Page:
    width_mm: float
    height_mm: float
    items: list[Item] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.items.append(item)


@dataclass
class Document:
    title: str
    pages: list[Page] = field(default_factory=list)

    def texts(self) -> list[str]:
        """Every text drawn, in order (tests, and the check for CJK fonts)."""
        return [i.text for p in self.pages for i in p.items if isinstance(i, Text)]

    def qr_urls(self) -> list[str]:
        return [i.url for p in self.pages for i in p.items if isinstance(i, QrCode)]


def has_cjk(text: str) -> bool:
    """True when ``text`` holds a CJK ideograph or full-width punctuation (needs a CJK font)."""
    return any(
        "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"
        for ch in text
    )


@dataclass(frozen=True)
class Rendered:
    """What ``launch.render_pdf`` made: the page count, and whether text needing a CJK font was
    drawn on a machine that has none (Qt then draws empty boxes: say so to the person)."""

    pages: int
    missing_cjk_font: bool
    font_family: str
