"""Errors of the WeCom provider API and the partner service.

Every ``errcode`` is one row of a table (``WECOM_ERRORS``, the spec's A5 table, and
``PARTNER_ERRORS``, spec C's own codes on top of it): its message, its hint, a short reason for a
progress line and how the transport retries it. ``wecom_error``/``partner_error`` build the error
for a code, matched on the code alone, never on ``errmsg``.

A row raises plain ``ProviderError`` unless code must tell it apart in an ``except``: then the row
names one of the few subclasses below (a refused token, "not bound yet", an unknown SN, an SN
already registered). The transport's own failures (unreachable, an answer that is not the spec's
JSON, cancelled) are classes too. Messages never carry a secret: the only server text that reaches
one is ``errmsg`` of an unknown code, and it passes through ``redact`` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source
from installer_app.secrets import redact

# How the transport retries an error: "busy" a few times, "rate_limit" with a long doubling
# backoff (or the server's Retry-After), "transient" (network, timeouts, HTTP 5xx) exponentially.
RetryKind = Literal["busy", "rate_limit", "transient"]


class ProviderError(InstallerError):
    """An error from (or on the way to) the WeCom provider API or the partner service."""

    exit_code = ExitCode.PROVIDER

    def __init__(
        self,
        message: Message,
        hint: Message | None = None,
        *,
        errcode: int | None = None,
        retry_kind: RetryKind | None = None,
        reason: Message | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.errcode = errcode
        self.retry_kind = retry_kind
        self.retry_after_s = retry_after_s
        self._reason = reason
        super().__init__(message, hint)

    @property
    def transient(self) -> bool:
        """Worth trying again later (a binding watch keeps polling, with backoff)."""
        return self.retry_kind is not None

    @property
    def reason(self) -> Message:
        """A short reason for a progress line: "rate limited", "network down", ..."""
        return self._reason if self._reason is not None else self.message


# -- the few kinds code catches ------------------------------------------------------------------


class TokenInvalid(ProviderError):
    """40014/42001: the WeCom client fetches a new token once and repeats the request once."""

    @property
    def transient(self) -> bool:
        # Not retried by the transport (the client's refresh-once handles it), but a watch keeps
        # going: the next poll fetches a fresh token.
        return True


class NotBound(ProviderError):
    """600004: no enterprise has bound the device yet (a binding watch keeps polling)."""


class BadSn(ProviderError):
    """600001 (and the partner's 404): the SN is malformed or unknown."""


class SnAlreadyRegistered(ProviderError):
    """600021/600036: the SN is registered already or in conflict; never a success."""


class PoolEmpty(ProviderError):
    """409 from the team server: no credential of the model left in its pool (team mode then
    takes a leased one, if this laptop holds any)."""


# -- the tables ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrcodeRow:
    """What one ``errcode`` means to a person and to the transport."""

    text: Source  # may use {errcode}
    hint: Source
    reason: Source | None = None
    retry: RetryKind | None = None
    raises: type[ProviderError] = ProviderError


_MODEL_HINT = QT_TRANSLATE_NOOP(
    "provider", "model_id in settings is wrong: use a model id from the provider admin."
)
_SN_TAKEN = ErrcodeRow(
    QT_TRANSLATE_NOOP("provider", "This SN is already registered with WeCom (errcode {errcode})."),
    QT_TRANSLATE_NOOP(
        "provider",
        "Its SecretNo cannot be fetched again: import it from the provider admin's export, or "
        "use a new SN.",
    ),
    raises=SnAlreadyRegistered,
)
_RATE_LIMITED = QT_TRANSLATE_NOOP("provider", "rate limited")

WECOM_ERRORS: Mapping[int, ErrcodeRow] = {
    -1: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The WeCom provider API is busy (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider", "The app retries on its own; if this persists, try again in a few minutes."
        ),
        QT_TRANSLATE_NOOP("provider", "WeCom is busy"),
        retry="busy",
    ),
    40001: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom refused the provider secret (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider",
            "The provider secret in settings is wrong: copy it again from the provider admin "
            "(服务商管理后台) and save it in settings.",
        ),
    ),
    40013: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom refused the corpid (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider",
            "The corpid in settings is wrong: use the provider's corpid shown in the provider "
            "admin.",
        ),
    ),
    **dict.fromkeys(
        (40014, 42001),
        ErrcodeRow(
            QT_TRANSLATE_NOOP(
                "provider",
                "WeCom refused the access token even after a refresh (errcode {errcode}).",
            ),
            QT_TRANSLATE_NOOP(
                "provider",
                "Wait a minute and try again; if it persists, check the provider secret.",
            ),
            QT_TRANSLATE_NOOP("provider", "access token refused"),
            raises=TokenInvalid,
        ),
    ),
    45009: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom is rate limiting this account (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider", "The app waits and tries again; a per-minute block lasts about a minute."
        ),
        _RATE_LIMITED,
        retry="rate_limit",
    ),
    45033: ErrcodeRow(
        QT_TRANSLATE_NOOP(
            "provider", "WeCom reports too many concurrent calls (errcode {errcode})."
        ),
        QT_TRANSLATE_NOOP(
            "provider", "The app waits and tries again; run fewer installer stations at once."
        ),
        QT_TRANSLATE_NOOP("provider", "too many concurrent calls"),
        retry="rate_limit",
    ),
    600001: ErrcodeRow(
        QT_TRANSLATE_NOOP(
            "provider", "WeCom rejected the SN or does not know it (errcode {errcode})."
        ),
        QT_TRANSLATE_NOOP(
            "provider",
            "The SN source is wrong: check the SN prefix in settings or the inventory file "
            "(SNs are 1 to 128 letters and digits).",
        ),
        raises=BadSn,
    ),
    600002: ErrcodeRow(
        QT_TRANSLATE_NOOP(
            "provider",
            "WeCom says this device has already registered itself (errcode {errcode}): the "
            "board was activated before.",
        ),
        QT_TRANSLATE_NOOP(
            "provider",
            "Stop here and set this board aside: it has already opened its own connection to "
            "WeCom. Ask the provider admin before provisioning it again.",
        ),
    ),
    600004: ErrcodeRow(
        QT_TRANSLATE_NOOP(
            "provider", "The device is not bound to any enterprise yet (errcode {errcode})."
        ),
        QT_TRANSLATE_NOOP(
            "provider", "An enterprise admin scans the binding QR code in the WeCom app."
        ),
        raises=NotBound,
    ),
    600005: ErrcodeRow(
        QT_TRANSLATE_NOOP(
            "provider", "WeCom says this device's SecretNo is invalid (errcode {errcode})."
        ),
        QT_TRANSLATE_NOOP(
            "provider",
            "The device must get new credentials: reset its SecretNo in the provider admin, then "
            "provision it again.",
        ),
    ),
    600021: _SN_TAKEN,
    600036: _SN_TAKEN,
    600037: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom says the model_id is missing (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider",
            "Set model_id in settings to the model id shown in the provider admin "
            "(服务商管理后台).",
        ),
    ),
    600038: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom does not know this model (errcode {errcode})."),
        _MODEL_HINT,
    ),
    600042: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom says the model_id is invalid (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider",
            "model_id in settings is wrong: copy it exactly as the provider admin shows it.",
        ),
    ),
    600051: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "WeCom says this SN has expired (errcode {errcode})."),
        QT_TRANSLATE_NOOP(
            "provider",
            "The SN's validity in the provider admin (服务商管理后台) has ended: extend it there, "
            "or use another SN.",
        ),
    ),
}

# The partner service's HTTP-like codes (spec C); any other errcode means what WeCom's does.
PARTNER_ERRORS: Mapping[int, ErrcodeRow] = {
    401: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The partner service refused the installer token."),
        QT_TRANSLATE_NOOP(
            "provider",
            "The installer token in settings is wrong or revoked: ask the partner for a new one.",
        ),
    ),
    403: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The team server does not allow this installer to do that."),
        QT_TRANSLATE_NOOP("provider", "Ask the team server's administrator."),
    ),
    409: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The team server has no credential left for this model."),
        QT_TRANSLATE_NOOP(
            "provider",
            "Ask the team server's administrator to import more SNs into its pool.",
        ),
        raises=PoolEmpty,
    ),
    429: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The partner service is rate limiting this installer."),
        QT_TRANSLATE_NOOP("provider", "The app waits as the service asks and tries again."),
        _RATE_LIMITED,
        retry="rate_limit",
    ),
    600001: ErrcodeRow(
        QT_TRANSLATE_NOOP("provider", "The partner service does not know this SN."),
        QT_TRANSLATE_NOOP(
            "provider", "Register the device with the partner service first, or check the SN."
        ),
        raises=BadSn,
    ),
}


def _from_row(row: ErrcodeRow, errcode: int, retry_after_s: float | None = None) -> ProviderError:
    return row.raises(
        Message(row.text, errcode=errcode),
        Message(row.hint),
        errcode=errcode,
        retry_kind=row.retry,
        reason=Message(row.reason) if row.reason is not None else None,
        retry_after_s=retry_after_s,
    )


def _unknown(errcode: int, errmsg: str) -> ProviderError:
    """An errcode no table lists: fatal, shown with the server's own text."""
    return ProviderError(
        Message(
            QT_TRANSLATE_NOOP("provider", "The provider API answered errcode {errcode}: {errmsg}"),
            errcode=errcode,
            errmsg=redact(errmsg),
        ),
        Message(
            QT_TRANSLATE_NOOP(
                "provider",
                "Look the code up in the WeCom documentation, or send this message to the "
                "provider admin.",
            )
        ),
        errcode=errcode,
    )


def wecom_error(
    errcode: int, errmsg: str = "", *, retry_after_s: float | None = None
) -> ProviderError:
    """The error for a WeCom ``errcode`` (non-zero); unknown codes keep the server text."""
    row = WECOM_ERRORS.get(errcode)
    return _from_row(row, errcode, retry_after_s) if row else _unknown(errcode, errmsg)


def partner_error(
    errcode: int, errmsg: str = "", *, retry_after_s: float | None = None
) -> ProviderError:
    """The error for a partner service ``errcode``: its own codes first, then WeCom's."""
    row = PARTNER_ERRORS.get(errcode)
    if row is None:
        return wecom_error(errcode, errmsg, retry_after_s=retry_after_s)
    return _from_row(row, errcode, retry_after_s)


def bad_sn() -> BadSn:
    """An SN that breaks spec A2's rule, refused before it goes on the wire."""
    error = wecom_error(600001)
    assert isinstance(error, BadSn)
    return error


# -- the transport's own failures ------------------------------------------------------------


class ProviderUnreachable(ProviderError):
    """Network errors, timeouts and HTTP 5xx, once the transport's retries are spent."""

    def __init__(self, host: str, detail: Message) -> None:
        self.host = host
        self.detail = detail
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("provider", "Cannot reach {host} ({detail}): check the network."),
                host=host,
                detail=detail,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Check the network connection and the server address in settings; the app "
                    "retries on its own.",
                )
            ),
            retry_kind="transient",
            reason=Message(QT_TRANSLATE_NOOP("provider", "network down or server unreachable")),
        )


class UnexpectedAnswer(ProviderError):
    """The server answered, but not with the JSON the spec describes (wrong URL, a proxy page)."""

    def __init__(self, host: str, status: int, detail: Message) -> None:
        self.host = host
        self.status = status
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "{host} answered HTTP {status} without the expected JSON ({detail}).",
                ),
                host=host,
                status=status,
                detail=detail,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "provider",
                    "Check the server address in settings: it must point at the WeCom API or the "
                    "partner service.",
                )
            ),
        )


class ProviderCancelled(ProviderError):
    """A wait was cancelled (the person pressed Cancel, the app is closing)."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self) -> None:
        super().__init__(
            Message(QT_TRANSLATE_NOOP("provider", "The request to the provider was cancelled."))
        )
