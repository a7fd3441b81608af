"""The worker bridge under a stream of short tasks: threads, throughput, the GUI thread's stalls.

Runs N short tasks (each a few microseconds of work) through ``ui.workers.Workers``, keeping a
fixed number in flight (every delivered result submits the next, as the port poll and the pages'
queries do), while a 5 ms heartbeat ``QTimer`` runs on the GUI thread. Prints the time, the most
OS threads and pool threads seen, and the longest gap between two heartbeats.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_workers.py [--tasks 3000]

Target: longest gap < 50 ms; pool threads <= ui.workers.MAX_THREADS.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.workers import MAX_THREADS, Workers

HEARTBEAT_MS = 5
TARGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=4 * MAX_THREADS)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    workers = Workers()
    threads_before = len(os.listdir("/proc/self/task"))
    most = {"os": 0, "pool": 0}
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)

    def beat() -> None:
        beats.append(time.perf_counter())
        most["os"] = max(most["os"], len(os.listdir("/proc/self/task")))
        most["pool"] = max(most["pool"], workers.pool.activeThreadCount())

    heartbeat.timeout.connect(beat)
    done = [0]
    submitted = [0]

    def work(cancel: threading.Event) -> int:
        return sum(range(50))

    def got(_value: int) -> None:
        done[0] += 1
        if submitted[0] < args.tasks:
            submitted[0] += 1
            workers.submit(work, on_success=got)
        elif done[0] == args.tasks:
            app.quit()

    heartbeat.start()
    started = time.perf_counter()
    for _ in range(min(args.in_flight, args.tasks)):
        submitted[0] += 1
        workers.submit(work, on_success=got)
    app.exec()
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    assert workers.shutdown()
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(beats)]
    longest = max(gaps) if gaps else elapsed * 1000
    print(
        f"{args.tasks} tasks, {args.in_flight} in flight: {elapsed:.3f} s "
        f"({args.tasks / elapsed:,.0f} tasks/s)"
    )
    print(
        f"threads: OS {threads_before} before, at most {most['os']} during; pool at most "
        f"{most['pool']} (limit {MAX_THREADS})"
    )
    verdict = "ok" if longest < TARGET_MS else "OVER TARGET"
    print(
        f"heartbeats {len(beats)}, longest gap {longest:.1f} ms "
        f"(target < {TARGET_MS:.0f} ms, ratio {longest / TARGET_MS:.2f}) {verdict}"
    )


if __name__ == "__main__":
    main()
