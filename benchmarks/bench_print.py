"""How long the label and handover PDFs take: 240 labels on A4 sheets (10 pages), 240 roll
labels, 240 ZPL labels, and a 500-board handover package (PDF + CSV + XLSX), headless (Qt
offscreen), median of a few runs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_print.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from installer_app.handover.package import write_package
from installer_app.handover.rows import Handover, HandoverRow, State
from installer_app.labels.content import LabelData
from installer_app.labels.layout import RollLabel, SheetGrid
from installer_app.labels.pages import roll_document, sheet_document
from installer_app.labels.zpl import document_zpl
from installer_app.launch import render_pdf


def timed(runs: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    labels = [
        LabelData(
            f"WXA{i:010d}",
            f"{i:012x}",
            "WX-DOOR-100",
            f"https://open.work.weixin.qq.com/connect/hardware?hw_code=HW{i:08d}abcdef",
        )
        for i in range(240)
    ]
    start = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    states = list(State)
    rows = tuple(
        HandoverRow(
            f"WXA{i:010d}",
            f"{i:012x}",
            "WX-DOOR-100",
            f"{i // 20 + 1}F-{i % 20:03d} 前台",
            states[i % len(states)],
            i % 2 == 0,
            start + timedelta(minutes=i),
            "李工",
            "",
        )
        for i in range(500)
    )
    handover = Handover("ww-bench", "北京测试大厦", date(2026, 11, 30), date(2026, 12, 1), rows)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        render_pdf(sheet_document(labels[:3], SheetGrid()), out / "warm.pdf")  # Qt start, fonts
        sheet = timed(
            args.runs, lambda: render_pdf(sheet_document(labels, SheetGrid()), out / "s.pdf")
        )
        roll = timed(
            args.runs, lambda: render_pdf(roll_document(labels, RollLabel()), out / "r.pdf")
        )
        zpl = timed(args.runs, lambda: document_zpl(labels, RollLabel()))
        package = timed(args.runs, lambda: write_package(handover, out / "handover", render_pdf))
        sizes = {name: (out / name).stat().st_size // 1024 for name in ("s.pdf", "r.pdf")}
        print(f"240 labels, A4 sheets (10 pages): {sheet * 1000:.0f} ms ({sizes['s.pdf']} KB)")
        print(f"240 labels, roll (240 pages):     {roll * 1000:.0f} ms ({sizes['r.pdf']} KB)")
        print(f"240 labels, ZPL:                  {zpl * 1000:.1f} ms")
        print(f"500-board handover package:       {package * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
