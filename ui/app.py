"""Starting the wizard: QApplication, translations, logging, crash handler, style, main window.

``run(argv, demo=None)`` is what ``installer-app`` (no arguments) and ``installer-app demo`` call;
``create_main_window`` builds the same window without ``exec()`` for tests and the screenshot
script.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QMessageLogContext,
    QtMsgType,
    QTranslator,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QMessageBox

import installer_app
from installer_app import i18n
from installer_app.config import ConfigError, Settings, load_settings
from installer_app.errors import InstallerError
from installer_app.logsetup import configure_logging
from installer_app.paths import default_config_file, default_data_dir, default_log_dir
from ui.dialogs.crash_dialog import CrashHandler
from ui.first_paint import FIRST_PAINT_ENV, FirstPaintExit, install_first_paint_exit
from ui.main_window import MainWindow
from ui.resources import icon, read_text
from ui.widgets.plain import plain_message

log = logging.getLogger("ui")
qt_log = logging.getLogger("qt")

APP_NAME = "installer-app"


def display_name() -> str:
    """The window title's application name, in the GUI language."""
    return QCoreApplication.translate("app", "WeCom device installer")


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings go to the (redacted) Python log instead of stderr."""
    where = f" ({context.category})" if context.category and context.category != "default" else ""
    qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s%s", message, where)


def install_core_translator(language: str) -> None:
    """Core ``Message``s render through Qt's translator (thread-safe) in the GUI language."""
    i18n.set_translator(QCoreApplication.translate, language)


class Translations:
    """Loads the app's .qm (and Qt's own, for standard buttons) for one language."""

    def __init__(self, app: QCoreApplication) -> None:
        self._app = app
        self._installed: list[QTranslator] = []
        self._files = ExitStack()

    def load(self, language: str) -> bool:
        self.unload()
        # English loads its .qm too: it holds the plural forms ("1 board" / "3 boards").
        loaded = False
        translator = QTranslator(self._app)
        ref = resources.files("resources").joinpath(f"i18n/installer_app_{language}.qm")
        try:
            path = self._files.enter_context(resources.as_file(ref))
        except (FileNotFoundError, OSError):
            path = None
        if path is not None and translator.load(str(path)):
            self._app.installTranslator(translator)
            self._installed.append(translator)
            loaded = True
        elif language != "en":
            log.warning("no translation for %s; the wizard stays in English", language)
        qt_base = QTranslator(self._app)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_base.load(QLocale(language), "qtbase", "_", qt_dir):
            self._app.installTranslator(qt_base)
            self._installed.append(qt_base)
        install_core_translator(language if loaded else "en")
        return loaded or language == "en"

    def unload(self) -> None:
        for translator in self._installed:
            self._app.removeTranslator(translator)
        self._installed.clear()
        self._files.close()
        self._files = ExitStack()


def load_stylesheet() -> str:
    return read_text("styles/wizard.qss")


def ensure_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication([sys.argv[0] if sys.argv else APP_NAME, *(argv or [])])
    return app


def create_main_window(
    settings: Settings | None = None,
    data_dir: Path | None = None,
    config_path: Path | None = None,
    demo: Any | None = None,
) -> MainWindow:
    """The wizard's window, not shown. Settings come from ``demo`` in demo mode, else from the
    configuration file; secrets it lacks come from the environment or the credential store, on
    the worker that opens the session."""
    if demo is not None:
        settings = settings or demo.settings
        data_dir = data_dir or demo.data_dir
        config_path = config_path or demo.config_path
    if settings is None:
        settings = load_settings(config_path)
    config_path = config_path or settings.source_file or default_config_file()
    return MainWindow(settings, data_dir or default_data_dir(), config_path, demo)


def run(
    argv: list[str],
    demo: Any | None = None,
    config_path: Path | None = None,
    data_dir: Path | None = None,
) -> int:
    """Start the GUI and return its exit code; ``config_path``/``data_dir`` are the command line's
    ``--config``/``--data-dir`` (logs then go to ``data_dir/logs``, as for every subcommand)."""
    log_dir = data_dir / "logs" if data_dir is not None else default_log_dir()
    file_handler = configure_logging(log_dir)
    app = ensure_application(argv)
    # INSTALLER_EXIT_AFTER_FIRST_PAINT=1: quit after the first painted frame (start-up benchmark).
    install_first_paint_exit(app)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(getattr(installer_app, "__version__", "0"))
    app.setOrganizationName(APP_NAME)
    app.setWindowIcon(icon("app"))
    previous_handler = qInstallMessageHandler(qt_message_handler)
    crash = CrashHandler(
        Path(getattr(file_handler, "baseFilename", "")) if file_handler else None,
        parent_widget=lambda: app.activeWindow(),
        quit_app=app.quit,
    )
    crash.install()
    translations = Translations(app)
    try:
        try:
            settings = demo.settings if demo is not None else load_settings(config_path)
        except ConfigError as exc:
            # A broken file must not keep the installer out: show the error and start with
            # defaults so they can fix it in the settings dialog.
            translations.load(i18n.detect_language(None))
            plain_message(None, QMessageBox.Icon.Critical, display_name(), str(exc)).exec()
            settings = Settings(source_file=config_path or default_config_file())
        language = i18n.detect_language(settings.ui.language)
        translations.load(language)
        app.setApplicationDisplayName(display_name())
        app.setStyleSheet(load_stylesheet())
        window = create_main_window(
            settings=settings, data_dir=data_dir, config_path=config_path, demo=demo
        )
        # Quitting by any path (last window closed, Ctrl+Q, the crash dialog's Quit) joins the
        # workers and releases the port first.
        app.aboutToQuit.connect(window.shutdown)
        window.show()
        log.info("wizard started (language %s%s)", language, ", demo" if demo else "")
        return int(app.exec())
    except InstallerError as exc:
        log.error("cannot start the wizard: %s", exc)
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    finally:
        crash.uninstall()
        qInstallMessageHandler(previous_handler)
        translations.unload()
        if file_handler is not None:
            logging.getLogger().removeHandler(file_handler)
            file_handler.close()


def run_until_first_paint(argv: list[str]) -> int:
    """Start the wizard as ``installer-app`` does, quitting after its first painted frame."""
    os.environ.pop(FIRST_PAINT_ENV, None)  # one timer, even though run() honours the variable
    qt_app = ensure_application(argv)
    qt_app.installEventFilter(FirstPaintExit(qt_app))
    return run(argv)
