"""The provider layer knows HTTP, not the board: nothing under installer_app/provider/ imports
the device link or the workflow (issue 10 item 6: the binding watch lives in the workflow)."""

from __future__ import annotations

import ast
from pathlib import Path

PROVIDER = Path(__file__).resolve().parents[2] / "installer_app" / "provider"
FORBIDDEN = ("installer_app.device", "installer_app.workflow", "installer_app.simulator")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_provider_imports_no_device_or_workflow_module() -> None:
    files = sorted(PROVIDER.rglob("*.py"))
    assert len(files) > 10
    offenders = [
        f"{path.relative_to(PROVIDER)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path))
        if name.startswith(FORBIDDEN) or name in ("installer_app.device", "installer_app.workflow")
    ]
    assert offenders == []
