"""What masking costs with 100,000 SecretNos held (after importing a full inventory file).

Registers N random 32-character SecretNos (as ``Secret`` does for each imported row), then times
``redact`` on typical lines: a log line, a workflow event, a ``--json`` result line holding a
HW_ID and one of the secrets. For comparison it times the earlier way (sort every known value by
length, then ``str.replace`` each one found) on the same lines.

    .venv/bin/python benchmarks/bench_redact.py [--secrets 100000] [--lines 2000]

Target: under 100 µs per line with 100,000 secrets, and not growing with N.
"""

from __future__ import annotations

import argparse
import secrets as pysecrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installer_app import secrets
from installer_app.secrets import MASK, Secret, redact


def earlier_redact(text: str) -> str:
    """The substring-replacing loop this benchmark measures against (known values only)."""
    for value in sorted(secrets._known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    held = [Secret(pysecrets.token_hex(16)) for _ in range(args.secrets)]
    one = held[len(held) // 2].reveal()
    lines = [
        "2026-12-02 04:31:07,120 INFO installer_app.workflow.machine: board 240ac4123456 on "
        "/dev/ttyUSB0: HELLO state=BLANK model=WX-ATT-200 fw=1.4.2",
        "[/dev/ttyUSB3] credential: ok (device_sn=WXA2000012345 hw_id=240ac4123456)",
        '{"event": "result", "ok": true, "device_sn": "WXA2000012345", "hw_id": '
        f'"240ac4123456", "corp_name": "北京测试", "note": "{one}"}}',
    ]
    assert one not in redact(lines[2]) and redact(lines[0]) == lines[0]
    for name, fn, count in (
        ("redact", redact, args.lines),
        ("earlier", earlier_redact, max(args.lines // 100, 3)),
    ):
        start = time.perf_counter()
        for i in range(count):
            fn(lines[i % len(lines)])
        per_line = (time.perf_counter() - start) / count
        figure = f"{per_line * 1e6:10.1f} µs per line ({count} lines)"
        print(f"{name:8} {len(held):7,} secrets: {figure}")


if __name__ == "__main__":
    main()
