"""Settings: provider account, model, partner service, credential source, QR, language, and the
key file for the records where this computer has no credential store.

Secrets (provider secret, partner token) never go into the TOML file: they go to the OS credential
store through ``installer_app.config.store_secret_in_keyring`` on a worker. Where this computer has
none, the dialog says so and keeps them for this session only. "Test connection" runs the core's
``provider.check.run_checks`` on a worker with what is typed in the form.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from installer_app.config import (
    BOUNDS,
    BindingSettings,
    ConfigError,
    CredentialSettings,
    InstallerSettings,
    PartnerSettings,
    ProviderSettings,
    Settings,
    StoreSettings,
    TeamSettings,
    UiSettings,
    save_settings,
    store_secret_in_keyring,
    validate_settings,
)
from installer_app.secrets import Secret
from ui.error_text import error_text
from ui.widgets.plain import plain_label, plain_tooltip
from ui.workers import Workers

log = logging.getLogger(__name__)


class SettingsDialog(QDialog):
    settings_saved = Signal(object)  # Settings, with the secrets for this session
    check_finished = Signal(object)  # CheckReport or exception

    def __init__(
        self,
        settings: Settings,
        config_path: Path,
        workers: Workers,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.setObjectName("settingsDialog")
        # Wide enough for URLs and the longest choices (Chinese or English) on a 1366 px screen.
        self.setMinimumWidth(900)
        self._settings = settings
        self._config_path = config_path
        self._workers = workers

        provider = QGroupBox(self.tr("WeCom provider"), self)
        pform = QFormLayout(provider)
        self.mode = QComboBox(provider)
        self.mode.addItem(self.tr("Direct (device talks to WeCom)"), "direct")
        self.mode.addItem(self.tr("Cloud-to-cloud (through the partner service)"), "cloud")
        self.base_url = QLineEdit(settings.provider.wecom_base_url, provider)
        self.corpid = QLineEdit(settings.provider.corpid, provider)
        self.provider_secret = QLineEdit(provider)
        self.provider_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.provider_secret.setPlaceholderText(
            self.tr("saved — type to replace") if settings.provider_secret else self.tr("not set")
        )
        self.model_id = QLineEdit(settings.provider.model_id, provider)
        self.secret_mode = QComboBox(provider)
        self.secret_mode.addItem(self.tr("Each device has its own SecretNo"), "per_device")
        self.secret_mode.addItem(
            self.tr("Shared seed SecretNo, exchanged by the device (static QR only)"), "seed"
        )
        self.secret_mode.setToolTip(
            self.tr(
                "Seed: the model ships one initial SecretNo that each device exchanges for its "
                "own on first connection. The app then never knows the device's own secret, so "
                "it can only show the static QR code."
            )
        )
        pform.addRow(self.tr("Mode:"), self.mode)
        pform.addRow(self.tr("WeCom API URL:"), self.base_url)
        pform.addRow(self.tr("Provider corpid:"), self.corpid)
        pform.addRow(self.tr("Provider secret:"), self.provider_secret)
        pform.addRow(self.tr("Device model_id:"), self.model_id)
        pform.addRow(self.tr("SecretNo:"), self.secret_mode)

        partner = QGroupBox(self.tr("Partner service"), self)
        cform = QFormLayout(partner)
        self.partner_url = QLineEdit(settings.partner.base_url, partner)
        self.partner_url.setPlaceholderText("https://…")
        self.partner_token = QLineEdit(partner)
        self.partner_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.partner_token.setPlaceholderText(
            self.tr("saved — type to replace") if settings.partner_token else self.tr("not set")
        )
        cform.addRow(self.tr("Partner URL:"), self.partner_url)
        cform.addRow(self.tr("Installer token:"), self.partner_token)

        # Team mode (docs/team-mode.md): the server holds the provider secret; this laptop only
        # the installer's token, in the same credential store slot as the partner token.
        self.team = QGroupBox(self.tr("Team server"), self)
        tform = QFormLayout(self.team)
        self.team_url = QLineEdit(settings.team.url, self.team)
        self.team_url.setPlaceholderText(self.tr("https://… (empty: no team server)"))
        self.team_token = QLineEdit(self.team)
        self.team_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.team_token.setPlaceholderText(
            self.tr("saved — type to replace") if settings.partner_token else self.tr("not set")
        )
        self.sign_in_button = QPushButton(self.tr("Sign in"), self.team)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_in_result = plain_label("", self.team)
        self.sign_in_result.setObjectName("signInResult")
        self.sign_in_result.setWordWrap(True)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(self.sign_in_button)
        sign_in_row.addWidget(self.sign_in_result, 1)
        tform.addRow(self.tr("Server URL:"), self.team_url)
        tform.addRow(self.tr("Installer token:"), self.team_token)
        tform.addRow(sign_in_row)
        self._provider_group = provider
        self._partner_group = partner

        work = QGroupBox(self.tr("Provisioning"), self)
        wform = QFormLayout(work)
        self.source = QComboBox(work)
        self.source.addItem(self.tr("Register each board with WeCom"), "register")
        self.source.addItem(self.tr("Imported inventory"), "inventory")
        self.source.addItem(self.tr("Partner service"), "partner")
        self.sn_prefix = QLineEdit(settings.credentials.sn_prefix, work)
        self.qr_kind = QComboBox(work)
        self.qr_kind.addItem(self.tr("Static (printed once)"), "static")
        self.qr_kind.addItem(self.tr("Dynamic (renewed while shown)"), "dynamic")
        self.poll = QDoubleSpinBox(work)
        self.poll.setRange(*BOUNDS[("binding", "poll_interval_s")])
        self.poll.setSingleStep(0.5)
        self.poll.setSuffix(self.tr(" s"))
        self.poll.setValue(settings.binding.poll_interval_s)
        self.language = QComboBox(work)
        self.language.addItem(self.tr("System language"), "auto")
        self.language.addItem("English", "en")
        self.language.addItem("简体中文", "zh_CN")
        for combo in (self.mode, self.secret_mode, self.source, self.qr_kind, self.language):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.installer_name = QLineEdit(settings.installer.name, work)
        self.installer_name.setPlaceholderText(settings.installer_name())
        wform.addRow(self.tr("Credential source:"), self.source)
        wform.addRow(self.tr("SN prefix:"), self.sn_prefix)
        wform.addRow(self.tr("QR code:"), self.qr_kind)
        wform.addRow(self.tr("Binding poll interval:"), self.poll)
        wform.addRow(self.tr("Language:"), self.language)
        wform.addRow(self.tr("Installer name:"), self.installer_name)
        for combo, value in (
            (self.mode, settings.provider.mode),
            (self.secret_mode, settings.provider.secret_mode),
            (self.source, settings.credentials.source),
            (self.qr_kind, settings.binding.qr),
            (self.language, settings.ui.language),
        ):
            combo.setCurrentIndex(max(0, combo.findData(value)))
        self.secret_mode.currentIndexChanged.connect(self._secret_mode_changed)
        self._secret_mode_changed()
        self.team_url.textChanged.connect(self._team_changed)
        self._team_changed()

        records = QGroupBox(self.tr("Records"), self)
        rform = QFormLayout(records)
        self.key_file = QLineEdit(settings.store.key_file, records)
        self.key_file.setPlaceholderText(self.tr("none: the key is kept in the credential store"))
        self.key_file_button = QPushButton(self.tr("Choose…"), records)
        self.key_file_button.clicked.connect(self.choose_key_file)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(self.key_file_button)
        rform.addRow(self.tr("Key file:"), key_row)
        key_note = plain_label(
            self.tr(
                "Only for a computer without a credential store. The device secrets in the "
                "records are encrypted with this key: keep a copy of the file somewhere safe."
            ),
            records,
        )
        key_note.setWordWrap(True)
        rform.addRow(key_note)

        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = plain_label("", self)
        self.test_result.setObjectName("testResult")
        self.test_result.setWordWrap(True)
        self.message = plain_label("", self)
        self.message.setObjectName("settingsMessage")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.team)
        left.addWidget(provider)
        left.addWidget(partner)
        columns.addLayout(left)
        right = QVBoxLayout()
        right.addWidget(work)
        right.addWidget(records)
        columns.addLayout(right)
        layout.addLayout(columns)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        layout.addLayout(test_row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        if settings.source_file is not None or config_path:
            self.setToolTip(plain_tooltip(self.tr("Saved to {path}").format(path=str(config_path))))

    # -- the form as Settings ----------------------------------------------------------------

    def form_settings(self) -> Settings:
        s = self._settings
        provider_secret = (
            Secret(self.provider_secret.text())
            if self.provider_secret.text()
            else s.provider_secret
        )
        typed_token = self.team_token.text() or self.partner_token.text()
        partner_token = Secret(typed_token) if typed_token else s.partner_token
        return replace(
            s,
            provider=ProviderSettings(
                mode=self.mode.currentData(),
                wecom_base_url=self.base_url.text().strip() or ProviderSettings().wecom_base_url,
                corpid=self.corpid.text().strip(),
                model_id=self.model_id.text().strip(),
                secret_mode=self.secret_mode.currentData(),
            ),
            partner=PartnerSettings(base_url=self.partner_url.text().strip()),
            team=TeamSettings(url=self.team_url.text().strip()),
            credentials=CredentialSettings(
                source=self.source.currentData(), sn_prefix=self.sn_prefix.text().strip()
            ),
            binding=BindingSettings(
                qr=self.qr_kind.currentData(),
                poll_interval_s=float(self.poll.value()),
                timeout_s=s.binding.timeout_s,
            ),
            ui=UiSettings(language=self.language.currentData()),
            installer=InstallerSettings(name=self.installer_name.text().strip()),
            store=StoreSettings(key_file=self.key_file.text().strip()),
            provider_secret=provider_secret,
            partner_token=partner_token,
        )

    # -- actions ---------------------------------------------------------------------------

    def _team_changed(self) -> None:
        """With a team server the provider account is the server's: its fields are not used."""
        team = bool(self.team_url.text().strip())
        for widget in (self.mode, self.base_url, self.corpid, self.provider_secret):
            widget.setEnabled(not team)
        self._partner_group.setEnabled(not team)
        self.source.setEnabled(not team)
        self.sn_prefix.setEnabled(not team)

    def sign_in(self) -> None:
        """Ask the team server who the token belongs to (``GET /v1/me``), on a worker."""
        settings = self._checked_form()
        if settings is None:
            return
        if not settings.team_mode:
            self.sign_in_result.setText(self.tr("Enter the team server's URL first."))
            return
        self.sign_in_button.setEnabled(False)
        self.sign_in_result.setText(self.tr("Signing in…"))

        def check(cancel: threading.Event) -> Any:
            from installer_app.provider.check import check_team

            return check_team(settings)

        self._workers.submit(
            check, name="sign_in", on_success=self._signed_in, on_failure=self._signed_in
        )

    def _signed_in(self, item: Any) -> None:
        self.sign_in_button.setEnabled(True)
        if isinstance(item, BaseException):
            self.sign_in_result.setText("✘ " + error_text(item))
            return
        text = item.message.render()
        if item.hint is not None and not item.ok:
            text += " " + item.hint.render()
        self.sign_in_result.setText(("✔ " if item.ok else "✘ ") + text)

    def _secret_mode_changed(self) -> None:
        """A seed cannot sign a dynamic QR code: with a seed the QR choice is static, fixed."""
        seed = self.secret_mode.currentData() == "seed"
        if seed:
            self.qr_kind.setCurrentIndex(self.qr_kind.findData("static"))
        self.qr_kind.setEnabled(not seed)

    def _checked_form(self) -> Settings | None:
        """The form as Settings, or None after showing why they cannot be used (a plain-http
        URL to another computer, a value out of bounds...)."""
        settings = self.form_settings()
        try:
            validate_settings(settings)
        except ConfigError as exc:
            self._show_message(error_text(exc))
            return None
        self.message.setVisible(False)
        return settings

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

    def test_connection(self) -> None:
        settings = self._checked_form()
        if settings is None:
            return
        self.test_button.setEnabled(False)
        self.test_result.setText(self.tr("Testing…"))

        def check(cancel: threading.Event) -> Any:
            from installer_app.provider.check import run_checks

            return run_checks(settings, cancel=cancel)

        self._workers.submit(
            check, name="check", on_success=self._show_check, on_failure=self._show_check
        )

    def _show_check(self, report: Any) -> None:
        self.test_button.setEnabled(True)
        if isinstance(report, BaseException):
            self.test_result.setText("✘ " + error_text(report))
        else:
            lines = []
            for item in report.items:
                mark = "✔" if item.ok else "✘"
                text = item.message.render()
                if item.hint is not None and not item.ok:
                    text += " " + item.hint.render()
                lines.append(f"{mark} {text}")
            self.test_result.setText("\n".join(lines))
        self.check_finished.emit(report)

    def save(self) -> None:
        settings = self._checked_form()
        if settings is None:
            return
        try:
            save_settings(settings, self._config_path)
        except OSError as exc:
            self._show_message(
                self.tr("Cannot save {path}: {reason}").format(
                    path=str(self._config_path), reason=exc.strerror or str(exc)
                )
            )
            return
        new_secrets: list[tuple[str, Secret]] = []
        # In team mode the provider secret is neither asked for nor kept.
        if self.provider_secret.text() and not settings.team_mode:
            new_secrets.append(("provider_secret", Secret(self.provider_secret.text())))
        token = self.team_token.text() or self.partner_token.text()
        if token:
            new_secrets.append(("partner_token", Secret(token)))
        self.provider_secret.clear()
        self.partner_token.clear()
        self.team_token.clear()
        self._settings = settings
        if not new_secrets:
            self.settings_saved.emit(settings)
            self.accept()
            return
        self.buttons.setEnabled(False)

        def store(cancel: threading.Event) -> None:
            for name, value in new_secrets:
                store_secret_in_keyring(name, value)

        def stored(_value: object) -> None:
            self.buttons.setEnabled(True)
            self.settings_saved.emit(settings)
            self.accept()

        def not_stored(exc: BaseException) -> None:
            self.buttons.setEnabled(True)
            self.settings_saved.emit(settings)
            self._show_message(
                error_text(exc)
                + "\n"
                + self.tr("The settings were saved; the secret is kept for this session only.")
            )
            self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)
            self.buttons.rejected.connect(self.accept)

        self._workers.submit(store, name="keyring", on_success=stored, on_failure=not_stored)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)
