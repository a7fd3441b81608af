"""Subcommands of this group (filled in by the issue that owns it)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to ``sub`` with ``parents=[common]``."""
