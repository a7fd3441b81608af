"""The workflow's questions as the wizard receives them: one type per kind, each with its answer.

The workflow thread calls ``GuiAnswers`` (the core's ``Answers`` protocol); each call makes a
typed question, hands it to the GUI thread by a queued signal and blocks, without polling, until
a page answers it or the run is cancelled, which answers it with its safe default.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from installer_app.workflow.events import BoardInfo, ResumeQuestion, WifiCredentials

A = TypeVar("A")
BoardChoice = Literal["continue", "skip", "factory_reset"]
ResumeChoice = Literal["resume", "skip"]


class _Pending(Generic[A]):
    """Answered once, from any thread; the first answer wins."""

    default: A

    def _setup(self, default: A) -> None:
        self.default = default
        self._value: A = default
        self._event = threading.Event()

    def answer(self, value: A) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    @property
    def answered(self) -> bool:
        return self._event.is_set()

    def wait(self) -> A:
        """On the workflow thread: block until answered (cancelling answers the default)."""
        self._event.wait()
        return self._value


@dataclass(eq=False)
class AskBoard(_Pending[BoardChoice]):
    """After HELLO: go on with this board, skip it, or factory-reset it first."""

    board: BoardInfo

    def __post_init__(self) -> None:
        self._setup("skip")


@dataclass(eq=False)
class AskResume(_Pending[ResumeChoice]):
    """The board holds a credential this store issued: resume from where it stopped, or skip."""

    question: ResumeQuestion

    def __post_init__(self) -> None:
        self._setup("skip")


@dataclass(eq=False)
class AskWifi(_Pending[WifiCredentials | None]):
    """The network to give the board; None leaves its network as it is."""

    current_ssid: str | None

    def __post_init__(self) -> None:
        self._setup(None)


Question = AskBoard | AskResume | AskWifi


class GuiAnswers(QObject):
    """The workflow's ``Answers`` for one run. Lives on the GUI thread; ``asked`` fires there.

    ``release_all`` (the run is cancelled: Stop, the window closes) answers every pending and
    every later question with its safe default — "skip", or None for Wi-Fi — so the workflow
    thread never waits forever.
    """

    asked = Signal(object)  # a Question, on the GUI thread
    _ask = Signal(object)  # emitted on the workflow thread, queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: list[Question] = []
        self._released = False
        self._ask.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _deliver(self, question: Question) -> None:
        if not question.answered:
            self.asked.emit(question)

    def _ask_and_wait(self, question: _Pending[A]) -> A:
        with self._lock:
            if self._released:
                return question.default
            self._pending.append(question)  # type: ignore[arg-type]
        self._ask.emit(question)
        value = question.wait()
        with self._lock:
            self._pending.remove(question)  # type: ignore[arg-type]
        return value

    def release_all(self) -> None:
        with self._lock:
            self._released = True
            pending = list(self._pending)
        for question in pending:
            question.answer(question.default)  # type: ignore[arg-type]

    def pending(self) -> list[Question]:
        with self._lock:
            return [q for q in self._pending if not q.answered]

    # The Answers protocol (called on the workflow thread)
    def proceed_with_board(self, board: BoardInfo) -> BoardChoice:
        return self._ask_and_wait(AskBoard(board))

    def resume_or_skip(self, question: ResumeQuestion) -> ResumeChoice:
        return self._ask_and_wait(AskResume(question))

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        return self._ask_and_wait(AskWifi(current_ssid))
