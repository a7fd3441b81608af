"""The groups of the settings dialog: each one builds its part of the form, loads it from the
settings and writes it back (``apply``); the dialog composes them and keeps what spans groups
(which fields a team server or a seed SecretNo switch off, the checks, saving).

Every group is a leaf class: ``self.tr`` takes its translation context from the class name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from installer_app.config import (
    BOUNDS,
    BindingSettings,
    CredentialSettings,
    InstallerSettings,
    PartnerSettings,
    ProviderSettings,
    Settings,
    StoreSettings,
    TeamSettings,
    UiSettings,
)
from installer_app.secrets import Secret
from ui.widgets.plain import plain_label


class SettingsGroup(Protocol):
    """What the dialog asks of each group."""

    def load(self, settings: Settings) -> None:
        """Show ``settings`` (the secrets only as "saved" or "not set")."""

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with this group's part as the form has it now."""


def choices(parent: QWidget, items: Sequence[tuple[str, str]]) -> QComboBox:
    """A combo box of (shown text, value) items, as wide as its longest choice in either
    language."""
    combo = QComboBox(parent)
    for text, value in items:
        combo.addItem(text, value)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo


def select(combo: QComboBox, value: str) -> None:
    """Show ``value``'s item; an unknown value (a hand-edited file) shows the first."""
    combo.setCurrentIndex(max(0, combo.findData(value)))


def secret_field(parent: QWidget) -> QLineEdit:
    """A password field: it never shows the saved secret, only whether there is one."""
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


def show_saved(field: QLineEdit, saved: bool) -> None:
    field.setPlaceholderText(
        QCoreApplication.translate("SettingsGroup", "saved — type to replace")
        if saved
        else QCoreApplication.translate("SettingsGroup", "not set")
    )


class TeamGroup(QGroupBox):
    """Team mode (docs/team-mode.md): the server holds the provider secret; this laptop only the
    installer's token, in the same credential store slot as the partner token."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Team server"))
        self.url = QLineEdit(self)
        self.url.setPlaceholderText(self.tr("https://… (empty: no team server)"))
        self.token = secret_field(self)
        self.sign_in_button = QPushButton(self.tr("Sign in"), self)
        self.sign_in_result = plain_label("", self)
        self.sign_in_result.setObjectName("signInResult")
        self.sign_in_result.setWordWrap(True)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(self.sign_in_button)
        sign_in_row.addWidget(self.sign_in_result, 1)
        form = QFormLayout(self)
        form.addRow(self.tr("Server URL:"), self.url)
        form.addRow(self.tr("Installer token:"), self.token)
        form.addRow(sign_in_row)

    def load(self, settings: Settings) -> None:
        self.url.setText(settings.team.url)
        show_saved(self.token, bool(settings.partner_token))

    def apply(self, settings: Settings) -> Settings:
        return replace(settings, team=TeamSettings(url=self.url.text().strip()))


class ProviderGroup(QGroupBox):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("WeCom provider"))
        self.mode = choices(
            self,
            (
                (self.tr("Direct (device talks to WeCom)"), "direct"),
                (self.tr("Cloud-to-cloud (through the partner service)"), "cloud"),
            ),
        )
        self.base_url = QLineEdit(self)
        self.corpid = QLineEdit(self)
        self.secret = secret_field(self)
        self.model_id = QLineEdit(self)
        self.secret_mode = choices(
            self,
            (
                (self.tr("Each device has its own SecretNo"), "per_device"),
                (self.tr("Shared seed SecretNo, exchanged by the device (static QR only)"), "seed"),
            ),
        )
        self.secret_mode.setToolTip(
            self.tr(
                "Seed: the model ships one initial SecretNo that each device exchanges for its "
                "own on first connection. The app then never knows the device's own secret, so "
                "it can only show the static QR code."
            )
        )
        form = QFormLayout(self)
        form.addRow(self.tr("Mode:"), self.mode)
        form.addRow(self.tr("WeCom API URL:"), self.base_url)
        form.addRow(self.tr("Provider corpid:"), self.corpid)
        form.addRow(self.tr("Provider secret:"), self.secret)
        form.addRow(self.tr("Device model_id:"), self.model_id)
        form.addRow(self.tr("SecretNo:"), self.secret_mode)

    def load(self, settings: Settings) -> None:
        select(self.mode, settings.provider.mode)
        self.base_url.setText(settings.provider.wecom_base_url)
        self.corpid.setText(settings.provider.corpid)
        show_saved(self.secret, bool(settings.provider_secret))
        self.model_id.setText(settings.provider.model_id)
        select(self.secret_mode, settings.provider.secret_mode)

    def apply(self, settings: Settings) -> Settings:
        typed = self.secret.text()
        return replace(
            settings,
            provider=ProviderSettings(
                mode=self.mode.currentData(),
                wecom_base_url=self.base_url.text().strip() or ProviderSettings().wecom_base_url,
                corpid=self.corpid.text().strip(),
                model_id=self.model_id.text().strip(),
                secret_mode=self.secret_mode.currentData(),
            ),
            provider_secret=Secret(typed) if typed else settings.provider_secret,
        )

    def set_team_mode(self, team: bool) -> None:
        """With a team server the provider account is the server's; the model stays asked."""
        for widget in (self.mode, self.base_url, self.corpid, self.secret):
            widget.setEnabled(not team)


class PartnerGroup(QGroupBox):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Partner service"))
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://…")
        self.token = secret_field(self)
        form = QFormLayout(self)
        form.addRow(self.tr("Partner URL:"), self.url)
        form.addRow(self.tr("Installer token:"), self.token)

    def load(self, settings: Settings) -> None:
        self.url.setText(settings.partner.base_url)
        show_saved(self.token, bool(settings.partner_token))

    def apply(self, settings: Settings) -> Settings:
        return replace(settings, partner=PartnerSettings(base_url=self.url.text().strip()))


class ProvisioningGroup(QGroupBox):
    """How boards get their credentials and QR code, and the installer's own preferences."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Provisioning"))
        self.source = choices(
            self,
            (
                (self.tr("Register each board with WeCom"), "register"),
                (self.tr("Imported inventory"), "inventory"),
                (self.tr("Partner service"), "partner"),
            ),
        )
        self.sn_prefix = QLineEdit(self)
        self.qr_kind = choices(
            self,
            (
                (self.tr("Static (printed once)"), "static"),
                (self.tr("Dynamic (renewed while shown)"), "dynamic"),
            ),
        )
        self.poll = QDoubleSpinBox(self)
        self.poll.setRange(*BOUNDS[("binding", "poll_interval_s")])
        self.poll.setSingleStep(0.5)
        self.poll.setSuffix(self.tr(" s"))
        self.language = choices(
            self,
            ((self.tr("System language"), "auto"), ("English", "en"), ("简体中文", "zh_CN")),
        )
        self.installer_name = QLineEdit(self)
        form = QFormLayout(self)
        form.addRow(self.tr("Credential source:"), self.source)
        form.addRow(self.tr("SN prefix:"), self.sn_prefix)
        form.addRow(self.tr("QR code:"), self.qr_kind)
        form.addRow(self.tr("Binding poll interval:"), self.poll)
        form.addRow(self.tr("Language:"), self.language)
        form.addRow(self.tr("Installer name:"), self.installer_name)

    def load(self, settings: Settings) -> None:
        select(self.source, settings.credentials.source)
        self.sn_prefix.setText(settings.credentials.sn_prefix)
        select(self.qr_kind, settings.binding.qr)
        self.poll.setValue(settings.binding.poll_interval_s)
        select(self.language, settings.ui.language)
        self.installer_name.setText(settings.installer.name)
        self.installer_name.setPlaceholderText(settings.installer_name())

    def apply(self, settings: Settings) -> Settings:
        return replace(
            settings,
            credentials=CredentialSettings(
                source=self.source.currentData(), sn_prefix=self.sn_prefix.text().strip()
            ),
            binding=BindingSettings(
                qr=self.qr_kind.currentData(),
                poll_interval_s=float(self.poll.value()),
                timeout_s=settings.binding.timeout_s,
            ),
            ui=UiSettings(language=self.language.currentData()),
            installer=InstallerSettings(name=self.installer_name.text().strip()),
        )

    def set_team_mode(self, team: bool) -> None:
        """The team server hands out the credentials: where they come from is its choice."""
        self.source.setEnabled(not team)
        self.sn_prefix.setEnabled(not team)

    def set_seed(self, seed: bool) -> None:
        """A seed cannot sign a dynamic QR code: with a seed the QR choice is static, fixed."""
        if seed:
            select(self.qr_kind, "static")
        self.qr_kind.setEnabled(not seed)


class RecordsGroup(QGroupBox):
    """The key file for the records, for a computer without a credential store."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Records"))
        self.key_file = QLineEdit(self)
        self.key_file.setPlaceholderText(self.tr("none: the key is kept in the credential store"))
        self.key_file_button = QPushButton(self.tr("Choose…"), self)
        self.key_file_button.clicked.connect(self.choose_key_file)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(self.key_file_button)
        key_note = plain_label(
            self.tr(
                "Only for a computer without a credential store. The device secrets in the "
                "records are encrypted with this key: keep a copy of the file somewhere safe."
            ),
            self,
        )
        key_note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("Key file:"), key_row)
        form.addRow(key_note)

    def load(self, settings: Settings) -> None:
        self.key_file.setText(settings.store.key_file)

    def apply(self, settings: Settings) -> Settings:
        return replace(settings, store=StoreSettings(key_file=self.key_file.text().strip()))

    def choose_key_file(self) -> None:
        """A new file is created (owner-only) the next time the records open; an existing key
        file is used as it is, never overwritten."""
        start = self.key_file.text().strip() or str(Path.home() / "installer-app-store.key")
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Key file for the records"),
            start,
            self.tr("Key files (*.key);;All files (*)"),
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.key_file.setText(path)
