"""C1 against a real PostgreSQL: distinct SNs under concurrency, idempotence, empty pool,
revocation, bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from installer_app.server.accounts import token_digest
from tests.server.conftest import MODEL, RunningServer, add_token, fill_pool


def test_64_concurrent_boards_get_64_distinct_sns_and_the_same_board_the_same_answer(
    server: RunningServer,
) -> None:
    fill_pool(server.db_url, 80)
    token = add_token(server.db_url, "alice")

    def issue(i: int) -> tuple[str, dict[str, str]]:
        with server.client(token) as client:
            r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": f"{i:012x}"})
            assert r.status_code == 200, r.text
            return f"{i:012x}", r.json()

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(issue, range(64)))
        again = list(pool.map(issue, range(64)))
    sns = {a["device_sn"] for _hw, a in answers}
    assert len(sns) == 64
    assert answers == again
    with psycopg.connect(server.db_url) as conn:
        rows = conn.execute("SELECT count(*), count(DISTINCT device_sn) FROM devices").fetchone()
        audited = conn.execute("SELECT count(*) FROM audit WHERE action = 'issue'").fetchone()
    assert rows == (64, 64)
    assert audited == (64,)


def test_the_same_board_at_once_from_many_threads_gets_one_sn(server: RunningServer) -> None:
    fill_pool(server.db_url, 20)
    token = add_token(server.db_url, "bob")

    def issue(_: int) -> str:
        with server.client(token) as client:
            r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "abcdef01"})
            assert r.status_code == 200, r.text
            sn: str = r.json()["device_sn"]
            return sn

    with ThreadPoolExecutor(16) as pool:
        assert len(set(pool.map(issue, range(16)))) == 1


def test_an_empty_pool_is_409(server: RunningServer) -> None:
    fill_pool(server.db_url, 1)
    token = add_token(server.db_url, "carol")
    with server.client(token) as client:
        assert (
            client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "01"}).status_code == 200
        )
        r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "02"})
    assert r.status_code == 409
    assert r.json() == {"errcode": 409, "errmsg": "no credential left for this model"}


def test_a_model_the_server_does_not_serve_is_600042(server: RunningServer) -> None:
    token = add_token(server.db_url, "dave")
    with server.client(token) as client:
        r = client.post("/v1/devices", json={"model_id": "OTHER", "hw_id": "02"})
    assert r.json()["errcode"] == 600042


def test_a_revoked_token_is_401_on_the_very_next_request(server: RunningServer) -> None:
    from installer_app.server.accounts import revoke
    from installer_app.server.db import connect

    fill_pool(server.db_url, 2)
    token = add_token(server.db_url, "eve")
    with server.client(token) as client:
        assert (
            client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "0a"}).status_code == 200
        )
        with connect(server.db_url) as conn:
            revoke(conn, "eve")
        r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "0b"})
    assert r.status_code == 401
    assert r.json()["errcode"] == 401
    with server.client("not-a-token") as client:
        assert client.get("/v1/devices/INV000000").status_code == 401


def test_the_database_keeps_only_the_token_digest(server: RunningServer) -> None:
    token = add_token(server.db_url, "frank")
    with psycopg.connect(server.db_url) as conn:
        stored = conn.execute("SELECT token_sha256 FROM installers").fetchone()
    assert stored == (token_digest(token),)


def test_bad_input_is_40035_naming_the_field(server: RunningServer) -> None:
    token = add_token(server.db_url, "gina")
    with server.client(token) as client:
        r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "xyz"})
        assert (r.status_code, r.json()["errcode"]) == (400, 40035)
        assert "hw_id" in r.json()["errmsg"]
        r = client.post(
            "/v1/devices", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert (r.status_code, r.json()["errcode"]) == (400, 40035)
        r = client.post(
            "/v1/devices",
            content=b"x" * (1 << 20 + 1),
            headers={"content-type": "application/json"},
        )
        assert (r.status_code, r.json()["errcode"]) == (413, 40035)
        r = client.get("/v1/devices/NOSUCHSN")
        assert (r.status_code, r.json()["errcode"]) == (404, 600001)


def test_an_installer_token_cannot_use_admin_endpoints(server: RunningServer) -> None:
    installer = add_token(server.db_url, "hank")
    admin = add_token(server.db_url, "boss", "admin")
    with server.client(installer) as client:
        r = client.get("/v1/admin/devices")
        assert (r.status_code, r.json()["errcode"]) == (403, 403)
    with server.client(admin) as client:
        assert client.get("/v1/admin/devices").status_code == 200


def test_the_audit_table_is_append_only(server: RunningServer) -> None:
    add_token(server.db_url, "ivan")
    with psycopg.connect(server.db_url) as conn:
        for statement in ("UPDATE audit SET action = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
            try:
                conn.execute(statement)
            except psycopg.errors.RaiseException:
                conn.rollback()
            else:
                raise AssertionError(f"{statement} was allowed")


def test_healthz(server: RunningServer) -> None:
    with server.client() as client:
        r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["database"] is True


def test_a_token_over_its_rate_gets_429_with_retry_after(server_factory: Any) -> None:
    server = server_factory(rate_limit_per_s=20)
    token = add_token(server.db_url, "hasty")
    with server.client(token) as client:
        answers = [client.get("/v1/devices/NOSUCHSN") for _ in range(60)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited, "60 requests at once from one token were never limited"
    assert limited[0].json()["errcode"] == 429
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert answers[0].status_code == 404  # the first ones went through
