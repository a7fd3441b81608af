"""A QR code painted module by module, so it stays sharp at any size and device pixel ratio."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui.widgets.plain import plain_tooltip


def qr_matrix(url: str, *, quick: bool = False) -> list[list[bool]]:
    """The modules of ``url``'s QR code, quiet zone included (pure computation, a few ms): the
    core's, which the workflow's PNG and terminal renderings use too (``quick``: with the
    core's ``QUICK_MASK``, see there). Imported when a code is first shown, not when the wizard
    starts."""
    from installer_app.provider.qr import QUICK_MASK, QUIET_ZONE
    from installer_app.provider.qr import qr_matrix as core_qr_matrix

    return core_qr_matrix(url, border=QUIET_ZONE, mask=QUICK_MASK if quick else None)


def qr_image(matrix: list[list[bool]]) -> QImage:
    """One pixel per module (any thread: a QImage is not a widget)."""
    count = len(matrix)
    stride = (count + 3) // 4 * 4  # scan lines are 32-bit aligned
    rows = b"".join(
        bytes(0 if dark else 255 for dark in row) + bytes(stride - count) for row in matrix
    )
    image = QImage(rows, count, count, stride, QImage.Format.Format_Grayscale8)
    return image.copy()  # its own pixels: ``rows`` goes away


class QrView(QWidget):
    """Shows one URL as a QR code, as large as the widget allows, in whole device pixels."""

    def __init__(self, parent: QWidget | None = None, minimum: int = 240) -> None:
        super().__init__(parent)
        self._url = ""
        self._matrix: list[list[bool]] = []
        self._cached: QImage | None = None  # one pixel per module
        # Qt fills the background itself; a paint draws one small image, scaled, and nothing
        # else.
        self.setAutoFillBackground(True)
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(self.tr("Binding QR code"))

    def url(self) -> str:
        return self._url

    def set_url(self, url: str) -> None:
        if url == self._url:
            return
        self._url = url
        # Drawn here, on the window's thread, as the page shows it: with the quick mask, ~3 ms
        # instead of ~10 ms for the best of eight (any mask scans; bench_gui_stall's single run).
        self._matrix = qr_matrix(url, quick=True) if url else []
        self._cached = None
        self.setToolTip(plain_tooltip(url))
        self.update()

    def set_matrix(self, url: str, matrix: list[list[bool]], image: QImage | None = None) -> None:
        """``url`` with its modules (and image) already made by ``qr_matrix`` and ``qr_image``
        on a worker: the bench's binding queue draws many codes while boards run."""
        self._url = url
        self._matrix = matrix
        self._cached = image
        self.setToolTip(plain_tooltip(url))
        self.update()

    def _image(self) -> QImage:
        if self._cached is None:
            self._cached = qr_image(self._matrix)
        return self._cached

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, 320)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return width

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        side = min(self.width(), self.height())
        if not self._matrix:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No QR code yet"))
            return
        count = len(self._matrix)
        # Whole device pixels per module: a fractional module size blurs edges and hurts decoding.
        dpr = self.devicePixelRatioF()
        module_px = max(1, int(side * dpr) // count)
        total = module_px * count
        painter.scale(1 / dpr, 1 / dpr)
        left = round((self.width() * dpr - total) / 2)
        top = round((self.height() * dpr - total) / 2)
        # Scaled as it is painted, by a whole factor, without smoothing (crisp edges): a fraction
        # of a ms. A big pixmap made once per code cost more: Qt scales and converts a big image
        # on threads of its own while the window's thread waits, and with boards running that
        # wait was once 17 ms (issue #15, seen with perf sched).
        painter.drawImage(QRect(left, top, total, total), self._image())
        painter.end()
