"""The wizard's window: pages in a stack, a header with the steps, the log pane.

It wires pages to ``ui.session.WizardSession`` (which opens the core session and runs the board)
and decides nothing about the flow: each ``WorkflowEvent`` goes to the pages (``ui.wizard.flow``
says which page comes forward) and each typed question to the page that answers it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from installer_app.config import Settings
from installer_app.errors import ExitCode
from installer_app.secrets import Secret
from installer_app.workflow.events import ProvisionResult, WifiCredentials, WorkflowEvent
from ui.bench.bench_page import BenchPage
from ui.bench.runner import BenchRunner
from ui.dialogs.settings_dialog import SettingsDialog
from ui.error_text import error_text
from ui.questions import AskBoard, AskResume, AskWifi, Question
from ui.resources import icon
from ui.session import WizardSession
from ui.widgets.log_pane import LogPane
from ui.widgets.page_stack import PageStack
from ui.widgets.plain import plain_label
from ui.wizard.base import PageId, WizardPage
from ui.wizard.bind_page import BindPage
from ui.wizard.connect_page import ConnectPage
from ui.wizard.device_page import DevicePage
from ui.wizard.done_page import DonePage
from ui.wizard.flow import PAGE_ORDER, page_for_event
from ui.wizard.network_page import NetworkPage
from ui.wizard.start_page import StartPage
from ui.wizard.write_page import WritePage
from ui.workers import Workers

if TYPE_CHECKING:
    from installer_app.workflow.wiring import Session
    from ui.dialogs.history_dialog import HistoryDialog

log = logging.getLogger(__name__)

SESSION_FALLBACK_MS = 300
BENCH_WARM_UP_MS = 500  # after the session opened: idle time, not the first frame's
MINIMUM_SIZE = QSize(960, 620)  # fits a 1366×768 laptop with its task bar and title bar


class MainWindow(QMainWindow):
    session_ready = Signal(object)  # the Session, or the exception that stopped it
    run_started = Signal(str)  # port
    run_finished = Signal(object)  # ProvisionResult
    page_changed = Signal(str)  # PageId value

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        config_path: Path,
        demo: Any | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.config_path = config_path
        self.demo = demo
        self.last_result: ProvisionResult | None = None
        self._closing = False
        self._session_started = False
        self._port: Any | None = None
        self._question: Question | None = None
        self._pending_settings: Settings | None = None
        self._one_at_a_time = False  # "One board at a time" chosen on the bench view
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("WeCom device installer"))
        self.setWindowIcon(icon("app"))
        self.setMinimumSize(MINIMUM_SIZE)

        self.workers = Workers(self)
        self.wizard = WizardSession(self.workers, settings, data_dir, demo=demo is not None)
        self.wizard.setParent(self)
        self.wizard.opened.connect(self._session_opened)
        self.wizard.open_failed.connect(self._session_failed)
        self.wizard.workflow_event.connect(self._on_event)
        self.wizard.question.connect(self._on_question)
        self.wizard.result.connect(self._on_result)
        self.wizard.crashed.connect(self._on_crash)

        # The frame first, then the pages straight into it: each widget is then parented (and
        # styled by the application's style sheet) once, not again at every level it is moved
        # up; building the window bottom-up took twice as long.
        self.stack = PageStack()
        self._build_chrome()
        self.start_page = StartPage()
        self.connect_page = ConnectPage(self.workers, settings.device.allowlist)
        self.device_page = DevicePage()
        self.write_page = WritePage()
        self.network_page = NetworkPage()
        self.bind_page = BindPage()
        self.done_page = DonePage(self.workers)
        self.bench_runner = BenchRunner(self.workers, self)
        self.bench_page = BenchPage(self.workers, self.bench_runner, settings.device.allowlist)
        self.pages: dict[PageId, WizardPage] = {
            p.page_id: p
            for p in (
                self.start_page,
                self.connect_page,
                self.device_page,
                self.write_page,
                self.network_page,
                self.bind_page,
                self.done_page,
                self.bench_page,
            )
        }
        for page_id in (*PAGE_ORDER, PageId.BENCH):
            self.stack.addWidget(self.pages[page_id])

        self._connect_pages()
        self.start_page.show_profile(settings, demo is not None)
        self._configure_bench(settings)
        self.bind_page.set_demo(demo is not None)
        self.show_page(PageId.START)
        self.log_pane.attach()
        # The session (store, keyring, provider clients: ~100 ms of imports and I/O) opens once
        # the first frame is on screen, so that its worker does not compete with it; a window
        # that is never shown (tests, scripts) opens it after SESSION_FALLBACK_MS.
        QTimer.singleShot(SESSION_FALLBACK_MS, self._open_first_session)
        _FirstPaint(self, self._open_first_session)

    @property
    def settings(self) -> Settings:
        return self.wizard.settings

    @property
    def session(self) -> Session | None:
        return self.wizard.session

    def _open_first_session(self) -> None:
        if not self._session_started and not self._closing:
            self.open_session()

    # -- layout ---------------------------------------------------------------------------

    def _build_chrome(self) -> None:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 6, 12, 6)
        self.crumbs: dict[PageId, QLabel] = {}
        names = {
            PageId.START: self.tr("Start"),
            PageId.CONNECT: self.tr("Connect"),
            PageId.DEVICE: self.tr("Device"),
            PageId.WRITE: self.tr("Write"),
            PageId.NETWORK: self.tr("Network"),
            PageId.BIND: self.tr("Bind"),
            PageId.DONE: self.tr("Done"),
        }
        for i, page_id in enumerate(PAGE_ORDER):
            if i:
                arrow = plain_label("›")
                arrow.setObjectName("crumbArrow")
                row.addWidget(arrow)
            label = plain_label(names[page_id])
            label.setObjectName("crumb")
            self.crumbs[page_id] = label
            row.addWidget(label)
        row.addStretch(1)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setObjectName("danger")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.stop_run)
        self.log_button = QPushButton(self.tr("Log"))
        self.log_button.setCheckable(True)
        row.addWidget(self.stop_button)
        row.addWidget(self.log_button)

        self.banner = QFrame()
        self.banner.setObjectName("failureBanner")
        banner_row = QHBoxLayout(self.banner)
        self.banner_text = plain_label()
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton(self.tr("Retry"))
        self.retry_button.setObjectName("primary")
        self.back_button = QPushButton(self.tr("Back to the port list"))
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(self.back_button)
        banner_row.addWidget(self.retry_button)
        self.banner.setVisible(False)
        self.retry_button.clicked.connect(self.retry)
        self.back_button.clicked.connect(self.back_to_connect)

        self.log_pane = LogPane()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.log_pane)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.log_pane.setVisible(False)
        self.log_pane.setMinimumHeight(90)
        self.log_button.toggled.connect(self.log_pane.setVisible)

        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(header)
        column.addWidget(self.banner)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(self.tr("Opening the local record…"))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1100, 660)

    def _connect_pages(self) -> None:
        self.start_page.begin_requested.connect(lambda: self.show_page(PageId.CONNECT))
        self.start_page.settings_requested.connect(self.open_settings)
        self.start_page.history_requested.connect(self.open_history)
        self.start_page.check_requested.connect(self.check_provider)
        self.start_page.take_lease_requested.connect(self.take_lease)
        self.start_page.return_leases_requested.connect(self.return_leases)
        self.connect_page.back_requested.connect(lambda: self.show_page(PageId.START))
        self.connect_page.identify_requested.connect(self.identify)
        self.connect_page.provision_requested.connect(self.provision)
        self.device_page.board_answered.connect(self._answer_board)
        self.device_page.resume_answered.connect(self._answer_resume)
        self.network_page.wifi_answered.connect(self._answer_wifi)
        self.bind_page.operator_page_requested.connect(self.open_operator_page)
        self.bind_page.demo_scan_requested.connect(self.demo_scan)
        self.done_page.next_requested.connect(self.next_device)
        self.connect_page.ports.ports_changed.connect(self._boards_counted)
        self.connect_page.bench_requested.connect(lambda: self.show_page(PageId.BENCH))
        self.bench_page.back_requested.connect(lambda: self.show_page(PageId.START))
        self.bench_page.single_requested.connect(self._single_board)
        self.bench_page.set_busy_elsewhere(lambda: self.wizard.port if self.wizard.busy else None)
        self.bench_runner.finished.connect(self._bench_board_finished)
        self.start_page.profile_chosen.connect(self.choose_profile)

    # -- pages ----------------------------------------------------------------------------

    def current_page(self) -> PageId:
        widget = self.stack.currentWidget()
        assert isinstance(widget, WizardPage)
        return widget.page_id

    def show_page(self, page_id: PageId) -> None:
        if self.stack.currentWidget() is self.pages[page_id] and self.stack.count():
            self._mark_crumbs(page_id)
            if page_id is PageId.CONNECT:
                self.connect_page.ports.start()
            return
        self.stack.setCurrentWidget(self.pages[page_id])
        self._mark_crumbs(page_id)
        if page_id is PageId.CONNECT:
            self.connect_page.ports.start()
        else:
            self.connect_page.ports.stop()
        if page_id in (PageId.START, PageId.BENCH):
            self._one_at_a_time = False
        if page_id is PageId.BENCH:
            self.bench_page.start_watching()
        else:
            self.bench_page.stop_watching()
        self.page_changed.emit(page_id.value)

    # -- the bench --------------------------------------------------------------------------

    def _configure_bench(self, settings: Settings) -> None:
        from installer_app.workflow.profiles import active_settings

        active = active_settings(settings)
        self.bench_page.configure(
            allowlist=active.device.allowlist,
            auto_start=active.ui.auto_start,
            default_ssid=active.device.wifi_ssid,
        )

    def _boards_counted(self, count: int) -> None:
        """More than one board plugged in: the bench view is the place for them, unless the
        installer chose "One board at a time" (until they go back to Start or to the bench)."""
        if (
            count > 1
            and self.current_page() is PageId.CONNECT
            and not self.wizard.busy
            and not self._one_at_a_time
        ):
            self.show_page(PageId.BENCH)

    def _bench_board_finished(self, _result: Any, _left_alone: bool) -> None:
        pending = self._pending_settings
        if pending is not None and not self.bench_runner.running() and not self._closing:
            self.apply_settings(pending)

    def _single_board(self) -> None:
        self._one_at_a_time = True
        self.connect_page.ports.prefer_newest(avoid=None)
        self.show_page(PageId.CONNECT)

    def choose_profile(self, name: str) -> None:
        """The Start page's profile: the session reopens with it (for this window; the file
        keeps its own choice)."""
        from installer_app.workflow.profiles import with_profile

        if name != self.settings.installer.profile:
            self.apply_settings(with_profile(self.settings, name))

    def _mark_crumbs(self, current: PageId) -> None:
        for page_id, label in self.crumbs.items():
            label.setProperty("current", "true" if page_id is current else "false")
            label.style().unpolish(label)
            label.style().polish(label)

    # -- session --------------------------------------------------------------------------

    def open_session(self) -> None:
        """Open the store and build the provisioner on a worker (``WizardSession.open``)."""
        self._session_started = True
        self.connect_page.set_ready(False)
        self.wizard.open()

    def _session_opened(self, session: Session) -> None:
        self.connect_page.set_ready(True)
        self.connect_page.set_store(session.store)
        dynamic = self.settings.binding.qr == "dynamic"
        self.done_page.location.set_session(session.store, self.workers, dynamic_profile=dynamic)
        self.bench_page.set_session(
            session.store, self.settings.installer_name(), dynamic_profile=dynamic
        )
        self.bench_runner.set_session(self.wizard.settings, self.wizard.data_dir)
        self.bench_page.warm_up_after(BENCH_WARM_UP_MS)
        self.statusBar().showMessage(self.tr("Ready."), 5000)
        self.session_ready.emit(session)
        self.refresh_credentials_left()
        self.check_provider()

    def _session_failed(self, exc: BaseException) -> None:
        text = error_text(exc)
        log.error("cannot open the session: %s", text.replace("\n", " "))
        self.statusBar().showMessage(text.splitlines()[0])
        self.start_page.show_credentials_error(text)
        self.connect_page.show_note(text)
        self.session_ready.emit(exc)

    def refresh_credentials_left(self) -> None:
        if self.settings.team_mode:
            self.wizard.held_offline(
                self.start_page.show_held_offline,
                lambda exc: self.start_page.show_credentials_error(error_text(exc)),
            )
            return
        source = self.settings.credentials.source
        self.wizard.inventory_stats(
            lambda stats: self.start_page.show_credentials_left(stats, source),
            lambda exc: self.start_page.show_credentials_error(error_text(exc)),
        )

    def check_provider(self) -> None:
        self.start_page.show_checking()
        self.wizard.check_provider(
            lambda report: self.start_page.show_check(
                [(item.name, item.ok, item.message.render()) for item in report.items]
            ),
            lambda exc: self.start_page.show_check_error(error_text(exc)),
        )

    # -- team mode: leases for offline work -----------------------------------------------

    def take_lease(self) -> None:
        count, ok = QInputDialog.getInt(
            self,
            self.tr("Offline work"),
            self.tr("How many credentials to take for a site without network?"),
            10,
            1,
            200,
        )
        if not ok:
            return
        self.wizard.take_lease(
            count,
            lambda _lease: self.refresh_credentials_left(),
            lambda exc: self.start_page.show_credentials_error(error_text(exc)),
        )

    def return_leases(self) -> None:
        def returned(count: int) -> None:
            self.statusBar().showMessage(
                self.tr("%n unused credential(s) given back.", "", count), 5000
            )
            self.refresh_credentials_left()

        self.wizard.return_leases(
            returned, lambda exc: self.start_page.show_credentials_error(error_text(exc))
        )

    # -- dialogs --------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self.config_path, self.workers, self)
        dialog.settings_saved.connect(self.apply_settings)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def apply_settings(self, settings: Settings) -> None:
        if self.bench_runner.running():
            # The session (its store) must outlive the boards running on it: the new settings
            # wait until the bench is idle.
            self._pending_settings = settings
            self.start_page.show_profile(settings, self.demo is not None)
            self.statusBar().showMessage(
                self.tr("The new settings apply once the boards on the bench view are done.")
            )
            return
        self._pending_settings = None
        self.start_page.show_profile(settings, self.demo is not None)
        self._configure_bench(settings)
        self.bench_runner.set_session(None)
        self.connect_page.ports.set_allowlist(settings.device.allowlist)
        self._session_started = True
        self.connect_page.set_ready(False)
        self.wizard.open(settings)

    def open_history(self) -> HistoryDialog | None:
        from ui.dialogs.history_dialog import HistoryDialog  # on first use: not needed to start

        if self.session is None:
            self.statusBar().showMessage(self.tr("The local record is not open yet."), 5000)
            return None
        dialog = HistoryDialog(self.session.store, self.workers, self, team=self.session.team)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- connect page actions -------------------------------------------------------------

    def identify(self, port: Any) -> None:
        self.wizard.identify(
            port.device,
            lambda _v: self.connect_page.show_identify_result(port, None),
            lambda exc: self.connect_page.show_identify_result(port, error_text(exc)),
        )

    def provision(self, port: Any, *, retry: bool = False) -> None:
        if self.session is None or self.wizard.busy:
            return
        if self.bench_runner.is_running(port.device):
            self.connect_page.show_note(self.tr("This board is running on the bench view."))
            return
        self._port = port
        self._question = None
        self.banner.setVisible(False)
        if not retry:
            for page in self.pages.values():
                if page is not self.connect_page and page is not self.start_page:
                    page.reset()
        self.show_page(PageId.DEVICE)
        self.stop_button.setVisible(True)
        self.wizard.start(port.device, retry=retry)
        self.run_started.emit(port.device)

    # -- the run --------------------------------------------------------------------------

    def _on_event(self, event: WorkflowEvent) -> None:
        for page in self.pages.values():
            page.apply_event(event)
        target = page_for_event(event)
        if target is not None and not self.wizard.waiting_for_answer():
            self.show_page(target)

    def _on_question(self, question: Question) -> None:
        self._question = question
        match question:
            case AskBoard(board=board):
                self.show_page(PageId.DEVICE)
                self.device_page.ask_board(board)
            case AskResume(question=resume):
                self.show_page(PageId.DEVICE)
                self.device_page.ask_resume(resume)
            case AskWifi(current_ssid=ssid):
                self.show_page(PageId.NETWORK)
                self.network_page.ask(ssid)

    def _answer_board(self, choice: str) -> None:
        if isinstance(self._question, AskBoard):
            self.wizard.answer_board(self._question, choice)

    def _answer_resume(self, choice: str) -> None:
        if isinstance(self._question, AskResume):
            self.wizard.answer_resume(self._question, choice)

    def _answer_wifi(self, value: tuple[str, str] | None) -> None:
        if isinstance(self._question, AskWifi) and not self._question.answered:
            wifi = None if value is None else WifiCredentials(ssid=value[0], psk=Secret(value[1]))
            self.wizard.answer_wifi(self._question, wifi)

    def _on_result(self, result: ProvisionResult) -> None:
        self.last_result = result
        self.stop_button.setVisible(False)
        self.bind_page.stop_clock()
        self.run_finished.emit(result)
        if self._closing:
            return
        if result.ok:
            self.done_page.show_result(result, self.settings.installer_name())
            self.show_page(PageId.DONE)
            self.statusBar().showMessage(
                self.tr("SN {sn} is done.").format(sn=result.device_sn or ""), 10000
            )
            self.refresh_credentials_left()
        elif self.wizard.user_skipped:
            self.connect_page.show_note(self.tr("The board was skipped; nothing was changed."))
            self.show_page(PageId.CONNECT)
        elif result.exit_code == ExitCode.INTERRUPTED:
            self.connect_page.show_note(self.tr("Stopped. The board's record is kept."))
            self.show_page(PageId.CONNECT)
        else:
            message = result.error.render() if result.error is not None else ""
            hint = getattr(result, "hint", None)  # what to do, when the core says
            if hint is not None:
                message += " " + hint.render()
            self.banner_text.setText(
                self.tr("This step failed: {message}").format(message=message)
                + "\n"
                + self.tr("Retry resumes from where it stopped; nothing is taken twice.")
            )
            self.banner.setVisible(True)

    def _on_crash(self, exc: BaseException) -> None:
        self.stop_button.setVisible(False)
        log.error("the provisioning run failed unexpectedly", exc_info=exc)
        self.banner_text.setText(error_text(exc))
        self.banner.setVisible(True)

    def retry(self) -> None:
        if self._port is not None:
            self.provision(self._port, retry=True)

    def stop_run(self) -> None:
        self.wizard.cancel()

    def back_to_connect(self) -> None:
        self.banner.setVisible(False)
        self.show_page(PageId.CONNECT)

    def next_device(self) -> None:
        """Keep the settings; straight back to the port list for the next board."""
        for page in self.pages.values():
            if page is not self.start_page and page is not self.connect_page:
                page.reset()
        self.connect_page.show_note("")
        # The board just finished stays plugged in for a moment: the next one is the newest.
        self.connect_page.ports.prefer_newest(avoid=self._port.device if self._port else None)
        self.show_page(PageId.CONNECT)

    # -- demo -----------------------------------------------------------------------------

    def open_operator_page(self) -> None:
        if self.demo is not None:
            QDesktopServices.openUrl(QUrl(self.demo.emulator.operator_url))

    def demo_scan(self) -> None:
        """The enterprise admin's scan, played by the emulator (demo mode only)."""
        url = self.bind_page.qr.url()
        if self.demo is None or not url:
            self.bind_page.demo_scan_done(self.tr("No QR code to scan yet."))
            return
        emulator = self.demo.emulator
        self.workers.submit(
            lambda _c: emulator.scan(url),
            name="demo_scan",
            on_success=lambda _v: self.bind_page.demo_scan_done(None),
            on_failure=lambda exc: self.bind_page.demo_scan_done(error_text(exc)),
        )

    # -- closing --------------------------------------------------------------------------

    def shutdown(self) -> bool:
        """Cancel whatever runs, release the port, join every worker, close the store."""
        if self._closing:
            return True
        self._closing = True
        self.connect_page.ports.stop()
        self.bench_page.stop_watching()
        self.bind_page.stop_clock()
        # The bench's boards end before the session (their store) closes.
        ok = self.bench_runner.shutdown()
        ok = self.wizard.close() and ok
        self.log_pane.detach()
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        event.accept()


class _FirstPaint(QObject):
    """Calls ``then`` (on the next event-loop turn) after the window's first paint, then stops
    watching: a ``paintEvent`` override would call into Python on every frame for good, and
    each call waits for the interpreter lock while the bench's board threads run."""

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._then = then
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)
        return False
