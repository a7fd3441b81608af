"""What the store hands out: stages, sources and records (never a secret).

``DeviceRecord`` deliberately has no secret field: ``Store.secret_for`` is the only way to a
SecretNo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from installer_app.store.inventory import RejectedRow


class Stage(StrEnum):
    """Where an SN is in its life. ``FREE``: imported from the inventory, not given to a board."""

    FREE = "free"
    RESERVED = "reserved"
    WRITTEN = "written"
    VERIFIED = "verified"
    COMMITTED = "committed"
    BOUND = "bound"
    APP_INSTALLED = "app_installed"

    @property
    def rank(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: Final[tuple[Stage, ...]] = tuple(Stage)


class Source(StrEnum):
    """Where a credential came from (``[credentials] source``)."""

    REGISTER = "register"  # WeCom add_device issued it for this board
    INVENTORY = "inventory"  # the provider admin's export, imported beforehand
    PARTNER = "partner"  # the partner service issued it


@dataclass(frozen=True)
class DeviceRecord:
    """One SN and what happened to it. Deliberately has no secret: see ``Store.secret_for``.

    ``installer`` is the person behind the latest change; ``Store.events_for`` has who did each
    step. Times are timezone-aware UTC; a stage that was skipped (a resumed board) has no time.
    """

    sn: str
    hw_id: str | None  # lower-case hex; None while the credential is free in the inventory
    model_id: str | None
    qr_code: str | None
    source: Source
    stage: Stage
    corpid: str | None
    corp_name: str | None
    agentid: int | None
    installer: str | None
    created_at: datetime
    updated_at: datetime
    reserved_at: datetime | None = None
    written_at: datetime | None = None
    verified_at: datetime | None = None
    committed_at: datetime | None = None
    bound_at: datetime | None = None
    app_installed_at: datetime | None = None
    # The SecretNo held is the model's shared seed ([provider] secret_mode = "seed"): the device
    # swaps it for its own on first connection, and this laptop never knows that one.
    seed_credential: bool = False
    location: str | None = None  # where on site it was mounted (Done page); plain text
    # Team mode: the team server lent this credential for a site without network (a lease).
    lease_id: str | None = None

    @property
    def is_free(self) -> bool:
        return self.hw_id is None

    def reached(self, stage: Stage) -> bool:
        """True when the record is at ``stage`` or beyond."""
        return self.stage.rank >= stage.rank

    def time_of(self, stage: Stage) -> datetime | None:
        if stage is Stage.FREE:
            return self.created_at if self.source is Source.INVENTORY else None
        value: datetime | None = getattr(self, f"{stage.value}_at")
        return value


@dataclass(frozen=True)
class EventRecord:
    """One line of the append-only history. ``what`` is a stage value, or ``imported``,
    ``registration_started``, ``registration_abandoned``, ``failed``, ``skipped`` or
    ``location``."""

    id: int
    sn: str
    hw_id: str | None
    what: str
    time: datetime
    installer: str | None
    detail: str | None


@dataclass(frozen=True)
class PendingRegistration:
    """An add_device call that was started and may have reached WeCom without its SecretNo
    reaching the store. The workflow deletes that never-bound SN at WeCom and registers again."""

    sn: str
    hw_id: str
    model_id: str
    started_at: datetime


@dataclass(frozen=True)
class InventoryStats:
    """Counts over the credentials imported from inventory files (``model_id`` filtered)."""

    total: int
    free: int
    assigned: int
    by_stage: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportReport:
    """What ``import_inventory`` did. When ``rejected`` is not empty nothing was imported."""

    imported: int
    duplicates: int  # already in the store with the same SecretNo (an earlier import)
    rejected: tuple[RejectedRow, ...]

    @property
    def ok(self) -> bool:
        return not self.rejected
