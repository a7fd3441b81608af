"""What every subcommand gets: settings, paths, language, output helpers."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from installer_app.config import Settings, load_secrets, load_settings
from installer_app.errors import InstallerError
from installer_app.i18n import (
    QT_TRANSLATE_NOOP,
    Message,
    Source,
    install_catalog_translator,
    translate,
)
from installer_app.logsetup import configure_logging
from installer_app.paths import default_data_dir, default_log_dir
from installer_app.plain_text import json_safe, render_plain, terminal_safe
from installer_app.secrets import redact


@dataclass
class CliContext:
    args: argparse.Namespace
    config_path: Path | None
    data_dir: Path
    log_dir: Path
    language: str
    _settings: Settings | None = None
    _closers: list[Any] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        config_path = Path(args.config).expanduser() if getattr(args, "config", None) else None
        if getattr(args, "data_dir", None):
            data_dir = Path(args.data_dir).expanduser()
            log_dir = data_dir / "logs"
        else:
            data_dir, log_dir = default_data_dir(), default_log_dir()
        language = install_catalog_translator(getattr(args, "lang", None))
        configure_logging(
            log_dir,
            logging.DEBUG if args.verbose else logging.INFO,
            console=bool(getattr(args, "verbose", False)),
        )
        return cls(
            args=args,
            config_path=config_path,
            data_dir=data_dir,
            log_dir=log_dir,
            language=language,
        )

    @property
    def settings(self) -> Settings:
        """Settings from the file, then secrets from the environment or the credential store.

        Loaded on first use so that commands that need none (``ports``) work with a broken file.
        """
        if self._settings is None:
            settings = load_settings(self.config_path)
            if getattr(self.args, "lang", None) is None and settings.ui.language != "auto":
                self.language = install_catalog_translator(settings.ui.language)
            self._settings = load_secrets(settings)
        return self._settings

    def on_close(self, closer: Any) -> None:
        """Register a callable run when the command ends (stop a simulator, close a client)."""
        self._closers.append(closer)

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:
                logging.getLogger(__name__).exception("cleanup failed")


def tr(source: Source) -> str:
    """The translated text of ``source``, as it is: no ``str.format``.

    For argparse's description, help and epilog strings, which argparse itself formats with
    ``%``-placeholders such as ``%(default)s``. The parser is built after main() installed the
    translator, so these strings are rendered in the user's language when they are read.
    """
    return translate(source.context, source.text)


def number_arg(text: str) -> float:
    """An argparse ``type``: a finite number, or the usage error that says it is not one."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            Message(QT_TRANSLATE_NOOP("cli", "not a number: {text}"), text=repr(text)).render()
        )
    return value


def bounded_arg(low: float, high: float, *, integer: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` for a number from ``low`` to ``high`` (a whole one with
    ``integer``); anything else is a usage error (exit 2) that names the option. The bounds of
    each option and why are in docs/configuration.md."""

    def parse(text: str) -> float:
        value = number_arg(text)
        if (integer and not value.is_integer()) or not low <= value <= high:
            kind = (
                QT_TRANSLATE_NOOP("cli", "a whole number from {low} to {high}, not {text}")
                if integer
                else QT_TRANSLATE_NOOP("cli", "a number from {low} to {high}, not {text}")
            )
            raise argparse.ArgumentTypeError(
                Message(kind, low=f"{low:g}", high=f"{high:g}", text=repr(text)).render()
            )
        return int(value) if integer else value

    return parse


def say(message: Message | str, stream: TextIO | None = None) -> None:
    """Print a line for a person, in their language, with any secret masked.

    Terminal controls are escaped: a Message's parameters are outside text and become one line
    each; in a ``str`` the caller composed (with ``one_line`` around outside values) only its own
    newlines and tabs are kept.
    """
    text = render_plain(message) if isinstance(message, Message) else message
    print(terminal_safe(redact(text)), file=stream or sys.stdout, flush=True)


def emit_json(obj: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON object on one line (``--json`` output), with any secret masked."""
    line = json.dumps(obj, ensure_ascii=False, sort_keys=False)
    print(json_safe(redact(line)), file=stream or sys.stdout, flush=True)


def print_error(exc: InstallerError) -> None:
    label = Message(QT_TRANSLATE_NOOP("cli", "Error")).render()
    say(f"{label}: {render_plain(exc.message)}", sys.stderr)
    if exc.hint:
        say(f"  → {render_plain(exc.hint)}", sys.stderr)
