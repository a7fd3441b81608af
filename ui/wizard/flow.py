"""Which page shows which workflow event: a table, so no page holds flow logic."""

from __future__ import annotations

from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from ui.wizard.base import PageId

PAGE_OF_STEP: dict[Step, PageId] = {
    Step.CONNECT: PageId.DEVICE,
    Step.HELLO: PageId.DEVICE,
    Step.CREDENTIAL: PageId.WRITE,
    Step.WRITE: PageId.WRITE,
    Step.VERIFY: PageId.WRITE,
    Step.COMMIT: PageId.WRITE,
    Step.WIFI: PageId.NETWORK,
    Step.QR: PageId.BIND,
    Step.BINDING: PageId.BIND,
    Step.APP: PageId.BIND,
    Step.DONE: PageId.DONE,
}

# The pages a run walks through, in order, for the header's breadcrumbs.
PAGE_ORDER: tuple[PageId, ...] = tuple(p for p in PageId if p is not PageId.BENCH)


def page_for_event(event: WorkflowEvent) -> PageId | None:
    """The page to bring forward for ``event``; None keeps the current one (a skipped step, such as
    Wi-Fi on a cloud-mode board, is not worth a page of its own, and DONE waits for the result)."""
    if event.outcome is Outcome.SKIPPED or event.step is Step.DONE:
        return None
    return PAGE_OF_STEP[event.step]
