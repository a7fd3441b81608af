"""Structure figures for the closing notes of architecture work: module counts under installer_app/
and ui/, function-level (lazy) imports, and the longest functions.

    python tools/code_metrics.py [--top N]

A lazy import is an ``import``/``from … import`` statement inside a function body, or an
``importlib.import_module(…)`` call anywhere (a string import hides an edge from the reader just
the same). ``if TYPE_CHECKING:`` blocks at module level are not lazy: they never run.
Function length is counted from the ``def`` line to its last line, decorators excluded.
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("installer_app", "ui")


@dataclass(frozen=True)
class FunctionLength:
    where: str
    lines: int


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _is_import_module_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id == "import_module"


def lazy_imports(tree: ast.Module) -> int:
    """Import statements inside a function body, plus every ``import_module(...)`` call."""

    def count(node: ast.AST, in_function: bool) -> int:
        here = 1 if _is_import_module_call(node) else 0
        if in_function and isinstance(node, (ast.Import, ast.ImportFrom)):
            here += 1
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        return here + sum(count(child, inner) for child in ast.iter_child_nodes(node))

    return count(tree, False)


def function_lengths(path: Path, tree: ast.Module) -> list[FunctionLength]:
    rel = path.relative_to(ROOT).as_posix()
    out: list[FunctionLength] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                out.append(FunctionLength(f"{rel}:{name}", end - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5, help="how many longest functions to list")
    args = parser.parse_args()
    lengths: list[FunctionLength] = []
    lazy = 0
    for package in PACKAGES:
        files = python_files(package)
        print(f"modules under {package}/: {len(files)}")
        for path in files:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            lazy += lazy_imports(tree)
            lengths.extend(function_lengths(path, tree))
    print(f"function-level (lazy) imports: {lazy}")
    print("longest functions (def line to last line):")
    for item in sorted(lengths, key=lambda f: (-f.lines, f.where))[: args.top]:
        print(f"  {item.lines:4d}  {item.where}")


if __name__ == "__main__":
    main()
