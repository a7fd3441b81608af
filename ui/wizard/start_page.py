"""Start: the active profile, whether the provider account works, ways into settings and history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from installer_app.config import Settings
from ui.widgets.plain import plain_label
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage, wrapped_label

if TYPE_CHECKING:  # the store (SQLite, the cipher) loads on the session's worker, not at start
    from installer_app.store.records import InventoryStats


class StartPage(WizardPage):
    page_id = PageId.START
    begin_requested = Signal()
    settings_requested = Signal()
    history_requested = Signal()
    check_requested = Signal()
    profile_chosen = Signal(str)  # the profile's name, "" for the file's own settings
    take_lease_requested = Signal()
    return_leases_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(
            self.tr("Ready to install"),
            self.tr("Check the profile below, then connect the first board."),
        )
        self.demo_banner = wrapped_label("", self, "demoBanner")
        self.demo_banner.setVisible(False)
        self.body.addWidget(self.demo_banner)

        profile = QGroupBox(self.tr("Active profile"), self)
        form = QFormLayout(profile)
        self.profile = QComboBox(profile)
        self.profile.setAccessibleName(self.tr("Profile"))
        self.profile.activated.connect(
            lambda index: self.profile_chosen.emit(str(self.profile.itemData(index)))
        )
        self.min_fw = plain_label(parent=profile)
        self.mode = plain_label(parent=profile)
        self.model = plain_label(parent=profile)
        self.source = plain_label(parent=profile)
        self.credentials_left = plain_label(self.tr("counting…"), profile)
        self.installer = plain_label(parent=profile)
        form.addRow(self.tr("Profile:"), self.profile)
        form.addRow(self.tr("Mode:"), self.mode)
        form.addRow(self.tr("Device model:"), self.model)
        form.addRow(self.tr("Minimum firmware:"), self.min_fw)
        form.addRow(self.tr("Credential source:"), self.source)
        form.addRow(self.tr("Credentials left:"), self.credentials_left)
        form.addRow(self.tr("Installer:"), self.installer)
        self.body.addWidget(profile)

        account = QGroupBox(self.tr("Provider account"), self)
        account_layout = QHBoxLayout(account)
        self.check_light = StatusLight(self.tr("Not checked yet"), account)
        self.check_button = QPushButton(self.tr("Check again"), account)
        self.check_button.clicked.connect(self.check_requested)
        account_layout.addWidget(self.check_light, 1)
        account_layout.addWidget(self.check_button)
        self.check_items = wrapped_label("", account, "checkItems")
        self.body.addWidget(account)
        self.body.addWidget(self.check_items)

        # Team mode: credentials for a site without network (C5), taken before leaving.
        self.offline = QGroupBox(self.tr("Offline work"), self)
        offline_layout = QHBoxLayout(self.offline)
        self.held_offline = plain_label("", self.offline)
        self.take_button = QPushButton(self.tr("Take credentials for offline work…"), self.offline)
        self.return_button = QPushButton(self.tr("Return unused"), self.offline)
        self.take_button.clicked.connect(self.take_lease_requested)
        self.return_button.clicked.connect(self.return_leases_requested)
        offline_layout.addWidget(self.held_offline, 1)
        offline_layout.addWidget(self.take_button)
        offline_layout.addWidget(self.return_button)
        self.offline.setVisible(False)
        self.body.addWidget(self.offline)

        self.body.addStretch(1)
        buttons = QHBoxLayout()
        self.settings_button = QPushButton(self.tr("Settings…"), self)
        self.history_button = QPushButton(self.tr("History…"), self)
        self.begin_button = QPushButton(self.tr("Connect a board"), self)
        self.begin_button.setObjectName("primary")
        self.begin_button.setDefault(True)
        self.settings_button.clicked.connect(self.settings_requested)
        self.history_button.clicked.connect(self.history_requested)
        self.begin_button.clicked.connect(self.begin_requested)
        buttons.addWidget(self.settings_button)
        buttons.addWidget(self.history_button)
        buttons.addStretch(1)
        buttons.addWidget(self.begin_button)
        self.body.addLayout(buttons)

    def show_profile(self, settings: Settings, demo: bool) -> None:
        from installer_app.workflow.profiles import active_settings, profile_names

        self.profile.blockSignals(True)
        self.profile.clear()
        for name in profile_names(settings):
            self.profile.addItem(name or self.tr("(default: the file's settings)"), name)
        self.profile.setCurrentIndex(max(0, self.profile.findData(settings.installer.profile)))
        self.profile.setEnabled(self.profile.count() > 1)
        self.profile.blockSignals(False)
        settings = active_settings(settings)
        self.min_fw.setText(settings.device.min_fw_version or self.tr("any"))
        modes = {
            "direct": self.tr("Direct (device talks to WeCom)"),
            "cloud": self.tr("Cloud-to-cloud"),
        }
        sources = {
            "register": self.tr("Register each board with WeCom"),
            "inventory": self.tr("Imported inventory"),
            "partner": self.tr("Partner service"),
        }
        self.mode.setText(modes.get(settings.provider.mode, settings.provider.mode))
        self.model.setText(settings.provider.model_id or self.tr("(not set — open Settings)"))
        self.source.setText(sources.get(settings.credentials.source, settings.credentials.source))
        self.offline.setVisible(settings.team_mode)
        if settings.team_mode:
            self.mode.setText(self.tr("Team server {url}").format(url=settings.team.url))
            self.source.setText(self.tr("Team server (or a lease when offline)"))
        self.installer.setText(settings.installer_name())
        self.demo_banner.setText(
            self.tr(
                "Demo mode: a simulated board and a local WeCom emulator stand in for real "
                "hardware and a real account. Nothing leaves this computer."
            )
        )
        self.demo_banner.setVisible(demo)

    def show_held_offline(self, count: int) -> None:
        """Team mode: the leased credentials held on this laptop."""
        text = self.tr("%n credential(s) held for offline work", "", count)
        self.held_offline.setText(text)
        self.credentials_left.setText(self.tr("issued by the team server") + "; " + text)
        self.return_button.setEnabled(count > 0)

    def show_credentials_left(self, stats: InventoryStats, source: str) -> None:
        if source != "inventory":
            self.credentials_left.setText(self.tr("issued on demand"))
            return
        self.credentials_left.setText(self.tr("%n credential(s) available", "", stats.free))

    def show_credentials_error(self, text: str) -> None:
        self.credentials_left.setText(text)

    def show_checking(self) -> None:
        self.check_light.set_state(Light.BUSY, "")
        self.check_light.set_text(self.tr("Checking the provider account…"))
        self.check_button.setEnabled(False)
        self.check_items.setText("")

    def show_check(self, items: list[tuple[str, bool, str]]) -> None:
        self.check_button.setEnabled(True)
        ok = all(item[1] for item in items)
        self.check_light.set_state(Light.OK if ok else Light.FAILED)
        self.check_light.set_text(
            self.tr("The provider account works.")
            if ok
            else self.tr("The provider account has a problem: see below and open Settings.")
        )
        # Each message names what it checked (WeCom provider API, partner service).
        lines = [("✔ " if good else "✘ ") + message for _name, good, message in items]
        self.check_items.setText("\n".join(lines))

    def show_check_error(self, text: str) -> None:
        self.check_button.setEnabled(True)
        self.check_light.set_state(Light.FAILED)
        self.check_light.set_text(text)
