"""The README's and docs/' promises that code can check: the settings table, `.env.example`, the
packages named, links and named tests that exist, and numbers quoted from the measurement files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from bot.config import BotSettings

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, REPO / "SECURITY.md", *sorted(DOCS.rglob("*.md"))]
CONFIGURATION = DOCS / "configuration.md"
ENV_EXAMPLE = REPO / ".env.example"


def env_name(field: FieldInfo) -> str:
    return str(getattr(field.validation_alias, "choices", [None])[0])


def settings() -> dict[str, FieldInfo]:
    """Every setting by its documented environment name (the bot's contain the engine's)."""
    return {env_name(field): field for field in BotSettings.model_fields.values()}


def table_rows(text: str) -> dict[str, list[str]]:
    """Rows of every table whose first cell is one backticked name: name -> the other cells."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([A-Z][A-Z0-9_]+)`", cells[0]) if line.startswith("|") else None
        if match:
            assert match[1] not in rows, f"{match[1]} has two rows"
            rows[match[1]] = cells[1:]
    return rows


def configuration_rows() -> dict[str, list[str]]:
    text = CONFIGURATION.read_text(encoding="utf-8")
    return table_rows(text[: text.index("## Not settings of the bot")])


def test_every_setting_has_one_row_in_the_configuration_table_and_every_row_is_a_setting() -> None:
    documented, real = set(configuration_rows()), set(settings())
    assert real - documented == set(), "settings without a row"
    assert documented - real == set(), "rows that are no setting"
    assert len(real) > 50  # the bot's settings contain the engine's


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_configuration_table_gives_each_settings_default() -> None:
    rows = configuration_rows()
    for name, field in settings().items():
        cell = rows[name][0]
        if field.default_factory is not None or field.default is None:
            assert cell.startswith("unset"), f"{name}: {cell}"
        else:
            assert cell == f"`{shown(field.default)}`", f"{name}: {cell} (default {field.default!r})"


def env_example_names() -> list[str]:
    names = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            names.append(match[1])
    return names


def test_every_name_in_env_example_is_a_real_setting() -> None:
    names = env_example_names()
    assert [n for n in names if n not in settings()] == []
    assert len(names) == len(set(names)), "a name appears twice"


def test_env_example_holds_what_a_deployer_touches_and_sets_only_the_token() -> None:
    names = set(env_example_names())
    touched = {"DISCORD_TOKEN", "POLICYBOT_HOME_GUILDS", "POLICYBOT_MODERATOR_ROLE", "POLICYBOT_FEEDS_POLL_SECONDS",
               "POLICYBOT_ANSWERS", "POLICYBOT_LLM_URL", "POLICYBOT_LLM_KEY", "POLICYBOT_MAX_CONCURRENT",
               "POLICYBOT_DATA", "POLICYBOT_CORPUS", "POLICYBOT_METRICS_PORT"}
    assert touched - names == set()
    active = [line for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines() if re.match(r"[A-Z]", line)]
    assert active == ["DISCORD_TOKEN="]  # everything else stays at its default until uncommented


def test_env_example_parses_as_settings_when_every_line_is_uncommented(tmp_path: Path, monkeypatch: Any) -> None:
    """The example values are valid: uncommented, they load without a validation error."""
    lines = [re.sub(r"^#\s*(?=[A-Z][A-Z0-9_]+=)", "", line) for line in ENV_EXAMPLE.read_text().splitlines()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in settings():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    loaded = BotSettings()
    assert loaded.token() in (None, "")


def readme_lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def test_the_readme_is_short_and_its_first_60_lines_get_a_user_to_a_first_question() -> None:
    lines = readme_lines()
    assert len(lines) <= 250
    head = "\n".join(lines[:60])
    for needed in ("Python 3.11", "bash scripts/run.sh", "Developer Portal",
                   ".env.example", "DISCORD_TOKEN", "applications.commands", "docker compose up", "/ask",
                   "/feeds starter", "POLICYBOT_HOME_GUILDS", "POLICYBOT_LLM_URL"):
        assert needed in head, needed


def test_the_readme_keeps_the_two_commands_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "```\nbash scripts/run.sh\n```" in text
    assert "```\nbash scripts/test.sh\n```" in text
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def packages() -> list[str]:
    """The packages of index/, bot/ and measure/, and each feature of the bot."""
    inits = [*REPO.glob("index/*/__init__.py"), *REPO.glob("bot/*/__init__.py"), *REPO.glob("measure/*/__init__.py"),
             *REPO.glob("bot/features/*/__init__.py")]
    return sorted(init.parent.relative_to(REPO).as_posix() for init in inits)


def test_how_it_works_names_every_package() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("## How it works")
    section = text[start : text.index("\n## ", start + 1)]
    assert len(packages()) > 15
    assert [p for p in packages() if f"`{p}/`" not in section] == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(m[1]) for m in re.finditer(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_link_inside_the_repository_resolves(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            broken.append(target)
    assert broken == []


def named_tests(text: str) -> list[tuple[str, str | None]]:
    """``tests/x.py::test_y`` references; ``::test_z`` right after one means the same file."""
    found: list[tuple[str, str | None]] = []
    current = None
    for match in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`::(\w+)`", text):
        file, test, short = match.groups()
        current = file or current
        assert current, f"::{short} before any file"
        found.append((current, test or short))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_test_a_page_names_exists(page: Path) -> None:
    missing = []
    for file, test in named_tests(page.read_text(encoding="utf-8")):
        path = REPO / file
        if not path.exists():
            missing.append(file)
        elif test and not re.search(rf"def {test}\(", path.read_text(encoding="utf-8")):
            missing.append(f"{file}::{test}")
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_pages_point_nowhere_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for outside in (r"\.\./shared", r"/work/", r"~/models", r"\bissue[- ]\d", r"\bissue's\b"):
        assert not re.search(outside, text), outside


def test_the_quality_page_holds_the_table_made_from_the_measurement_files() -> None:
    from measure.eval.summary_table import RUNS, table

    assert len(list(RUNS.glob("*.json"))) == 4
    assert table() in (DOCS / "quality.md").read_text(encoding="utf-8")


def test_the_docs_exist_for_each_topic() -> None:
    for name in ("discord-setup", "configuration", "architecture", "quality", "performance", "written-answers",
                 "deployment", "reliability", "security", "commands", "articles"):
        assert (DOCS / f"{name}.md").is_file(), name
