"""The core stays Qt-free: no module under installer_app/ imports PySide6 or ui/ (except the
entry point, which starts the GUI lazily)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "installer_app"
ALLOWED = {CORE / "__main__.py", CORE / "selftest.py"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_qt_or_ui() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        if path in ALLOWED:
            continue
        for name in imported_modules(path):
            if name.split(".")[0] in ("PySide6", "ui", "shiboken6"):
                offenders.append(f"{path.relative_to(CORE)} imports {name}")
    assert offenders == []
