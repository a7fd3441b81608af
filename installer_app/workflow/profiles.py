"""Named profiles (a customer project or a model) and the firmware rule they carry.

A profile is a ``[profiles.NAME]`` table of the configuration: model_id, credential source, QR
type, minimum firmware version and the site's Wi-Fi network name. The file's own settings are the
default profile, so a file with no ``[profiles]`` table keeps working as it did. Both front ends
provision with ``active_settings(settings)`` (``workflow.wiring.open_session`` applies it), and
the state machine refuses a board below the profile's minimum firmware (``check_firmware``), for
the CLI and the wizard alike.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, cast

from installer_app.config import ConfigError, Settings
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

DEFAULT_PROFILE = ""  # the file's own settings


def profile_names(settings: Settings) -> list[str]:
    """The default profile ("") first, then the named ones in the file's order."""
    return [DEFAULT_PROFILE, *settings.profiles]


def with_profile(settings: Settings, name: str) -> Settings:
    """The same settings with ``name`` chosen (not applied: see ``active_settings``)."""
    if name and name not in settings.profiles:
        raise ConfigError(
            Message(QT_TRANSLATE_NOOP("workflow", "There is no profile named {name}."), name=name),
            Message(
                QT_TRANSLATE_NOOP("workflow", "Add a [profiles.{name}] table to the settings."),
                name=name,
            ),
        )
    return replace(settings, installer=replace(settings.installer, profile=name))


def active_settings(settings: Settings) -> Settings:
    """The settings a run uses: the chosen profile's values over the file's own."""
    profile = settings.profiles.get(settings.installer.profile)
    if profile is None:
        return settings
    provider = settings.provider
    credentials = settings.credentials
    binding = settings.binding
    device = settings.device
    if profile.model_id:
        provider = replace(provider, model_id=profile.model_id)
    if profile.credential_source:
        credentials = replace(credentials, source=cast(Any, profile.credential_source))
    if profile.qr:
        binding = replace(binding, qr=cast(Any, profile.qr))
    if profile.min_fw_version:
        device = replace(device, min_fw_version=profile.min_fw_version)
    if profile.wifi_ssid:
        device = replace(device, wifi_ssid=profile.wifi_ssid)
    return replace(
        settings, provider=provider, credentials=credentials, binding=binding, device=device
    )


def version_key(version: str) -> tuple[int, ...]:
    """``"1.4.2"`` → ``(1, 4, 2)``; ``"v2.0-rc1"`` → ``(2, 0, 1)``: the numbers in order, which
    is how the boards' FW_VERSION strings compare."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def firmware_ok(have: str, need: str) -> bool:
    if not need:
        return True
    have_key, need_key = version_key(have), version_key(need)
    width = max(len(have_key), len(need_key))
    return have_key + (0,) * (width - len(have_key)) >= need_key + (0,) * (width - len(need_key))


class FirmwareTooOld(InstallerError):
    exit_code = ExitCode.DEVICE

    def __init__(self, have: str, need: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "This board runs firmware {have}; this profile needs {need} or newer.",
                ),
                have=have,
                need=need,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Update the board's firmware first, or choose another profile on the Start "
                    "page.",
                )
            ),
        )


def check_firmware(have: str, need: str) -> None:
    if not firmware_ok(have, need):
        raise FirmwareTooOld(have, need)
