"""C5 leases (reserved, returned, expired back to the pool) and C4 events (idempotent by
event_id, refused per event)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.server.conftest import MODEL, RunningServer, add_token, fill_pool


def _event(sn: str, hw_id: str, step: str = "written", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "device_sn": sn,
        "hw_id": hw_id,
        "step": step,
        "outcome": "ok",
        "at": "2026-12-01T08:00:00+08:00",
        "installer": "li",
        **extra,
    }


def test_a_lease_reserves_its_credentials_and_returns_the_unused(server: RunningServer) -> None:
    fill_pool(server.db_url, 5)
    token = add_token(server.db_url, "li")
    with server.client(token) as client:
        lease = client.post("/v1/leases", json={"model_id": MODEL, "count": 3}).json()
        assert lease["errcode"] == 0 and len(lease["credentials"]) == 3
        leased = [c["device_sn"] for c in lease["credentials"]]
        # C1 takes from the two left, never a leased one.
        given = [
            client.post("/v1/devices", json={"model_id": MODEL, "hw_id": f"e{i}"}).json()
            for i in range(3)
        ]
        assert {g.get("device_sn") for g in given[:2]}.isdisjoint(leased)
        assert given[2]["errcode"] == 409
        # The site reports writing the first leased credential: it is tied to that board.
        written = client.post("/v1/events", json={"events": [_event(leased[0], "f00d")]}).json()
        assert written["accepted"] == 1
        returned = client.delete(f"/v1/leases/{lease['lease_id']}").json()
        assert returned["returned"] == 2
        again = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "e9"}).json()
        assert again["device_sn"] in leased[1:]
        tied = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "f00d"}).json()
        assert tied["device_sn"] == leased[0]


def test_an_expired_lease_is_back_in_the_pool_by_itself(server: RunningServer) -> None:
    fill_pool(server.db_url, 2)
    token = add_token(server.db_url, "wu")
    with server.client(token) as client:
        lease = client.post("/v1/leases", json={"model_id": MODEL, "count": 2}).json()
        assert (
            client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "01"}).status_code == 409
        )
        with psycopg.connect(server.db_url) as conn:
            conn.execute(
                "UPDATE credentials SET lease_expires_at = now() - interval '1 second' "
                "WHERE lease_id = %s",
                (lease["lease_id"],),
            )
        assert (
            client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "01"}).status_code == 200
        )


def test_events_are_idempotent_and_a_conflicting_one_is_refused_alone(
    server: RunningServer,
) -> None:
    fill_pool(server.db_url, 2)
    token = add_token(server.db_url, "zhao")
    with server.client(token) as client:
        sn = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "aa01"}).json()[
            "device_sn"
        ]
        good = _event(sn, "aa01", "locked")
        bad = _event(sn, "bb02", "written")
        answer = client.post("/v1/events", json={"events": [good, bad]}).json()
        assert (answer["accepted"], answer["duplicates"]) == (1, 0)
        assert answer["refused"] == [
            {
                "event_id": bad["event_id"],
                "errcode": 600036,
                "errmsg": answer["refused"][0]["errmsg"],
            }
        ]
        again = client.post("/v1/events", json={"events": [good]}).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        assert client.get(f"/v1/devices/{sn}").json()["stage"] == "locked"
        too_many = client.post("/v1/events", json={"events": [good] * 501})
        assert (too_many.status_code, too_many.json()["errcode"]) == (400, 40035)
    with psycopg.connect(server.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
