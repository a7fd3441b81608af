"""The wizard's session: the core ``Session`` it provisions with and the one run in progress.

The window wires its pages to this object and to nothing else of the core. It opens the session
(store, keyring, provider clients) on a worker, starts ``Provisioner.run`` on a worker, relays
every ``WorkflowEvent`` and every typed question to the GUI thread by queued signals, and keeps
what a retry needs (the answers already given). The flow's rules are not here: the Provisioner
applies ``installer_app.workflow.plan`` for the CLI and the wizard alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot

from installer_app.config import Settings, fill_secrets
from installer_app.workflow.events import ProvisionResult, WifiCredentials, WorkflowEvent
from ui.questions import (
    AskBoard,
    AskResume,
    AskWifi,
    BoardChoice,
    GuiAnswers,
    Question,
    ResumeChoice,
)
from ui.workers import Task, Workers

if TYPE_CHECKING:  # imported on first use: not needed for the first frame
    from installer_app.provider.check import CheckReport
    from installer_app.store.records import InventoryStats
    from installer_app.workflow.wiring import Session

log = logging.getLogger(__name__)
OnFailure = Callable[[BaseException], None]

_BOARD_CHOICES: dict[str, BoardChoice] = {
    "continue": "continue",
    "skip": "skip",
    "factory_reset": "factory_reset",
}
_RESUME_CHOICES: dict[str, ResumeChoice] = {"resume": "resume", "skip": "skip"}


class WizardSession(QObject):
    """One window's session and run. Every signal fires on the GUI thread."""

    opened = Signal(object)  # Session
    open_failed = Signal(object)  # the exception that stopped it
    workflow_event = Signal(object)  # WorkflowEvent (not ``event``: QObject's own handler)
    question = Signal(object)  # a Question a person must answer (retries answer the rest)
    result = Signal(object)  # ProvisionResult
    crashed = Signal(object)  # an exception the workflow did not turn into a result
    finished = Signal()
    _event_from_worker = Signal(object)

    def __init__(
        self,
        workers: Workers,
        settings: Settings,
        data_dir: Path,
        *,
        demo: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.workers = workers
        self.settings = settings
        self.data_dir = data_dir
        self.demo = demo
        self.session: Session | None = None
        self.port: str | None = None
        self.user_skipped = False
        self._task: Task | None = None
        self._answers: GuiAnswers | None = None
        self._retrying = False
        self._last_wifi: WifiCredentials | None = None
        self._wifi_answered = False
        self._closed = False
        self._event_from_worker.connect(self._relay_event, Qt.ConnectionType.QueuedConnection)

    # -- the core session -------------------------------------------------------------------

    def open(self, settings: Settings | None = None) -> None:
        """(Re)open the store and the provisioner on a worker, with ``settings`` when given; the
        secrets the settings lack are read there too (``fill_secrets``)."""
        if settings is not None:
            self.settings = settings
        asked_with, data_dir, demo = self.settings, self.data_dir, self.demo

        def open_now(cancel: threading.Event) -> tuple[Settings, Settings, Session]:
            from installer_app.workflow.wiring import open_session

            # The demo runs on its own emulator's secrets only, never the user's real ones.
            full = asked_with if demo else fill_secrets(asked_with)
            return full, asked_with, open_session(full, data_dir)

        self._close_session()
        self.workers.submit(
            open_now,
            name="open_session",
            on_success=self._opened,
            on_failure=lambda exc: self._open_failed(exc, asked_with),
        )

    def _opened(self, opened: tuple[Settings, Settings, Session]) -> None:
        full, asked_with, session = opened
        if self._closed or asked_with is not self.settings:
            # Closing, or the settings changed while it opened: a newer session is on its way.
            self.workers.submit(lambda _c: session.close(), name="close_session")
            return
        self.settings = full
        self.session = session
        self.opened.emit(session)

    def _open_failed(self, exc: BaseException, asked_with: Settings) -> None:
        if not self._closed and asked_with is self.settings:
            self.open_failed.emit(exc)  # (a superseded session reports nothing)

    def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            self.workers.submit(lambda _c: session.close(), name="close_session")

    # -- the other core calls the pages ask for ----------------------------------------------

    def inventory_stats(
        self, on_success: Callable[[InventoryStats], None], on_failure: OnFailure
    ) -> Task | None:
        """The inventory's credentials for the configured model (None: no session yet)."""
        session, model = self.session, self.settings.provider.model_id or None
        if session is None:
            return None
        return self.workers.submit(
            lambda _c: session.store.inventory_stats(model),
            name="inventory_stats",
            on_success=on_success,
            on_failure=on_failure,
        )

    def held_offline(self, on_success: Callable[[int], None], on_failure: OnFailure) -> Task | None:
        """Team mode: the leased credentials this laptop holds for the model."""
        session, model = self.session, self.settings.provider.model_id or None
        if session is None:
            return None
        return self.workers.submit(
            lambda _c: session.store.held_offline(model),
            name="held_offline",
            on_success=on_success,
            on_failure=on_failure,
        )

    def take_lease(
        self, count: int, on_success: Callable[[object], None], on_failure: OnFailure
    ) -> Task | None:
        """Team mode: take ``count`` credentials for offline work (C5)."""
        session, model = self.session, self.settings.provider.model_id
        if session is None or session.team is None:
            return None
        team = session.team

        def take(cancel: threading.Event) -> object:
            from installer_app.team.leases import take_lease

            return take_lease(session.store, team, model, count)

        return self.workers.submit(
            take, name="take_lease", on_success=on_success, on_failure=on_failure
        )

    def return_leases(
        self, on_success: Callable[[int], None], on_failure: OnFailure
    ) -> Task | None:
        """Team mode: give every unused leased credential back."""
        session = self.session
        if session is None or session.team is None:
            return None
        team = session.team

        def give_back(cancel: threading.Event) -> int:
            from installer_app.team.leases import return_leases

            return return_leases(session.store, team)

        return self.workers.submit(
            give_back, name="return_leases", on_success=on_success, on_failure=on_failure
        )

    def check_provider(
        self, on_success: Callable[[CheckReport], None], on_failure: OnFailure
    ) -> Task:
        settings = self.settings

        def check(cancel: threading.Event) -> CheckReport:
            from installer_app.provider.check import run_checks

            return run_checks(settings, cancel=cancel)

        return self.workers.submit(
            check, name="check", on_success=on_success, on_failure=on_failure
        )

    def identify(
        self, device: str, on_success: Callable[[None], None], on_failure: OnFailure
    ) -> Task:
        """Blink the board's light, so the installer knows which board this port is."""

        def blink(cancel: threading.Event) -> None:
            from installer_app.device.client import DeviceClient

            with DeviceClient.open(device) as client:
                client.identify()

        return self.workers.submit(
            blink, name="identify", on_success=on_success, on_failure=on_failure
        )

    # -- the run ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done

    @property
    def answers(self) -> GuiAnswers | None:
        return self._answers

    def start(self, port: str, *, retry: bool = False) -> bool:
        """Provision the board on ``port``; a retry repeats the answers already given and asks
        only what was not answered yet. False when no session is open or a run is going on."""
        session = self.session
        if session is None or self.busy:
            return False
        self.port = port
        self.user_skipped = False
        self._retrying = retry
        if not retry:
            self._last_wifi = None
            self._wifi_answered = False
        provisioner = session.provisioner
        answers = GuiAnswers(self)
        answers.asked.connect(self._on_question)
        self._answers = answers

        def run(cancel: threading.Event) -> ProvisionResult:
            return provisioner.run(
                port, answers=answers, on_event=self._event_from_worker.emit, cancel=cancel
            )

        task = self.workers.submit(
            run,
            name="provision",
            on_success=self.result.emit,
            on_failure=self.crashed.emit,
            on_finished=self._on_finished,
        )
        task.add_cancel_hook(answers.release_all)
        self._task = task
        return True

    @Slot(object)
    def _relay_event(self, event: WorkflowEvent) -> None:
        self.workflow_event.emit(event)

    def waiting_for_answer(self) -> bool:
        return self._answers is not None and bool(self._answers.pending())

    def _on_question(self, question: Question) -> None:
        if self._retrying:
            match question:
                case AskBoard():
                    question.answer("continue")
                    return
                case AskResume():
                    question.answer("resume")
                    return
                case AskWifi() if self._wifi_answered:
                    question.answer(self._last_wifi)
                    return
        self.question.emit(question)

    def answer_board(self, question: AskBoard, choice: str) -> None:
        """``choice`` as the Device page's buttons say it."""
        value = _BOARD_CHOICES.get(choice)
        if value is not None:
            self.user_skipped = value == "skip"
            question.answer(value)

    def answer_resume(self, question: AskResume, choice: str) -> None:
        value = _RESUME_CHOICES.get(choice)
        if value is not None:
            self.user_skipped = value == "skip"
            question.answer(value)

    def answer_wifi(self, question: AskWifi, wifi: WifiCredentials | None) -> None:
        self._last_wifi = wifi
        self._wifi_answered = True
        question.answer(wifi)

    def _on_finished(self) -> None:
        self._task = None
        self.finished.emit()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> bool:
        """Cancel the run, join every worker, close the store; True when all workers ended."""
        self._closed = True
        self.cancel()
        ok = self.workers.shutdown()
        self._close_session()
        return self.workers.shutdown() and ok
