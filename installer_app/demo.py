"""The demo: simulated boards and the local provider emulator, wired like a real site.

``DemoEnvironment`` starts the provider emulator (WeCom A + partner service C on loopback) and
one or more simulated boards (a pseudo-terminal each; TCP on Windows), writes a demo
configuration pointing at them, and gives the emulator's secrets to the settings directly (never
through the environment or the credential store). Everything lives in ``<data_dir>/demo/``:
``config.toml``, ``installer.db`` (the demo's own store, never the real one), ``emulator.json``,
``board-N.json`` (each board's flash) and ``demo.key``.

The store's encryption key is a key file in that folder: running the demo is the opt-in to a key
file (its secrets are the emulator's throw-away SecretNos, not real ones), so it also works where
there is no OS credential store. Each board's binding probe asks the emulator, so a board sees
its own binding (WECOM_STATE BOUND) as a real one would.
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from installer_app.config import (
    BindingSettings,
    CredentialSettings,
    InstallerSettings,
    PartnerSettings,
    ProviderSettings,
    Settings,
    StoreSettings,
    save_settings,
)
from installer_app.provider.emulator import ProviderEmulator
from installer_app.provider.emulator.probe import emulator_binding_probe
from installer_app.secrets import Secret
from installer_app.simulator.config import SimulatorConfig
from installer_app.simulator.server import PtySimulator, TcpSimulator

log = logging.getLogger(__name__)

DEMO_MODEL_ID = "WX-ATT-200"
DEMO_SN_PREFIX = "DEMO"
DEMO_POLL_INTERVAL_S = 1.0
DEMO_SCAN_AFTER_S = 8.0
# Headless demos (no one watches the QR code): a shorter wait before the emulator scans.
HEADLESS_SCAN_AFTER_S = 5.0
DEMO_INSTALL_DELAY_S = 3.0


class DemoEnvironment:
    """Context manager; ``start()`` brings everything up, ``stop()`` takes it down (idempotent).

    ``fresh`` (the default) forgets the previous demo's boards, registrations and store, so each
    demo starts with blank boards; the key file is kept.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        boards: int = 1,
        auto_scan_after_s: float | None = DEMO_SCAN_AFTER_S,
        install_delay_s: float = DEMO_INSTALL_DELAY_S,
        fresh: bool = True,
        board_config: SimulatorConfig | None = None,
    ) -> None:
        if boards < 1:
            raise ValueError("a demo needs at least one board")
        self.root = Path(data_dir) / "demo"
        self.data_dir = self.root
        self.config_path = self.root / "config.toml"
        self.key_path = self.root / "demo.key"
        self._boards = boards
        self._fresh = fresh
        self._board_config = board_config or SimulatorConfig(model_id=DEMO_MODEL_ID)
        self.emulator = ProviderEmulator(
            self.root / "emulator.json",
            install_delay_s=install_delay_s,
            auto_scan_after_s=auto_scan_after_s,
        )
        self._servers: list[PtySimulator | TcpSimulator] = []
        self._settings: Settings | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> DemoEnvironment:
        if self._fresh:
            self._forget_previous()
            # The emulator read its state file when it was made, before it was forgotten: without
            # this it would still hold the last demo's devices and installations, and a team
            # demo's new server would never hear of an installation WeCom "already" reported.
            self.emulator.reset()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            base_url = self.emulator.start()
            probe = emulator_binding_probe(base_url)
            for index in range(self._boards):
                config = replace(self._board_config, binding_probe=probe)
                state_file = self.root / f"board-{index + 1}.json"
                server: PtySimulator | TcpSimulator = (
                    TcpSimulator(config, state_file)
                    if sys.platform == "win32"
                    else PtySimulator(config, state_file)
                )
                server.start()
                self._servers.append(server)
            settings = self._make_settings(base_url)
            save_settings(settings, self.config_path)
            self._settings = settings.with_secrets(
                Secret(self.emulator.provider_secret), Secret(self.emulator.partner_token)
            )
        except BaseException:
            self.stop()
            raise
        log.info("demo started: emulator %s, boards %s", base_url, self.ports)
        return self

    def stop(self) -> None:
        while self._servers:
            self._servers.pop().stop()
        self.emulator.stop()

    def __enter__(self) -> DemoEnvironment:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the front ends use -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the demo has not been started")
        return self._settings

    @property
    def ports(self) -> list[str]:
        return [s.url for s in self._servers if s.url is not None]

    @property
    def servers(self) -> list[PtySimulator | TcpSimulator]:
        return list(self._servers)

    # -- internals ---------------------------------------------------------------------------

    def _make_settings(self, base_url: str) -> Settings:
        return Settings(
            provider=ProviderSettings(
                mode="direct",
                wecom_base_url=base_url,
                corpid=self.emulator.corpid,
                model_id=DEMO_MODEL_ID,
            ),
            partner=PartnerSettings(base_url=base_url),
            credentials=CredentialSettings(source="register", sn_prefix=DEMO_SN_PREFIX),
            binding=BindingSettings(qr="static", poll_interval_s=DEMO_POLL_INTERVAL_S),
            store=StoreSettings(key_file=str(self.key_path)),
            installer=InstallerSettings(name="demo"),
            source_file=self.config_path,
        )

    def _forget_previous(self) -> None:
        if not self.root.exists():
            return
        for pattern in ("board-*.json", "emulator.json", "installer.db*"):
            for path in self.root.glob(pattern):
                path.unlink(missing_ok=True)
        shutil.rmtree(self.root / "logs", ignore_errors=True)
