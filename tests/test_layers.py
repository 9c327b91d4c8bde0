"""Imports point down: bot → delivery → handlers → dialogs, backoffice → tgkit → desk → storage.

``plugins`` (the modules shipped with the desk) sit beside the desk's routers:
they see only what any plugin may (``tgkit`` and below); ``bot`` loads them by
name, never by import.

``locales`` may be used by everything above ``desk``. Every import counts,
including those inside functions and under ``TYPE_CHECKING``: a lazy import
that dodges a cycle is still an upward dependency. The import graph of the
modules (at load time) has no cycles either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each package may import besides itself and third-party libraries.
ALLOWED: dict[str, frozenset[str]] = {
    "bot": frozenset(
        {
            "api",
            "delivery",
            "handlers",
            "dialogs",
            "backoffice",
            "tgkit",
            "desk",
            "storage",
            "locales",
        }
    ),
    # The cabinet's HTTP API, beside handlers: the desk's use cases, nothing of Telegram.
    "api": frozenset({"tgkit", "desk", "storage", "locales"}),
    "delivery": frozenset(
        {"handlers", "dialogs", "backoffice", "tgkit", "desk", "storage", "locales"}
    ),
    # /new starts the intake dialog; dialogs never reach back into handlers.
    "handlers": frozenset({"dialogs", "tgkit", "desk", "storage", "locales"}),
    "dialogs": frozenset({"tgkit", "desk", "storage", "locales"}),
    "backoffice": frozenset({"tgkit", "desk", "storage", "locales"}),
    "tgkit": frozenset({"desk", "storage", "locales"}),
    "desk": frozenset({"storage"}),
    "storage": frozenset(),
    "locales": frozenset(),
    "plugins": frozenset({"tgkit", "desk", "storage", "locales"}),
}
PROJECT = frozenset(ALLOWED)

# Function-level imports of project modules allowed: the CLI loads the web app
# and aiogram only for the command that needs them (``migrate`` needs neither).
DEFERRED_OK = frozenset({"bot.cli"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts:
                continue  # Alembic's scripts are loaded by Alembic, not imported
            modules[module_name(path)] = path
    return modules


MODULES = project_modules()


def imported(node: ast.Import | ast.ImportFrom, importer: str) -> Iterator[str]:
    """The project modules an import statement names (``from a import b`` may name ``a.b``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = importer.split(".")
        if MODULES[importer].name != "__init__.py":
            package.pop()
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in MODULES else base


def imports_of(module: str) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, at load time) for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    load_time: set[int] = {
        id(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
    }
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in imported(node, module):
                if name.split(".")[0] in PROJECT:
                    yield name, node.lineno, id(node) in load_time


def test_every_package_is_known() -> None:
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert top_level >= PROJECT
    assert len(MODULES) > 50  # the walk found the code, not an empty tree


@pytest.mark.parametrize("package", sorted(PROJECT))
def test_imports_point_down(package: str) -> None:
    upward = [
        f"{module}:{line} imports {name}"
        for module in MODULES
        if module.split(".")[0] == package
        for name, line, _ in imports_of(module)
        if name.split(".")[0] not in ALLOWED[package] | {package}
    ]
    assert not upward, "\n".join(upward)


def test_no_deferred_imports_of_the_project() -> None:
    deferred = [
        f"{module}:{line} imports {name} inside a function"
        for module in MODULES
        if module not in DEFERRED_OK
        for name, line, at_load in imports_of(module)
        if not at_load
    ]
    assert not deferred, "\n".join(deferred)


def test_no_import_cycles() -> None:
    graph = {
        module: {name for name, _, at_load in imports_of(module) if at_load and name != module}
        for module in MODULES
    }
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail("import cycle: " + " → ".join(cycle))
        if module in done or module not in graph:
            return
        for name in sorted(graph[module]):
            visit(name, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
