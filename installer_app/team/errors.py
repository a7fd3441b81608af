"""What team mode says when it cannot go on."""

from __future__ import annotations

from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.errors import WorkflowError


class NoTeamCredential(WorkflowError):
    """Neither the team server nor a lease held on this laptop can give the board an SN."""

    exit_code = ExitCode.NO_CREDENTIAL

    def __init__(self, why: Message) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "team",
                    "No credential for this board: the team server cannot give one ({why}) and "
                    "this laptop holds no leased credential for the model.",
                ),
                why=why,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "team",
                    "Connect to the team server, or take credentials for offline work before "
                    "leaving: installer-app leases take N.",
                )
            ),
        )


class TeamConflict(WorkflowError):
    """600036 in C4: the server ties this SN to another board. Nothing is overwritten."""

    exit_code = ExitCode.PROVIDER

    def __init__(self, sn: str, reason: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "team",
                    "The team server refused the record of SN {sn}: it ties this SN to another "
                    "board ({reason}).",
                ),
                sn=sn,
                reason=reason,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "team",
                    "Set this board aside and tell the team server's administrator; the record "
                    "stays on this laptop and nothing was overwritten.",
                )
            ),
        )
