"""Typed errors for the WeCom provider API and the partner service.

One class per row of the spec's A5 table (matched on ``errcode``, never on ``errmsg``), plus the
partner service's HTTP errors and the transport's own failures. Each class says whether it is worth
retrying (``retry_kind``), which the transport (``http.py``) and the binding watcher use to back
off; the rest stop at once. Messages never carry a secret: the only server text that reaches one is
``errmsg`` of an unknown code, and it passes through ``redact`` first.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source
from installer_app.secrets import redact

# How the transport retries an error: "busy" a few times, "rate_limit" with a long doubling
# backoff (or the server's Retry-After), "transient" (network, timeouts, HTTP 5xx) exponentially.
RetryKind = Literal["busy", "rate_limit", "transient"]


class ProviderError(InstallerError):
    """An error from (or on the way to) the WeCom provider API or the partner service."""

    exit_code = ExitCode.PROVIDER
    errcodes: ClassVar[tuple[int, ...]] = ()
    retry_kind: ClassVar[RetryKind | None] = None
    text: ClassVar[Source] = QT_TRANSLATE_NOOP(
        "provider", "The provider API reported an error (errcode {errcode})."
    )
    hint_text: ClassVar[Source | None] = None
    reason_text: ClassVar[Source | None] = None

    def __init__(
        self,
        message: Message | None = None,
        hint: Message | None = None,
        *,
        errcode: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        if errcode is None and self.errcodes:
            errcode = self.errcodes[0]
        self.errcode = errcode
        self.retry_after_s = retry_after_s
        if message is None:
            message = Message(self.text, errcode=errcode)
        if hint is None and self.hint_text is not None:
            hint = Message(self.hint_text)
        super().__init__(message, hint)

    @property
    def transient(self) -> bool:
        """Worth trying again later (the watcher keeps polling, with backoff)."""
        return self.retry_kind is not None

    @property
    def reason(self) -> Message:
        """A short reason for a progress line: "rate limited", "network down", ..."""
        return Message(self.reason_text) if self.reason_text is not None else self.message


class SystemBusy(ProviderError):
    errcodes = (-1,)
    retry_kind = "busy"
    text = QT_TRANSLATE_NOOP("provider", "The WeCom provider API is busy (errcode {errcode}).")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "The app retries on its own; if this persists, try again in a few minutes."
    )
    reason_text = QT_TRANSLATE_NOOP("provider", "WeCom is busy")


class InvalidSecret(ProviderError):
    errcodes = (40001,)
    text = QT_TRANSLATE_NOOP("provider", "WeCom refused the provider secret (errcode {errcode}).")
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "The provider secret in settings is wrong: copy it again from the provider admin "
        "(服务商管理后台) and save it in settings.",
    )


class InvalidCorpId(ProviderError):
    errcodes = (40013,)
    text = QT_TRANSLATE_NOOP("provider", "WeCom refused the corpid (errcode {errcode}).")
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "The corpid in settings is wrong: use the provider's corpid shown in the provider admin.",
    )


class TokenInvalid(ProviderError):
    """40014/42001: the client fetches a new token once and repeats the request once."""

    errcodes = (40014, 42001)
    text = QT_TRANSLATE_NOOP(
        "provider", "WeCom refused the access token even after a refresh (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "Wait a minute and try again; if it persists, check the provider secret."
    )
    reason_text = QT_TRANSLATE_NOOP("provider", "access token refused")

    @property
    def transient(self) -> bool:
        # Not retried by the transport (the client's refresh-once handles it), but a watcher
        # keeps going: the next poll fetches a fresh token.
        return True


class RateLimited(ProviderError):
    errcodes = (45009,)
    retry_kind = "rate_limit"
    text = QT_TRANSLATE_NOOP("provider", "WeCom is rate limiting this account (errcode {errcode}).")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "The app waits and tries again; a per-minute block lasts about a minute."
    )
    reason_text = QT_TRANSLATE_NOOP("provider", "rate limited")


class TooManyCalls(ProviderError):
    errcodes = (45033,)
    retry_kind = "rate_limit"
    text = QT_TRANSLATE_NOOP(
        "provider", "WeCom reports too many concurrent calls (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "The app waits and tries again; run fewer installer stations at once."
    )
    reason_text = QT_TRANSLATE_NOOP("provider", "too many concurrent calls")


class BadSn(ProviderError):
    errcodes = (600001,)
    text = QT_TRANSLATE_NOOP(
        "provider", "WeCom rejected the SN or does not know it (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "The SN source is wrong: check the SN prefix in settings or the inventory file "
        "(SNs are 1 to 128 letters and digits).",
    )


class SnAlreadyRegistered(ProviderError):
    """600002/600021: a conflict, never a success."""

    errcodes = (600002, 600021)
    text = QT_TRANSLATE_NOOP(
        "provider", "This SN is already registered with WeCom (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "Its SecretNo cannot be fetched again: import it from the provider admin's export, or "
        "use a new SN.",
    )


class NotBound(ProviderError):
    errcodes = (600004,)
    text = QT_TRANSLATE_NOOP(
        "provider", "The device is not bound to any enterprise yet (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "An enterprise admin scans the binding QR code in the WeCom app."
    )


class HardwareSecretInvalid(ProviderError):
    errcodes = (600005,)
    text = QT_TRANSLATE_NOOP(
        "provider", "WeCom says this device's SecretNo is invalid (errcode {errcode})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "The device must get new credentials: reset its SecretNo in the provider admin, then "
        "provision it again.",
    )


class ModelNotFound(ProviderError):
    errcodes = (600038,)
    text = QT_TRANSLATE_NOOP("provider", "WeCom does not know this model (errcode {errcode}).")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "model_id in settings is wrong: use a model id from the provider admin."
    )


class UnknownProviderError(ProviderError):
    """An errcode the spec's table does not list: fatal, shown with the server's own text."""

    text = QT_TRANSLATE_NOOP("provider", "The provider API answered errcode {errcode}: {errmsg}")
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "Look the code up in the WeCom documentation, or send this message to the provider admin.",
    )

    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errmsg = redact(errmsg)
        super().__init__(Message(self.text, errcode=errcode, errmsg=self.errmsg), errcode=errcode)


class PartnerAuthError(ProviderError):
    errcodes = (401,)
    text = QT_TRANSLATE_NOOP("provider", "The partner service refused the installer token.")
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "The installer token in settings is wrong or revoked: ask the partner for a new one.",
    )


class PartnerRateLimited(ProviderError):
    errcodes = (429,)
    retry_kind = "rate_limit"
    text = QT_TRANSLATE_NOOP("provider", "The partner service is rate limiting this installer.")
    hint_text = QT_TRANSLATE_NOOP("provider", "The app waits as the service asks and tries again.")
    reason_text = QT_TRANSLATE_NOOP("provider", "rate limited")

    def __init__(self, retry_after_s: float | None = None) -> None:
        super().__init__(retry_after_s=retry_after_s)


class PartnerUnknownSn(BadSn):
    errcodes = (600001,)
    text = QT_TRANSLATE_NOOP("provider", "The partner service does not know this SN.")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "Register the device with the partner service first, or check the SN."
    )


class ProviderUnreachable(ProviderError):
    """Network errors, timeouts and HTTP 5xx, once the transport's retries are spent."""

    retry_kind = "transient"
    text = QT_TRANSLATE_NOOP("provider", "Cannot reach {host} ({detail}): check the network.")
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "Check the network connection and the server address in settings; the app retries on "
        "its own.",
    )
    reason_text = QT_TRANSLATE_NOOP("provider", "network down or server unreachable")

    def __init__(self, host: str, detail: Message) -> None:
        self.host = host
        self.detail = detail
        super().__init__(Message(self.text, host=host, detail=detail))


class BadResponse(ProviderError):
    """The server answered, but not with the JSON the spec describes (wrong URL, a proxy page)."""

    text = QT_TRANSLATE_NOOP(
        "provider", "{host} answered HTTP {status} without the expected JSON ({detail})."
    )
    hint_text = QT_TRANSLATE_NOOP(
        "provider",
        "Check the server address in settings: it must point at the WeCom API or the partner "
        "service.",
    )

    def __init__(self, host: str, status: int, detail: Message) -> None:
        self.host = host
        self.status = status
        super().__init__(Message(self.text, host=host, status=status, detail=detail))


class ProviderCancelled(ProviderError):
    """A wait was cancelled (the person pressed Cancel, the app is closing)."""

    exit_code = ExitCode.INTERRUPTED
    text = QT_TRANSLATE_NOOP("provider", "The request to the provider was cancelled.")


_BY_CODE: dict[int, type[ProviderError]] = {
    code: cls
    for cls in (
        SystemBusy,
        InvalidSecret,
        InvalidCorpId,
        TokenInvalid,
        RateLimited,
        TooManyCalls,
        BadSn,
        SnAlreadyRegistered,
        NotBound,
        HardwareSecretInvalid,
        ModelNotFound,
    )
    for code in cls.errcodes
}


def errcode_to_error(errcode: int, errmsg: str = "") -> ProviderError:
    """The typed error for a WeCom ``errcode`` (non-zero); unknown codes keep the server text."""
    cls = _BY_CODE.get(errcode)
    if cls is None:
        return UnknownProviderError(errcode, errmsg)
    return cls(errcode=errcode)
