"""A board's current step in a few words, for the bench cards."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from installer_app.workflow.events import Outcome, Step

_STEPS: dict[Step, object] = {
    Step.CONNECT: QT_TRANSLATE_NOOP("bench", "Connecting"),
    Step.HELLO: QT_TRANSLATE_NOOP("bench", "Identifying the board"),
    Step.CREDENTIAL: QT_TRANSLATE_NOOP("bench", "Getting a credential"),
    Step.WRITE: QT_TRANSLATE_NOOP("bench", "Writing the credential"),
    Step.VERIFY: QT_TRANSLATE_NOOP("bench", "Verifying"),
    Step.COMMIT: QT_TRANSLATE_NOOP("bench", "Locking in"),
    Step.WIFI: QT_TRANSLATE_NOOP("bench", "Wi-Fi"),
    Step.QR: QT_TRANSLATE_NOOP("bench", "Binding code"),
    Step.BINDING: QT_TRANSLATE_NOOP("bench", "Waiting for the admin's scan"),
    Step.APP: QT_TRANSLATE_NOOP("bench", "Companion app"),
    Step.DONE: QT_TRANSLATE_NOOP("bench", "Done"),
}
_OUTCOMES: dict[Outcome, object] = {
    Outcome.WAITING: QT_TRANSLATE_NOOP("bench", "waiting"),
    Outcome.RETRYING: QT_TRANSLATE_NOOP("bench", "retrying"),
    Outcome.SKIPPED: QT_TRANSLATE_NOOP("bench", "skipped"),
    Outcome.FAILED: QT_TRANSLATE_NOOP("bench", "failed"),
}


def step_text(step: Step, outcome: Outcome) -> str:
    text = QCoreApplication.translate("bench", str(_STEPS[step]))
    extra = _OUTCOMES.get(outcome)
    if extra is not None and step is not Step.BINDING:
        text += " — " + QCoreApplication.translate("bench", str(extra))
    return text
