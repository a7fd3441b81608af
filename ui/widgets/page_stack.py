"""The wizard's pages, one shown at a time, sized by the page shown only.

``QStackedWidget`` asks every page, hidden ones included, for its minimum size and its height for
a width each time anything in the window changes size: a new line on the bench's binding queue,
the Wi-Fi bar opening. Each page's wrapped labels then lay their text out again, which was a third
of the GUI thread's time while eight boards ran (issue #15). The page shown is the only one that
matters for the window's size, so it is the only one asked.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QStackedLayout, QWidget


class _ShownPageLayout(QStackedLayout):
    def _shown(self) -> QWidget | None:
        return self.currentWidget()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        page = self._shown()
        return page.sizeHint() if page is not None else QSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        page = self._shown()
        if page is None:
            return QSize()
        return page.minimumSizeHint().expandedTo(page.minimumSize())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        page = self._shown()
        return page is not None and page.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        page = self._shown()
        return page.heightForWidth(width) if page is not None else -1


class PageStack(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = _ShownPageLayout(self)

    def addWidget(self, page: QWidget) -> int:  # noqa: N802 - QStackedWidget's name
        return self._layout.addWidget(page)

    def count(self) -> int:
        return self._layout.count()

    def currentWidget(self) -> QWidget | None:  # noqa: N802 - QStackedWidget's name
        return self._layout.currentWidget()

    def setCurrentWidget(self, page: QWidget) -> None:  # noqa: N802 - QStackedWidget's name
        self._layout.setCurrentWidget(page)
        # The window's size constraints are now the new page's.
        self._layout.invalidate()
