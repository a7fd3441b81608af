"""What a person reads for an exception in any window: our errors' message and hint, the type of
anything else (never a traceback)."""

from __future__ import annotations

from installer_app.errors import InstallerError


def error_text(exc: BaseException) -> str:
    """What a person reads for an exception: message and hint for ours, the type otherwise."""
    if isinstance(exc, InstallerError):
        message, hint = exc.describe()
        return f"{message}\n{hint}" if hint else message
    return f"{type(exc).__name__}: {exc}"
