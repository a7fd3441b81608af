"""What the team-mode tests share: a restartable team server and a pool of WeCom-shaped
credentials."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import psycopg

from installer_app.provider.emulator.records import STATIC_QR_BASE
from installer_app.provider.emulator.suite import SuiteConfig
from installer_app.secrets import Secret
from installer_app.server.app import create_app
from installer_app.server.issuance import SEAL_KIND
from installer_app.server.sealing import Sealer
from installer_app.server.serve import InProcessServer
from tests.server.conftest import (
    CALLBACK_AES_KEY,
    CALLBACK_TOKEN,
    MODEL,
    SERVER_KEY,
    SUITE_ID,
    SUITE_SECRET,
    server_context,
)


class Server:
    """The team server, stoppable and restartable on the same address (an offline site)."""

    def __init__(self, db_url: str, emulator: Any, **config: Any) -> None:
        self._db_url, self._emulator, self._config = db_url, emulator, config
        self._server: InProcessServer | None = None
        self.port = 0
        self.url = ""

    def start(self) -> Server:
        app = create_app(server_context(self._db_url, self._emulator, **self._config))
        self._server = InProcessServer(app, port=self.port).start()
        self.url = self._server.url
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def with_suite(emulator: Any, start: Callable[[], Server]) -> Server:
    """Start a team server (``start``) on ``emulator`` as WeCom with the suite wired both ways:
    the server's suite credentials in the emulator, the emulator's callbacks to the server, and
    the first suite ticket sent (so the server hears of the companion app's installations)."""
    emulator.suite.config = SuiteConfig(
        suite_id=SUITE_ID,
        suite_secret=SUITE_SECRET,
        callback_token=CALLBACK_TOKEN,
        callback_aes_key=CALLBACK_AES_KEY,
    )
    server = start()
    emulator.suite.config.callback_url = server.url + "/wecom/callback"
    emulator.suite.push_ticket()
    return server


def fill_valid_pool(db_url: str, count: int, prefix: str) -> list[str]:
    """Inventory for the server's pool, with WeCom-shaped static QR links and SecretNos."""
    sealer = Sealer(base64.b64decode(SERVER_KEY))
    sns = [f"{prefix}{i:06d}" for i in range(count)]
    with psycopg.connect(db_url) as conn:
        for sn in sns:
            conn.execute(
                "INSERT INTO credentials (device_sn, model_id, secret_sealed, qr_code, origin) "
                "VALUES (%s, %s, %s, %s, 'inventory')",
                (
                    sn,
                    MODEL,
                    sealer.seal(SEAL_KIND, sn, Secret(f"S{sn}x" * 2)),
                    f"{STATIC_QR_BASE}?hw_code={sn.lower()}",
                ),
            )
    return sns
