"""The base of every error the core reports to a person.

Each carries a translatable ``message`` (what happened) and ``hint`` (what to do), and the CLI exit
code that fits it. ``str()`` gives the message in the current language, never a secret: the
subclasses never put a secret into their parameters.
"""

from __future__ import annotations

from installer_app.i18n import Message


class ExitCode:
    OK = 0
    FAILURE = 1
    USAGE = 2  # usage or configuration
    DEVICE = 3
    PROVIDER = 4
    TIMEOUT = 5  # waiting for the binding or the companion app
    NO_CREDENTIAL = 6
    INTERRUPTED = 130


class InstallerError(Exception):
    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: Message, hint: Message | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message.english())

    def __str__(self) -> str:
        text = self.message.render()
        return f"{text} {self.hint.render()}" if self.hint else text

    def describe(self) -> tuple[str, str | None]:
        return self.message.render(), self.hint.render() if self.hint else None
