"""Errors the workflow itself raises (context ``workflow``).

Device and provider failures keep their own classes (exit 3 and 4); these cover the rules the
workflow enforces on top of them. None carries a secret: parameters are SNs, HW_IDs and model ids.
"""

from __future__ import annotations

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message


class WorkflowError(InstallerError):
    exit_code = ExitCode.FAILURE


class UnexpectedFailure(WorkflowError):
    """A bug or an unforeseen failure: the traceback goes to the log, this to the person."""

    def __init__(self) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow", "Something unexpected went wrong; the details are in the log file."
                )
            )
        )


class ModelMismatch(WorkflowError):
    exit_code = ExitCode.DEVICE

    def __init__(self, found: str, expected: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "This board is a {found}, but the app is set up for {expected}.",
                ),
                found=found,
                expected=expected,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Connect a {expected} board, or change [provider] model_id in the settings.",
                ),
                expected=expected,
            ),
        )


class UnknownCredential(WorkflowError):
    """A PROVISIONED board holds a credential this store did not issue: never overwrite it."""

    exit_code = ExitCode.DEVICE

    def __init__(self, hw_id: str, sn: str | None) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Board {hw_id} is already provisioned with SN {sn}, which this computer did "
                    "not issue. It was left untouched.",
                ),
                hw_id=hw_id,
                sn=sn or "?",
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Provision it from the computer that issued that SN, or factory-reset it if "
                    "you are sure it is not in use.",
                )
            ),
        )


class ProofMismatch(WorkflowError):
    """VERIFY's HMAC proof does not match the credential this store issued."""

    exit_code = ExitCode.DEVICE

    def __init__(self, sn: str, device_sn: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "The board did not prove the credential of SN {sn} (it reports SN "
                    "{device_sn}).",
                ),
                sn=sn,
                device_sn=device_sn or "?",
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow", "Check the cable and try again; if it repeats, the board is faulty."
                )
            ),
        )


class NoCredential(WorkflowError):
    exit_code = ExitCode.NO_CREDENTIAL

    def __init__(self) -> None:
        super().__init__(
            Message(QT_TRANSLATE_NOOP("workflow", "No unused SN is left in the inventory.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Import a new export from the provider admin: installer-app inventory "
                    "import FILE.",
                )
            ),
        )


class RegistrationConflict(WorkflowError):
    """WeCom already knows the SN, and this store does not hold it for this board."""

    exit_code = ExitCode.PROVIDER

    def __init__(self, sn: str, hw_id: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "SN {sn} for board {hw_id} is already registered with WeCom, but not by "
                    "this computer. Nothing was written to the board.",
                ),
                sn=sn,
                hw_id=hw_id,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Provision the board from the computer that registered it, or ask the "
                    "provider admin to delete the SN if it was never used.",
                )
            ),
        )


class Cancelled(WorkflowError):
    exit_code = ExitCode.INTERRUPTED

    def __init__(self) -> None:
        super().__init__(
            Message(QT_TRANSLATE_NOOP("workflow", "Stopped at the installer's request.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow", "Start again with the same board: it resumes where it stopped."
                )
            ),
        )


class Skipped(WorkflowError):
    exit_code = ExitCode.FAILURE

    def __init__(self) -> None:
        super().__init__(
            Message(QT_TRANSLATE_NOOP("workflow", "The board was skipped; nothing was changed."))
        )


class BindingTimedOut(WorkflowError):
    exit_code = ExitCode.TIMEOUT

    def __init__(self, sn: str, waited_s: float, what: Message) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("workflow", "Gave up waiting for {what} of SN {sn} after {s} s."),
                what=what,
                sn=sn,
                s=round(waited_s),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow",
                    "Run provision again for the same board: it resumes and waits again.",
                )
            ),
        )


class NoQrCode(WorkflowError):
    exit_code = ExitCode.PROVIDER

    def __init__(self, sn: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "workflow", "The partner service gave no binding QR code for {sn}."
                ),
                sn=sn,
            ),
            Message(QT_TRANSLATE_NOOP("workflow", "Ask the partner service's operator.")),
        )
