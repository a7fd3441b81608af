"""No secret in logs (captured at DEBUG, every logger, httpx and httpcore included) nor in the text
of any error, across a full exercise of both clients against the emulator over real HTTP."""

from __future__ import annotations

import logging

import pytest

from installer_app.provider import errors as e
from installer_app.provider.emulator import DEFAULT_CORPID, ProviderEmulator
from installer_app.provider.http import HttpOptions, RetryPolicy, Timeouts
from installer_app.provider.partner import PartnerClient
from installer_app.provider.qr import DynamicQr, render_terminal, static_qr_url
from installer_app.provider.wecom import WecomClient
from installer_app.secrets import Secret
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PARTNER_TOKEN,
    EMULATOR_PROVIDER_SECRET,
)

FAST = RetryPolicy(base_s=0.01, max_delay_s=0.05)


def test_no_secret_in_debug_logs_or_errors(
    emulator: ProviderEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    secrets: list[str] = [EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN]
    errors: list[e.ProviderError] = []

    def expect(cls: type[e.ProviderError], call: object) -> None:
        assert callable(call)
        with pytest.raises(cls) as info:
            call()
        errors.append(info.value)

    fast = HttpOptions(retry=FAST)
    wecom = WecomClient(emulator.base_url, EMULATOR_CORPID, Secret(EMULATOR_PROVIDER_SECRET), fast)
    partner = PartnerClient(emulator.base_url, Secret(EMULATOR_PARTNER_TOKEN), fast)
    with wecom, partner:
        secrets.append(wecom.get_provider_token().reveal())
        device = wecom.add_device("WX-ATT-200", "LOGSN0001")
        secrets.append(device.secret_no.reveal())
        assert wecom.get_device_auth_info("LOGSN0001") is None
        # refresh after expiry, and after an early invalidation
        emulator.expire_tokens()
        wecom.list_devices()
        secrets.append(wecom.get_provider_token().reveal())
        emulator.expire_tokens(invalidate=True)
        wecom.get_device_auth_info("LOGSN0001")
        secrets.append(wecom.get_provider_token().reveal())
        # retried faults, then fatal ones, each logged on the way
        emulator.inject("*", errcode=45009, count=2)
        wecom.get_device_auth_info("LOGSN0001")
        emulator.inject("*", http_status=500, count=1)
        wecom.get_device_auth_info("LOGSN0001")
        emulator.inject("/cgi-bin/service/get_device_auth_info", errcode=42001, count=2)
        expect(e.TokenInvalid, lambda: wecom.get_device_auth_info("LOGSN0001"))
        secrets.append(wecom.get_provider_token().reveal())
        expect(e.SnAlreadyRegistered, lambda: wecom.add_device("WX-ATT-200", "LOGSN0001"))
        expect(e.ProviderError, lambda: wecom.add_device("NOPE", "LOGSN0002"))
        expect(e.BadSn, lambda: wecom.get_device_auth_info("LOGSN9999"))
        emulator.inject("*", errcode=99123, count=1)
        expect(e.ProviderError, lambda: wecom.del_device("LOGSN0001"))
        emulator.bind("LOGSN0001")
        binding = wecom.get_device_auth_info("LOGSN0001")
        assert binding is not None

        board = partner.register_device("WX-DOOR-100", "00112233aabbccdd")
        secrets.append(board.credential.reveal())
        partner.get_device(board.device_sn)
        partner.get_installation(DEFAULT_CORPID)
        emulator.inject("*", http_status=429, retry_after=0.01, count=1)
        partner.get_installation(DEFAULT_CORPID)
        expect(e.BadSn, lambda: partner.get_device("LOGSN9999"))

        # QR codes of this device
        static_qr_url(device.qr_code, device.secret_no)
        code = DynamicQr(device.device_sn, device.secret_no).current()
        render_terminal(code.url)

        # a timeout with the token in the URL
        slow = WecomClient(
            emulator.base_url,
            EMULATOR_CORPID,
            Secret(EMULATOR_PROVIDER_SECRET),
            HttpOptions(timeouts=Timeouts(read_s=0.2), retry=RetryPolicy.no_retries()),
        )
        with slow:
            slow.get_provider_token()
            secrets.append(slow.get_provider_token().reveal())
            emulator.set_latency(2)
            expect(e.ProviderUnreachable, lambda: slow.get_device_auth_info("LOGSN0001"))
            emulator.set_latency(0)

    bad_wecom = WecomClient(emulator.base_url, EMULATOR_CORPID, Secret("wrong-provider-secret"))
    bad_partner = PartnerClient(emulator.base_url, Secret("wrong-installer-token"))
    secrets += ["wrong-provider-secret", "wrong-installer-token"]
    with bad_wecom, bad_partner:
        expect(e.ProviderError, bad_wecom.check)
        expect(e.ProviderError, lambda: bad_partner.check(DEFAULT_CORPID))

    # The exercise really logged the requests (so the assertion below means something) ...
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "get_device_auth_info" in text and "HTTP Request" in text
    assert "provider_access_token=***" in text
    # ... and not one secret, neither in the logs nor in any error's text or repr.
    assert len(set(secrets)) >= 9
    error_text = "\n".join(
        f"{err!s} {err!r} {err.message.english()} {err.hint.english() if err.hint else ''}"
        for err in errors
    )
    assert len(errors) == 9
    for secret in secrets:
        assert secret not in text
        assert secret not in error_text
