"""Settings: provider account, model, partner service, credential source, QR, language, and the
key file for the records where this computer has no credential store.

Secrets (provider secret, partner token) never go into the TOML file: they go to the OS credential
store through ``installer_app.config.store_secret_in_keyring`` on a worker. Where this computer has
none, the dialog says so and keeps them for this session only. "Test connection" runs the core's
``provider.check.run_checks`` on a worker with what is typed in the form.

Each group of the form (team server, provider, partner service, provisioning, records) is its own
widget in ``ui.dialogs.settings_groups`` that loads and writes back its part of the settings; the
dialog composes them and keeps what spans groups.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from installer_app.config import (
    ConfigError,
    Settings,
    save_settings,
    store_secret_in_keyring,
    validate_settings,
)
from installer_app.secrets import Secret
from ui.dialogs.settings_groups import (
    PartnerGroup,
    ProviderGroup,
    ProvisioningGroup,
    RecordsGroup,
    SettingsGroup,
    TeamGroup,
)
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

        self.team = TeamGroup(self)
        self.provider = ProviderGroup(self)
        self.partner = PartnerGroup(self)
        self.provisioning = ProvisioningGroup(self)
        self.records = RecordsGroup(self)
        self._groups: tuple[SettingsGroup, ...] = (
            self.team,
            self.provider,
            self.partner,
            self.provisioning,
            self.records,
        )
        for group in self._groups:
            group.load(settings)
        self.provider.secret_mode.currentIndexChanged.connect(self._secret_mode_changed)
        self._secret_mode_changed()
        self.team.url.textChanged.connect(self._team_changed)
        self._team_changed()
        self.team.sign_in_button.clicked.connect(self.sign_in)

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
        self._lay_out()
        if settings.source_file is not None or config_path:
            self.setToolTip(plain_tooltip(self.tr("Saved to {path}").format(path=str(config_path))))

    def _lay_out(self) -> None:
        """The account groups on the left, the work on the right, the checks and buttons below."""
        columns = QHBoxLayout()
        left = QVBoxLayout()
        for group in (self.team, self.provider, self.partner):
            left.addWidget(group)
        columns.addLayout(left)
        right = QVBoxLayout()
        right.addWidget(self.provisioning)
        right.addWidget(self.records)
        columns.addLayout(right)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addLayout(test_row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    # -- the form as Settings ----------------------------------------------------------------

    def form_settings(self) -> Settings:
        settings = self._settings
        for group in self._groups:
            settings = group.apply(settings)
        # One credential store slot for the team server's token and the partner service's.
        typed_token = self._typed_token()
        return replace(
            settings, partner_token=Secret(typed_token) if typed_token else settings.partner_token
        )

    def _typed_token(self) -> str:
        return self.team.token.text() or self.partner.token.text()

    # -- actions ---------------------------------------------------------------------------

    def _team_changed(self) -> None:
        """With a team server the provider account is the server's: its fields are not used."""
        team = bool(self.team.url.text().strip())
        self.provider.set_team_mode(team)
        self.partner.setEnabled(not team)
        self.provisioning.set_team_mode(team)

    def _secret_mode_changed(self) -> None:
        self.provisioning.set_seed(self.provider.secret_mode.currentData() == "seed")

    def sign_in(self) -> None:
        """Ask the team server who the token belongs to (``GET /v1/me``), on a worker."""
        settings = self._checked_form()
        if settings is None:
            return
        if not settings.team_mode:
            self.team.sign_in_result.setText(self.tr("Enter the team server's URL first."))
            return
        self.team.sign_in_button.setEnabled(False)
        self.team.sign_in_result.setText(self.tr("Signing in…"))

        def check(cancel: threading.Event) -> Any:
            from installer_app.provider.check import check_team

            return check_team(settings)

        self._workers.submit(
            check, name="sign_in", on_success=self._signed_in, on_failure=self._signed_in
        )

    def _signed_in(self, item: Any) -> None:
        self.team.sign_in_button.setEnabled(True)
        if isinstance(item, BaseException):
            self.team.sign_in_result.setText("✘ " + error_text(item))
            return
        text = item.message.render()
        if item.hint is not None and not item.ok:
            text += " " + item.hint.render()
        self.team.sign_in_result.setText(("✔ " if item.ok else "✘ ") + text)

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
        if self.provider.secret.text() and not settings.team_mode:
            new_secrets.append(("provider_secret", Secret(self.provider.secret.text())))
        token = self._typed_token()
        if token:
            new_secrets.append(("partner_token", Secret(token)))
        for field in (self.provider.secret, self.partner.token, self.team.token):
            field.clear()
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
