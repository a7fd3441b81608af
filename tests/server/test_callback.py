"""The suite callback against the emulator's suite side: the spec's vector, signatures,
create_auth once, cancel_auth, and the long-poll woken by the server's own binding watch."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from installer_app.provider.emulator import ProviderEmulator
from installer_app.provider.emulator.suite import SuiteConfig, open_corpid
from tests.server.conftest import (
    CALLBACK_AES_KEY,
    CALLBACK_TOKEN,
    MODEL,
    SUITE_ID,
    SUITE_SECRET,
    RunningServer,
    add_token,
    fill_pool,
)

VECTOR_ECHO = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)


def _wire(emulator: ProviderEmulator, server: RunningServer) -> None:
    emulator.suite.config = SuiteConfig(
        suite_id=SUITE_ID,
        suite_secret=SUITE_SECRET,
        callback_token=CALLBACK_TOKEN,
        callback_aes_key=CALLBACK_AES_KEY,
        callback_url=server.url + "/wecom/callback",
    )


def _wait_for(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_url_verification_answers_the_spec_vector(server_factory: Any) -> None:
    server = server_factory(suite_id="wx5823bf96d3bd56c7")
    params = {
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        "timestamp": "1409659589",
        "nonce": "263014780",
        "echostr": VECTOR_ECHO,
    }
    with server.client() as client:
        r = client.get("/wecom/callback", params=params)
        assert (r.status_code, r.text) == (200, "1616140317555161061")
        r = client.get("/wecom/callback", params={**params, "msg_signature": "0" * 40})
        assert r.status_code == 403
    # The same vector for another suite: the receive_id is refused.
    other = server_factory(suite_id="wwanothersuite")
    with other.client() as client:
        assert client.get("/wecom/callback", params=params).status_code == 403


def test_a_wrong_signature_is_403_and_stores_nothing(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    server = server_factory(emulator)
    crypto = emulator.suite.crypto()
    encrypted = crypto.encrypt("<xml><InfoType>suite_ticket</InfoType></xml>")
    body = f"<xml><Encrypt>{encrypted}</Encrypt></xml>"
    with server.client() as client:
        r = client.post(
            "/wecom/callback",
            params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2"},
            content=body,
        )
    assert r.status_code == 403
    with psycopg.connect(server.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM suite_events").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM suite_ticket").fetchone() == (0,)


def test_create_auth_twice_is_one_installation_and_cancel_auth_flips_c3(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    server = server_factory(emulator)
    _wire(emulator, server)
    token = add_token(server.db_url, "ann")
    assert emulator.suite.install("wwcorp01", "甲公司")["callback_status"] == 200
    assert emulator.suite.install("wwcorp01", "甲公司")["callback_status"] == 200

    with server.client(token) as client:

        def installed() -> bool:
            return bool(client.get("/v1/installations/wwcorp01").json()["installed"])

        assert _wait_for(installed)
        answer = client.get("/v1/installations/wwcorp01").json()
        assert answer["agentid"] == 1000002
        # The callbacks named the enterprise by its open corpid: C3 answers for both.
        assert client.get(f"/v1/installations/{open_corpid('wwcorp01')}").json()["installed"]
        with psycopg.connect(server.db_url) as conn:
            assert conn.execute("SELECT count(*) FROM installations").fetchone() == (1,)
            sealed = conn.execute("SELECT permanent_code_sealed FROM installations").fetchone()
            assert sealed is not None and not bytes(sealed[0]).startswith(b"perm-")
        assert emulator.suite.cancel("wwcorp01") == 200
        assert client.get("/v1/installations/wwcorp01").json()["installed"] is False
        assert client.get("/v1/installations/wwnobody").json()["installed"] is False


def test_a_replayed_callback_is_recorded_once(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    server = server_factory(emulator)
    crypto = emulator.suite.crypto()
    _wire(emulator, server)
    crypto = emulator.suite.crypto()
    encrypted = crypto.encrypt(
        "<xml><InfoType>suite_ticket</InfoType><SuiteTicket>t1</SuiteTicket></xml>"
    )
    params = {"msg_signature": crypto.sign("5", "6", encrypted), "timestamp": "5", "nonce": "6"}
    with server.client() as client:
        for _ in range(3):
            r = client.post(
                "/wecom/callback",
                params=params,
                content=f"<xml><Encrypt>{encrypted}</Encrypt></xml>",
            )
            assert (r.status_code, r.text) == (200, "success")
    with psycopg.connect(server.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM suite_events").fetchone() == (1,)


def test_the_server_watches_the_binding_and_wakes_a_long_poll(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    server = server_factory(emulator)
    fill_pool(server.db_url, 2)
    for sn in ("INV000000", "INV000001"):
        emulator.register(sn, MODEL)
    token = add_token(server.db_url, "watcher")
    with server.client(token) as client:
        sn = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "0c0c"}).json()[
            "device_sn"
        ]
        first = client.get(f"/v1/devices/{sn}").json()
        assert (first["bind_status"], first["corp"]) == (0, None)
        started = time.monotonic()
        # No change within the wait: the current state comes back after it.
        assert client.get(f"/v1/devices/{sn}", params={"wait": 0.5}).json()["bind_status"] == 0
        assert time.monotonic() - started >= 0.45
        emulator.bind(sn, "wwcorp02", "乙公司")
        started = time.monotonic()
        r = client.get(f"/v1/devices/{sn}", params={"wait": 10}).json()
        woke = time.monotonic() - started
    assert r["bind_status"] == 1
    assert r["corp"] == {"corpid": "wwcorp02", "corp_name": "乙公司"}
    assert woke < 0.5 + 1.0  # poll interval + slack, far below the wait
