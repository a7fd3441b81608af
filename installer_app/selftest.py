"""``installer-app --self-test``: can this build (frozen or from source) do its job here?

One line per check, ``ok   <name>`` or ``FAIL <name>: <reason>``, and exit code 1 when any check
failed. The checks run the real parts, not stand-ins: bundled resources and translations load, a
QR code renders, a simulated board answers HELLO over a real serial link (a pty; TCP on Windows),
the provider emulator hands out a token over loopback HTTP, and the store opens, encrypts and
decrypts in a temporary folder with a temporary key file. The Qt checks (platform plugins, .qm
files in a QTranslator, SVG icons, stylesheet, collation data) live in ``ui/selftest_qt.py`` and
are reached through ``installer_app.launch``, so this module stays Qt-free like the rest of the
core.

``--no-gui`` skips the Qt checks (a machine without PySide6); ``--first-paint`` starts the wizard
and prints ``first-paint <epoch seconds>`` when its window is first painted, then quits (used by
benchmarks/bench_package.py to time start-up, frozen and from source).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from installer_app import launch
from installer_app.build_info import frozen_build_info, has_secret_service
from installer_app.i18n import SUPPORTED_LANGUAGES, load_ts_catalog, ts_resource_name
from installer_app.secrets import Secret, redact

# A check returns a short detail for the "ok" line, or raises to fail.
CheckFn = Callable[["Workspace"], str]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SELFTEST_SN = "SELFTEST0001"


class CheckFailed(Exception):
    """A check found the build broken; the message says how."""


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFn


@dataclass(frozen=True)
class Workspace:
    """A temporary folder for the checks, deleted afterwards."""

    root: Path


# --- core checks ----------------------------------------------------------------------------------


def check_version(_ws: Workspace) -> str:
    """Frozen: the bundle was built from this package's version. From source: the installed
    metadata is not stale (an editable install made before a version change)."""
    from importlib.metadata import PackageNotFoundError, version

    from installer_app import __version__

    info = frozen_build_info()
    if info is not None:
        if info.get("version") != __version__:
            raise CheckFailed(f"built as {info.get('version')}, the package says {__version__}")
        return __version__
    try:
        installed = version("installer-app")
    except PackageNotFoundError:
        return f"{__version__} (not installed)"
    if installed != __version__:
        raise CheckFailed(f"installed metadata says {installed}, the package {__version__}")
    return __version__


def _resource_files(folder: str, suffix: str) -> list[str]:
    base = resources.files("resources").joinpath(folder)
    return sorted(p.name for p in base.iterdir() if p.name.endswith(suffix))


def check_resources(_ws: Workspace) -> str:
    """Every translation source and compiled catalogue, icon and stylesheet is there and sane."""
    root = resources.files("resources")
    for language in SUPPORTED_LANGUAGES:
        ts_name = ts_resource_name(language)
        for name in (ts_name, ts_name.replace(".ts", ".qm")):
            if not root.joinpath("i18n", name).is_file():
                raise CheckFailed(f"i18n/{name} is missing")
        ET.fromstring(root.joinpath("i18n", ts_name).read_bytes())
    icons = _resource_files("icons", ".svg")
    for name in icons:
        svg = ET.fromstring(root.joinpath("icons", name).read_bytes())
        if not svg.tag.endswith("svg"):
            raise CheckFailed(f"icons/{name} is not an SVG image")
    styles = _resource_files("styles", ".qss")
    for name in styles:
        if not root.joinpath("styles", name).read_text(encoding="utf-8").strip():
            raise CheckFailed(f"styles/{name} is empty")
    return f"{len(SUPPORTED_LANGUAGES)} languages, {len(icons)} icons, {len(styles)} stylesheets"


def check_catalog(_ws: Workspace) -> str:
    """The CLI's translations: finished messages of each bundled .ts file."""
    counts = []
    for language in SUPPORTED_LANGUAGES:
        if language == "en":
            continue
        catalog = load_ts_catalog(language)
        counts.append(f"{language}: {len(catalog)} finished")
    return ", ".join(counts)


def check_qr(_ws: Workspace) -> str:
    from installer_app.provider.qr import SAMPLE_URL, qr_matrix, render_png, render_terminal

    png = render_png(SAMPLE_URL)
    if not png.startswith(PNG_SIGNATURE):
        raise CheckFailed("render_png did not produce a PNG image")
    width = int.from_bytes(png[16:20], "big")
    modules = len(qr_matrix(SAMPLE_URL))
    if width < modules:
        raise CheckFailed(f"the PNG is {width} px wide for {modules} modules")
    if not render_terminal(SAMPLE_URL).strip():
        raise CheckFailed("render_terminal produced nothing")
    return f"{modules}x{modules} modules, PNG {len(png)} bytes"


@contextmanager
def _private_sim_registry(ws: Workspace) -> Iterator[None]:
    """Keep the simulator's port announcement out of the user's runtime folder."""
    previous = os.environ.get("INSTALLER_SIM_REGISTRY")
    os.environ["INSTALLER_SIM_REGISTRY"] = str(ws.root / "sim-ports")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("INSTALLER_SIM_REGISTRY", None)
        else:
            os.environ["INSTALLER_SIM_REGISTRY"] = previous


def check_device(ws: Workspace) -> str:
    from installer_app.device.client import DeviceClient
    from installer_app.simulator.config import SimulatorConfig
    from installer_app.simulator.server import PtySimulator, TcpSimulator

    config = SimulatorConfig(boot_s=0.0, hw_id=bytes.fromhex("5e1f7e570001"))
    server_type = TcpSimulator if os.name == "nt" else PtySimulator
    with _private_sim_registry(ws):
        server = server_type(config, ws.root / "board.json")
        url = server.start()
        try:
            with DeviceClient.open(url, response_timeout=2.0) as client:
                hello = client.hello()
        finally:
            server.stop()
    if hello.model_id != config.model_id or hello.hw_id != config.hw_id:
        raise CheckFailed(f"HELLO answered {hello.model_id} {hello.hw_id_hex}")
    return f"{server_type.__name__}: HELLO {hello.model_id} fw {hello.fw_version}"


def check_emulator(_ws: Workspace) -> str:
    from installer_app.provider.emulator import ProviderEmulator
    from installer_app.provider.wecom import WecomClient

    emulator = ProviderEmulator()
    base_url = emulator.start(port=0)
    try:
        with WecomClient(base_url, emulator.corpid, Secret(emulator.provider_secret)) as client:
            token = client.get_provider_token()
    finally:
        emulator.stop()
    if not token.reveal():
        raise CheckFailed("the emulator returned an empty token")
    return f"token from {base_url}"


def check_board_host(ws: Workspace) -> str:
    """The bench view's board host: this build starts a second process of itself
    (``--board-host``), which opens a session on the provider emulator and ends when told."""
    from installer_app.config import ProviderSettings, Settings, StoreSettings
    from installer_app.provider.emulator import ProviderEmulator
    from installer_app.workflow.host_client import BoardHost

    emulator = ProviderEmulator()
    base_url = emulator.start(port=0)
    try:
        settings = Settings(
            provider=ProviderSettings(
                mode="direct",
                wecom_base_url=base_url,
                corpid=emulator.corpid,
                model_id="WX-ATT-200",
            ),
            store=StoreSettings(key_file=str(ws.root / "host.key")),
        ).with_secrets(Secret(emulator.provider_secret), None)
        host = BoardHost(
            settings,
            ws.root / "host",
            on_event=lambda _event: None,
            on_result=lambda _result, _alone: None,
            on_wifi_needed=lambda: None,
        )
        host.launch()
        ready = host.ready.wait(60)
        lost = host.lost
        ended = host.close(timeout_s=15)
    finally:
        emulator.stop()
    if not ready:
        raise CheckFailed(lost.english() if lost is not None else "the board host did not start")
    if not ended or host.exit_code != 0:
        raise CheckFailed(f"the board host ended with {host.exit_code}")
    return f"pid {host.pid}, session opened and closed"


def check_store(ws: Workspace) -> str:
    from installer_app.store.db import Store
    from installer_app.store.keys import SecretCipher

    secret = Secret("selftest-secret-no")
    cipher = SecretCipher.from_key_file(ws.root / "store.key")
    with Store.open(ws.root / "installer.db", cipher) as store:
        store.reserve(
            SELFTEST_SN,
            "5e1f7e570001",
            secret,
            source="register",
            model_id="WX-ATT-200",
            installer="self-test",
        )
        back = store.secret_for(SELFTEST_SN)
    if back.reveal() != secret.reveal():
        raise CheckFailed("the SecretNo did not decrypt to what was stored")
    raw = (ws.root / "installer.db").read_bytes()
    if secret.reveal().encode() in raw:
        raise CheckFailed("the SecretNo is stored in clear")
    import filelock  # what creates the keyring's store key one run at a time

    with filelock.FileLock(ws.root / ".store-key.lock", timeout=5):
        pass
    return "SQLite + AES-GCM round trip, key creation lock"


def check_ports(_ws: Workspace) -> str:
    """pyserial's port enumeration (setupapi on Windows, IOKit on macOS, sysfs on Linux)."""
    from installer_app.device.ports import list_ports

    return f"{len(list_ports())} ports"


_NATIVE_KEYRING = {
    "win32": ("keyring.backends.Windows", "WinVaultKeyring"),
    "darwin": ("keyring.backends.macOS", "Keyring"),
}


def check_keyring(_ws: Workspace) -> str:
    """The OS credential-store back end is in the build (not whether this machine has one)."""
    import keyring

    active = type(keyring.get_keyring()).__name__
    if sys.platform.startswith("linux") and not has_secret_service():
        return f"Secret Service left out of this build (key file and environment); active: {active}"
    module_name, class_name = _NATIVE_KEYRING.get(
        sys.platform, ("keyring.backends.SecretService", "Keyring")
    )
    module = importlib.import_module(module_name)
    if not hasattr(module, class_name):
        raise CheckFailed(f"{module_name} has no {class_name}")
    if sys.platform.startswith("linux"):
        importlib.import_module("secretstorage")
    return f"{module_name}; active here: {active}"


CORE_CHECKS: tuple[Check, ...] = (
    Check("version", check_version),
    Check("resources", check_resources),
    Check("cli translations", check_catalog),
    Check("qr code", check_qr),
    Check("serial ports", check_ports),
    Check("simulated device", check_device),
    Check("provider emulator", check_emulator),
    Check("store", check_store),
    Check("board host", check_board_host),
    Check("keyring backend", check_keyring),
)


# --- running -------------------------------------------------------------------------------------


def qt_checks() -> tuple[Check, ...]:
    """The checks in ui/selftest_qt.py (PySide6), as Check objects."""
    return tuple(Check(name, fn) for name, fn in launch.qt_checks())


def _reason(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split())) or type(exc).__name__


def run_checks(checks: Sequence[Check], out: Callable[[str], None] = print) -> int:
    """Run every check (a failure does not stop the others); 0 when all passed, else 1."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="installer-selftest-") as tmp:
        ws = Workspace(Path(tmp))
        for check in checks:
            started = time.perf_counter()
            try:
                detail = check.run(ws)
            except Exception as exc:  # noqa: BLE001 - any failure is a FAIL line, not a crash
                failed += 1
                out(f"FAIL {check.name}: {_reason(exc)}")
                continue
            elapsed = time.perf_counter() - started
            suffix = f" ({detail}; {elapsed:.2f} s)" if detail else f" ({elapsed:.2f} s)"
            out(f"ok   {check.name}{suffix}")
    out(f"self-test: {len(checks) - failed} of {len(checks)} checks passed")
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="installer-app --self-test",
        description="Check that this build can do its job on this machine.",
    )
    parser.add_argument("--no-gui", action="store_true", help="skip the Qt checks")
    parser.add_argument(
        "--first-paint",
        action="store_true",
        help="start the wizard, print 'first-paint <epoch seconds>' at its first paint, quit",
    )
    args = parser.parse_args(list(argv))
    if args.first_paint:
        return launch.run_until_first_paint([])
    # The checks' own log lines (a new key file, a server started) would only clutter the report.
    logging.getLogger().addHandler(logging.NullHandler())
    checks = list(CORE_CHECKS)
    if not args.no_gui:
        try:
            checks += qt_checks()
        except ImportError as exc:
            print(f"FAIL qt: {_reason(exc)}")
            return 1
    sys.stdout.flush()
    return run_checks(checks, out=lambda line: print(line, flush=True))
