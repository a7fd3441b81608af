"""Where a board's SN and SecretNo come from (``[credentials] source``).

Each source gives a board the credential it already holds in this store when it has one (so a
resumed or factory-reset board keeps its SN: an SN goes to at most one HW_ID, ever), and only
otherwise takes a new one. Every source leaves the store holding the credential, reserved for the
board, before the workflow writes anything to the device.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider import qr
from installer_app.provider.errors import BadSn, SnAlreadyRegistered
from installer_app.provider.http import CallScope
from installer_app.provider.partner import PartnerClient
from installer_app.provider.wecom import WecomClient
from installer_app.secrets import Secret
from installer_app.store.db import Store
from installer_app.store.records import DeviceRecord, Source
from installer_app.workflow.errors import NoCredential, RegistrationConflict, WorkflowError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    """A board's credential as the store holds it. ``secret`` is the SecretNo in direct mode,
    the partner-cloud credential in cloud mode."""

    sn: str
    secret: Secret
    qr_code: str | None
    source: Source
    resumed: bool  # the store already held it for this board before this run
    # ``secret`` is the model's shared seed ([provider] secret_mode = "seed"), not the device's
    # own SecretNo: never sign a dynamic QR code with it.
    seed: bool = False

    @classmethod
    def from_record(cls, store: Store, record: DeviceRecord, *, resumed: bool) -> Credential:
        return cls(
            sn=record.sn,
            secret=store.secret_for(record.sn),
            qr_code=record.qr_code or None,
            source=record.source,
            resumed=resumed,
            seed=record.seed_credential,
        )

    def check_binding_qr(self, qr_kind: Literal["static", "dynamic"]) -> None:
        """Refuse, BEFORE anything is written to or locked on the board, a binding QR code it
        could not show: the static link it will use must be exactly WeCom's (provider/qr.py),
        and a seed or a partner-cloud credential cannot sign a dynamic code, so those need a
        static link."""
        static_only = self.source is Source.PARTNER or self.seed
        if self.qr_code and (static_only or qr_kind == "static"):
            qr.static_qr_url(self.qr_code, self.secret)
        elif not self.qr_code and static_only:
            raise NoStaticQr(self.sn, seed=self.seed)


class NoStaticQr(WorkflowError):
    """The board could only be shown a dynamic code, which its credential cannot sign."""

    exit_code = ExitCode.PROVIDER

    def __init__(self, sn: str, *, seed: bool) -> None:
        if seed:
            message = Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "SN {sn} holds the model's seed SecretNo and has no static QR code; a "
                    "dynamic code cannot be signed with a seed.",
                ),
                sn=sn,
            )
            hint = Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Import the provider admin's export with its qr_code column, or set "
                    '[provider] secret_mode = "per_device" if this model has no seed.',
                )
            )
        else:  # cloud mode: the partner-cloud credential is no WeCom SecretNo either
            message = Message(
                QT_TRANSLATE_NOOP(
                    "workflow", "The partner service gave no binding QR code for {sn}."
                ),
                sn=sn,
            )
            hint = Message(QT_TRANSLATE_NOOP("workflow", "Ask the partner service's operator."))
        super().__init__(message, hint)


class CredentialSource(Protocol):
    name: Source

    def obtain(self, hw_id: str, scope: CallScope) -> Credential:
        """The board's credential, reserved for it in the store. Raises InstallerError.
        Provider calls made for it are the caller's (``scope``: its cancel, its retry notes)."""
        ...


class StoreBackedSource:
    """What every source shares: a board the store already knows keeps its credential; a new
    one gets ``_new(hw_id, scope)``, reserved in the store before anything is written to it."""

    name: Source

    def __init__(self, store: Store, *, model_id: str, installer: str, seed: bool = False) -> None:
        self._store = store
        self._model_id = model_id
        self._installer = installer
        self._seed = seed  # [provider] secret_mode = "seed"

    def obtain(self, hw_id: str, scope: CallScope) -> Credential:
        held = self._store.record_for_hw_id(hw_id)
        if held is not None:
            return Credential.from_record(self._store, held, resumed=True)
        return self._new(hw_id, scope)

    def _new(self, hw_id: str, scope: CallScope) -> Credential:
        raise NotImplementedError

    def _reserve(self, hw_id: str, sn: str, secret: Secret, qr_code: str) -> Credential:
        """Keep a freshly issued credential for the board (one transaction)."""
        record = self._store.reserve(
            sn,
            hw_id,
            secret,
            source=self.name,
            model_id=self._model_id,
            installer=self._installer,
            qr_code=qr_code or None,
            seed=self._seed,
        )
        return Credential(
            sn=record.sn,
            secret=secret,
            qr_code=record.qr_code,
            source=self.name,
            resumed=False,
            seed=record.seed_credential,
        )


def register_sn(prefix: str, hw_id_hex: str) -> str:
    """The SN the ``register`` source gives a board: prefix + HW_ID in upper-case hex."""
    return f"{prefix}{hw_id_hex.upper()}"


class RegisterSource(StoreBackedSource):
    """WeCom ``add_device`` issues the SecretNo for SN = prefix + HW_ID.

    Crash safety: ``begin_registration`` is recorded BEFORE add_device, and ``reserve`` clears it
    in the same transaction that stores the SecretNo. A registration still pending on the next
    run means WeCom may hold an SN whose SecretNo nobody kept; it was never written to a board
    (writing comes after reserve), so it was never bound: delete it and register again.
    """

    name = Source.REGISTER

    def __init__(
        self,
        store: Store,
        wecom: WecomClient,
        *,
        model_id: str,
        sn_prefix: str,
        installer: str,
        seed: bool = False,
    ) -> None:
        super().__init__(store, model_id=model_id, installer=installer, seed=seed)
        self._wecom = wecom
        self._prefix = sn_prefix

    def _new(self, hw_id: str, scope: CallScope) -> Credential:
        wecom = self._wecom.scoped(scope)
        sn = register_sn(self._prefix, hw_id)
        pending = any(
            p.sn.upper() == sn.upper() and p.hw_id == hw_id
            for p in self._store.pending_registrations()
        )
        if pending:
            self._recover(wecom, sn)
        self._store.begin_registration(sn, hw_id, self._model_id)
        try:
            device = wecom.add_device(self._model_id, sn)
        except SnAlreadyRegistered:
            record = self._store.record_for_sn(sn)
            if record is not None and record.hw_id == hw_id:
                return Credential.from_record(self._store, record, resumed=True)
            # Not ours: forget the registration so that no later run deletes someone else's SN.
            self._store.finish_registration(sn)
            raise RegistrationConflict(sn, hw_id) from None
        # Any other failure leaves the pending mark on purpose: the next run cannot know whether
        # WeCom registered the SN, so it recovers (deletes it and registers again).
        # reserve clears the pending registration in the same transaction.
        return self._reserve(hw_id, device.device_sn, device.secret_no, device.qr_code)

    def _recover(self, wecom: WecomClient, sn: str) -> None:
        """Delete the SN a crashed run may have registered, unless someone bound it meanwhile
        (then it is not ours to delete: report the conflict)."""
        log.warning("recovering the unfinished registration of %s", sn)
        binding = _probe_binding(wecom, sn)
        if binding:
            self._store.finish_registration(sn)
            raise RegistrationConflict(sn, "?")
        # BadSn: WeCom never registered it (the crash came before add_device reached WeCom).
        with contextlib.suppress(BadSn):
            wecom.del_device(sn)
        self._store.finish_registration(sn)


def _probe_binding(wecom: WecomClient, sn: str) -> bool:
    try:
        return wecom.get_device_auth_info(sn) is not None
    except BadSn:
        return False


class InventorySource(StoreBackedSource):
    """A free credential from the imported provider-admin export."""

    name = Source.INVENTORY

    def _new(self, hw_id: str, scope: CallScope) -> Credential:
        record = self._store.take_from_inventory(
            hw_id, model_id=self._model_id or None, installer=self._installer, seed=self._seed
        )
        if record is None:
            raise NoCredential()
        return Credential.from_record(self._store, record, resumed=False)


class PartnerSource(StoreBackedSource):
    """Cloud-to-cloud mode: the partner service issues SN + credential, idempotent by HW_ID, so a
    crash between its answer and ``reserve`` is repaired by simply asking again."""

    name = Source.PARTNER

    def __init__(
        self, store: Store, partner: PartnerClient, *, model_id: str, installer: str
    ) -> None:
        super().__init__(store, model_id=model_id, installer=installer)
        self._partner = partner

    def _new(self, hw_id: str, scope: CallScope) -> Credential:
        device = self._partner.scoped(scope).register_device(self._model_id, hw_id)
        return self._reserve(hw_id, device.device_sn, device.credential, device.qr_code)
