"""``installer-app --self-test``: checks a frozen (or source) build can do its job.

Filled in by the packaging issue: one line per check, non-zero exit on any failure.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    print("self-test: no checks yet")
    return 1
