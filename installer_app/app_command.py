"""How the app starts another process of itself: the frozen executable, or this Python with
``-m installer_app`` (the display probe, the bench's board host)."""

from __future__ import annotations

import sys

# ``installer-app --board-host``: the bench view's board host (workflow/host_child.py).
BOARD_HOST_FLAG = "--board-host"


def app_command() -> list[str]:
    """The command line that runs ``installer-app``, to which the caller appends arguments."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "installer_app"]
