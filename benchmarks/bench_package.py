#!/usr/bin/env python3
"""Packaging benchmark: sizes of the frozen app and time to its first painted wizard frame, beside
a bare PySide6 QWizard window frozen by the same rules and timed in the same run.

    python benchmarks/bench_package.py              # build both (about a minute), then measure
    python benchmarks/bench_package.py --no-build   # measure what is in dist/ and build/bench/
    python benchmarks/bench_package.py --runs 9

Start time is measured from just before the process is spawned to the ``first-paint <epoch s>``
line the program prints once its window has been painted: both are started as a user starts them
(``installer-app`` with no arguments opens the wizard) with ``INSTALLER_EXIT_AFTER_FIRST_PAINT=1``,
which makes each quit after its first frame. Runs are interleaved so that a busy machine slows every
variant alike; the median is reported, with the fastest run beside it. Everything runs offscreen
in a private HOME with no credential store.

Targets (issue 6): one folder <= 80 MB, one file <= 40 MB, one-folder start <= 3x the bare
window's one-folder start. For scale, a naive PyInstaller build of a bare PySide6-Essentials
window is 160 MB / 61 MB and starts in ~0.1 s (one folder) / ~0.8 s (one file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

# The same private HOME, size measure and budgets as the CI checks of the frozen build.
from build_frozen import BUDGET, MB, private_env, size_of

ROOT = Path(__file__).resolve().parent.parent
EXE = ".exe" if os.name == "nt" else ""
APP_DIST = ROOT / "dist"
BENCH = ROOT / "build" / "bench"
BARE_SPEC = ROOT / "benchmarks" / "bare_wizard" / "bare_wizard.spec"
BARE_SOURCE = ROOT / "benchmarks" / "bare_wizard" / "bare_wizard.py"
START_RATIO_BUDGET = 3.0


@dataclass
class Variant:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    failures: int = 0


def pyinstaller(spec: Path, dist: Path, work: Path, env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    cmd += ["--distpath", str(dist), "--workpath", str(work), str(spec)]
    print(f"building {spec.name} ...", flush=True)
    started = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **env), check=True)
    print(f"  {time.monotonic() - started:.0f} s", flush=True)


def time_first_paint(variant: Variant, env: dict[str, str], timeout_s: float) -> float | None:
    """Seconds from spawn to the first painted frame, or None when it never painted."""
    started = time.time()
    proc = subprocess.Popen(
        variant.command,
        cwd=env["HOME"],
        env=dict(env, **variant.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    painted = None
    deadline = time.monotonic() + timeout_s
    try:
        for line in proc.stdout:
            if line.startswith("first-paint "):
                painted = float(line.split()[1])
                break
            if time.monotonic() > deadline:
                break
    finally:
        # The figure is in; do not wait for the app's shutdown.
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
    return None if painted is None else painted - started


def fmt_ms(seconds: float | None) -> str:
    return "   n/a" if seconds is None else f"{seconds * 1000:6.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing builds")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per variant")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per start")
    args = parser.parse_args()

    if not args.no_build:
        pyinstaller(BARE_SPEC, BENCH / "dist", BENCH / "work", {"INSTALLER_BUILD": "both"})
        pyinstaller(ROOT / "build.spec", APP_DIST, ROOT / "build", {"INSTALLER_BUILD": "both"})

    app_dir = APP_DIST / "installer-app"
    app_file = APP_DIST / f"installer-app-portable{EXE}"
    app_exe = app_dir / f"installer-app-cli{EXE}"
    if not app_exe.exists():
        app_exe = app_dir / f"installer-app{EXE}"
    bare_dir = BENCH / "dist" / "bare-wizard"
    bare_file = BENCH / "dist" / f"bare-wizard-portable{EXE}"
    missing = [p for p in (app_exe, app_file, bare_dir, bare_file) if not p.exists()]
    if missing:
        print("missing builds (run without --no-build): " + ", ".join(map(str, missing)))
        return 1

    print()
    print("Sizes (bytes as shipped)")
    sizes = {
        "app one-folder": (size_of(app_dir), BUDGET["onedir"]),
        "app one-file": (size_of(app_file), BUDGET["onefile"]),
        "bare wizard one-folder": (size_of(bare_dir), None),
        "bare wizard one-file": (size_of(bare_file), None),
    }
    for name, (size, budget) in sizes.items():
        verdict = ""
        if budget is not None:
            verdict = f"  budget {budget / MB:.0f} MB: {'ok' if size <= budget else 'OVER'}"
        print(f"  {name:24s} {size / MB:7.1f} MB{verdict}")
    print("  (naive PyInstaller build of a bare PySide6 window, for scale: 160 MB / 61 MB)")

    flag = {"INSTALLER_EXIT_AFTER_FIRST_PAINT": "1"}
    source = {"PYTHONPATH": str(ROOT)}  # the work tree, whatever the current folder
    py = sys.executable
    variants = [
        Variant("bare wizard, source", [py, str(BARE_SOURCE)], flag),
        Variant("bare wizard, one-folder", [str(bare_dir / f"bare-wizard{EXE}")], flag),
        Variant("bare wizard, one-file", [str(bare_file)], flag),
        Variant("app, source", [py, "-m", "installer_app"], {**flag, **source}),
        Variant("app, one-folder", [str(app_exe)], flag),
        Variant("app, one-file", [str(app_file)], flag),
    ]
    home = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        env = private_env(home)
        for variant in variants:  # warm-up: page cache, first extraction, .pyc
            time_first_paint(variant, env, args.timeout)
        for _ in range(args.runs):
            for variant in variants:
                seconds = time_first_paint(variant, env, args.timeout)
                if seconds is None:
                    variant.failures += 1
                else:
                    variant.times.append(seconds)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print()
    print(f"Start to first painted frame, ms ({args.runs} interleaved runs, offscreen)")
    print(f"  {'variant':26s} {'median':>6s} {'fastest':>7s}")
    medians: dict[str, float | None] = {}
    for variant in variants:
        median = statistics.median(variant.times) if variant.times else None
        fastest = min(variant.times) if variant.times else None
        medians[variant.name] = median
        failed = f"  ({variant.failures} runs never painted)" if variant.failures else ""
        print(f"  {variant.name:26s} {fmt_ms(median)} {fmt_ms(fastest):>7s}{failed}")

    print()
    print("Ratios")
    ok = True
    for kind in ("source", "one-folder", "one-file"):
        app, bare = medians[f"app, {kind}"], medians[f"bare wizard, {kind}"]
        if app is None or bare is None:
            ok = False
            print(f"  app / bare, {kind}: n/a")
            continue
        ratio = app / bare
        verdict = ""
        if kind == "one-folder":
            verdict = f"  budget {START_RATIO_BUDGET:g}x: "
            verdict += "ok" if ratio <= START_RATIO_BUDGET else "OVER"
            ok = ok and ratio <= START_RATIO_BUDGET
        print(f"  app / bare, {kind:11s} {ratio:5.2f}x{verdict}")
    for name, (size, budget) in sizes.items():
        if budget is not None:
            print(f"  {name} / budget        {size / budget:5.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
