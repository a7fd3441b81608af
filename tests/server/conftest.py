"""A real PostgreSQL for the team server's tests: one throw-away cluster per session (initdb +
pg_ctl in a temporary folder, installer_app/server/local_pg.py), one fresh database per test.

Without PostgreSQL's server programs the tests are skipped with one loud line; with CI=true they
fail instead (.ci/run installs the package).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from installer_app.provider.emulator import ProviderEmulator
from installer_app.secrets import Secret
from installer_app.server.app import ServerContext, create_app
from installer_app.server.config import ServerConfig, ServerSecrets
from installer_app.server.db import migrate
from installer_app.server.local_pg import (
    INSTALL_HINT,
    LocalPostgres,
    find_bin_dir,
    temporary_folder,
)
from installer_app.server.serve import InProcessServer

MODEL = "WX-ATT-200"
SERVER_KEY = base64.b64encode(b"k" * 32).decode()
SUITE_ID = "wwsuite0000000001"
CALLBACK_TOKEN = "QDG6eK"
CALLBACK_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SUITE_SECRET = "emulator-suite-secret"


@pytest.fixture(scope="session")
def pg() -> Iterator[LocalPostgres]:
    if find_bin_dir() is None:
        message = f"PostgreSQL is not installed: the team server tests need it ({INSTALL_HINT})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        print(f"\n*** SKIPPED: {message} ***", flush=True)
        pytest.skip(message)
    folder = temporary_folder()
    cluster = LocalPostgres(folder).start()
    yield cluster
    cluster.stop_server("immediate")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def db_url(pg: LocalPostgres) -> str:
    url = pg.create_database("t" + uuid.uuid4().hex[:12])
    migrate(url)
    return url


def add_token(url: str, name: str, role: str = "installer") -> str:
    from installer_app.server.accounts import add_installer
    from installer_app.server.db import connect

    with connect(url) as conn:
        return add_installer(conn, name, role, None).reveal()  # type: ignore[arg-type]


def fill_pool(url: str, count: int, model: str = MODEL, prefix: str = "INV") -> list[str]:
    from installer_app.server.issuance import SEAL_KIND
    from installer_app.server.sealing import Sealer

    sealer = Sealer(base64.b64decode(SERVER_KEY))
    sns = [f"{prefix}{i:06d}" for i in range(count)]
    with psycopg.connect(url) as conn:
        for sn in sns:
            conn.execute(
                "INSERT INTO credentials (device_sn, model_id, secret_sealed, qr_code, origin) "
                "VALUES (%s, %s, %s, %s, 'inventory')",
                (sn, model, sealer.seal(SEAL_KIND, sn, Secret(f"secret{sn}")), f"qr:{sn}"),
            )
    return sns


@dataclass
class RunningServer:
    url: str
    db_url: str
    emulator: ProviderEmulator | None

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)


def server_context(
    db_url: str, emulator: ProviderEmulator | None = None, **config: Any
) -> ServerContext:
    base = ServerConfig(
        corpid=emulator.corpid if emulator else "",
        model_ids=(MODEL,),
        source="inventory",
        wecom_base_url=emulator.base_url if emulator else "https://qyapi.weixin.qq.com",
        suite_id=SUITE_ID,
        poll_interval_s=0.5,
        # The load tests send from one token; test_rate_limit sets its own.
        rate_limit_per_s=10000,
    )
    secrets = ServerSecrets(
        provider_secret=Secret(emulator.provider_secret) if emulator else None,
        suite_secret=Secret(SUITE_SECRET),
        callback_token=Secret(CALLBACK_TOKEN),
        callback_aes_key=Secret(CALLBACK_AES_KEY),
        server_key=base64.b64decode(SERVER_KEY),
    )
    return ServerContext(replace(base, **config), secrets, db_url)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ProviderEmulator]:
    with ProviderEmulator(install_delay_s=0) as emu:
        yield emu


@pytest.fixture
def server_factory(db_url: str) -> Iterator[Any]:
    running: list[InProcessServer] = []

    def start(emulator: ProviderEmulator | None = None, **config: Any) -> RunningServer:
        server = InProcessServer(create_app(server_context(db_url, emulator, **config))).start()
        running.append(server)
        return RunningServer(server.url, db_url, emulator)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def server(server_factory: Any) -> RunningServer:
    result: RunningServer = server_factory()
    return result


def start_serve(
    folder: Path, config_text: str, env: dict[str, str], workers: int, *, keep_stderr: bool = True
) -> tuple[subprocess.Popen[str], str]:
    """``installer-app serve`` in its own process group, as in production: waits for its
    ``listening on`` line and for ``/healthz`` to answer (the tests and bench_server start it so).
    ``keep_stderr=False`` leaves stderr on the terminal: a long run must not fill a pipe nobody
    reads."""
    config = folder / "server.toml"
    config.write_text(config_text)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "installer_app",
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
            "--workers",
            str(workers),
            "--data-dir",
            str(folder / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if keep_stderr else None,
        text=True,
        env=dict(os.environ, INSTALLER_SERVER_KEY=SERVER_KEY, **env),
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line + (
        proc.stderr.read() if proc.stderr else ""
    )
    url = line.split("listening on ", 1)[1].strip()
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server never answered"
        time.sleep(0.1)
    return proc, url
