"""The desktop build leaves the team server and its libraries out (tools/freeze_rules.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import freeze_rules as rules  # noqa: E402

SERVER_LIBRARIES = ("fastapi", "uvicorn", "psycopg", "psycopg_pool", "pydantic", "starlette")


def test_build_spec_excludes_the_server_modules() -> None:
    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert "*rules.SERVER_MODULES" in spec
    for name in (*SERVER_LIBRARIES, "installer_app.server"):
        assert name in rules.SERVER_MODULES


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions) by one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_nothing_the_desktop_app_loads_imports_the_server_at_module_level() -> None:
    """Only installer_app/server imports the server libraries; the CLI's server commands load
    it inside their handlers, so the frozen app starts without it."""
    offenders = {}
    for folder in (ROOT / "installer_app", ROOT / "ui"):
        for path in folder.rglob("*.py"):
            if (ROOT / "installer_app" / "server") in path.parents:
                continue
            bad = {
                name
                for name in _top_level_imports(path)
                if name.split(".")[0] in SERVER_LIBRARIES or name.startswith("installer_app.server")
            }
            if bad:
                offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}
