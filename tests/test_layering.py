"""The package boundaries the design promises, checked on the source (no imports run).

``index`` never imports ``bot``; the Discord side reaches the engine only through its front door
(the engine, its dataclasses, errors and settings), so a question can be followed from ``/ask``
to the answer through typed calls. The entry point ``bot/cli.py`` composes the command line and
may import the engine's command modules too. Measurement sits outside the runtime: ``measure``
never imports the tests, and the runtime imports ``measure`` only inside ``bot/cli.py``'s functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FRONT_DOOR = {"index.engine", "index.types", "index.errors", "index.settings"}
ENTRY_POINT = {"bot/cli.py", "bot/__main__.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "index")
    return names


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (not those imported inside its functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return names


def under(names: set[str], package: str) -> list[str]:
    return sorted(m for m in names if m == package or m.startswith(package + "."))


def test_measure_never_imports_the_tests() -> None:
    offenders = {str(p.relative_to(REPO)): under(imported_modules(p), "tests") for p in (REPO / "measure").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_runtime_imports_measure_only_lazily_from_the_entry_point() -> None:
    offenders = {}
    for package in ("index", "bot"):
        for path in (REPO / package).rglob("*.py"):
            rel = str(path.relative_to(REPO))
            found = under(top_level_imports(path) if rel == "bot/cli.py" else imported_modules(path), "measure")
            if found:
                offenders[rel] = found
    assert offenders == {}
    assert under(imported_modules(REPO / "bot" / "cli.py"), "measure")  # the measurement commands, when run


def test_index_never_imports_bot() -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(m for m in imported_modules(p) if m == "bot" or m.startswith("bot."))
        for p in (REPO / "index").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_bot_uses_only_the_engines_front_door() -> None:
    offenders = {}
    for path in (REPO / "bot").rglob("*.py"):
        rel = str(path.relative_to(REPO))
        if rel in ENTRY_POINT:
            continue
        used = {m for m in imported_modules(path) if m == "index" or m.startswith("index.")}
        outside = sorted(m for m in used if m != "index" and m not in FRONT_DOOR)
        if outside:
            offenders[rel] = outside
    assert offenders == {}


def test_nothing_but_the_settings_reads_the_environment() -> None:
    readers = []
    for package in ("index", "bot"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            if "os.environ.get(" in text or "os.getenv(" in text or "environ[" in text:
                readers.append(str(path.relative_to(REPO)))
    assert readers == []


def test_no_test_or_measurement_module_is_over_500_lines() -> None:
    """Small modules a reader can hold in mind: split by topic, harness code in tests/support/."""
    long = {
        str(p.relative_to(REPO)): n
        for package in ("tests", "measure")
        for p in (REPO / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert long == {}
