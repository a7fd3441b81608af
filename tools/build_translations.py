#!/usr/bin/env python3
"""Compile resources/i18n/*.ts to .qm with Qt's lrelease (from PySide6-Essentials).

With --update, first refresh the .ts sources from the code with lupdate (core QT_TRANSLATE_NOOP
strings and ui/ self.tr strings alike); the translations themselves are edited in the .ts files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "resources" / "i18n"
LANGUAGES = ("zh_CN", "en")


def tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    for candidate in (exe, exe.with_suffix(".exe")):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install PySide6-Essentials into this environment")
    return found


def update() -> None:
    sources = sorted(
        str(p.relative_to(ROOT))
        for folder in ("installer_app", "ui")
        for p in (ROOT / folder).rglob("*.py")
    )
    for lang in LANGUAGES:
        ts = I18N / f"installer_app_{lang}.ts"
        subprocess.run(
            [
                tool("pyside6-lupdate"),
                "-no-obsolete",
                "-locations",
                "none",
                *sources,
                "-ts",
                str(ts),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def release() -> None:
    for ts in sorted(I18N.glob("*.ts")):
        qm = ts.with_suffix(".qm")
        if qm.exists() and qm.stat().st_mtime >= ts.stat().st_mtime:
            continue
        subprocess.run([tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    release()
