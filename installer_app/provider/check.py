"""The connection check behind ``installer-app check`` and the settings dialog's "Test" button.

It proves each configured service with harmless calls and says which part is wrong:
- WeCom provider API: a provider token (corpid + provider secret), then one page of list_device.
- Partner service: one read of ``/v1/installations/<corpid>`` (URL + installer token).
A model_id WeCom does not know only shows (as 600038) the first time a device is registered.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from installer_app.config import Settings
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.errors import ProviderError
from installer_app.provider.http import HttpOptions, JsonClient, RetryPolicy
from installer_app.provider.partner import PartnerClient
from installer_app.provider.team import TeamClient
from installer_app.provider.wecom import WecomClient

CheckStatus = Literal["ok", "failed", "missing", "skipped"]

# A person is waiting: retry a hiccup once, quickly; report a rate limit rather than wait it out.
CHECK_OPTIONS = HttpOptions(
    retry=RetryPolicy(base_s=0.5, busy_retries=1, rate_limit_retries=0, transient_retries=1)
)


@dataclass(frozen=True)
class CheckItem:
    name: Literal["wecom", "partner", "team"]
    status: CheckStatus
    message: Message
    hint: Message | None = None
    errcode: int | None = None
    installer: str | None = None  # team mode: the installer the server knows the token as

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "message": self.message.render(),
            "hint": self.hint.render() if self.hint else None,
            "errcode": self.errcode,
            **({"installer": self.installer} if self.installer is not None else {}),
        }


@dataclass(frozen=True)
class CheckReport:
    items: tuple[CheckItem, ...]

    @property
    def ok(self) -> bool:
        return any(i.status == "ok" for i in self.items) and all(i.ok for i in self.items)

    @property
    def exit_code(self) -> int:
        if any(i.status == "failed" for i in self.items):
            return ExitCode.PROVIDER
        if not self.ok:
            return ExitCode.USAGE  # something needed is not configured, or nothing is
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        return {
            "event": "check",
            "ok": self.ok,
            "exit_code": self.exit_code,
            "items": [i.to_json() for i in self.items],
        }


def _probe(
    name: Literal["wecom", "partner", "team"],
    client: JsonClient,
    check: Callable[[], None],
    ok: Message,
) -> CheckItem:
    """Run ``check`` on ``client`` (closed afterwards): ``ok``, or the provider's refusal."""
    with client:
        try:
            check()
        except ProviderError as exc:
            return CheckItem(name, "failed", exc.message, exc.hint, exc.errcode)
    return CheckItem(name, "ok", ok)


def check_wecom(settings: Settings, options: HttpOptions = CHECK_OPTIONS) -> CheckItem:
    provider = settings.provider
    needed = provider.mode == "direct"
    if not provider.corpid or settings.provider_secret is None:
        if not needed:
            return CheckItem(
                "wecom",
                "skipped",
                Message(
                    QT_TRANSLATE_NOOP(
                        "provider", "WeCom provider API: not configured (not needed in cloud mode)."
                    )
                ),
            )
        missing = (
            Message(QT_TRANSLATE_NOOP("provider", "corpid"))
            if not provider.corpid
            else Message(QT_TRANSLATE_NOOP("provider", "provider secret"))
        )
        return CheckItem(
            "wecom",
            "missing",
            Message(
                QT_TRANSLATE_NOOP("provider", "WeCom provider API: the {missing} is not set."),
                missing=missing,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Set [provider] corpid in the settings file, and the provider secret in the "
                    "credential store or INSTALLER_PROVIDER_SECRET.",
                )
            ),
        )
    client = WecomClient(
        provider.wecom_base_url, provider.corpid, settings.provider_secret, options
    )
    ok = Message(
        QT_TRANSLATE_NOOP(
            "provider",
            "WeCom provider API at {host}: corpid {corpid} and provider secret work.",
        ),
        host=client.host,
        corpid=provider.corpid,
    )
    return _probe("wecom", client, client.check, ok)


def check_partner(settings: Settings, options: HttpOptions = CHECK_OPTIONS) -> CheckItem:
    base_url = settings.partner.base_url
    needed = settings.provider.mode == "cloud" or settings.credentials.source == "partner"
    if not base_url and not needed:
        return CheckItem(
            "partner",
            "skipped",
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Partner service: not configured; whether the companion app is installed "
                    "cannot be checked.",
                )
            ),
        )
    if not base_url or settings.partner_token is None:
        missing = (
            Message(QT_TRANSLATE_NOOP("provider", "URL"))
            if not base_url
            else Message(QT_TRANSLATE_NOOP("provider", "installer token"))
        )
        return CheckItem(
            "partner",
            "missing",
            Message(
                QT_TRANSLATE_NOOP("provider", "Partner service: the {missing} is not set."),
                missing=missing,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Set [partner] base_url in the settings file, and the installer token in the "
                    "credential store or INSTALLER_PARTNER_TOKEN.",
                )
            ),
        )
    client = PartnerClient(base_url, settings.partner_token, options)
    ok = Message(
        QT_TRANSLATE_NOOP("provider", "Partner service at {host}: the installer token works."),
        host=client.host,
    )
    return _probe("partner", client, lambda: client.check(settings.provider.corpid), ok)


def check_team(
    settings: Settings, options: HttpOptions = CHECK_OPTIONS, *, laptop: str = ""
) -> CheckItem:
    """Team mode's Sign in: the server names the installer its token belongs to."""
    if settings.partner_token is None:
        return CheckItem(
            "team",
            "missing",
            Message(QT_TRANSLATE_NOOP("provider", "Team server: the installer token is not set.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Save the installer token in the settings (credential store), or set "
                    "INSTALLER_PARTNER_TOKEN.",
                )
            ),
        )
    with TeamClient(settings.team.url, settings.partner_token, options, laptop=laptop) as client:
        try:
            me = client.me()
        except ProviderError as exc:
            return CheckItem("team", "failed", exc.message, exc.hint, exc.errcode)
    return CheckItem(
        "team",
        "ok",
        Message(
            QT_TRANSLATE_NOOP("provider", "Team server at {host}: signed in as {installer}."),
            host=client.host,
            installer=me.installer,
        ),
        installer=me.installer,
    )


def run_checks(
    settings: Settings,
    *,
    cancel: threading.Event | None = None,
    options: HttpOptions = CHECK_OPTIONS,
) -> CheckReport:
    """Check every configured service (blocking; run it off the GUI thread); ``cancel`` ends a
    retry wait."""
    if cancel is not None:
        options = dataclasses.replace(options, cancel=cancel)
    if settings.team_mode:
        # The laptop holds no provider secret: the team server is the one service it talks to.
        return CheckReport((check_team(settings, options),))
    return CheckReport((check_wecom(settings, options), check_partner(settings, options)))
