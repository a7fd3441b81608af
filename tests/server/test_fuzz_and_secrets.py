"""schemathesis against the server's own /openapi.json (no 5xx, no traceback), and secrets kept
out of logs, answers and the database."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from installer_app.provider.emulator import ProviderEmulator
from tests.server.conftest import MODEL, RunningServer, add_token, fill_pool


def test_fuzzing_the_openapi_document_finds_no_5xx_and_no_traceback(server: RunningServer) -> None:
    fill_pool(server.db_url, 50)
    token = add_token(server.db_url, "fuzzer")
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []

    def fuzz(op: Any) -> None:
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=15
            )
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(f"{op.label}: {response.status_code} {response.text[:200]}")

        run()

    for operation in schema.get_all_operations():
        fuzz(operation.ok())
    assert failures == []


def test_secrets_stay_out_of_logs_answers_and_the_database(
    server_factory: Any, emulator: ProviderEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.server.test_callback import _wait_for, _wire

    caplog.set_level(logging.DEBUG)
    server = server_factory(emulator, source="register")
    _wire(emulator, server)
    token = add_token(server.db_url, "quiet")
    with server.client(token) as client:
        issued = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "5e5e"}).json()
        credential = issued["credential"]
        assert client.get(f"/v1/devices/{issued['device_sn']}").json()["hw_id"] == "5e5e"
        emulator.suite.install("wwquiet", "静")
        assert _wait_for(lambda: client.get("/v1/installations/wwquiet").json()["installed"])
    with psycopg.connect(server.db_url) as conn:
        dump = ""
        for table in (
            "credentials",
            "devices",
            "installations",
            "audit",
            "suite_ticket",
            "suite_events",
            "events",
            "installers",
        ):
            dump += repr(conn.execute(f"SELECT * FROM {table}").fetchall())
    secret_no = emulator.device(issued["device_sn"])
    assert secret_no is not None
    for clear in (credential, token, emulator.suite.ticket):
        assert clear not in dump
        assert clear not in caplog.text
    assert "perm-" not in dump and "perm-" not in caplog.text
