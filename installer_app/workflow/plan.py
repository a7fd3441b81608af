"""Flow rules that follow from the settings, not from the board: the one place both front ends ask.

The state machine applies them (``Provisioner.rules``), the CLI checks its flags against them
before a board is touched, and the wizard shows what they decide; so the CLI and the wizard cannot
disagree on, say, whether a cloud-mode board is given a Wi-Fi network.
"""

from __future__ import annotations

from dataclasses import dataclass

from installer_app.config import Settings
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.profiles import active_settings


@dataclass(frozen=True)
class FlowRules:
    """What a run does for every board of one configuration."""

    # Direct mode: the installer gives the board its Wi-Fi so it reaches WeCom itself.
    # Cloud-to-cloud mode: the board talks to the partner's cloud, whose own app sets its
    # network up; the installer is never asked for a Wi-Fi network.
    sets_wifi: bool = True
    # The profile's minimum firmware ("" accepts any): a board below it is refused after HELLO.
    min_fw_version: str = ""

    def why_no_wifi(self) -> Message:
        return Message(
            QT_TRANSLATE_NOOP(
                "workflow",
                "Cloud-to-cloud mode: the partner's cloud sets up the board's network, not this "
                "app.",
            )
        )


def flow_rules(settings: Settings) -> FlowRules:
    settings = active_settings(settings)
    return FlowRules(
        sets_wifi=settings.provider.mode != "cloud",
        min_fw_version=settings.device.min_fw_version,
    )
