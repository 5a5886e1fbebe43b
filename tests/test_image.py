"""The image: one lock file for scripts/setup.sh and the Dockerfile, with a hash for every pin and
torch's index as a setting; the Dockerfile's steps run for real (scripts/image-steps.sh) in a fresh
venv from a clean clone, and the lock installs hash-checked into a fresh venv."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)(?:\[(?P<extras>[^\]]*)\])?==(?P<version>[^\s\\;]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?\n")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: list[str]
    marker: str | None
    extras: frozenset[str]


def locked(name: str) -> dict[str, Pin]:
    """The pins of a lock file: ``name[extras]==version[ ; marker] \\`` then its ``--hash`` lines."""
    found: dict[str, Pin] = {}
    for block in re.split(r"\n(?=\S)", (REPO / name).read_text()):
        if block.startswith("#") or not block.strip():
            continue
        match = PIN.match(block + "\n")
        assert match, f"{name}: not an exact pin: {block[:80]!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
        extras = frozenset(e.strip() for e in (match["extras"] or "").split(",") if e.strip())
        found[match["name"]] = Pin(match["version"], hashes, match["marker"], extras)
    return found


def pins(name: str, *, here: bool = False) -> dict[str, str]:
    """name → version; with ``here``, only the pins whose marker holds on this Python."""
    return {
        package: pin.version
        for package, pin in locked(name).items()
        if not (here and pin.marker and not Marker(pin.marker).evaluate())
    }


def run_lines(text: str) -> list[str]:
    return [" ".join(line.removeprefix("RUN ").split()) for line in text.replace("\\\n", " ").splitlines() if line.startswith("RUN ")]


def test_the_lock_pins_what_the_tested_venv_runs() -> None:
    assert not set(pins("requirements.lock")) & set(pins("requirements-dev.lock"))
    runtime, dev = pins("requirements.lock", here=True), pins("requirements-dev.lock", here=True)
    assert runtime["torch"] == "2.13.0"  # no local label: the same pin whichever index serves the CPU build
    if os.environ.get("NO_TORCH"):  # scripts/test.sh --python X: a venv for the fast lane, without torch
        del runtime["torch"]
    for name, version in {**runtime, **dev}.items():
        installed = metadata.version(name)
        assert installed.split("+")[0] == version, (name, installed, version)
    declared = [re.split(r"[<>=\[; ]", r)[0] for r in metadata.requires("policybot") or [] if "extra ==" not in r]
    assert {canonicalize_name(d) for d in declared} <= set(pins("requirements.lock"))  # every dependency is pinned


def test_every_pin_carries_hashes_and_only_the_locks_pin_exactly() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        unhashed = [package for package, pin in locked(name).items() if not pin.hashes]
        assert unhashed == [], name
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    exact = [r for r in declared if any(s.operator in ("==", "===") for s in Requirement(r).specifier)]
    assert exact == []  # ranges in pyproject; the exact versions live in the lock files


def test_extras_that_locked_packages_ask_for_are_on_their_pins() -> None:
    """In hash-checking mode pip takes ``smart-open[http]`` (weasel asks for it) as a requirement of its
    own, refused unless the lock pins ``smart-open[http]==...``."""
    pinned = {**locked("requirements.lock"), **locked("requirements-dev.lock")}
    missing = []
    for name, pin in pinned.items():
        if (pin.marker and not Marker(pin.marker).evaluate()) or (name == "torch" and os.environ.get("NO_TORCH")):
            continue
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            if req.extras and (req.marker is None or req.marker.evaluate({"extra": ""})):
                dep = canonicalize_name(req.name)
                if not req.extras <= pinned[dep].extras:
                    missing.append(f"{name} asks for {dep}[{','.join(sorted(req.extras))}]")
    assert missing == []


def test_the_image_and_setup_install_the_same_lock_the_same_way() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ARG TORCH_INDEX_URL=""' in dockerfile  # empty: the configured index, as setup.sh
    steps = run_lines(dockerfile)
    assert steps[0].startswith('if [ -n "$TORCH_INDEX_URL" ]; then pip install --no-deps --index-url "$TORCH_INDEX_URL"')
    assert "grep -o '^torch==[^ ]*' requirements.lock" in steps[0]  # the torch pin is the lock's
    assert steps[1:3] == ["pip install --require-hashes -r requirements.lock", "pip install --no-deps ."]
    setup = (REPO / "scripts" / "setup.sh").read_text()
    header = setup.split("set -euo pipefail")[0]
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in header  # documented for public-index users
    order = [setup.index(s) for s in ('--index-url "$TORCH_INDEX_URL"', "--require-hashes", "--no-deps -e .")]
    assert order == sorted(order)
    assert "USER policybot" in dockerfile and 'VOLUME ["/app/data"' in dockerfile
    assert 'HEALTHCHECK' in dockerfile and 'CMD ["policybot", "health"]' in dockerfile


def test_the_image_takes_index_whole_and_leaves_measure_and_tests_out() -> None:
    copies = [line.split()[1:] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert ["index", "./index"] in copies  # the whole package folder: model files beside the code too
    sources = {source for copy in copies for source in copy[:-1]}
    assert not sources & {"measure", "tests", ".", "benchmarks"}
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not any(pattern.startswith("index") for pattern in ignored)


def opt_in(variable: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        os.environ.get(variable) != "1",
        reason=f"minutes of installing into a fresh venv: set {variable}=1 (opt-in, not in CI)",
    )


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the suite's 300 s default is shorter than the installs
@opt_in("POLICYBOT_IMAGE_TEST")
def test_image_steps_build_and_start_from_a_clean_clone() -> None:
    result = subprocess.run(
        ["bash", "scripts/image-steps.sh", "--worktree"], cwd=REPO, capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "image-steps: OK" in result.stdout and "policybot ask answered" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(3600)
@opt_in("POLICYBOT_LOCK_TEST")
def test_the_lock_installs_hash_checked_into_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", "requirements.lock"],
        cwd=REPO, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout
    frozen = {canonicalize_name(n): v.split("+")[0] for n, v in (line.split("==") for line in installed.split())}
    assert all(frozen.get(name) == version for name, version in pins("requirements.lock").items())
