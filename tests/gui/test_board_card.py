"""A bench card keeps one height while its board runs (issue #15: a text that changed a card's
height re-laid out the whole bench, every card's wrapped text with it) and grows for a message
that needs more room, so that nothing is cut off."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.board_status import BoardStatus
from installer_app.workflow.events import Outcome, ProvisionResult, Step, WorkflowEvent
from ui.bench.board_card import BoardCard

PORT = "/dev/ttyUSB3"
URL = "https://open.work.weixin.qq.com/connect/hardware?hw_code=CARD0001"


def settle() -> None:
    for _ in range(3):  # the card's layout, then the bench's, then their paint
        QApplication.processEvents()


def bench_with_one_card(qtbot: Any) -> tuple[QWidget, BoardCard]:
    """A card in a row of the bench's kind (rows in a scroll area), at the width a card has in a
    1280-wide window."""
    bench = QScrollArea()
    qtbot.addWidget(bench)
    bench.setWidgetResizable(True)
    grid = QWidget()
    rows = QVBoxLayout(grid)
    row = QHBoxLayout()
    card = BoardCard(PORT, grid)
    row.addWidget(card, 1)
    row.addStretch(1)
    rows.addLayout(row)
    rows.addStretch(1)
    bench.setWidget(grid)
    bench.resize(720, 600)
    bench.show()
    qtbot.waitExposed(bench)
    settle()
    return bench, card


def a_run() -> list[WorkflowEvent]:
    waiting = Message(QT_TRANSLATE_NOOP("workflow", "Waiting for the enterprise admin's scan."))
    return [
        WorkflowEvent(Step.CONNECT, Outcome.STARTED, port=PORT),
        WorkflowEvent(
            Step.HELLO,
            Outcome.OK,
            port=PORT,
            data={
                "model_id": "WX-ATT-200",
                "hw_id": "a1b2c3d4e5f6",
                "status": BoardStatus.BLANK.value,
            },
        ),
        WorkflowEvent(Step.CREDENTIAL, Outcome.OK, port=PORT, data={"device_sn": "GUI0001"}),
        WorkflowEvent(Step.WRITE, Outcome.STARTED, port=PORT),
        WorkflowEvent(Step.VERIFY, Outcome.OK, port=PORT),
        WorkflowEvent(Step.COMMIT, Outcome.OK, port=PORT),
        WorkflowEvent(Step.WIFI, Outcome.OK, port=PORT, data={"ssid": "site-net"}),
        WorkflowEvent(Step.QR, Outcome.OK, port=PORT, data={"url": URL, "kind": "static"}),
        WorkflowEvent(Step.BINDING, Outcome.WAITING, reason=waiting, port=PORT),
        WorkflowEvent(
            Step.BINDING, Outcome.OK, port=PORT, data={"corpid": "ww1", "corp_name": "测试科技"}
        ),
        WorkflowEvent(Step.APP, Outcome.OK, port=PORT),
    ]


def test_a_card_keeps_its_height_through_a_run(qtbot: Any) -> None:
    _bench, card = bench_with_one_card(qtbot)
    standard = card.height()
    assert standard > 0
    card.started()
    settle()
    for event in a_run():
        card.apply_event(event)
        settle()
        assert card.height() == standard, (event.step, event.outcome)
    card.apply_result(
        ProvisionResult(ok=True, exit_code=0, port=PORT, device_sn="GUI0001", corp_name="测试科技"),
        False,
    )
    settle()
    assert card.height() == standard
    assert card.status is BoardStatus.DONE_HERE and card.action.isVisible()


def test_a_long_message_makes_the_card_higher_and_shows_in_full(qtbot: Any) -> None:
    _bench, card = bench_with_one_card(qtbot)
    standard = card.height()
    long_error = Message(
        QT_TRANSLATE_NOOP("workflow", "{text}"),
        text="The board did not answer the write of its credential. " * 6,
    )
    card.apply_result(ProvisionResult(ok=False, exit_code=1, port=PORT, error=long_error), False)
    settle()
    assert card.height() > standard
    detail = card.detail
    assert detail.height() >= detail.heightForWidth(detail.width())  # every line of it shows
    card.started()  # Retry: the message goes, the card is as high as the others again
    settle()
    assert card.height() == standard
