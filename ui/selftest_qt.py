"""The Qt half of ``installer-app --self-test`` (installer_app/selftest.py reaches it through
installer_app/launch.py).

Each check takes the self-test's workspace and returns a short detail, or raises to fail. They
catch what goes wrong in a frozen build rather than in the source: a platform plugin, Qt's own
translations or the SVG library left out, a stale .qm, a stylesheet Qt cannot parse, the ICU
collation data missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QByteArray,
    QCollator,
    QCoreApplication,
    QDir,
    QLibraryInfo,
    QLocale,
    QMessageLogContext,
    QtMsgType,
    QTranslator,
    qInstallMessageHandler,
)
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from installer_app.i18n import SUPPORTED_LANGUAGES, finished_ts_translations, ts_resource_name

NATIVE_PLATFORM = {"win32": "windows", "darwin": "cocoa"}.get(sys.platform, "xcb")


class QtCheckFailed(Exception):
    """A Qt check found the build broken."""


def application() -> QApplication:
    """The process's QApplication, created on first use (offscreen on a Linux box with no display,
    so the self-test runs on a build server)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return QApplication([sys.argv[0] if sys.argv else "installer-app"])


@contextmanager
def captured_qt_warnings() -> Iterator[list[str]]:
    """Qt's warnings while the block runs (instead of on stderr)."""
    seen: list[str] = []

    def handler(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg:
            seen.append(message)

    previous = qInstallMessageHandler(handler)
    try:
        yield seen
    finally:
        qInstallMessageHandler(previous)


def _plugin_names(folder: str) -> list[str]:
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / folder
    names = []
    for path in plugins.glob("*"):
        stem = path.name.split(".")[0]
        names.append(stem.removeprefix("lib").removeprefix("q"))
    return sorted(names)


def check_platform(_ws: Any) -> str:
    app = application()
    present = _plugin_names("platforms")
    missing = [name for name in ("offscreen", NATIVE_PLATFORM) if name not in present]
    if missing:
        raise QtCheckFailed(f"platform plugins missing: {', '.join(missing)}")
    return f"running on {app.platformName()}; platforms {', '.join(present)}"


class TsMessage(NamedTuple):
    context: str
    source: str
    comment: str | None  # Qt's disambiguation
    expected: str  # what QCoreApplication.translate must return (plural forms: for n = 1)
    n: int


def _finished_messages(ts_bytes: bytes) -> list[TsMessage]:
    found = []
    for entry in finished_ts_translations(ts_bytes):
        first = entry.forms[0] if entry.forms else ""
        if not first:
            continue
        if entry.numerus:
            # Chinese has one plural form; translate() fills in %n itself.
            found.append(
                TsMessage(entry.context, entry.source, entry.comment, first.replace("%n", "1"), 1)
            )
        else:
            found.append(TsMessage(entry.context, entry.source, entry.comment, first, -1))
    return found


def check_translations(_ws: Any) -> str:
    """Each .qm loads in a QTranslator and says what its .ts says; Qt's own qtbase loads too."""
    app = application()
    details = []
    i18n = resources.files("resources").joinpath("i18n")
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for language in SUPPORTED_LANGUAGES:
        if language == "en":
            continue
        ts_name = ts_resource_name(language)
        with ExitStack() as files:
            qm_path = files.enter_context(resources.as_file(i18n.joinpath(ts_name[:-3] + ".qm")))
            translator = QTranslator()
            if not translator.load(str(qm_path)):
                raise QtCheckFailed(f"{qm_path.name} does not load in a QTranslator")
            messages = _finished_messages(i18n.joinpath(ts_name).read_bytes())
            app.installTranslator(translator)
            try:
                for m in messages:
                    got = QCoreApplication.translate(m.context, m.source, m.comment, m.n)
                    if got != m.expected:
                        raise QtCheckFailed(
                            f"{qm_path.name} translates {m.source!r} as {got!r}, the .ts says "
                            f"{m.expected!r}: rebuild it with tools/build_translations.py"
                        )
            finally:
                app.removeTranslator(translator)
        qt_base = QTranslator()
        if not qt_base.load(QLocale(language), "qtbase", "_", qt_dir):
            raise QtCheckFailed(f"Qt's own qtbase_{language}.qm is missing from {qt_dir}")
        details.append(f"{language}: {len(messages)} messages + qtbase")
    return ", ".join(details)


def _icon_names() -> list[str]:
    folder = resources.files("resources").joinpath("icons")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".svg"))


def check_icons(_ws: Any) -> str:
    application()
    from ui.resources import icon

    names = _icon_names()
    for name in names:
        data = resources.files("resources").joinpath("icons", name).read_bytes()
        if not QSvgRenderer(QByteArray(data)).isValid():
            raise QtCheckFailed(f"icons/{name} does not render")
        if icon(name[: -len(".svg")]).isNull():
            raise QtCheckFailed(f"ui.resources.icon({name[:-4]!r}) is empty")
    return f"{len(names)} SVG icons render"


def check_stylesheets(_ws: Any) -> str:
    app = application()
    folder = resources.files("resources").joinpath("styles")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".qss"))
    previous = app.styleSheet()
    for name in names:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        probe = QWidget()
        QVBoxLayout(probe).addWidget(QLabel("self-test"))
        with captured_qt_warnings() as warnings:
            app.setStyleSheet(text)
            probe.ensurePolished()
            for child in probe.findChildren(QWidget):
                child.ensurePolished()
        app.setStyleSheet(previous)
        probe.deleteLater()
        if warnings:
            raise QtCheckFailed(f"styles/{name}: {warnings[0]}")
    return f"{len(names)} stylesheets parse"


def check_qr_image(_ws: Any) -> str:
    application()
    from installer_app.provider.qr import SAMPLE_URL, qr_matrix, render_png

    url = SAMPLE_URL
    image = QImage.fromData(render_png(url))  # the format is detected from the data
    if image.isNull():
        raise QtCheckFailed("Qt cannot read the QR code PNG")
    if image.width() < len(qr_matrix(url)):
        raise QtCheckFailed(f"the QR image is only {image.width()} px wide")
    return f"{image.width()}x{image.height()} px"


def check_collation(_ws: Any) -> str:
    """Chinese sorts by pinyin: needs ICU's collation data (the Linux build ships a subset)."""
    application()
    collator = QCollator(QLocale("zh_CN"))
    # 北京 (bei jing) before 上海 (shang hai) by pinyin; by code point 上 (U+4E0A) comes first.
    if collator.compare("北京", "上海") >= 0:
        raise QtCheckFailed("Chinese does not sort by pinyin: collation data is missing")
    return "zh_CN pinyin order"


def check_paths(_ws: Any) -> str:
    """Qt finds its plugins and translations inside this build (not in some other Qt)."""
    application()
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)).resolve()
    bundle_dir = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's bootloader
    if bundle_dir:
        bundle = Path(bundle_dir).resolve()
        if bundle not in plugins.parents:
            raise QtCheckFailed(f"Qt plugins come from {plugins}, outside the bundle {bundle}")
    return QDir.toNativeSeparators(str(plugins))


CHECKS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("qt platform", check_platform),
    ("qt paths", check_paths),
    ("qt translations", check_translations),
    ("icons", check_icons),
    ("stylesheets", check_stylesheets),
    ("qt qr image", check_qr_image),
    ("collation", check_collation),
)
