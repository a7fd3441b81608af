"""What state a connected board is in, from its HELLO and this computer's record: one rule for
the wizard's bench view (the state chip on each card, and whether it starts by itself) and the
CLI (the ``status`` shown on the board's line).

The state machine computes it right after HELLO and puts it in the HELLO event (``status``,
with ``corp_name`` and ``done_at`` for a board that is done), so every front end renders the same
answer and none looks at the store itself.
"""

from __future__ import annotations

from enum import StrEnum

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.profiles import firmware_ok


class BoardStatus(StrEnum):
    BLANK = "blank"  # nothing on it (or only a staged credential in RAM): ours to provision
    IN_PROGRESS = "in_progress"  # this computer began it and it has not been locked in yet
    NEEDS_ADMIN = "needs_admin"  # locked in, waiting for the enterprise admin's scan
    DONE_HERE = "done_here"  # bound by this computer
    ELSEWHERE = "elsewhere"  # holds a locked credential this computer did not issue
    WRONG_MODEL = "wrong_model"  # another model than the profile's
    OLD_FIRMWARE = "old_firmware"  # below the profile's minimum firmware
    FAILED = "failed"  # the last run on it failed (set by the front end from the result)


# Stages of the store's record (store/records.py Stage values).
_DONE_STAGES = frozenset({"bound", "app_installed"})
_LOCKED_STAGES = frozenset({"committed"})


def classify(
    *,
    model_id: str,
    fw_version: str,
    state: str,
    known_stage: str | None,
    want_model: str,
    min_fw_version: str = "",
) -> BoardStatus:
    """``state`` is HELLO's BLANK / STAGED / PROVISIONED; ``known_stage`` the store's stage for
    the board's HW_ID (None when this computer never saw it)."""
    if model_id != want_model:
        return BoardStatus.WRONG_MODEL
    if not firmware_ok(fw_version, min_fw_version):
        return BoardStatus.OLD_FIRMWARE
    if known_stage is None or known_stage == "free":
        return BoardStatus.ELSEWHERE if state == "PROVISIONED" else BoardStatus.BLANK
    if known_stage in _DONE_STAGES:
        return BoardStatus.DONE_HERE
    if known_stage in _LOCKED_STAGES:
        return BoardStatus.NEEDS_ADMIN
    return BoardStatus.IN_PROGRESS


def starts_by_itself(status: BoardStatus) -> bool:
    """Boards a zero-click bench starts without being asked: ours, and not done yet."""
    return status in (BoardStatus.BLANK, BoardStatus.IN_PROGRESS, BoardStatus.NEEDS_ADMIN)


def status_label(status: BoardStatus) -> Message:
    return _LABELS[status]


_LABELS: dict[BoardStatus, Message] = {
    BoardStatus.BLANK: Message(QT_TRANSLATE_NOOP("workflow", "blank")),
    BoardStatus.IN_PROGRESS: Message(QT_TRANSLATE_NOOP("workflow", "in progress")),
    BoardStatus.NEEDS_ADMIN: Message(QT_TRANSLATE_NOOP("workflow", "needs the admin")),
    BoardStatus.DONE_HERE: Message(QT_TRANSLATE_NOOP("workflow", "done here")),
    BoardStatus.ELSEWHERE: Message(QT_TRANSLATE_NOOP("workflow", "provisioned elsewhere")),
    BoardStatus.WRONG_MODEL: Message(QT_TRANSLATE_NOOP("workflow", "wrong model")),
    BoardStatus.OLD_FIRMWARE: Message(QT_TRANSLATE_NOOP("workflow", "firmware too old")),
    BoardStatus.FAILED: Message(QT_TRANSLATE_NOOP("workflow", "failed")),
}
