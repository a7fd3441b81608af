"""The provisioning state machine: one board, from its port to DONE.

CONNECT → HELLO → CREDENTIAL → WRITE → VERIFY → COMMIT → WIFI → QR → BINDING → APP → DONE.
Every decision about a board is taken here; the CLI and the wizard only start ``run``, answer
its questions (``Answers``) and render its events. docs/workflow.md describes the states, what
each failure does and the resume rules.

The store is written at every step, before the next one starts, so a run killed at any point
leaves a record the next run can resume from: the board itself (HELLO's SN and VERIFY's proof)
and the store together say where it stopped.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from installer_app.device.client import DeviceClient
from installer_app.device.errors import Busy, DeviceDisconnected, DeviceTimeout, UnknownCommand
from installer_app.device.protocol import DeviceState, NetState
from installer_app.device.responses import HelloInfo, VerifyResult, compute_proof
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.http import CallScope, retry_message
from installer_app.store.db import Store
from installer_app.store.records import DeviceRecord, Stage
from installer_app.workflow.binding import BindingOutcome, BindingPhase
from installer_app.workflow.board_status import BoardStatus, classify
from installer_app.workflow.emitter import Emitter, LiveStatus
from installer_app.workflow.errors import (
    Cancelled,
    ModelMismatch,
    ProofMismatch,
    Skipped,
    UnexpectedFailure,
    UnknownCredential,
)
from installer_app.workflow.events import (
    Answers,
    BoardInfo,
    Outcome,
    ProvisionResult,
    ResumeQuestion,
    Step,
    WorkflowEvent,
)
from installer_app.workflow.plan import FlowRules
from installer_app.workflow.profiles import check_firmware
from installer_app.workflow.sources import Credential, CredentialSource

log = logging.getLogger(__name__)

T = TypeVar("T")
OpenDevice = Callable[[str], DeviceClient]
DEFAULT_WIFI_ONLINE_WAIT_S = 30.0
_CANCEL_SLICE_S = 0.1
STEP_ATTEMPTS = 3  # device requests per step, each with the client's own 3 tries


@dataclass(frozen=True)
class RunOptions:
    """What may differ between runs of one Provisioner."""

    no_wait: bool = False  # stop after the QR code (the CLI's --no-wait)


class Provisioner:
    """Runs the workflow for one board at a time per call; thread-safe, so the CLI runs one call
    per board in parallel threads and the wizard runs it on a worker thread."""

    def __init__(
        self,
        *,
        store: Store,
        source: CredentialSource,
        binding: BindingPhase,
        model_id: str,
        installer: str,
        open_device: OpenDevice = DeviceClient.open,
        wifi_online_wait_s: float = DEFAULT_WIFI_ONLINE_WAIT_S,
        rules: FlowRules | None = None,
    ) -> None:
        self.rules = rules or FlowRules()
        self.store = store
        self.source = source
        self.binding = binding
        self.model_id = model_id
        self.installer = installer
        self.open_device = open_device
        self.wifi_online_wait_s = wifi_online_wait_s

    def run(
        self,
        port: str,
        *,
        answers: Answers,
        on_event: Callable[[WorkflowEvent], None],
        cancel: threading.Event,
        no_wait: bool = False,
    ) -> ProvisionResult:
        """Provision the board on ``port``; blocks until DONE, a failure or ``cancel``.

        Never raises for what a person can meet: the result carries the exit code and message.
        """
        return _Run(self, port, answers, Emitter(port, on_event, cancel), RunOptions(no_wait))()


class _Run:
    def __init__(
        self,
        provisioner: Provisioner,
        port: str,
        answers: Answers,
        emit: Emitter,
        options: RunOptions,
    ) -> None:
        self.p = provisioner
        self.store = provisioner.store
        self.port = port
        self.answers = answers
        self.emit = emit
        self.options = options
        self.device_state = LiveStatus()
        self.client: DeviceClient | None = None
        self.hw_id: str | None = None
        self.credential: Credential | None = None
        self.qr_url: str | None = None

    # -- outcome -----------------------------------------------------------------------------

    def __call__(self) -> ProvisionResult:
        done = threading.Event()
        watcher = threading.Thread(
            target=self._close_on_cancel, args=(done,), name=f"cancel-{self.port}", daemon=True
        )
        watcher.start()
        try:
            return self._flow()
        except InstallerError as exc:
            if self.emit.cancel.is_set() and not isinstance(exc, Skipped):
                exc = Cancelled()
            return self._failed(exc)
        except Exception:
            log.exception("%s: unexpected failure", self.port)
            return self._failed(UnexpectedFailure())
        finally:
            # Not joined: the watcher ends by itself within one slice, and a run must not wait
            # for it (close() returns only once the port is closed, whoever began closing it).
            done.set()
            if self.client is not None:
                self.client.close()

    def _provider_retry(self, reason: Message, delay_s: float) -> None:
        self.emit(
            self.emit.step,
            Outcome.RETRYING,
            retry_message(reason, delay_s),
            retry_in_s=round(delay_s, 1),
        )

    def _close_on_cancel(self, done: threading.Event) -> None:
        """Cancel stops a request in flight at once: closing the port aborts it."""
        while not done.is_set():
            if self.emit.cancel.wait(_CANCEL_SLICE_S):
                client = self.client
                if client is not None and not done.is_set():
                    client.close()
                return

    def _failed(self, exc: InstallerError) -> ProvisionResult:
        outcome = Outcome.SKIPPED if isinstance(exc, Skipped) else Outcome.FAILED
        self.emit(self.emit.step, outcome, exc.message, exit_code=exc.exit_code)
        if self.credential is not None and not isinstance(exc, Skipped | Cancelled):
            try:
                self.store.mark_failed(
                    self.credential.sn,
                    f"{self.emit.step.value}: {exc.message.english()}",
                    installer=self.p.installer,
                )
            except InstallerError:
                log.exception("could not note the failure in the store")
        elif isinstance(exc, Skipped) and self.hw_id:
            # The site handover lists skipped boards too.
            try:
                self.store.mark_skipped(self.hw_id, installer=self.p.installer)
            except InstallerError:
                log.exception("could not note the skip in the store")
        return ProvisionResult(
            ok=False,
            exit_code=exc.exit_code,
            device_sn=self.credential.sn if self.credential else None,
            hw_id=self.hw_id,
            qr_url=self.qr_url,
            error=exc.message,
            port=self.port,
            hint=exc.hint,
        )

    # -- the flow ----------------------------------------------------------------------------

    def _flow(self) -> ProvisionResult:
        client = self._connect()
        hello = self._hello(client)
        credential, on_board = self._credential(client, hello)
        self.credential = credential
        # Before WRITE and COMMIT: a board is never locked with a credential whose QR code
        # cannot be shown.
        credential.check_binding_qr(self.p.binding.qr_kind)
        record = self._record()
        if on_board:
            # Written all the same (by a run that stopped after WRITE): the record says so, so
            # that a step skipped here is not missing from the history (and a team server ties
            # a leased credential to its board on "written").
            self._advance(Stage.WRITTEN)
            self.emit(
                Step.WRITE,
                Outcome.SKIPPED,
                Message(QT_TRANSLATE_NOOP("workflow", "The board already holds this credential.")),
                device_sn=credential.sn,
            )
        else:
            self._write(client, credential)
        self._verify(client, credential)
        self._commit(
            client, credential, already=on_board and hello.state is DeviceState.PROVISIONED
        )
        self._wifi(client)
        record = self._record()
        outcome = self.p.binding.run(
            credential,
            record,
            emit=self.emit,
            device_state=self.device_state,
            no_wait=self.options.no_wait,
            advance=self._advance,
        )
        self.qr_url = outcome.qr_url
        result = ProvisionResult(
            ok=True,
            exit_code=ExitCode.OK,
            device_sn=credential.sn,
            hw_id=self.hw_id,
            corpid=outcome.corpid,
            corp_name=outcome.corp_name,
            app_installed=outcome.app_installed,
            qr_url=outcome.qr_url,
            port=self.port,
            confirm_later=outcome.confirm_later,
        )
        data = result.to_json()
        data.pop("event", None)
        data.pop("port", None)
        self.emit(Step.DONE, Outcome.OK, _done_reason(outcome), **data)
        return result

    def _connect(self) -> DeviceClient:
        self.emit(Step.CONNECT, Outcome.STARTED)
        self.emit.check_cancel()
        client = self.p.open_device(self.port)
        self.client = client
        client.add_event_listener(self.device_state.on_event)
        if self.emit.cancel.is_set():
            raise Cancelled()
        self.emit(Step.CONNECT, Outcome.OK)
        return client

    def _hello(self, client: DeviceClient) -> HelloInfo:
        self.emit(Step.HELLO, Outcome.STARTED)
        hello = self._call(client.hello)
        self.hw_id = hello.hw_id_hex
        known = self.store.record_for_hw_id(hello.hw_id_hex)
        self._emit_hello(hello, known)
        if hello.model_id != self.p.model_id:
            raise ModelMismatch(hello.model_id, self.p.model_id)
        check_firmware(hello.fw_version, self.p.rules.min_fw_version)
        board = BoardInfo(
            port=self.port,
            model_id=hello.model_id,
            fw_version=hello.fw_version,
            hw_id=hello.hw_id_hex,
            state=hello.state.name,
            device_sn=hello.sn,
            known_stage=known.stage.value if known else None,
        )
        choice = self.answers.proceed_with_board(board)
        self.emit.check_cancel()
        if choice == "skip":
            raise Skipped()
        if choice == "factory_reset":
            self.emit(
                Step.HELLO,
                Outcome.PROGRESS,
                Message(QT_TRANSLATE_NOOP("workflow", "Factory reset of the board.")),
            )
            self._call(lambda: client.factory_reset(hello.hw_id))
            hello = self._call(client.hello)
            self._emit_hello(hello, self.store.record_for_hw_id(hello.hw_id_hex))
        return hello

    def _emit_hello(self, hello: HelloInfo, known: DeviceRecord | None) -> None:
        """HELLO's fields, and what they mean here (``board_status``): every front end shows
        the same state chip, and a done board its enterprise and date."""
        status = classify(
            model_id=hello.model_id,
            fw_version=hello.fw_version,
            state=hello.state.name,
            known_stage=known.stage.value if known else None,
            want_model=self.p.model_id,
            min_fw_version=self.p.rules.min_fw_version,
        )
        done: dict[str, Any] = {}
        if known is not None and status is BoardStatus.DONE_HERE:
            done["corp_name"] = known.corp_name or known.corpid
            done["done_at"] = (known.bound_at or known.updated_at).isoformat()
        self.emit(
            Step.HELLO,
            Outcome.OK,
            model_id=hello.model_id,
            fw_version=hello.fw_version,
            hw_id=hello.hw_id_hex,
            state=hello.state.name,
            sn=hello.sn,
            status=status.value,
            **done,
        )

    def _credential(self, client: DeviceClient, hello: HelloInfo) -> tuple[Credential, bool]:
        """The credential to put on the board, and whether the board already holds it.

        A board that proves (VERIFY) a credential this store issued to it resumes with it. A
        PROVISIONED board holding anything else is reported and left alone, before any source
        is asked (so nothing is taken from the inventory for it). A STAGED board holding an
        unknown credential only has it in RAM: it is overwritten with the board's own.
        """
        source = self.p.source.name.value
        self.emit(Step.CREDENTIAL, Outcome.STARTED, source=source)
        proven = self._proven_on_board(client, hello)
        if proven is not None:
            record = self.store.record_for_sn(proven.sn)
            if record is not None and record.reached(Stage.COMMITTED):
                question = ResumeQuestion(
                    device_sn=proven.sn,
                    hw_id=hello.hw_id_hex,
                    stage=record.stage.value,
                    corp_name=record.corp_name,
                    done_at=record.bound_at.isoformat() if record.bound_at else None,
                )
                if self.answers.resume_or_skip(question) == "skip":
                    raise Skipped()
                self.emit.check_cancel()
            self.emit(
                Step.CREDENTIAL,
                Outcome.OK,
                Message(
                    QT_TRANSLATE_NOOP(
                        "workflow", "The board already holds SN {sn}: resuming where it stopped."
                    ),
                    sn=proven.sn,
                ),
                device_sn=proven.sn,
                source=proven.source.value,
                resumed=True,
            )
            return proven, True
        if hello.state is DeviceState.PROVISIONED:
            raise UnknownCredential(hello.hw_id_hex, hello.sn)
        # Provider calls made for it stop retrying when this run is cancelled, and their retries
        # ("rate limited, retrying in 8 s") show on this board's step.
        scope = CallScope(cancel=self.emit.cancel, on_retry=self._provider_retry)
        credential = self.p.source.obtain(hello.hw_id_hex, scope)
        self.emit.check_cancel()
        self.emit(
            Step.CREDENTIAL,
            Outcome.OK,
            device_sn=credential.sn,
            source=credential.source.value,
            resumed=credential.resumed,
        )
        return credential, False

    def _proven_on_board(self, client: DeviceClient, hello: HelloInfo) -> Credential | None:
        if hello.state is DeviceState.BLANK or not hello.sn:
            return None
        record = self.store.record_for_sn(hello.sn)
        if record is None or record.hw_id != hello.hw_id_hex or record.sn != hello.sn:
            return None
        credential = Credential.from_record(self.store, record, resumed=True)
        if not self._proof_ok(client, credential):
            return None
        return credential

    def _proof_ok(self, client: DeviceClient, credential: Credential) -> bool:
        """VERIFY with a fresh nonce; the proof is compared in constant time."""
        nonce, answer = self._call(lambda: _verify(client))
        expected = compute_proof(credential.secret, nonce, credential.sn)
        return answer.sn == credential.sn and hmac.compare_digest(answer.proof, expected)

    def _write(self, client: DeviceClient, credential: Credential) -> None:
        self.emit(Step.WRITE, Outcome.STARTED, device_sn=credential.sn)
        self._call(lambda: client.write(credential.sn, credential.secret))
        self._advance(Stage.WRITTEN)
        self.emit(Step.WRITE, Outcome.OK, device_sn=credential.sn)

    def _verify(self, client: DeviceClient, credential: Credential) -> None:
        self.emit(Step.VERIFY, Outcome.STARTED, device_sn=credential.sn)
        nonce, answer = self._call(lambda: _verify(client))
        expected = compute_proof(credential.secret, nonce, credential.sn)
        if answer.sn != credential.sn or not hmac.compare_digest(answer.proof, expected):
            raise ProofMismatch(credential.sn, answer.sn)
        self._advance(Stage.VERIFIED)
        self.emit(Step.VERIFY, Outcome.OK, device_sn=credential.sn)

    def _commit(self, client: DeviceClient, credential: Credential, *, already: bool) -> None:
        if already:
            self._advance(Stage.COMMITTED)
            self.emit(
                Step.COMMIT,
                Outcome.SKIPPED,
                Message(QT_TRANSLATE_NOOP("workflow", "The credential is already locked in.")),
                device_sn=credential.sn,
            )
            return
        self.emit(Step.COMMIT, Outcome.STARTED, device_sn=credential.sn)
        self._call(client.commit)
        self._advance(Stage.COMMITTED)
        self.emit(Step.COMMIT, Outcome.OK, device_sn=credential.sn)

    def _wifi(self, client: DeviceClient) -> None:
        if not self.p.rules.sets_wifi:
            self.emit(Step.WIFI, Outcome.SKIPPED, self.p.rules.why_no_wifi())
            return
        wifi = self.answers.wifi_credentials(None)
        self.emit.check_cancel()
        if wifi is None:
            self.emit(
                Step.WIFI,
                Outcome.SKIPPED,
                Message(QT_TRANSLATE_NOOP("workflow", "The board's network was left as it is.")),
            )
            return
        self.emit(Step.WIFI, Outcome.STARTED, ssid=wifi.ssid)
        try:
            self._call(lambda: client.set_wifi(wifi.ssid, wifi.psk))
        except UnknownCommand:
            self.emit(
                Step.WIFI,
                Outcome.SKIPPED,
                Message(
                    QT_TRANSLATE_NOOP(
                        "workflow", "This board has no Wi-Fi (it does not know SET_WIFI)."
                    )
                ),
                ssid=wifi.ssid,
            )
            return
        self._follow_network(client, wifi.ssid)

    def _follow_network(self, client: DeviceClient, ssid: str) -> None:
        """Report NET_STATE / WECOM_STATE until the board is ONLINE, for a bounded time; the
        binding does not need the board online, so a slow network only gets a warning."""
        deadline = time.monotonic() + self.p.wifi_online_wait_s
        reported: tuple[object, object] | None = None
        state = self.device_state
        while True:
            self.emit.check_cancel()
            state.on_status(self._call(client.status))
            now_state = (state.net_state, state.wecom_state)
            data: dict[str, Any] = {
                "ssid": ssid,
                "net_state": state.net_state.name if state.net_state is not None else None,
                "wecom_state": state.wecom_state.name if state.wecom_state is not None else None,
            }
            if state.net_state is NetState.ONLINE:
                self.emit(Step.WIFI, Outcome.OK, **data)
                return
            if now_state != reported:
                self.emit(Step.WIFI, Outcome.PROGRESS, **data)
                reported = now_state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.emit(
                    Step.WIFI,
                    Outcome.WAITING,
                    Message(
                        QT_TRANSLATE_NOOP(
                            "workflow",
                            "The board is not online yet; check the network name and password. "
                            "The binding can go ahead meanwhile.",
                        )
                    ),
                    **data,
                )
                return
            state.wait_change(state.version, min(1.0, remaining))

    # -- helpers -----------------------------------------------------------------------------

    def _call(self, request: Callable[[], T]) -> T:
        """A device request, tried again (up to STEP_ATTEMPTS in all) when the device did not
        answer: every request the workflow sends is idempotent, and the client already spent
        its own three tries, so this only matters on a noisy, lossy link. A port closed by
        cancel is reported as the cancel it is."""
        attempt = 1
        while True:
            self.emit.check_cancel()
            try:
                return request()
            except DeviceDisconnected:
                if self.emit.cancel.is_set():
                    raise Cancelled() from None
                raise
            except (DeviceTimeout, Busy) as exc:
                if attempt >= STEP_ATTEMPTS:
                    raise
                attempt += 1
                self.emit(self.emit.step, Outcome.RETRYING, exc.message, attempt=attempt)

    def _record(self) -> DeviceRecord:
        assert self.credential is not None
        record = self.store.record_for_sn(self.credential.sn)
        assert record is not None, "a source always leaves the credential in the store"
        return record

    def _advance(
        self,
        stage: Stage,
        *,
        corpid: str | None = None,
        corp_name: str | None = None,
        agentid: int | None = None,
    ) -> None:
        """Move the record forward (never back: a resumed board may be ahead of the store, or
        the store ahead of a factory-reset board)."""
        record = self._record()
        if record.reached(stage):
            return
        self.store.advance(
            record.sn,
            stage,
            installer=self.p.installer,
            corpid=corpid,
            corp_name=corp_name,
            agentid=agentid,
        )


def _verify(client: DeviceClient) -> tuple[bytes, VerifyResult]:
    """VERIFY with a fresh random nonce (a new one for every attempt)."""
    nonce = secrets.token_bytes(16)
    return nonce, client.verify(nonce)


def _done_reason(outcome: BindingOutcome) -> Message:
    if outcome.confirm_later:
        return Message(
            QT_TRANSLATE_NOOP(
                "workflow", "The board is written; its binding is to be confirmed by the server."
            )
        )
    if outcome.bound:
        return Message(QT_TRANSLATE_NOOP("workflow", "The board is provisioned and bound."))
    return Message(
        QT_TRANSLATE_NOOP(
            "workflow", "The board is provisioned; the QR code is ready for the binding."
        )
    )
