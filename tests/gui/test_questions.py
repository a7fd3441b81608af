"""The workflow's questions reach the GUI thread typed, by a queued signal, and block the
workflow thread without polling until answered or released."""

from __future__ import annotations

import threading
from typing import Any

from installer_app.secrets import Secret
from installer_app.workflow.events import BoardInfo, ResumeQuestion, WifiCredentials
from tests.gui.conftest import SLOW_MS
from ui.questions import AskBoard, AskResume, AskWifi, GuiAnswers

BOARD = BoardInfo("/dev/pts/9", "WX-ATT-200", "1.4.2", "0a0b0c0d0e0f", "BLANK", None, None)


def ask_on_a_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(fn()), name="workflow-test")
    thread.start()
    return thread, got


def test_each_kind_arrives_typed_on_the_gui_thread_and_carries_its_answer(qtbot: Any) -> None:
    answers = GuiAnswers()
    seen_on: list[int] = []
    answers.asked.connect(lambda _q: seen_on.append(threading.get_ident()))
    wifi = WifiCredentials("SiteNet", Secret("site-password"))
    cases: list[tuple[Any, type, Any]] = [
        (lambda: answers.proceed_with_board(BOARD), AskBoard, "factory_reset"),
        (
            lambda: answers.resume_or_skip(ResumeQuestion("SN1", "0a0b0c0d0e0f", "written")),
            AskResume,
            "resume",
        ),
        (lambda: answers.wifi_credentials("OldNet"), AskWifi, wifi),
    ]
    for call, kind, value in cases:
        with qtbot.waitSignal(answers.asked, timeout=SLOW_MS) as asked:
            thread, got = ask_on_a_thread(call)
        question = asked.args[0]
        assert type(question) is kind and not question.answered
        assert answers.pending() == [question]
        question.answer(value)
        thread.join(SLOW_MS / 1000)
        assert got == [value]
        assert answers.pending() == []
    assert set(seen_on) == {threading.get_ident()}
    assert AskBoard(BOARD).board is BOARD and AskWifi("OldNet").current_ssid == "OldNet"


def test_release_answers_pending_and_later_questions_with_the_safe_default(qtbot: Any) -> None:
    answers = GuiAnswers()
    with qtbot.waitSignal(answers.asked, timeout=SLOW_MS):
        thread, got = ask_on_a_thread(lambda: answers.wifi_credentials(None))
    answers.release_all()  # Stop, or the window closes
    thread.join(SLOW_MS / 1000)
    assert not thread.is_alive() and got == [None]
    # Asked after the release: answered at once, nothing reaches the pages.
    asked: list[Any] = []
    answers.asked.connect(asked.append)
    assert answers.proceed_with_board(BOARD) == "skip"
    assert answers.resume_or_skip(ResumeQuestion("SN1", "0a0b0c0d0e0f", "bound")) == "skip"
    qtbot.wait(50)
    assert asked == []


def test_the_first_answer_wins(qtbot: Any) -> None:
    question = AskBoard(BOARD)
    question.answer("continue")
    question.answer("skip")
    assert question.answered and question.wait() == "continue"
