"""Docstrings in ``index/`` and ``bot/`` say the rule and its reason in at most three lines, and no
docstring or comment carries a measurement: numbers, seeds and logs live in ``docs/``, where their
command and date can be kept with them (issue 20).
"""

from __future__ import annotations

import ast
import functools
import inspect
import io
import itertools
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("index", "bot")
# index/ask/ and index/generation/ are being rewritten (the reader); the lead enables them after
# merging it by emptying this tuple.
NOT_YET: tuple[str, ...] = ()

MAX_LINES = 3
"""Non-blank lines per docstring: a summary line, then at most two of reason (the blank line after the
summary is not counted). Module docstrings get no more: a tree or a list belongs in docs/ too."""

MEASUREMENTS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:H@\d+|MRR|nDCG|F1|F0\.5|recall(?:@\d+)?|precision|accuracy)\b[\s:=]*\d",  # metric and value
        r"\bp(?:50|90|95|99)\b[^.\n]*?\d",  # a latency percentile
        r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|KB|MB|GB|TB|KiB|MiB|GiB)\b",  # a time or a size
        r"\b\d+(?:\.\d+)?\s(?:s|min)\b",  # seconds or minutes ("429s", a status, has no space)
        r"\bseed[- ]?\d+",  # a run's seed
        r"\d\.\d+\s*(?:→|->)\s*\d",  # before → after
        r"/work/",  # a path on the machine that ran something
        r"\bmeasured\s+(?:on|at|with)\b",  # the start of a measurement log
    )
)

ALLOWED = {
    # A number that is a limit the code enforces, not something measured.
    ("index/cli/_feeds.py", "1 s"),  # seconds_until: the shortest sleep between polls
}


def docstrings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """``(line, cleaned text)`` of every module, class, function and attribute docstring."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            text = ast.get_docstring(node)
            if text is not None:
                yield node.body[0].lineno, text
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for before, after in itertools.pairwise(body):
                if (
                    isinstance(before, ast.Assign | ast.AnnAssign)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)
                ):
                    yield after.lineno, inspect.cleandoc(after.value.value)


def comments(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def offenders(root: Path, skip: tuple[str, ...] = NOT_YET) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    """(too long, measurements, allow-list entries used) for the sources under ``root``."""
    long: list[str] = []
    measured: list[str] = []
    used: set[tuple[str, str]] = set()
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if name.startswith(skip):
                continue
            source = path.read_text(encoding="utf-8")
            docs = list(docstrings(ast.parse(source, filename=name)))
            for line, text in docs:
                lines = sum(1 for row in text.splitlines() if row.strip())
                if lines > MAX_LINES:
                    long.append(f"{name}:{line}: {lines} lines: {text.splitlines()[0][:70]}")
            for line, text in docs + list(comments(source)):
                for match in (m for pattern in MEASUREMENTS for m in pattern.finditer(text)):
                    if (name, match.group(0)) in ALLOWED:
                        used.add((name, match.group(0)))
                    else:
                        measured.append(f"{name}:{line}: {match.group(0)!r}")
    return long, measured, used


@functools.cache
def repo_offenders() -> tuple[list[str], list[str], set[tuple[str, str]]]:
    return offenders(REPO)


def test_docstrings_are_at_most_three_lines() -> None:
    long, _, _ = repo_offenders()
    assert not long, "move the detail to docs/ and keep the rule and its reason:\n" + "\n".join(long)


def test_no_measurements_in_docstrings_or_comments() -> None:
    _, measured, _ = repo_offenders()
    assert not measured, "measurements belong in docs/measurements/ (with their command):\n" + "\n".join(measured)


def test_allow_list_is_not_stale() -> None:
    _, _, used = repo_offenders()
    assert used == ALLOWED, f"no longer needed, remove from ALLOWED: {sorted(ALLOWED - used)}"


def test_the_check_catches_what_it_names(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "bot").mkdir()
    (tmp_path / "index" / "bad.py").write_text(
        '"""Summary.\n\nOne.\nTwo.\nThree.\n"""\n\n'
        'LIMIT = 5\n"""Chosen on seed-7: H@1 0.835 → 0.842, p50 12 ms."""\n'
        "x = 1  # recall@10 0.993 at 4 M vectors, 1.5 GB RSS\n"
    )
    (tmp_path / "bot" / "good.py").write_text('"""Summary.\n\nThe reason, in two\nlines."""\n')
    long, measured, _ = offenders(tmp_path)
    assert long == ["index/bad.py:1: 4 lines: Summary."]
    found = {entry.split(": ", 1)[1] for entry in measured}
    assert found == {"'seed-7'", "'H@1 0'", "'0.835 → 0'", "'p50 1'", "'12 ms'", "'recall@10 0'", "'1.5 GB'"}
