"""Write: the credential steps, each with its status, and a progress bar."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QProgressBar, QVBoxLayout, QWidget

from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage, wrapped_label

WRITE_STEPS = (Step.CREDENTIAL, Step.WRITE, Step.VERIFY, Step.COMMIT)

LIGHT_OF = {
    Outcome.STARTED: Light.BUSY,
    Outcome.PROGRESS: Light.BUSY,
    Outcome.WAITING: Light.WARNING,
    Outcome.RETRYING: Light.WARNING,
    Outcome.OK: Light.OK,
    Outcome.SKIPPED: Light.OK,
    Outcome.FAILED: Light.FAILED,
}


class WritePage(WizardPage):
    page_id = PageId.WRITE

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(
            self.tr("Writing the credential"),
            self.tr("Keep the board plugged in until the last step is done."),
        )
        self.progress = QProgressBar(self)
        self.progress.setRange(0, len(WRITE_STEPS))
        self.progress.setFormat(self.tr("%v of %m steps"))
        self.body.addWidget(self.progress)
        box = QGroupBox(self.tr("Steps"), self)
        column = QVBoxLayout(box)
        titles = {
            Step.CREDENTIAL: self.tr("Obtain an SN and its credential"),
            Step.WRITE: self.tr("Write them to the board"),
            Step.VERIFY: self.tr("Verify (the board proves it holds the credential)"),
            Step.COMMIT: self.tr("Lock it into flash"),
        }
        self.lights: dict[Step, StatusLight] = {}
        for step in WRITE_STEPS:
            light = StatusLight(titles[step], box)
            light.setObjectName(f"step_{step.value}")
            column.addWidget(light)
            self.lights[step] = light
        self.body.addWidget(box)
        self.sn = wrapped_label("", self, "sn")
        self.body.addWidget(self.sn)
        self.body.addStretch(1)

    def reset(self) -> None:
        for light in self.lights.values():
            light.set_state(Light.IDLE, "")
        self.progress.setValue(0)
        self.sn.setText("")

    def apply_event(self, event: WorkflowEvent) -> None:
        if event.step not in self.lights:
            return
        detail = event.reason.render() if event.reason is not None else ""
        if event.outcome is Outcome.SKIPPED and not detail:
            detail = self.tr("already done")
        self.lights[event.step].set_state(LIGHT_OF[event.outcome], detail)
        if event.step is Step.CREDENTIAL and event.data.get("device_sn"):
            resumed = event.data.get("resumed")
            text = self.tr("SN {sn}").format(sn=event.data["device_sn"])
            if resumed:
                text += " " + self.tr("(resumed from this computer's record)")
            self.sn.setText(text)
        done = sum(1 for s in WRITE_STEPS if self.lights[s].state is Light.OK)
        self.progress.setValue(done)

    def failed_step(self) -> Step | None:
        for step in WRITE_STEPS:
            if self.lights[step].state is Light.FAILED:
                return step
        return None
