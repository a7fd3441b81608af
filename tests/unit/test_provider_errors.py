"""The spec's A5 table, row by row: one row per errcode, matched on the code alone."""

from __future__ import annotations

import pytest

from installer_app.errors import ExitCode
from installer_app.provider import errors as e


@pytest.mark.parametrize(
    ("errcode", "cls", "transient"),
    [
        (-1, e.ProviderError, True),
        (40001, e.ProviderError, False),
        (40013, e.ProviderError, False),
        (40014, e.TokenInvalid, True),
        (42001, e.TokenInvalid, True),
        (45009, e.ProviderError, True),
        (45033, e.ProviderError, True),
        (600001, e.BadSn, False),
        (600002, e.ProviderError, False),
        (600021, e.SnAlreadyRegistered, False),
        (600036, e.SnAlreadyRegistered, False),
        (600037, e.ProviderError, False),
        (600004, e.NotBound, False),
        (600005, e.ProviderError, False),
        (600038, e.ProviderError, False),
        (600042, e.ProviderError, False),
        (600051, e.ProviderError, False),
    ],
)
def test_each_listed_errcode_has_its_row(errcode: int, cls: type, transient: bool) -> None:
    # errmsg is deliberately misleading: the code alone decides.
    error = e.wecom_error(errcode, "ok, no error at all")
    assert errcode in e.WECOM_ERRORS
    assert type(error) is cls
    assert error.errcode == errcode
    assert error.transient is transient
    assert error.exit_code == ExitCode.PROVIDER
    assert str(errcode) in error.message.english() or errcode == 600004
    assert "ok, no error" not in str(error)
    assert error.hint is not None


def test_fatal_hints_name_the_setting_to_fix() -> None:
    assert "provider secret in settings is wrong" in str(e.wecom_error(40001))
    assert "corpid in settings is wrong" in str(e.wecom_error(40013))
    assert "model_id in settings is wrong" in str(e.wecom_error(600038))
    assert "model_id in settings is wrong" in str(e.wecom_error(600042))
    assert "Set model_id in settings" in str(e.wecom_error(600037))
    assert "SN source is wrong" in str(e.wecom_error(600001))


def test_600036_is_the_same_conflict_as_600021() -> None:
    conflict, taken = e.wecom_error(600036), e.wecom_error(600021)
    assert isinstance(conflict, e.SnAlreadyRegistered)
    assert conflict.hint == taken.hint
    assert "already registered" in str(conflict)


def test_600002_is_a_board_activated_before_not_a_duplicate_sn() -> None:
    error = e.wecom_error(600002)
    assert not isinstance(error, e.SnAlreadyRegistered)
    assert "already registered itself" in str(error) and "activated before" in str(error)
    assert error.hint is not None and "set this board aside" in error.hint.english()


def test_600051_says_the_sn_expired() -> None:
    error = e.wecom_error(600051)
    assert "expired" in str(error) and "validity in the provider admin" in str(error)


def test_unknown_errcode_shows_code_and_server_text() -> None:
    error = e.wecom_error(48002, "api forbidden, hint: [abc]")
    assert type(error) is e.ProviderError
    assert error.errcode == 48002
    assert not error.transient
    assert "48002" in str(error) and "api forbidden" in str(error)


def test_retry_kinds_drive_the_transport() -> None:
    assert e.wecom_error(-1).retry_kind == "busy"
    assert e.wecom_error(45009).retry_kind == "rate_limit"
    assert e.wecom_error(45033).retry_kind == "rate_limit"
    assert e.partner_error(429, retry_after_s=8).retry_kind == "rate_limit"
    assert e.partner_error(429, retry_after_s=8).retry_after_s == 8
    assert e.wecom_error(40001).retry_kind is None
    assert e.wecom_error(600021).retry_kind is None
    # A refused token is not retried by the transport (the client refreshes once) but a watch
    # keeps going.
    token = e.wecom_error(40014)
    assert token.retry_kind is None and token.transient


def test_partner_errors() -> None:
    assert isinstance(e.partner_error(600001), e.BadSn)
    assert "partner service does not know" in str(e.partner_error(600001))
    assert "installer token" in str(e.partner_error(401))
    assert e.partner_error(401).exit_code == ExitCode.PROVIDER
    # Other codes mean what WeCom's do.
    assert isinstance(e.partner_error(600036), e.SnAlreadyRegistered)
    assert "provider secret" in str(e.partner_error(40001))


def test_short_reasons_for_stuck_lines() -> None:
    assert e.wecom_error(45009).reason.english() == "rate limited"
    assert e.wecom_error(40014).reason.english() == "access token refused"
    assert e.wecom_error(40001).reason == e.wecom_error(40001).message


def test_bad_sn_before_the_wire_is_the_600001_row() -> None:
    error = e.bad_sn()
    assert isinstance(error, e.BadSn) and error.errcode == 600001
