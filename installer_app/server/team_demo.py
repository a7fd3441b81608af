"""``installer-app demo --team``: the whole team chain on this machine.

A private PostgreSQL (local_pg.py; a clear message naming the package when its programs are
missing), the provider emulator with its suite side pushing callbacks, the team server in register
mode (in this process), simulated boards, and the laptop's cloud mode provisioning them through the
server: C1 issues each board's SN and credential (the server calls add_device on the emulator),
the server's own watch sees the emulator's automatic scan, and the emulator's create_auth callback
makes C3 answer "installed".
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

from installer_app.config import PartnerSettings, Settings
from installer_app.demo import DEMO_MODEL_ID, DemoEnvironment
from installer_app.secrets import Secret
from installer_app.server.accounts import add_installer
from installer_app.server.app import ServerContext, create_app
from installer_app.server.config import ServerConfig, ServerSecrets
from installer_app.server.db import connect, migrate
from installer_app.server.local_pg import LocalPostgres, temporary_folder
from installer_app.server.serve import InProcessServer

log = logging.getLogger(__name__)

TEAM_SN_PREFIX = "TEAM"
TEAM_POLL_INTERVAL_S = 1.0


class TeamDemo:
    def __init__(self, data_dir: Path, *, boards: int, scan_after_s: float | None) -> None:
        self._data_dir = data_dir
        self._boards = boards
        self._scan_after_s = scan_after_s
        self._folder: Path | None = None
        self.pg: LocalPostgres | None = None
        self.env: DemoEnvironment | None = None
        self.server: InProcessServer | None = None
        self.settings: Settings | None = None

    def start(self) -> TeamDemo:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._folder = temporary_folder()
        self.pg = LocalPostgres(self._folder).start()
        db_url = self.pg.create_database("team")
        migrate(db_url)
        self.env = env = DemoEnvironment(
            self._data_dir, boards=self._boards, auto_scan_after_s=self._scan_after_s
        ).start()
        emulator = env.emulator
        suite = emulator.suite.config
        config = ServerConfig(
            corpid=emulator.corpid,
            model_ids=(DEMO_MODEL_ID,),
            source="register",
            sn_prefix=TEAM_SN_PREFIX,
            wecom_base_url=emulator.base_url,
            suite_id=suite.suite_id,
            poll_interval_s=TEAM_POLL_INTERVAL_S,
        )
        secrets = ServerSecrets(
            provider_secret=Secret(emulator.provider_secret),
            suite_secret=Secret(suite.suite_secret),
            callback_token=Secret(suite.callback_token),
            callback_aes_key=Secret(suite.callback_aes_key),
            server_key=os.urandom(32),
        )
        self.server = InProcessServer(create_app(ServerContext(config, secrets, db_url))).start()
        suite.callback_url = self.server.url + "/wecom/callback"
        emulator.suite.push_ticket()
        with connect(db_url) as conn:
            token = add_installer(conn, "demo", "installer", None)
        base = env.settings
        self.settings = replace(
            base,
            provider=replace(base.provider, mode="cloud"),
            partner=PartnerSettings(base_url=self.server.url),
            credentials=replace(base.credentials, source="partner"),
        ).with_secrets(None, token)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.env is not None:
            self.env.stop()
            self.env = None
        if self.pg is not None:
            self.pg.stop_server("fast")
            self.pg = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
