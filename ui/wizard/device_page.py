"""Device: what HELLO said, and the installer's answer before anything is written."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QWidget,
)

from installer_app.localtime import local_time, parse_utc
from installer_app.workflow.events import (
    BoardInfo,
    Outcome,
    ResumeQuestion,
    Step,
    WorkflowEvent,
)
from ui import labels
from ui.widgets.plain import plain_label, plain_message
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage, wrapped_label


class DevicePage(WizardPage):
    page_id = PageId.DEVICE
    board_answered = Signal(str)  # "continue" | "skip" | "factory_reset"
    resume_answered = Signal(str)  # "resume" | "skip"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(self.tr("The board"), self.tr("Reading the board…"))
        self.status = StatusLight(self.tr("Opening the port…"), self)
        self.body.addWidget(self.status)
        box = QGroupBox(self.tr("Board"), self)
        form = QFormLayout(box)
        self.port = plain_label("—", box)
        self.model = plain_label("—", box)
        self.firmware = plain_label("—", box)
        self.hw_id = plain_label("—", box)
        self.state = plain_label("—", box)
        self.sn = plain_label("—", box)
        for label in (self.port, self.model, self.firmware, self.hw_id, self.state, self.sn):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("Port:"), self.port)
        form.addRow(self.tr("Model:"), self.model)
        form.addRow(self.tr("Firmware:"), self.firmware)
        form.addRow(self.tr("HW_ID:"), self.hw_id)
        form.addRow(self.tr("State:"), self.state)
        form.addRow(self.tr("SN:"), self.sn)
        self.body.addWidget(box)
        self.callout = wrapped_label("", self, "callout")
        self.callout.setVisible(False)
        self.body.addWidget(self.callout)
        self.body.addStretch(1)

        buttons = QHBoxLayout()
        self.reset_button = QPushButton(self.tr("Factory reset…"), self)
        self.reset_button.setObjectName("danger")
        self.skip_button = QPushButton(self.tr("Skip this board"), self)
        self.resume_button = QPushButton(self.tr("Resume"), self)
        self.continue_button = QPushButton(self.tr("Continue"), self)
        self.continue_button.setObjectName("primary")
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.continue_button)
        self.body.addLayout(buttons)
        self.reset_button.clicked.connect(self._factory_reset)
        self.skip_button.clicked.connect(self._skip)
        self.continue_button.clicked.connect(lambda: self._answer_board("continue"))
        self.resume_button.clicked.connect(lambda: self._answer_resume("resume"))
        self._asking: str | None = None
        self._board: BoardInfo | None = None
        self.confirm_reset = self._ask_reset_confirmation
        self._show_buttons(None)

    def _show_buttons(self, asking: str | None) -> None:
        self._asking = asking
        self.continue_button.setVisible(asking == "board")
        self.reset_button.setVisible(asking == "board")
        self.resume_button.setVisible(asking == "resume")
        self.skip_button.setVisible(asking is not None)

    def reset(self) -> None:
        self._board = None
        self.set_heading(self.tr("The board"), self.tr("Reading the board…"))
        self.status.set_state(Light.BUSY, "")
        self.status.set_text(self.tr("Opening the port…"))
        for label in (self.port, self.model, self.firmware, self.hw_id, self.state, self.sn):
            label.setText("—")
        self.callout.setVisible(False)
        self._show_buttons(None)

    def apply_event(self, event: WorkflowEvent) -> None:
        if event.step is Step.CONNECT:
            if event.port:
                self.port.setText(event.port)
            if event.outcome is Outcome.STARTED:
                self.status.set_state(Light.BUSY, "")
                self.status.set_text(self.tr("Opening the port…"))
        elif event.step is Step.HELLO:
            data = event.data
            if event.outcome is Outcome.STARTED:
                self.status.set_state(Light.BUSY, "")
                self.status.set_text(self.tr("Asking the board who it is (HELLO)…"))
            if "model_id" in data:
                self.model.setText(str(data.get("model_id") or "—"))
                self.firmware.setText(str(data.get("fw_version") or "—"))
                self.hw_id.setText(str(data.get("hw_id") or "—"))
                self.state.setText(labels.board_state(str(data.get("state") or "—")))
                self.sn.setText(str(data.get("sn") or "—"))
            if event.outcome is Outcome.OK:
                self.status.set_state(Light.OK, "")
                self.status.set_text(self.tr("The board answered."))
        if event.outcome is Outcome.FAILED:
            self.status.set_state(Light.FAILED, event.reason.render() if event.reason else "")

    def ask_board(self, board: BoardInfo) -> None:
        self._board = board
        self.port.setText(board.port)
        self.model.setText(board.model_id)
        self.firmware.setText(board.fw_version)
        self.hw_id.setText(board.hw_id)
        self.state.setText(labels.board_state(board.state))
        self.sn.setText(board.device_sn or "—")
        self.status.set_state(Light.OK, "")
        self.status.set_text(self.tr("The board answered."))
        if board.known_stage or board.state != "BLANK":
            self.set_heading(
                self.tr("This board already holds a credential"),
                self.tr("Continue resumes where it stopped; skip leaves it as it is."),
            )
            self.callout.setText(
                self.tr(
                    "Already provisioned: SN {sn}, state {state}, this computer's record: {stage}."
                ).format(
                    sn=board.device_sn or "—",
                    state=labels.board_state(board.state),
                    stage=labels.stage(board.known_stage) if board.known_stage else self.tr("none"),
                )
            )
            self.callout.setVisible(True)
        else:
            self.set_heading(
                self.tr("A blank board"),
                self.tr("Continue to give it a credential and lock it."),
            )
            self.callout.setVisible(False)
        self._show_buttons("board")

    def ask_resume(self, question: ResumeQuestion) -> None:
        if question.stage in ("bound", "app_installed"):
            self._ask_check_again(question)
            return
        self.resume_button.setText(self.tr("Resume"))
        bound = f" — {question.corp_name}" if question.corp_name else ""
        self.set_heading(
            self.tr("Resume this board?"),
            self.tr("It stopped at the stage '{stage}' with SN {sn}{bound}.").format(
                stage=labels.stage(question.stage), sn=question.device_sn, bound=bound
            ),
        )
        self.callout.setText(
            self.tr("Resume continues from that stage without taking a new credential.")
        )
        self.callout.setVisible(True)
        self._show_buttons("resume")

    def _ask_check_again(self, question: ResumeQuestion) -> None:
        """A done board is shown as done, with its enterprise and date: nothing to resume."""
        at = parse_utc(question.done_at) if question.done_at else None
        self.set_heading(
            self.tr("This board is already done"),
            self.tr("SN {sn} was bound to {corp} on {when}.").format(
                sn=question.device_sn,
                corp=question.corp_name or "—",
                when=local_time(at) if at is not None else "—",
            ),
        )
        self.callout.setText(
            self.tr(
                "Check again asks WeCom whether it is still bound; nothing is written to the "
                "board. Skip leaves it as it is."
            )
        )
        self.callout.setVisible(True)
        self.resume_button.setText(self.tr("Check again"))
        self._show_buttons("resume")

    def _answer_board(self, value: str) -> None:
        if self._asking == "board":
            self._show_buttons(None)
            self.board_answered.emit(value)

    def _answer_resume(self, value: str) -> None:
        if self._asking == "resume":
            self._show_buttons(None)
            self.resume_answered.emit(value)

    def _skip(self) -> None:
        if self._asking == "board":
            self._answer_board("skip")
        elif self._asking == "resume":
            self._answer_resume("skip")

    def _factory_reset(self) -> None:
        if self._board is not None and self.confirm_reset(self._board):
            self._answer_board("factory_reset")

    def _ask_reset_confirmation(self, board: BoardInfo) -> bool:
        text = self.tr(
            "Factory reset the board {model} with HW_ID {hw_id} (SN {sn})?\n\n"
            "It loses its credential and Wi-Fi settings. A board bound to an enterprise must "
            "also be removed there."
        ).format(model=board.model_id, hw_id=board.hw_id, sn=board.device_sn or "—")
        box = plain_message(  # the model and SN come from the board: plain text
            self,
            QMessageBox.Icon.Warning,
            self.tr("Factory reset"),
            text,
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        try:
            return box.exec() == QMessageBox.StandardButton.Reset
        finally:
            box.deleteLater()
