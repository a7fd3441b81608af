"""QR → BINDING → APP: show the binding code, watch until an enterprise binds the board and its
companion app is installed there, and record both.

The watcher (workflow/watch.py) polls WeCom A3 (direct mode) or the partner service (cloud
mode) and is also fed the board's own WECOM_STATE reports. It runs on the run's own thread, which
also renews a dynamic QR code while it is shown, so the front end gets every event of a run from
one thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider import qr
from installer_app.provider.partner import Installation
from installer_app.provider.wecom import CorpBinding
from installer_app.store.records import DeviceRecord, Source, Stage
from installer_app.workflow.emitter import Emitter, LiveStatus
from installer_app.workflow.errors import BindingTimedOut, Cancelled, NoQrCode
from installer_app.workflow.events import Outcome, Step
from installer_app.workflow.sources import Credential
from installer_app.workflow.watch import BindingWatcher, WatchEvent, WatchResult

log = logging.getLogger(__name__)
QrKind = Literal["static", "dynamic"]


class Advance(Protocol):
    def __call__(
        self,
        stage: Stage,
        *,
        corpid: str | None = None,
        corp_name: str | None = None,
        agentid: int | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class BindingOutcome:
    qr_url: str | None
    bound: bool
    corpid: str | None
    corp_name: str | None
    app_installed: bool | None  # None: not checkable
    # Team mode, offline: written and locked with a leased credential; the team server confirms
    # the binding once it hears of the board.
    confirm_later: bool = False


class BindingPhase:
    def __init__(
        self,
        *,
        check_binding: Callable[[str], CorpBinding | None],
        check_install: Callable[[str], Installation] | None,
        qr_kind: QrKind,
        poll_interval_s: float,
        timeout_s: float,
        qr_refresh_s: float = qr.DEFAULT_REFRESH_S,
        qr_valid_s: float = qr.DEFAULT_VALID_S,
        confirm_later: Callable[[Credential], bool] | None = None,
    ) -> None:
        self.confirm_later = confirm_later
        self.check_binding = check_binding
        self.check_install = check_install
        self.qr_kind = qr_kind
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.qr_refresh_s = qr_refresh_s
        self.qr_valid_s = qr_valid_s

    def run(
        self,
        credential: Credential,
        record: DeviceRecord,
        *,
        emit: Emitter,
        device_state: LiveStatus,
        no_wait: bool,
        advance: Advance,
    ) -> BindingOutcome:
        already_bound = record.reached(Stage.BOUND)
        dynamic: qr.DynamicQr | None = None
        code: qr.QrCode | None = None
        if already_bound:
            emit(
                Step.QR,
                Outcome.SKIPPED,
                Message(
                    QT_TRANSLATE_NOOP("workflow", "Already bound to {corp}: no QR code needed."),
                    corp=record.corp_name or record.corpid or "?",
                ),
            )
        else:
            code, dynamic = self._qr(credential, emit)
            if self.confirm_later is not None and self.confirm_later(credential):
                emit(
                    Step.BINDING,
                    Outcome.SKIPPED,
                    Message(
                        QT_TRANSLATE_NOOP(
                            "workflow",
                            "Written and locked; the binding is to be confirmed by the team "
                            "server, which cannot be reached now. The record is kept.",
                        )
                    ),
                    device_sn=credential.sn,
                    confirm_later=True,
                )
                return BindingOutcome(code.url, False, None, None, None, confirm_later=True)
        if no_wait:
            return BindingOutcome(
                qr_url=code.url if code else None,
                bound=already_bound,
                corpid=record.corpid if already_bound else None,
                corp_name=record.corp_name if already_bound else None,
                app_installed=True if record.reached(Stage.APP_INSTALLED) else None,
            )
        if record.reached(Stage.APP_INSTALLED):
            emit(
                Step.BINDING,
                Outcome.OK,
                corpid=record.corpid,
                corp_name=record.corp_name,
                via="store",
            )
            emit(Step.APP, Outcome.OK, agentid=record.agentid, checkable=True)
            return BindingOutcome(None, True, record.corpid, record.corp_name, True)
        return self._watch(credential.sn, emit, device_state, advance, code, dynamic)

    # -- QR ----------------------------------------------------------------------------------

    def _qr(self, credential: Credential, emit: Emitter) -> tuple[qr.QrCode, qr.DynamicQr | None]:
        """Static: the qr_code WeCom (or the partner service, or the inventory file) gave.
        Dynamic: signed with the SecretNo (direct mode only: in cloud mode the app holds the
        partner-cloud credential, not a WeCom SecretNo, so the partner's static code is used).
        Static without a known qr_code falls back to the dynamic code, and says so."""
        emit(Step.QR, Outcome.STARTED, device_sn=credential.sn)
        cloud = credential.source is Source.PARTNER
        reason: Message | None = None
        if cloud or (self.qr_kind == "static" and credential.qr_code):
            if not credential.qr_code:
                raise NoQrCode(credential.sn)
            code = qr.static_code(credential.qr_code, credential.secret)
            dynamic = None
        else:
            if self.qr_kind == "static":
                reason = Message(
                    QT_TRANSLATE_NOOP(
                        "workflow",
                        "No static QR code is known for this SN; showing the dynamic one.",
                    )
                )
            dynamic = qr.DynamicQr(
                credential.sn,
                credential.secret,
                refresh_every_s=self.qr_refresh_s,
                valid_s=self.qr_valid_s,
            )
            code = dynamic.current()
        emit(Step.QR, Outcome.OK, reason, **_qr_data(code))
        return code, dynamic

    # -- binding and app ---------------------------------------------------------------------

    def _watch(
        self,
        sn: str,
        emit: Emitter,
        device_state: LiveStatus,
        advance: Advance,
        code: qr.QrCode | None,
        dynamic: qr.DynamicQr | None,
    ) -> BindingOutcome:
        """Watch on this run's thread: the watcher's events become this board's events as they
        happen, and its tick renews a dynamic QR code while no enterprise has bound the board."""
        state = _WatchState()
        shown = [code]

        def renew_qr() -> float | None:
            current = shown[0]
            if dynamic is None or current is None or state.bound:
                return None
            fresh = dynamic.current()
            if fresh.url != current.url:
                shown[0] = current = fresh
                emit(
                    Step.QR,
                    Outcome.PROGRESS,
                    Message(QT_TRANSLATE_NOOP("workflow", "The QR code was renewed.")),
                    **_qr_data(fresh),
                )
            return max(0.0, current.issued_at + dynamic.refresh_every_s - time.time())

        watcher = BindingWatcher(
            sn,
            self.check_binding,
            self.check_install,
            poll_interval_s=self.poll_interval_s,
            timeout_s=self.timeout_s,
            on_event=lambda event: self._on_watch_event(event, state, emit, advance),
            cancel=emit.cancel,
            tick=renew_qr,
        )
        emit(
            Step.BINDING,
            Outcome.STARTED,
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Waiting for the enterprise admin to scan the QR code in WeCom "
                    "(Workbench → Manage enterprise → Smart hardware → Add device).",
                )
            ),
            device_sn=sn,
        )
        remove = device_state.subscribe(watcher.feed_device_state)
        try:
            result = watcher.run()
        finally:
            remove()
        return self._finish(sn, result, state, shown[0], emit)

    def _on_watch_event(
        self, event: WatchEvent, state: _WatchState, emit: Emitter, advance: Advance
    ) -> None:
        elapsed = round(event.elapsed_s, 1)
        step = Step.APP if state.corpid else Step.BINDING
        if event.kind == "waiting":
            emit(step, Outcome.WAITING, elapsed_s=elapsed)
        elif event.kind == "stuck":
            emit(step, Outcome.RETRYING, event.reason, elapsed_s=elapsed)
        elif event.kind == "bound" and event.via == "device":
            state.bound = True
            state.corp_name = event.corp_name
            emit(
                Step.BINDING,
                Outcome.PROGRESS,
                Message(
                    QT_TRANSLATE_NOOP(
                        "workflow", "The board reports it is bound to {corp}; confirming."
                    ),
                    corp=event.corp_name or "?",
                ),
                elapsed_s=elapsed,
                corp_name=event.corp_name,
                via="device",
            )
        elif event.kind == "bound" and event.corpid:
            state.bound = True
            state.corpid, state.corp_name = event.corpid, event.corp_name
            advance(Stage.BOUND, corpid=event.corpid, corp_name=event.corp_name)
            emit(
                Step.BINDING,
                Outcome.OK,
                Message(
                    QT_TRANSLATE_NOOP("workflow", "Bound to {corp}."),
                    corp=event.corp_name or event.corpid,
                ),
                elapsed_s=elapsed,
                corpid=event.corpid,
                corp_name=event.corp_name,
                via=event.via or "provider",
            )
            if self.check_install is not None:
                emit(
                    Step.APP,
                    Outcome.STARTED,
                    Message(
                        QT_TRANSLATE_NOOP(
                            "workflow", "Waiting for the companion app to be installed."
                        )
                    ),
                    checkable=True,
                )
        elif event.kind == "not_checkable":
            emit(
                Step.APP,
                Outcome.SKIPPED,
                Message(
                    QT_TRANSLATE_NOOP(
                        "workflow",
                        "The companion app cannot be checked: no partner service is configured.",
                    )
                ),
                agentid=None,
                checkable=False,
            )
        elif event.kind == "app_installed":
            advance(Stage.APP_INSTALLED, agentid=event.agentid)
            emit(Step.APP, Outcome.OK, agentid=event.agentid, checkable=True)

    def _finish(
        self,
        sn: str,
        result: WatchResult,
        state: _WatchState,
        code: qr.QrCode | None,
        emit: Emitter,
    ) -> BindingOutcome:
        if result.cancelled or emit.cancel.is_set():
            raise Cancelled()
        if result.error is not None:
            raise result.error
        if result.timed_out:
            what = (
                Message(QT_TRANSLATE_NOOP("workflow", "the companion app"))
                if state.corpid
                else Message(QT_TRANSLATE_NOOP("workflow", "the binding"))
            )
            raise BindingTimedOut(sn, result.elapsed_s, what)
        return BindingOutcome(
            qr_url=code.url if code else None,
            bound=True,
            corpid=result.corpid,
            corp_name=result.corp_name,
            app_installed=result.app_installed,
        )


@dataclass
class _WatchState:
    bound: bool = False
    corpid: str | None = None
    corp_name: str | None = None


def _qr_data(code: qr.QrCode) -> dict[str, object]:
    return {
        "url": code.url,
        "kind": code.kind,
        "expires_at": int(code.expires_at) if code.expires_at is not None else None,
    }
