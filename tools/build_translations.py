#!/usr/bin/env python3
"""Compile resources/i18n/*.ts to .qm with Qt's lrelease (from PySide6-Essentials).

With --update, first refresh the .ts sources from the code with lupdate (core QT_TRANSLATE_NOOP
strings and ui/ self.tr strings alike); the translations themselves are edited in the .ts files.
lupdate keeps every finished translation, so running it again is always safe.

tests/unit/test_translations.py imports this file to extract the strings exactly as --update does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "resources" / "i18n"
LANGUAGES = ("zh_CN", "en")
SOURCE_FOLDERS = ("installer_app", "ui")


class ToolMissing(RuntimeError):
    pass


def tool(name: str) -> str:
    """The path of a PySide6 tool, preferring the one beside this interpreter (the venv's)."""
    exe = Path(sys.executable).parent / name
    for candidate in (exe, exe.with_suffix(".exe")):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise ToolMissing(f"{name} not found: install PySide6-Essentials into this environment")
    return found


def source_files() -> list[str]:
    """Every Python file lupdate reads, relative to ROOT (so the .ts does not name this machine)."""
    return sorted(
        str(p.relative_to(ROOT)) for folder in SOURCE_FOLDERS for p in (ROOT / folder).rglob("*.py")
    )


def lupdate(ts: Path) -> None:
    """Extract the strings of the current sources into ``ts`` (created or refreshed in place)."""
    subprocess.run(
        [
            tool("pyside6-lupdate"),
            "-no-obsolete",
            "-locations",
            "none",
            *source_files(),
            "-ts",
            str(ts),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def lrelease(ts: Path, qm: Path, *, silent: bool = True) -> subprocess.CompletedProcess[str]:
    """Compile ``ts`` into ``qm``; the result carries lrelease's own report (stdout, stderr)."""
    args = [tool("pyside6-lrelease"), *(["-silent"] if silent else []), str(ts), "-qm", str(qm)]
    return subprocess.run(args, check=True, capture_output=True, text=True)


def update() -> None:
    for lang in LANGUAGES:
        lupdate(I18N / f"installer_app_{lang}.ts")


def release() -> None:
    for ts in sorted(I18N.glob("*.ts")):
        qm = ts.with_suffix(".qm")
        if qm.exists() and qm.stat().st_mtime >= ts.stat().st_mtime:
            continue
        lrelease(ts, qm)


def main(argv: list[str]) -> int:
    try:
        if "--update" in argv:
            update()
        release()
    except ToolMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(exc.stderr or exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
