"""How a bench board answers the workflow without a person (the wizard's bench view).

A board answers for itself (``BenchAnswers``): ours and not done (blank, in progress, waiting for
the admin) goes on; done here, provisioned elsewhere, another model or old firmware is left alone
after HELLO, unless the installer asked for it (Check again, Start, Retry). The site's Wi-Fi is
asked once (``SiteWifi``) and kept in memory for the session only: never written anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

from installer_app.workflow.board_status import classify, starts_by_itself
from installer_app.workflow.events import BoardInfo, ResumeQuestion, WifiCredentials
from installer_app.workflow.machine import Provisioner

_SLICE_S = 0.1


class SiteWifi:
    """The site's network, asked once for every board of the session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._given = threading.Event()
        self._wifi: WifiCredentials | None = None
        self._released = False

    @property
    def given(self) -> bool:
        return self._given.is_set()

    @property
    def ssid(self) -> str | None:
        wifi = self.credentials
        return wifi.ssid if wifi is not None else None

    @property
    def credentials(self) -> WifiCredentials | None:
        """What was given (None: leave the boards' network as it is, or nothing given yet)."""
        with self._lock:
            return self._wifi

    def provide(self, wifi: WifiCredentials | None) -> None:
        """None: leave the boards' network as it is."""
        with self._lock:
            self._wifi = wifi
        self._given.set()

    def release(self) -> None:
        """Closing: every wait returns None (leave the network), now and later."""
        self._released = True
        self._given.set()

    def wait(self, cancel: threading.Event) -> WifiCredentials | None:
        while not self._given.wait(_SLICE_S):
            if cancel.is_set():
                return None
        with self._lock:
            return None if self._released else self._wifi


class BenchAnswers:
    """The core's ``Answers`` for one bench board (called on the board's thread)."""

    def __init__(
        self,
        provisioner: Provisioner,
        wifi: SiteWifi,
        cancel: threading.Event,
        on_wifi_needed: Callable[[], None],
        *,
        forced: bool,
    ) -> None:
        self._provisioner = provisioner
        self._wifi = wifi
        self._cancel = cancel
        self._on_wifi_needed = on_wifi_needed
        self.forced = forced
        self.left_alone = False

    def proceed_with_board(self, board: BoardInfo) -> Literal["continue", "skip", "factory_reset"]:
        status = classify(
            model_id=board.model_id,
            fw_version=board.fw_version,
            state=board.state,
            known_stage=board.known_stage,
            want_model=self._provisioner.model_id,
            min_fw_version=self._provisioner.rules.min_fw_version,
        )
        if self.forced or starts_by_itself(status):
            return "continue"
        self.left_alone = True
        return "skip"

    def resume_or_skip(self, question: ResumeQuestion) -> Literal["resume", "skip"]:
        return "resume"  # reached only for a board that goes on (see proceed_with_board)

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        if not self._wifi.given:
            self._on_wifi_needed()
        return self._wifi.wait(self._cancel)
