"""What the workflow tells its front ends (CLI lines, wizard pages) and what it asks them.

The workflow runs on a worker thread and calls ``on_event`` for every change; front ends only
render these events. When it needs a person (resume or skip, Wi-Fi), it calls a method of
``Answers``, which may block until the person answers; a GUI emits a signal and waits on a
``threading.Event`` (see ui/workers.py), the CLI answers from flags, the environment or a prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from installer_app.i18n import Message
from installer_app.secrets import Secret


class Step(StrEnum):
    CONNECT = "connect"  # open the port
    HELLO = "hello"  # identify the board
    CREDENTIAL = "credential"  # obtain an SN + SecretNo (register / inventory / partner)
    WRITE = "write"
    VERIFY = "verify"
    COMMIT = "commit"
    WIFI = "wifi"  # SET_WIFI and the device's own network / WeCom state
    QR = "qr"  # the binding QR code (renewed while shown when dynamic)
    BINDING = "binding"  # waiting for the enterprise admin's scan
    APP = "app"  # companion app installed in that enterprise
    DONE = "done"


STEP_ORDER: tuple[Step, ...] = tuple(Step)


class Outcome(StrEnum):
    STARTED = "started"
    PROGRESS = "progress"  # something changed inside a step (net state, elapsed time, renewal)
    WAITING = "waiting"  # waiting on the outside world, with a reason when stuck
    RETRYING = "retrying"
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class WorkflowEvent:
    """One step's news. ``data`` holds plain JSON values only, never a secret.

    Keys by step: HELLO ``model_id fw_version hw_id state sn status corp_name done_at``
    (``status`` a ``board_status.BoardStatus`` value; ``done_at`` ISO UTC for a done board);
    CREDENTIAL ``device_sn source resumed``; WIFI ``ssid net_state wecom_state``; QR ``url kind
    expires_at``; BINDING ``elapsed_s corpid corp_name via`` (``via`` is "provider" or
    "device"); APP ``agentid checkable``; DONE the result fields.
    """

    step: Step
    outcome: Outcome
    reason: Message | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    port: str | None = None

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "event": "step",
            "step": self.step.value,
            "outcome": self.outcome.value,
        }
        if self.port:
            obj["port"] = self.port
        if self.reason is not None:
            obj["reason"] = self.reason.render()
        obj.update(self.data)
        return obj


@dataclass(frozen=True)
class ProvisionResult:
    ok: bool
    exit_code: int
    device_sn: str | None = None
    hw_id: str | None = None  # lower-case hex
    corpid: str | None = None
    corp_name: str | None = None
    app_installed: bool | None = None  # None: not checkable (no partner service configured)
    qr_url: str | None = None
    error: Message | None = None
    port: str | None = None
    hint: Message | None = None  # what to do about ``error``
    # Team mode offline: written and locked, the binding to be confirmed by the team server.
    confirm_later: bool = False

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "event": "result",
            "ok": self.ok,
            "device_sn": self.device_sn,
            "hw_id": self.hw_id,
            "corpid": self.corpid,
            "corp_name": self.corp_name,
            "app_installed": self.app_installed,
        }
        if self.port:
            obj["port"] = self.port
        if self.confirm_later:
            obj["binding"] = "to_be_confirmed_by_server"
        if self.error is not None:
            obj["error"] = self.error.render()
            obj["exit_code"] = self.exit_code
            if self.hint is not None:
                obj["hint"] = self.hint.render()
        return obj


@dataclass(frozen=True)
class ResumeQuestion:
    """A board that already holds a credential this store issued (or is already bound)."""

    device_sn: str
    hw_id: str
    stage: str  # the store's lifecycle stage: reserved/written/verified/committed/bound/...
    corp_name: str | None = None
    done_at: str | None = None  # ISO UTC, when the board was bound (a done board only)


@dataclass(frozen=True)
class WifiCredentials:
    ssid: str
    psk: Secret  # empty Secret("") for an open network


@dataclass(frozen=True)
class BoardInfo:
    """What HELLO said, for the front end to show before anything is written."""

    port: str
    model_id: str
    fw_version: str
    hw_id: str  # lower-case hex
    state: str  # BLANK / STAGED / PROVISIONED
    device_sn: str | None
    known_stage: str | None  # this store's lifecycle stage for the board, if it knows it


class Answers(Protocol):
    def proceed_with_board(self, board: BoardInfo) -> Literal["continue", "skip", "factory_reset"]:
        """Asked once after HELLO. The CLI continues; the wizard's Device page waits for the
        installer (factory reset only after a confirmation that names the board)."""
        ...

    def resume_or_skip(self, question: ResumeQuestion) -> Literal["resume", "skip"]: ...

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        """None: leave the device's network as it is."""
        ...
