"""PartnerClient against the provider emulator over real loopback HTTP (spec C)."""

from __future__ import annotations

import time
from typing import Any

from installer_app.formats import is_secret_no
from installer_app.i18n import Message
from installer_app.provider import errors as e
from installer_app.provider.emulator import DEFAULT_CORP_NAME, DEFAULT_CORPID, ProviderEmulator
from installer_app.provider.http import HttpOptions, RetryPolicy
from installer_app.provider.partner import PartnerClient
from installer_app.secrets import Secret
from tests.fixtures.provider import (
    EMULATOR_PARTNER_TOKEN,
    EmulatorFactory,
    poll_until,
    raises_errcode,
)

FAST = RetryPolicy(base_s=0.01, max_delay_s=0.05)
HW_ID = "0a1b2c3d4e5f6071"


def client(
    emulator: ProviderEmulator, token: str = EMULATOR_PARTNER_TOKEN, **kw: Any
) -> PartnerClient:
    kw.setdefault("retry", FAST)
    return PartnerClient(emulator.base_url, Secret(token), HttpOptions(**kw))


def test_register_is_idempotent_by_hw_id(emulator: ProviderEmulator) -> None:
    with client(emulator) as partner:
        first = partner.register_device("WX-ATT-200", HW_ID.upper())
        again = partner.register_device("WX-ATT-200", HW_ID)
        assert (again.device_sn, again.credential) == (first.device_sn, first.credential)
        assert is_secret_no(first.credential.reveal())
        assert first.qr_code.startswith("https://open.work.weixin.qq.com/connect/hardware?")
        # asking for the SN it already has is fine; another SN is a conflict
        same = partner.register_device("WX-ATT-200", HW_ID, device_sn=first.device_sn)
        assert same.device_sn == first.device_sn
        with raises_errcode(600036, e.SnAlreadyRegistered):  # spec C: an SN conflict
            partner.register_device("WX-ATT-200", HW_ID, device_sn="OTHERSN9")


def test_binding_and_installation(emulator: ProviderEmulator) -> None:
    with client(emulator) as partner:
        device = partner.register_device("WX-ATT-200", HW_ID)
        assert partner.get_device(device.device_sn) is None
        assert not partner.get_installation(DEFAULT_CORPID).installed
        emulator.bind(device.device_sn)
        binding = partner.get_device(device.device_sn)
        assert binding is not None
        assert (binding.corpid, binding.corp_name) == (DEFAULT_CORPID, DEFAULT_CORP_NAME)
        deadline = time.monotonic() + 30  # install delay 0.2 s; generous on a loaded machine
        installation = partner.get_installation(DEFAULT_CORPID)
        while not installation.installed and time.monotonic() < deadline:
            time.sleep(0.05)
            installation = partner.get_installation(DEFAULT_CORPID)
        assert installation.installed
        assert isinstance(installation.agentid, int) and installation.auth_time


def test_c3_accepts_the_plain_and_the_open_corpid(emulator_factory: EmulatorFactory) -> None:
    """A suite callback carries the provider-level open corpid; the binding may carry either.
    Whichever form the partner service answers with, the C3 lookup finds the installation."""
    emulator = emulator_factory(corpid_form="open")
    with client(emulator) as partner:
        device = partner.register_device("WX-ATT-200", HW_ID)
        emulator.bind(device.device_sn)
        binding = partner.get_device(device.device_sn)
        assert binding is not None and binding.corp_name == DEFAULT_CORP_NAME
        opened = binding.corpid
        assert opened != DEFAULT_CORPID and opened.startswith("wp")
        for corpid in (opened, DEFAULT_CORPID):
            installation = poll_until(
                lambda c=corpid: partner.get_installation(c), lambda i: i.installed
            )
            assert installation.agentid is not None
        assert not partner.get_installation("wp" + "0" * 30).installed


def test_unknown_sn(emulator: ProviderEmulator) -> None:
    with client(emulator) as partner, raises_errcode(600001, e.BadSn):
        partner.get_device("NOSUCHSN1")


def test_bad_installer_token(emulator: ProviderEmulator) -> None:
    with client(emulator, token="revoked-token-0001") as partner:
        with raises_errcode(401) as info:
            partner.get_installation(DEFAULT_CORPID)
        assert "installer token" in str(info.value)
    assert emulator.stats()["requests"]["/v1/installations/{corpid}"] == 1


def test_429_honours_retry_after(emulator: ProviderEmulator) -> None:
    notes: list[tuple[Message, float]] = []
    emulator.inject("/v1/installations/{corpid}", http_status=429, retry_after=0.3, count=2)
    with client(emulator, on_retry=lambda r, d: notes.append((r, d))) as partner:
        assert partner.get_installation(DEFAULT_CORPID).installed is False
    assert [d for _, d in notes] == [0.3, 0.3]
    assert notes[0][0].english() == "rate limited"


def test_429_beyond_the_budget(emulator: ProviderEmulator) -> None:
    emulator.inject("*", http_status=429, retry_after=0.01, count=10)
    with client(emulator) as partner, raises_errcode(429) as info:
        partner.get_device("ANYSN1")
    assert info.value.retry_after_s == 0.01


def test_server_errors_are_retried(emulator: ProviderEmulator) -> None:
    emulator.inject("/v1/devices", http_status=503, count=2)
    with client(emulator) as partner:
        assert partner.register_device("WX-ATT-200", HW_ID).device_sn
