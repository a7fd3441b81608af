"""Build a ready ``Provisioner`` from the settings: the store, the provider clients, the source.

Both front ends call ``open_session`` and ``Session.close`` around their runs; every check of the
settings the workflow depends on happens here, before any board is touched, so a missing corpid
or secret is one clear ``ConfigError`` (exit 2) naming the setting, not a failure half-way.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from installer_app.config import (
    ENV_PARTNER_TOKEN,
    ENV_PROVIDER_SECRET,
    ConfigError,
    Settings,
    validate_settings,
)
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.http import HttpOptions, RetryPolicy
from installer_app.provider.partner import PartnerClient
from installer_app.provider.team import TeamClient
from installer_app.provider.wecom import CorpBinding, WecomClient
from installer_app.store.db import Store, open_store
from installer_app.team.binding import TeamBinding
from installer_app.team.outbox import OutboxSender
from installer_app.team.source import TeamSource
from installer_app.workflow.binding import BindingPhase
from installer_app.workflow.machine import Provisioner
from installer_app.workflow.plan import flow_rules
from installer_app.workflow.profiles import active_settings
from installer_app.workflow.sources import (
    CredentialSource,
    InventorySource,
    PartnerSource,
    RegisterSource,
)

log = logging.getLogger(__name__)


def _settings_file(settings: Settings) -> str:
    return str(settings.source_file) if settings.source_file else "(defaults)"


def _missing(settings: Settings, key: str, hint: Message | None = None) -> ConfigError:
    return ConfigError(
        Message(
            QT_TRANSLATE_NOOP(
                "workflow", "The setting {key} is needed to provision, but it is empty ({file})."
            ),
            key=key,
            file=_settings_file(settings),
        ),
        hint
        or Message(
            QT_TRANSLATE_NOOP(
                "workflow", "Set it in the configuration file or in the settings dialog."
            )
        ),
    )


def _secret_hint(env: str) -> Message:
    return Message(
        QT_TRANSLATE_NOOP(
            "workflow",
            "Save it in the settings dialog (OS credential store), or set the environment "
            "variable {env}.",
        ),
        env=env,
    )


def _inconsistent(settings: Settings) -> ConfigError:
    return ConfigError(
        Message(
            QT_TRANSLATE_NOOP(
                "workflow",
                "[provider] mode = {mode} does not go with [credentials] source = {chosen} "
                "({file}).",
            ),
            mode=settings.provider.mode,
            chosen=settings.credentials.source,
            file=_settings_file(settings),
        ),
        Message(
            QT_TRANSLATE_NOOP(
                "workflow",
                "Cloud-to-cloud mode takes its credentials from the partner service (source = "
                "partner); direct mode uses register or inventory.",
            )
        ),
    )


def check_settings(settings: Settings) -> None:
    """Raise ConfigError for the first setting the chosen mode and source need but lack, or
    whose value is out of bounds (settings the wizard built, not only those from a file)."""
    validate_settings(settings)
    provider = settings.provider
    if settings.team_mode:
        # The team server holds the provider secret and decides direct or cloud: the laptop
        # needs only the model, the server's URL and the installer's token.
        if not provider.model_id:
            raise _missing(settings, "[provider] model_id")
        if not settings.partner_token:
            raise _missing(settings, "installer token", _secret_hint(ENV_PARTNER_TOKEN))
        return
    cloud = provider.mode == "cloud"
    if cloud != (settings.credentials.source == "partner"):
        raise _inconsistent(settings)
    if not provider.model_id:
        raise _missing(settings, "[provider] model_id")
    if cloud:
        if not settings.partner.base_url:
            raise _missing(settings, "[partner] base_url")
        if not settings.partner_token:
            raise _missing(settings, "partner token", _secret_hint(ENV_PARTNER_TOKEN))
        return
    if not provider.wecom_base_url:
        raise _missing(settings, "[provider] wecom_base_url")
    if not provider.corpid:
        raise _missing(settings, "[provider] corpid")
    if not settings.provider_secret:
        raise _missing(settings, "provider secret", _secret_hint(ENV_PROVIDER_SECRET))


@dataclass
class Session:
    """What one CLI command or one wizard window provisions with. ``close()`` when done."""

    settings: Settings
    data_dir: Path
    store: Store
    provisioner: Provisioner
    wecom: WecomClient | None
    partner: PartnerClient | None
    _closing: threading.Event
    # Team mode: the team server's client (also ``partner``) and the outbox's sender.
    team: TeamClient | None = None
    outbox: OutboxSender | None = None

    def close(self) -> None:
        """Idempotent. Sends what the outbox holds once more (no retries), stops provider
        retries in flight, then closes clients and store."""
        if self.outbox is not None:
            self.outbox.close(flush=not self._closing.is_set())
        self._closing.set()
        _close(self.store, self.wecom, self.partner)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _close(store: Store, *clients: WecomClient | PartnerClient | None) -> None:
    for client in clients:
        if client is not None:
            client.close()
    store.close()


def laptop_id() -> str:
    """How the team server's audit table names this laptop."""
    return socket.gethostname()[:128]


def open_team_client(settings: Settings, options: HttpOptions | None = None) -> TeamClient:
    assert settings.partner_token is not None
    return TeamClient(
        settings.team.url, settings.partner_token, options or HttpOptions(), laptop=laptop_id()
    )


def _open_team_session(
    settings: Settings, data_dir: Path, timeout_s: float | None, *, background: bool
) -> Session:
    closing = threading.Event()
    store = open_store(settings, data_dir)
    team: TeamClient | None = None
    try:
        store.enable_outbox()
        team = open_team_client(settings, HttpOptions(cancel=closing))
        installer = settings.installer_name()
        source = TeamSource(store, team, model_id=settings.provider.model_id, installer=installer)
        watch = TeamBinding(store, team)
        binding = BindingPhase(
            check_binding=watch.check_binding,
            check_install=watch.check_install,
            qr_kind=settings.binding.qr,
            poll_interval_s=settings.binding.poll_interval_s,
            timeout_s=timeout_s if timeout_s is not None else settings.binding.timeout_s,
            confirm_later=watch.confirm_later,
        )
        provisioner = Provisioner(
            store=store,
            source=source,
            binding=binding,
            model_id=settings.provider.model_id,
            installer=installer,
            rules=flow_rules(settings),
        )
        outbox = OutboxSender(store, team, installer=installer)
        if background:
            outbox.start()
    except BaseException:
        _close(store, team)
        raise
    return Session(settings, data_dir, store, provisioner, None, team, closing, team, outbox)


def open_session(
    settings: Settings,
    data_dir: Path,
    *,
    timeout_s: float | None = None,
    background_sync: bool = True,
) -> Session:
    """Check the settings, open the store and the provider clients, build the Provisioner.

    ``timeout_s`` overrides ``[binding] timeout_s`` (the CLI's ``--timeout``). The chosen
    profile's values apply (``profiles.active_settings``); ``Session.settings`` holds them. In
    team mode the outbox is sent in the background while the session is open
    (``background_sync``).
    """
    settings = active_settings(settings)
    check_settings(settings)
    if settings.team_mode:
        return _open_team_session(settings, data_dir, timeout_s, background=background_sync)
    closing = threading.Event()
    store = open_store(settings, data_dir)
    wecom: WecomClient | None = None
    partner: PartnerClient | None = None
    try:
        provider = settings.provider
        installer = settings.installer_name()
        options = HttpOptions(cancel=closing)
        if settings.partner.base_url and settings.partner_token:
            partner = PartnerClient(settings.partner.base_url, settings.partner_token, options)
        # The binding watch backs off on its own (its waits are cancellable and on screen), so
        # its polls go through views of the clients that do not retry.
        no_retries = RetryPolicy.no_retries()
        source: CredentialSource
        # Seed SecretNo models only exist in direct mode: in cloud mode the app holds the
        # partner cloud's credential, never a WeCom SecretNo.
        seed = provider.secret_mode == "seed"
        check_binding: Callable[[str], CorpBinding | None]
        if provider.mode == "cloud":
            assert partner is not None
            source = PartnerSource(store, partner, model_id=provider.model_id, installer=installer)
            check_binding = partner.with_retry(no_retries).get_device
        else:
            assert settings.provider_secret is not None
            wecom = WecomClient(
                provider.wecom_base_url, provider.corpid, settings.provider_secret, options
            )
            if settings.credentials.source == "inventory":
                source = InventorySource(
                    store, model_id=provider.model_id, installer=installer, seed=seed
                )
            else:
                source = RegisterSource(
                    store,
                    wecom,
                    model_id=provider.model_id,
                    sn_prefix=settings.credentials.sn_prefix,
                    installer=installer,
                    seed=seed,
                )
            check_binding = wecom.with_retry(no_retries).get_device_auth_info
        binding = BindingPhase(
            check_binding=check_binding,
            check_install=(
                partner.with_retry(no_retries).get_installation if partner is not None else None
            ),
            qr_kind=settings.binding.qr,
            poll_interval_s=settings.binding.poll_interval_s,
            timeout_s=timeout_s if timeout_s is not None else settings.binding.timeout_s,
        )
        provisioner = Provisioner(
            store=store,
            source=source,
            binding=binding,
            model_id=provider.model_id,
            installer=installer,
            rules=flow_rules(settings),
        )
    except BaseException:
        _close(store, wecom, partner)
        raise
    return Session(settings, data_dir, store, provisioner, wecom, partner, closing)
