"""Measurement is an optional extra: ``pip install .`` brings no matplotlib, the bot never loads
``measure``, and the measurement commands without the extra say how to install it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot import cli as bot_cli
from tests.support import REPO

PLOTTING = {"matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "pillow", "pyparsing"}
"""matplotlib and what only it needs among the locked packages."""


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]  # type: ignore[no-any-return]


def locked(name: str) -> set[str]:
    lines = (REPO / name).read_text().splitlines()
    return {line.split("==", 1)[0] for line in lines if line and not line.startswith("#")}


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def only_for_eval(requires: list[str]) -> None:
    """Every matplotlib requirement carries a marker that holds for the ``eval`` extra alone."""
    plots = [Requirement(r) for r in requires if canonicalize_name(Requirement(r).name) == "matplotlib"]
    assert plots, requires
    for req in plots:
        assert req.marker is not None, str(req)
        for extra in ("", "dev", "llm", "eval"):
            assert req.marker.evaluate({"extra": extra}) is (extra == "eval"), (str(req), extra)


def test_the_runtime_lock_and_dependencies_leave_out_matplotlib() -> None:
    project = pyproject()
    assert "matplotlib" not in names(project["dependencies"])  # type: ignore[arg-type]
    assert "matplotlib" in names(project["optional-dependencies"]["eval"])  # type: ignore[index]
    assert not locked("requirements.lock") & PLOTTING
    assert locked("requirements-dev.lock") >= PLOTTING  # setup.sh installs it: the tests measure too


def test_the_installed_metadata_asks_for_matplotlib_only_with_the_eval_extra() -> None:
    only_for_eval(metadata.requires("policybot") or [])


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_asks_for_matplotlib_only_with_the_eval_extra(tmp_path: Path) -> None:
    """What ``pip install .`` reads: the metadata (and the reader's weights) of a wheel built now,
    not the venv's editable install."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for package in ("index", "bot", "measure"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run([*build, "-w", str(tmp_path / "out"), str(src)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "out").glob("policybot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
        names = set(archive.namelist())
    shipped = {f"index/models/reader_weights/{p.name}" for p in (REPO / "index" / "models" / "reader_weights").iterdir()}
    assert shipped and shipped <= names  # the reader's weights, manifest and card install with the package
    only_for_eval([line.removeprefix("Requires-Dist: ") for line in lines if line.startswith("Requires-Dist: ")])


def test_the_extra_check_names_what_the_extra_installs() -> None:
    from measure import cli as measure_cli

    assert names(pyproject()["optional-dependencies"]["eval"]) == set(measure_cli.EXTRA_MODULES)  # type: ignore[index]


def test_the_placeholders_name_the_measurement_commands_as_measure_does() -> None:
    from measure import cli as measure_cli

    def commands(parser: object) -> dict[str, str]:
        sub = next(a for a in parser._actions if a.dest == "command")  # type: ignore[attr-defined]
        return {c.dest: c.help for c in sub._choices_actions}

    light, full = commands(bot_cli.build_parser()), commands(bot_cli.build_parser(measure_cli))
    assert light == full
    assert {name: light[name] for name in bot_cli.MEASURE_COMMANDS} == bot_cli.MEASURE_COMMANDS


def test_the_bot_and_the_engine_load_without_measure() -> None:
    """Every module of ``index`` and ``bot`` imported, and a bot command parsed: no measure, no matplotlib."""
    script = """
import importlib, json, pkgutil, sys
import bot, index
for package in (index, bot):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
from bot.cli import build_parser
build_parser().parse_args(["stats", "--data", "nowhere"])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("measure", "matplotlib"))))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("argv", [["eval", "squad-v1", "--limit", "3"], ["eval", "--help"], ["bench"], ["bench-feeds", "--dedup-only"]])
def test_without_the_extra_the_measurement_commands_say_how_to_install_it(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an interpreter without matplotlib finds
    assert bot_cli.main(argv) == 2
    assert "install the eval extra: pip install 'policybot[eval]'" in capsys.readouterr().err


def test_without_the_measure_package_the_commands_say_so_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "measure", None)  # an image that copies index/ and bot/ only
    assert bot_cli.main(["bench", "--articles", "3"]) == 2
    assert "pip install 'policybot[eval]'" in capsys.readouterr().err


def test_with_the_extra_a_measurement_command_parses_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        bot_cli.main(["eval", "--help"])
    assert exit_.value.code == 0
    assert "--sample" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        bot_cli.main(["stats", "--sample", "3"])  # the options of eval belong to eval only
    assert exit_.value.code == 2
