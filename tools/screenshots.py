"""Real screenshots of the wizard, in English and Simplified Chinese, into docs/screenshots/.

The script starts the demo (a simulated board on a pty and the provider emulator on loopback),
opens the real wizard for each language and walks it from Start to Done the way an installer
would, grabbing each page as it shows the run's real state:

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/screenshots.py [--out docs/screenshots]

Chinese needs a CJK font: when ``fc-list :lang=zh`` finds none, the script installs Debian's
``fonts-noto-cjk`` with apt-get (after apt-get update); pass --no-install to skip that. Run it
again after the translations are filled in (tools/build_translations.py compiles the .qm files
it loads).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LANGUAGES = ("en", "zh_CN")
SIZE = (1200, 720)


def has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    return bool(found.stdout.strip())


def install_cjk_font() -> None:
    print("no CJK font found: installing fonts-noto-cjk with apt-get", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "fonts-noto-cjk"],
        check=True,
        env=env,
    )
    if shutil.which("fc-cache"):
        subprocess.run(["fc-cache", "-f"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument("--languages", nargs="*", default=list(LANGUAGES))
    parser.add_argument("--bench-only", action="store_true", help="only the bench view's shots")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "zh_CN" in args.languages and not has_cjk_font():
        if args.no_install:
            print("warning: no CJK font; Chinese text will show as boxes", file=sys.stderr)
        else:
            install_cjk_font()
    args.out.mkdir(parents=True, exist_ok=True)

    from ui.app import Translations, ensure_application, load_stylesheet

    app = ensure_application()
    app.setStyleSheet(load_stylesheet())
    translations = Translations(app)
    try:
        for language in args.languages:
            translations.load(language)
            if not args.bench_only:
                with tempfile.TemporaryDirectory() as tmp:
                    shoot_language(language, Path(tmp), args.out)
            with tempfile.TemporaryDirectory() as tmp:
                shoot_bench(language, Path(tmp), args.out)
    finally:
        translations.unload()
    return 0


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(
        lambda: loop.quit() if condition() or time.monotonic() > deadline else None
    )
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the wizard did not reach the expected state")


def settle(ms: int = 150) -> None:
    """Let layouts and queued updates run before a grab."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot_language(language: str, tmp: Path, out: Path) -> None:
    from installer_app.demo import DemoEnvironment
    from ui.app import create_main_window
    from ui.wizard.base import PageId

    def grab(widget: object, name: str) -> None:
        settle()
        path = out / f"{language}-{name}.png"
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    with DemoEnvironment(tmp, auto_scan_after_s=None, install_delay_s=1.0) as demo:
        window = create_main_window(demo=demo)
        window.resize(*SIZE)
        window.show()
        try:
            wait_for(lambda: window.session is not None)
            wait_for(lambda: window.start_page.check_button.isEnabled(), 30)
            grab(window, "1-start")
            window.show_page(PageId.CONNECT)
            ports = window.connect_page.ports
            wait_for(lambda: ports.select_device(demo.ports[0]))
            grab(window, "2-connect")
            questions: list[object] = []
            window.wizard.question.connect(questions.append)
            window.connect_page.provision_button.click()
            wait_for(lambda: window.device_page.continue_button.isVisible())
            grab(window, "3-device")
            window.device_page.continue_button.click()
            wait_for(lambda: window.network_page.form_box.isEnabled())
            window.show_page(PageId.WRITE)
            grab(window, "4-write")
            window.show_page(PageId.NETWORK)
            window.network_page.ssid.setText("Shop-Floor-5G")
            window.network_page.password.setText("demo-password")
            grab(window, "5-network")
            window.network_page.apply_button.click()
            wait_for(lambda: window.bind_page.qr.url() != "")
            wait_for(lambda: window.bind_page.online_light.state.value == "ok", 20)
            grab(window, "6-bind")
            window.bind_page.scan_button.click()
            wait_for(lambda: window.current_page() is PageId.DONE, 60)
            grab(window, "7-done")
            settings = window.open_settings()
            grab(settings, "8-settings")
            settings.close()
            history = window.open_history()
            if history is not None:
                wait_for(lambda: history.table.rowCount() > 0)
                grab(history, "9-history")
                history.close()
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            settle(50)


BENCH_BOARDS = 5


def shoot_bench(language: str, tmp: Path, out: Path) -> None:
    """The bench view with five demo boards and one of another model, and the binding queue."""
    from dataclasses import replace

    from installer_app.demo import DemoEnvironment
    from installer_app.simulator.config import SimulatorConfig
    from installer_app.simulator.server import PtySimulator
    from ui.app import create_main_window
    from ui.wizard.base import PageId

    def grab(widget: object, name: str) -> None:
        settle(300)
        path = out / f"{language}-{name}.png"
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    with DemoEnvironment(
        tmp, boards=BENCH_BOARDS, auto_scan_after_s=None, install_delay_s=0.5
    ) as demo:
        other = PtySimulator(
            replace(SimulatorConfig(model_id="WX-DOOR-100"), boot_s=0.1), tmp / "other.json"
        )
        other.start()
        window = create_main_window(demo=demo)
        window.resize(1280, 800)
        window.show()
        try:
            wait_for(lambda: window.session is not None)
            window.show_page(PageId.BENCH)
            page = window.bench_page
            wait_for(lambda: page.wifi_bar.ssid.isVisible(), 60)
            page.wifi_bar.ssid.setText("Shop-Floor-5G")
            page.wifi_bar.password.setText("demo-password")
            page.wifi_bar.apply_button.click()
            queue = page.queue
            wait_for(lambda: len(queue.entries) == BENCH_BOARDS, 90)
            emulator = demo.emulator
            for _ in range(2):  # the admin scanned two codes already
                entry = queue.current()
                assert entry is not None
                emulator.scan(entry.url)
                wait_for(lambda entry=entry: entry.bound and queue.current() is not entry, 60)
            wait_for(lambda: bool(queue.current() and queue.current().matrix), 30)
            # A bound board's card selected (as a scan of its label does), its location scanned.
            bound = next(e.port for e in queue.entries if e.bound)
            page.select_card(bound)
            wait_for(lambda: page.location.field.isEnabled(), 30)
            page.location.take_scan("3F-301 前台")
            wait_for(lambda: bool(page.location.status.text()), 30)
            grab(window, "10-bench")
            grab(queue, "11-binding-queue")
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            other.stop()
            settle(50)


if __name__ == "__main__":
    sys.exit(main())
