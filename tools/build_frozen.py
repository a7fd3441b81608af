#!/usr/bin/env python3
"""Build the frozen app with build.spec and prove the build works, not only the source.

    python tools/build_frozen.py --onedir --onefile     # what .ci/run does
    python tools/build_frozen.py --onedir --no-build    # check an existing dist/ again
    python tools/build_frozen.py --secret-service       # Linux: the variant with the desktop
                                                        # keyring, in dist/secret-service/

For each executable built it checks, in a private HOME with no display (QT_QPA_PLATFORM=offscreen)
and no credential store:
  1. ``--version`` prints the package version;
  2. ``--self-test`` passes (resources, translations, QR, simulated device, emulator, store, Qt);
  3. ``demo --headless`` provisions a simulated board against the emulator to the end (exit 0),
     and ``history --json`` then shows that board bound with its companion app installed;
  4. the wizard paints its first frame (``--self-test --first-paint``);
and prints the sizes against the budgets (one folder 80 MB, one file 40 MB; the Secret Service
variant has none: it is the documented way over). Exit code 1 when a check failed (sizes over
budget are reported, and fail only with --enforce-size). With --secret-service the self-test also
proves that the keyring's Secret Service back end is in the build (build-info.json asks for it).

Signing hooks, run on each executable after the build and before the checks, so the checks test
the signed files: INSTALLER_SIGN_COMMAND (a command line with ``{file}``, e.g. Windows signtool),
and on macOS INSTALLER_NOTARIZE_PROFILE (a notarytool keychain profile): the .app is zipped,
notarised and stapled. See docs/packaging.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
APP = "installer-app"
EXE = ".exe" if os.name == "nt" else ""
MB = 1_000_000
BUDGET = {"onedir": 80 * MB, "onefile": 40 * MB}


@dataclass(frozen=True)
class Target:
    kind: str  # "onedir" or "onefile"
    executable: Path  # what the checks run (the console twin on Windows)
    measured: Path  # the folder or the file whose size is reported


def targets(kinds: Sequence[str], dist: Path = DIST) -> list[Target]:
    found = []
    for kind in kinds:
        if kind == "onedir":
            folder = dist / APP
            console = folder / f"{APP}-cli{EXE}"
            exe = console if console.exists() else folder / f"{APP}{EXE}"
            found.append(Target(kind, exe, folder))
        else:
            exe = dist / f"{APP}-portable{EXE}"
            found.append(Target(kind, exe, exe))
    return found


def size_of(path: Path) -> int:
    """Bytes on disk as shipped: the file, or every file in the folder (symlinks not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(kinds: Sequence[str], extra_env: dict[str, str], dist: Path = DIST) -> None:
    which = "both" if len(kinds) == 2 else kinds[0]
    env = dict(os.environ, INSTALLER_BUILD=which, **extra_env)
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    if dist != DIST:  # a variant: its own output and work folders
        cmd += ["--distpath", str(dist), "--workpath", str(ROOT / "build" / dist.name)]
    cmd.append(str(ROOT / "build.spec"))
    print(f"== build ({which}): {' '.join(cmd)}", flush=True)
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    print(f"   built in {time.monotonic() - started:.0f} s", flush=True)


def sign(target: Target, dist: Path = DIST) -> None:
    command = os.environ.get("INSTALLER_SIGN_COMMAND")
    if command:
        files = [target.executable]
        if target.kind == "onedir":
            files = sorted(target.measured.glob(f"{APP}*{EXE}")) if EXE else [target.executable]
        for file in files:
            line = command.replace("{file}", shlex.quote(str(file)))
            print(f"== sign: {line}", flush=True)
            subprocess.run(line, shell=True, check=True)
    profile = os.environ.get("INSTALLER_NOTARIZE_PROFILE")
    bundle = dist / f"{APP}.app"
    if profile and sys.platform == "darwin" and target.kind == "onedir" and bundle.exists():
        archive = dist / f"{APP}-notarize.zip"
        subprocess.run(["ditto", "-c", "-k", "--keepParent", str(bundle), str(archive)], check=True)
        subprocess.run(
            [
                "xcrun",
                "notarytool",
                "submit",
                str(archive),
                "--keychain-profile",
                profile,
                "--wait",
            ],
            check=True,
        )
        subprocess.run(["xcrun", "stapler", "staple", str(bundle)], check=True)
        archive.unlink()


def private_env(home: Path) -> dict[str, str]:
    """The environment for running the app in a private, display-less HOME with no credential
    store and no secrets inherited (also used by benchmarks/bench_package.py)."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        USERPROFILE=str(home),
        APPDATA=str(home / "AppData" / "Roaming"),
        LOCALAPPDATA=str(home / "AppData" / "Local"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_RUNTIME_DIR=str(home / "run"),
        INSTALLER_SIM_REGISTRY=str(home / "sim-ports"),
        # No credential store on a build server: fail fast rather than wait for D-Bus.
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        INSTALLER_LANG="en",
    )
    for var in ("INSTALLER_PROVIDER_SECRET", "INSTALLER_PARTNER_TOKEN", "INSTALLER_KEY_FILE"):
        env.pop(var, None)
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


class Checker:
    """Runs the frozen executable in a private, display-less environment and records failures."""

    def __init__(self, home: Path, timeout_s: float) -> None:
        self.failures: list[str] = []
        self.timeout_s = timeout_s
        self.env = private_env(home)
        self.cwd = home

    def run(self, args: Sequence[str], timeout_s: float | None = None) -> tuple[int, str]:
        try:
            done = subprocess.run(
                [str(a) for a in args],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout_s or self.timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            return -1, out + f"\n(timed out after {exc.timeout:.0f} s)"
        return done.returncode, done.stdout + done.stderr

    def check(self, name: str, ok: bool, detail: str, output: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok:
            self.failures.append(name)
            for line in output.strip().splitlines()[-25:]:
                print(f"     | {line}")

    def first_paint(self, exe: Path) -> None:
        """Start the wizard; read its ``first-paint`` line; stop it if it does not quit."""
        started = time.time()
        proc = subprocess.Popen(
            [str(exe), "--self-test", "--first-paint"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        painted: float | None = None
        lines: list[str] = []
        deadline = time.monotonic() + self.timeout_s
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                lines.append(line.rstrip())
                if line.startswith("first-paint "):
                    painted = float(line.split()[1])
                    break
                if time.monotonic() > deadline:
                    break
        finally:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if painted is None:
            self.check("wizard first paint", False, "no frame painted", "\n".join(lines))
        else:
            self.check("wizard first paint", True, f"{painted - started:.2f} s after start")


def check_target(
    target: Target, checker: Checker, version: str, enforce_size: bool, budgeted: bool = True
) -> None:
    print(f"== {target.kind}: {target.executable.relative_to(ROOT)}", flush=True)
    if not target.executable.exists():
        checker.check("executable", False, f"{target.executable} was not built")
        return
    size = size_of(target.measured)
    if budgeted:
        budget = BUDGET[target.kind]
        within = size <= budget
        checker.check(
            "size" if enforce_size or within else "size (over budget, not enforced)",
            within or not enforce_size,
            f"{size / MB:.1f} MB (budget {budget / MB:.0f} MB)",
        )
    else:
        checker.check("size", True, f"{size / MB:.1f} MB (a variant: no budget)")
    exe = target.executable

    code, out = checker.run([exe, "--version"])
    checker.check("--version", code == 0 and version in out, out.strip() or f"exit {code}", out)

    code, out = checker.run([exe, "--self-test"])
    summary = out.strip().splitlines()[-1] if out.strip() else f"exit {code}"
    checker.check("--self-test", code == 0, summary, out)
    if code == 0:
        for line in out.strip().splitlines()[:-1]:
            print(f"     | {line}")

    with tempfile.TemporaryDirectory(prefix="frozen-demo-") as tmp:
        data = Path(tmp)
        started = time.monotonic()
        code, out = checker.run(
            [exe, "demo", "--headless", "--data-dir", data, "--scan-after", "0.5"]
        )
        elapsed = time.monotonic() - started
        last = out.strip().splitlines()[-1] if out.strip() else ""
        checker.check(
            "headless demo provisioning", code == 0, f"exit {code} in {elapsed:.1f} s: {last}", out
        )
        demo = data / "demo"
        code, out = checker.run(
            [exe, "history", "--json", "--data-dir", demo, "--config", demo / "config.toml"]
        )
        stages = []
        for line in out.splitlines():
            try:
                stages.append(str(json.loads(line).get("stage")))
            except (ValueError, AttributeError):
                continue
        checker.check(
            "history after the demo",
            code == 0 and stages == ["app_installed"],
            f"stages {stages}",
            out,
        )

    code, out = checker.run([exe, "ports", "--json"])
    checker.check("ports (headless subcommand)", code == 0, f"exit {code}", out)

    checker.first_paint(exe)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onedir", action="store_true", help="the one-folder app (default)")
    parser.add_argument("--onefile", action="store_true", help="the one-file portable app")
    parser.add_argument("--no-build", action="store_true", help="check what is in dist/ already")
    parser.add_argument("--console", action="store_true", help="INSTALLER_CONSOLE=1 build")
    parser.add_argument("--debug", action="store_true", help="INSTALLER_DEBUG=1 build")
    parser.add_argument("--enforce-size", action="store_true", help="fail when over budget")
    parser.add_argument(
        "--secret-service",
        action="store_true",
        help="Linux: INSTALLER_SECRET_SERVICE=1 variant (desktop keyring), in dist/secret-service",
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="per command, seconds")
    args = parser.parse_args(argv)
    kinds = [k for k in ("onedir", "onefile") if getattr(args, k)] or ["onedir"]
    dist = DIST / "secret-service" if args.secret_service else DIST
    if args.secret_service and not sys.platform.startswith("linux"):
        print("FAIL build: --secret-service is a Linux variant (Windows and macOS always have it)")
        return 1

    sys.path.insert(0, str(ROOT / "tools"))
    from freeze_rules import package_version

    version = package_version(ROOT)
    if not args.no_build:
        import importlib.util

        if importlib.util.find_spec("PyInstaller") is None:
            print("FAIL build: PyInstaller is not installed (pip install -e '.[build]')")
            return 1
        extra = {}
        if args.console:
            extra["INSTALLER_CONSOLE"] = "1"
        if args.debug:
            extra["INSTALLER_DEBUG"] = "1"
        if args.secret_service:
            extra["INSTALLER_SECRET_SERVICE"] = "1"
        try:
            build(kinds, extra, dist)
        except subprocess.CalledProcessError as exc:
            print(f"FAIL build: PyInstaller exited with {exc.returncode}")
            return 1
    home = Path(tempfile.mkdtemp(prefix="frozen-home-"))
    try:
        checker = Checker(home, args.timeout)
        for target in targets(kinds, dist):
            try:
                sign(target, dist)
            except subprocess.CalledProcessError as exc:
                checker.check("signing", False, f"{exc.cmd!r} exited with {exc.returncode}")
                continue
            check_target(
                target, checker, version, args.enforce_size, budgeted=not args.secret_service
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if checker.failures:
        print(f"frozen build: FAILED ({', '.join(checker.failures)})")
        return 1
    print(f"frozen build: ok ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
