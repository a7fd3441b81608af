"""The spec's A5 table, row by row: one typed error per errcode, matched on the code alone."""

from __future__ import annotations

import pytest

from installer_app.errors import ExitCode
from installer_app.provider import errors as e


@pytest.mark.parametrize(
    ("errcode", "cls", "transient"),
    [
        (-1, e.SystemBusy, True),
        (40001, e.InvalidSecret, False),
        (40013, e.InvalidCorpId, False),
        (40014, e.TokenInvalid, True),
        (42001, e.TokenInvalid, True),
        (45009, e.RateLimited, True),
        (45033, e.TooManyCalls, True),
        (600001, e.BadSn, False),
        (600002, e.SnAlreadyRegistered, False),
        (600021, e.SnAlreadyRegistered, False),
        (600004, e.NotBound, False),
        (600005, e.HardwareSecretInvalid, False),
        (600038, e.ModelNotFound, False),
    ],
)
def test_each_listed_errcode_has_its_class(errcode: int, cls: type, transient: bool) -> None:
    # errmsg is deliberately misleading: the code alone decides.
    error = e.errcode_to_error(errcode, "ok, no error at all")
    assert type(error) is cls
    assert error.errcode == errcode
    assert error.transient is transient
    assert error.exit_code == ExitCode.PROVIDER
    assert str(errcode) in error.message.english() or errcode == 600004
    assert error.hint is not None


def test_fatal_hints_name_the_setting_to_fix() -> None:
    assert "provider secret in settings is wrong" in str(e.errcode_to_error(40001))
    assert "corpid in settings is wrong" in str(e.errcode_to_error(40013))
    assert "model_id in settings is wrong" in str(e.errcode_to_error(600038))
    assert "SN source is wrong" in str(e.errcode_to_error(600001))


def test_unknown_errcode_shows_code_and_server_text() -> None:
    error = e.errcode_to_error(48002, "api forbidden, hint: [abc]")
    assert isinstance(error, e.UnknownProviderError)
    assert error.errcode == 48002
    assert not error.transient
    assert "48002" in str(error) and "api forbidden" in str(error)


def test_retry_kinds_drive_the_transport() -> None:
    assert e.SystemBusy().retry_kind == "busy"
    assert e.RateLimited().retry_kind == "rate_limit"
    assert e.TooManyCalls().retry_kind == "rate_limit"
    assert e.PartnerRateLimited(8).retry_kind == "rate_limit"
    assert e.PartnerRateLimited(8).retry_after_s == 8
    assert e.InvalidSecret().retry_kind is None
    assert e.SnAlreadyRegistered().retry_kind is None
    # A refused token is not retried by the transport (the client refreshes once) but a watch
    # keeps going.
    assert e.TokenInvalid().retry_kind is None and e.TokenInvalid().transient


def test_partner_errors() -> None:
    assert isinstance(e.PartnerUnknownSn(), e.BadSn)
    assert "installer token" in str(e.PartnerAuthError())
    assert e.PartnerAuthError().exit_code == ExitCode.PROVIDER


def test_short_reasons_for_stuck_lines() -> None:
    assert e.RateLimited().reason.english() == "rate limited"
    assert e.TokenInvalid().reason.english() == "access token refused"
    assert e.InvalidSecret().reason == e.InvalidSecret().message
