#!/usr/bin/env python3
"""The README's two commands, on a fresh machine with only Python 3.11+ and git.

    python3 run.py demo     # the app in demo mode: simulated device, local provider emulator
    python3 run.py test     # lint, type check and the whole test suite, headless
    python3 run.py package  # PyInstaller builds (one folder + one file), then checks them frozen

Each run makes (or reuses) the virtual environment in .venv and installs the project into it when
pyproject.toml changed since the last install. Any further arguments go to the app or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py may be started by an older python3
        sys.exit(f"installer-app needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras.replace(',', '-') or 'app'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing installer-app{f'[{extras}]' if extras else ''} into .venv ...", flush=True)
    target = f".[{extras}]" if extras else "."
    run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target])
    stamp.write_text(digest)


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def build_translations() -> None:
    run([str(PYTHON), str(ROOT / "tools" / "build_translations.py")])


def demo(args: list[str]) -> None:
    # The team demo runs the team server too: its libraries come with the server extra.
    ensure_env("server" if "--team" in args else "")
    build_translations()
    run([str(PYTHON), "-m", "installer_app", "demo", *args])


def test(args: list[str]) -> None:
    ensure_env("test")
    build_translations()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    print("== ruff", flush=True)
    run([str(PYTHON), "-m", "ruff", "check", "."], env)
    run([str(PYTHON), "-m", "ruff", "format", "--check", "."], env)
    print("== mypy --strict installer_app ui", flush=True)
    run([str(PYTHON), "-m", "mypy"], env)
    print("== pytest", flush=True)
    run([str(PYTHON), "-m", "pytest", *args], env)


def package(args: list[str]) -> None:
    ensure_env("test,build")
    build_translations()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run(
        [
            str(PYTHON),
            str(ROOT / "tools" / "build_frozen.py"),
            *(args or ["--onedir", "--onefile", "--enforce-size"]),
        ],
        env,
    )


def main() -> None:
    commands = {"demo": demo, "test": test, "package": package}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
