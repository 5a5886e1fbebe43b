"""The package boundaries the design promises, checked on the source (no imports run).

``index`` never imports ``bot``; the Discord side (its entry point included) reaches the engine only
through the declared surface, ``from index import ...`` of names in ``index.__all__``; and each
package of ``index`` is entered from outside only through its own ``__init__`` and its ``__all__``,
by the engine's other packages and by ``measure`` alike (tests may reach in anywhere). Measurement
sits outside the runtime: ``measure`` never imports the tests, and the runtime imports ``measure``
only inside ``bot/cli.py``'s functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("store", "corpus", "models", "ask", "feeds", "generation", "cli", "digest")


def imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """``(line, module, names)`` of every absolute import (``import a.b`` gives no names)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)


def declared(init: Path) -> set[str]:
    """The names a package's ``__init__.py`` lists in ``__all__``."""
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[attr-defined]
    return set()


def sources(*folders: str) -> Iterator[tuple[str, Path]]:
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            yield str(path.relative_to(REPO)), path


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    return {module for _, module, _ in imports(path)}


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
    offenders = [
        f"{rel}:{line} {module}"
        for rel, path in sources("index")
        for line, module, _ in imports(path)
        if module == "bot" or module.startswith("bot.")
    ]
    assert offenders == []


def test_the_bot_uses_only_the_declared_surface() -> None:
    surface = declared(REPO / "index" / "__init__.py")
    offenders = []
    for rel, path in sources("bot"):
        for line, module, names in imports(path):
            if module.startswith("index."):
                offenders.append(f"{rel}:{line} imports {module}")
            elif module == "index" and not set(names) <= surface:
                offenders.append(f"{rel}:{line} takes {sorted(set(names) - surface)} from index, outside its __all__")
    assert offenders == []


def test_every_package_of_the_engine_is_entered_only_through_its_surface() -> None:
    surfaces = {name: declared(REPO / "index" / name / "__init__.py") for name in PACKAGES}
    assert all(surfaces.values()), "every package declares __all__"
    offenders = []
    for rel, path in sources("index", "measure"):
        for line, module, names in imports(path):
            parts = module.split(".")
            if parts[0] != "index" or len(parts) < 2 or parts[1] not in PACKAGES:
                continue
            package = parts[1]
            if rel.startswith(f"index/{package}/"):
                continue  # inside the package: its private modules are its own
            if len(parts) > 2:
                offenders.append(f"{rel}:{line} imports {module}")
            elif not set(names) <= surfaces[package]:
                offenders.append(f"{rel}:{line} takes {sorted(set(names) - surfaces[package])} from index.{package}")
    assert offenders == []


def test_imports_inside_functions_count_too(tmp_path: Path) -> None:
    """A lazy import of a private module is still an import: the checks above see it."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from index.store._snapshot import Snapshot\n    return Snapshot\n")
    assert list(imports(sample)) == [(2, "index.store._snapshot", ("Snapshot",))]


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
