"""The layers of docs/design.md ("Layers"), checked on the import graph of installer_app/ and ui/.

Every import counts, wherever it is written: at module level, inside a function, under
``if TYPE_CHECKING:``, and ``importlib.import_module("…")`` with a literal name. Rules:

- no cycles between modules;
- the core (installer_app/) never imports ui/ or Qt, except in installer_app/launch.py;
- ui/ never opens a port, a socket, an HTTP connection or a database itself: the core does;
- the device simulator and the provider emulator stand beside the app, not on it: they import only
  the device protocol and codec and the core helpers listed below, and only the front doors (CLI,
  demo, self-test) start them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("installer_app", "ui")

LAUNCHER = "installer_app.launch"
QT = ("PySide6", "shiboken6")
# What opens a port, a socket, an HTTP connection or a database file.
UI_FORBIDDEN = ("serial", "socket", "httpx", "sqlite3")

# Stand-alone stand-ins for the hardware and the provider's servers.
STAND_INS = ("installer_app.simulator", "installer_app.provider.emulator")
# All a stand-in may import from the app (besides its own package).
STAND_IN_ALLOWED = (
    "installer_app",  # the package itself (__version__)
    "installer_app.device.protocol",
    "installer_app.device.codec",
    "installer_app.errors",
    "installer_app.i18n",
    "installer_app.secrets",
    "installer_app.atomic_write",
    "installer_app.paths",
    "installer_app.formats",
    "installer_app.wecom_crypto",  # WeCom's callback crypto: the server and the emulator's suite
)
# Who may start a stand-in: the front doors. The device link's port discovery reads the running
# simulators' ports through the registry, and knows nothing else of the simulator.
STAND_IN_USERS = ("installer_app.cli", "installer_app.demo", "installer_app.selftest")
HOST_READS_SIMULATOR = {("installer_app.device.ports", "installer_app.simulator.registry")}


# The layers of docs/design.md, lowest first; a module may import its own layer and those below.
# The most specific prefix decides (``installer_app.device.protocol`` is base, the rest of
# ``installer_app.device`` a service).
BASE = (
    "installer_app",
    "installer_app.app_command",
    "installer_app.atomic_write",
    "installer_app.build_info",
    "installer_app.config",
    "installer_app.device.codec",
    "installer_app.device.protocol",
    "installer_app.errors",
    "installer_app.formats",
    "installer_app.i18n",
    "installer_app.localtime",
    "installer_app.logsetup",
    "installer_app.paths",
    "installer_app.plain_text",
    "installer_app.printing",
    "installer_app.secrets",
    "installer_app.service_url",
    "installer_app.wecom_crypto",
)
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", BASE),
    ("services", ("installer_app.device", "installer_app.provider", "installer_app.store")),
    ("stand-ins", STAND_INS),
    # Labels and the handover package read the store and build QR links, like a run does.
    # Team mode (installer_app/team) is the workflow's, on the team server's client.
    (
        "workflow",
        (
            "installer_app.workflow",
            "installer_app.team",
            "installer_app.labels",
            "installer_app.handover",
        ),
    ),
    (
        "front doors",
        (
            "installer_app.__main__",
            "installer_app.cli",
            "installer_app.demo",
            "installer_app.launch",
            "installer_app.selftest",
            "installer_app.server",  # the team server: a process of its own, like the CLI
        ),
    ),
    ("ui", ("ui",)),
)
# Allowed upward edges, each for a stated reason (docs/design.md, "Layers").
UPWARD_ALLOWED = {
    *HOST_READS_SIMULATOR,
    ("installer_app.launch", "ui.app"),
    ("installer_app.launch", "ui.selftest_qt"),
    ("installer_app.launch", "ui.document_pdf"),  # labels and handover PDFs, drawn by Qt
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # a module of this repository, or the top-level name of any other
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """``name`` itself when it is one of our modules, else its longest prefix that is; another
    package's import stays as it is written."""
    if name.split(".")[0] not in PACKAGES:
        return name
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(module, _resolve(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from pkg import mod`` imports the submodule when there is one.
                full = f"{base}.{alias.name}"
                target = full if full in modules else _resolve(base, modules)
                yield Edge(module, target, node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Edge(module, _resolve(node.args[0].value, modules), node.lineno)


def import_graph() -> tuple[dict[str, Path], list[Edge]]:
    modules = all_modules()
    edges = [
        edge
        for module, path in modules.items()
        for edge in imports_of(module, path, modules)
        if edge.target != module
    ]
    return modules, edges


def find_cycles(modules: dict[str, Path], edges: list[Edge]) -> list[list[str]]:
    """Import cycles as paths ``[a, b, ..., a]``: one for every back edge a depth-first walk meets,
    so at least one for each group of modules that import each other in a ring."""
    graph: dict[str, list[str]] = {name: [] for name in modules}
    for edge in edges:
        if edge.target in modules and edge.target not in graph[edge.source]:
            graph[edge.source].append(edge.target)
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        on_path = {start: 0}
        path = [start]
        stack: list[Iterator[str]] = [iter(sorted(graph[start]))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                node = path.pop()
                del on_path[node]
                done.add(node)
            elif child in on_path:
                cycles.append([*path[on_path[child] :], child])
            elif child not in done:
                on_path[child] = len(path)
                path.append(child)
                stack.append(iter(sorted(graph[child])))
    return cycles


def _within(name: str, packages: tuple[str, ...] | str) -> bool:
    if isinstance(packages, str):
        packages = (packages,)
    return any(name == p or name.startswith(p + ".") for p in packages)


def layer_of(module: str) -> int | None:
    """Index in LAYERS of ``module``'s layer (the longest matching prefix wins)."""
    best: tuple[int, int] | None = None
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # "installer_app" names the package's own __init__ only, not everything below it.
            matches = module == prefix or (
                module.startswith(prefix + ".") and prefix != "installer_app"
            )
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best else None


def _where(edge: Edge, modules: dict[str, Path]) -> str:
    return f"{modules[edge.source].relative_to(ROOT)}:{edge.line} imports {edge.target}"


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    # The launcher reaches the GUI by a string import inside a function: if the walk missed those,
    # the rules below would pass for nothing.
    _modules, edges = graph
    launcher = {edge.target for edge in edges if edge.source == LAUNCHER}
    assert "ui.app" in launcher
    assert len(edges) > 500


def test_the_walk_finds_imports_in_functions_strings_and_relative_forms(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "if TYPE_CHECKING:\n"
        "    from ui.app import run\n"
        "def f():\n"
        "    from . import formats\n"
        "    from .device import client\n"
        "    return importlib.import_module('ui.selftest_qt')\n",
        encoding="utf-8",
    )
    wanted = {"installer_app.formats", "installer_app.device.client", "ui.app", "ui.selftest_qt"}
    modules = dict.fromkeys(wanted, source)
    found = {edge.target for edge in imports_of("installer_app.launch", source, modules)}
    assert wanted <= found


def test_no_import_cycles(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, edges = graph
    cycles = find_cycles(modules, edges)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_core_never_imports_qt_or_ui_but_through_the_launcher(
    graph: tuple[dict[str, Path], list[Edge]],
) -> None:
    modules, edges = graph
    offenders = [
        _where(edge, modules)
        for edge in edges
        if _within(edge.source, "installer_app")
        and edge.source != LAUNCHER
        and _within(edge.target, ("ui", *QT))
    ]
    assert offenders == []


def test_ui_opens_no_port_socket_or_database(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, edges = graph
    offenders = [
        _where(edge, modules)
        for edge in edges
        if _within(edge.source, "ui") and _within(edge.target, UI_FORBIDDEN)
    ]
    assert offenders == []


def test_simulator_and_emulator_import_only_protocol_codec_and_helpers(
    graph: tuple[dict[str, Path], list[Edge]],
) -> None:
    modules, edges = graph
    assert all(any(_within(name, s) for name in modules) for s in STAND_INS), "moved again?"
    offenders = [
        _where(edge, modules)
        for edge in edges
        if _within(edge.source, STAND_INS)
        and _within(edge.target, PACKAGES)
        and not any(_within(edge.target, s) for s in STAND_INS if _within(edge.source, s))
        and edge.target not in STAND_IN_ALLOWED
    ]
    assert offenders == []


def test_only_the_front_doors_start_the_stand_ins(
    graph: tuple[dict[str, Path], list[Edge]],
) -> None:
    modules, edges = graph
    offenders = [
        _where(edge, modules)
        for edge in edges
        if _within(edge.target, STAND_INS)
        and not _within(edge.source, STAND_INS)
        and not _within(edge.source, STAND_IN_USERS)
        and (edge.source, edge.target) not in HOST_READS_SIMULATOR
    ]
    assert offenders == []


def test_every_module_has_a_layer(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, _edges = graph
    assert [m for m in modules if layer_of(m) is None] == []


def test_no_module_imports_a_higher_layer(graph: tuple[dict[str, Path], list[Edge]]) -> None:
    modules, edges = graph
    offenders = []
    for edge in edges:
        if edge.target not in modules or (edge.source, edge.target) in UPWARD_ALLOWED:
            continue
        source, target = layer_of(edge.source), layer_of(edge.target)
        assert source is not None and target is not None
        names = (LAYERS[source][0], LAYERS[target][0])
        # ui and the front doors are both on top and independent; stand-ins sit beside the
        # services and use none of them.
        if target > source or names in (("ui", "front doors"), ("stand-ins", "services")):
            offenders.append(f"{_where(edge, modules)} ({names[1]})")
    assert offenders == []
