"""One connected board on the bench: port, model, HW_ID, its state chip, the step it is at and a
status light, and the one action that makes sense for it (Start, Check again, Retry). A click
selects the card (Ctrl+click adds it to the selection), as a scan of its label does."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from installer_app.i18n import Message
from installer_app.localtime import local_time, parse_utc
from installer_app.workflow.board_status import BoardStatus, status_label
from installer_app.workflow.events import Outcome, ProvisionResult, Step, WorkflowEvent
from ui.bench.steps import step_text
from ui.widgets.plain import plain_label, plain_tooltip
from ui.widgets.status_light import Light, StatusLight

_LIGHT_OF_OUTCOME = {
    Outcome.STARTED: Light.BUSY,
    Outcome.PROGRESS: Light.BUSY,
    Outcome.WAITING: Light.WARNING,
    Outcome.RETRYING: Light.WARNING,
    Outcome.OK: Light.BUSY,
    Outcome.SKIPPED: Light.BUSY,
    Outcome.FAILED: Light.FAILED,
}
LEFT_ALONE = frozenset({BoardStatus.ELSEWHERE, BoardStatus.WRONG_MODEL, BoardStatus.OLD_FIRMWARE})

# Room a card keeps for its texts whatever they say now, so that a new step's text changes no
# card's height: the step (light) and the detail under it, in lines of their fonts.
LIGHT_LINES = 2
DETAIL_LINES = 3
CARD_WIDTH_HINT = 320
CARD_MIN_WIDTH = 220


class BoardCard(QFrame):
    action_requested = Signal(str)  # the port
    select_requested = Signal(str, bool)  # the port, whether to add it to the selection

    def __init__(self, port: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.status: BoardStatus | None = None
        self.hw_id = ""
        self.sn = ""
        self.bound = False
        self.running = False
        self.selected = False
        self.setObjectName("boardCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # A card is as high as its texts need at its width (``_fit``), set as a fixed height,
        # and tells the bench nothing else about its size: a text that changes inside a card
        # then re-lays out that card, not the bench's rows, its scroll area and every other
        # card's wrapped text with them (issue #15: that was half of the GUI thread's time
        # with eight boards running).
        self._height = 0
        self._overflowing = False  # a text needs more than its room: the card is higher
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(CARD_MIN_WIDTH)
        column = QVBoxLayout(self)
        column.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(3)
        self.port_label = plain_label(port, self)
        self.port_label.setObjectName("cardPort")
        self.port_label.setToolTip(plain_tooltip(port))
        self.chip = plain_label("", self)
        self.chip.setObjectName("chip")
        self.chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top = QHBoxLayout()
        top.addWidget(self.port_label, 1)
        top.addWidget(self.chip)
        column.addLayout(top)
        # Model and HW_ID on one selectable line: a card is made while other boards run, and
        # every widget less is a shorter frame.
        self.info = plain_label("—", self)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.info)
        self.light = StatusLight(self.tr("Waiting for the board…"), self)
        self.light.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        column.addWidget(self.light)
        self.detail = plain_label("", self)
        self.detail.setObjectName("detail")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.detail)
        column.addStretch(1)
        self.action = QPushButton("", self)
        # Its place is kept while hidden: a card that gains its button (eight boards finishing
        # at once) then re-lays out neither itself nor the whole bench.
        policy = self.action.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.action.setSizePolicy(policy)
        self.action.setVisible(False)
        self.action.clicked.connect(lambda: self.action_requested.emit(self.port))
        column.addWidget(self.action, 0, Qt.AlignmentFlag.AlignRight)

    def set_port(self, port: str) -> None:
        self.port = port
        self.port_label.setText(port)
        self.port_label.setToolTip(plain_tooltip(port))

    # -- its size -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(CARD_WIDTH_HINT, self._height or super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(CARD_MIN_WIDTH, self._height or super().minimumSizeHint().height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False  # its height is fixed (``_fit``): the bench lays it out as a plain box

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def _fit(self) -> None:
        """Keep the card as high as its texts need at its width: the same for every ordinary
        step (room for ``LIGHT_LINES`` and ``DETAIL_LINES``), higher for a long message."""
        if self.isHidden():
            return  # a spare: fitted when it is shown and laid out (``resizeEvent``)
        _keep_lines(self.light.label, LIGHT_LINES)
        _keep_lines(self.detail, DETAIL_LINES)
        self._overflowing = self._overflows()
        # The light's own layouts first, innermost first: its label's lines reach the card's
        # layout through them, and each tells its parent only when it is laid out again.
        for inner in reversed(self.findChildren(QWidget)):
            if (inner_layout := inner.layout()) is not None:
                inner_layout.activate()
        layout = self.layout()
        needed = layout.totalHeightForWidth(self.width()) if layout is not None else 0
        if needed > 0 and needed != self._height:
            self._height = needed
            self.setFixedHeight(needed)

    def _overflows(self) -> bool:
        return (
            _overflows(self.info, 1)
            or _overflows(self.light.label, LIGHT_LINES)
            or _overflows(self.detail, DETAIL_LINES)
        )

    def _text_changed(self) -> None:
        """Fit the card again only when a text leaves its room or a long one has gone: the
        quick measure is a fraction of a full layout of the card's texts."""
        if not self.isHidden() and (self._overflowing or self._overflows()):
            self._fit()

    # Every setter below leaves Qt alone when nothing changes: a board's events repeat most of
    # what its card shows, and each call into Qt re-lays out or repaints part of the bench.

    def _set_detail(self, text: str) -> None:
        if _set_text(self.detail, text):
            self._text_changed()

    def _set_light(self, state: Light, text: str) -> None:
        if self.light.state is not state:
            self.light.set_state(state)
        if self.light.label.text() != text:
            self.light.set_text(text)
            self._text_changed()

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        self.setProperty("selected", "true" if selected else "false")
        self.style().unpolish(self)
        self.style().polish(self)
        self._fit()  # a selected card's border is thicker: its texts keep their room

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() is Qt.MouseButton.LeftButton:
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.select_requested.emit(self.port, add)
            event.accept()
            return
        super().mousePressEvent(event)

    # -- what the board says ------------------------------------------------------------------

    def set_status(self, status: BoardStatus) -> None:
        if status is self.status:
            return
        self.status = status
        self.chip.setText(status_label(status).render())
        self.chip.setProperty("status", status.value)
        self.chip.style().unpolish(self.chip)
        self.chip.style().polish(self.chip)

    def started(self) -> None:
        self.running = True
        self.bound = False
        self._hide_action()
        self._set_detail("")
        self._set_light(Light.BUSY, self.tr("Starting…"))

    def apply_event(self, event: WorkflowEvent) -> None:
        data = event.data
        if event.step is Step.HELLO and event.outcome is Outcome.OK:
            self.hw_id = str(data.get("hw_id", ""))
            info = self.tr("{model} · HW_ID {hw_id}").format(
                model=str(data.get("model_id", "—")), hw_id=self.hw_id or "—"
            )
            if _set_text(self.info, info):
                self._text_changed()
            if data.get("sn"):
                self.sn = str(data["sn"])
            status = data.get("status")
            if isinstance(status, str) and status in BoardStatus._value2member_map_:
                self.set_status(BoardStatus(status))
            if self.status is BoardStatus.DONE_HERE:
                self._show_done(data.get("corp_name"), data.get("done_at"))
        sn = data.get("device_sn")
        if isinstance(sn, str) and sn:
            self.sn = sn
        if event.step is Step.BINDING and event.outcome is Outcome.OK:
            self.bound = True
            self.set_status(BoardStatus.DONE_HERE)  # bound: done, whatever the app does next
            if event.reason is not None:
                self._set_detail(event.reason.render())
        if event.step is Step.DONE:
            return
        self._set_light(_LIGHT_OF_OUTCOME[event.outcome], step_text(event.step, event.outcome))
        if event.reason is not None and event.outcome in (
            Outcome.WAITING,
            Outcome.RETRYING,
            Outcome.FAILED,
        ):
            self._set_detail(event.reason.render())
        elif event.step is Step.QR and event.outcome is Outcome.OK:
            self.set_status(BoardStatus.NEEDS_ADMIN)
            self._set_detail(self.tr("In the binding queue."))

    def _show_done(self, corp: object, when: object) -> None:
        at = parse_utc(when) if isinstance(when, str) else None
        self._set_detail(
            self.tr("Bound to {corp} on {when}.").format(
                corp=str(corp or "—"), when=local_time(at) if at is not None else "—"
            )
        )

    def apply_result(self, result: ProvisionResult, left_alone: bool) -> None:
        self.running = False
        if result.hw_id:
            self.hw_id = result.hw_id
        if result.ok:
            self.set_status(BoardStatus.DONE_HERE)
            self._set_light(Light.OK, self.tr("Done"))
            self._set_detail(
                self.tr("SN {sn} is bound to {corp}.").format(
                    sn=result.device_sn or "—", corp=result.corp_name or result.corpid or "—"
                )
            )
            self._offer(self.tr("Check again"))
            return
        if left_alone or self.status in LEFT_ALONE:
            if self.status is BoardStatus.DONE_HERE:
                self._set_light(Light.IDLE, self.tr("Already done: left as it is."))
                self._offer(self.tr("Check again"))
            else:
                self._set_light(Light.WARNING, self.tr("Not ours to provision: left alone."))
                if result.error is not None and not left_alone:
                    self._set_detail(_with_hint(result.error, result.hint))
                self._hide_action()
            return
        self.set_status(BoardStatus.FAILED)
        self._set_light(Light.FAILED, self.tr("Failed"))
        if result.error is not None:
            self._set_detail(_with_hint(result.error, result.hint))
        self._offer(self.tr("Retry"))

    def offer_start(self) -> None:
        self._set_light(Light.IDLE, self.tr("Ready to start."))
        self._offer(self.tr("Start"))

    def _offer(self, text: str) -> None:
        if self.action.text() != text:
            self.action.setText(text)
        if self.action.isHidden():
            self.action.setVisible(True)

    def _hide_action(self) -> None:
        if not self.action.isHidden():
            self.action.setVisible(False)


def _set_text(label: QLabel, text: str) -> bool:
    """Whether ``text`` is new to ``label``."""
    if label.text() == text:
        return False
    label.setText(text)
    return True


def _overflows(label: QLabel, lines: int) -> bool:
    """Whether ``label``'s text takes more than ``lines`` lines at its width, measured by its
    font a few pixels narrower than the label (erring towards more lines)."""
    metrics = label.fontMetrics()
    width = label.contentsRect().width() - 4
    if width <= 0:
        return True
    wrapped = metrics.boundingRect(
        QRect(0, 0, width, 1 << 20), Qt.TextFlag.TextWordWrap, label.text()
    )
    return wrapped.height() > metrics.lineSpacing() * lines


def _keep_lines(label: QLabel, lines: int) -> None:
    """Room for ``lines`` lines of ``label``'s font (known once the style has polished it)."""
    height = label.fontMetrics().lineSpacing() * lines
    if label.minimumHeight() != height:
        label.setMinimumHeight(height)


def _with_hint(error: Message, hint: Message | None) -> str:
    text = error.render()
    return text + (" " + hint.render() if hint is not None else "")
