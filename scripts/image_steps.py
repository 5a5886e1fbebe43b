"""Run the Dockerfile's build and start steps without a container engine (see image-steps.sh).

A clean ``git clone`` of the repository is the build context; ``--worktree`` lays the working
tree's uncommitted files over it (what the next commit will hold), so the steps can be checked
before committing. A fresh venv stands in for the base image's Python. The Dockerfile is read, not
copied: ARG, ENV, WORKDIR, COPY and RUN are carried out in order, with container paths (``/app/...``)
mapped into the temporary root; an ARG takes its value from this environment, as ``--build-arg``
would (``TORCH_INDEX_URL=... bash scripts/image-steps.sh``); a RUN line after ``# image-steps: skip``
is left out (it needs root), and so is ``PIP_NO_CACHE_DIR`` (the local pip cache makes the run
minutes, not tens of them).
Then the start steps: the HEALTHCHECK command must exit 0 and ``policybot ask`` must answer.
Only the standard library: it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKIP_MARK = "# image-steps: skip"
QUESTION = "Who attended the White House cybersecurity meeting?"  # the README's AFP example
EXPECT = "Pichai"


@dataclass
class Step:
    kind: str
    args: str
    skip: bool = False


def parse(dockerfile: str) -> list[Step]:
    """Instructions in order, continuation lines joined; ``skip`` set by the marker comment."""
    steps: list[Step] = []
    skip_next = False
    buffer = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not buffer and line.startswith("#"):
            skip_next = skip_next or line.startswith(SKIP_MARK)
            continue
        if not line and not buffer:
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        text = (buffer + line).strip()
        buffer = ""
        kind, _, args = text.partition(" ")
        steps.append(Step(kind.upper(), args.strip(), skip_next))
        skip_next = False
    return steps


def words(args: str) -> list[str]:
    """Exec form (a JSON list) or shell words."""
    if args.startswith("["):
        return [str(w) for w in json.loads(args)]
    return shlex.split(args)


class Runner:
    def __init__(self, root: Path, context: Path, python: str) -> None:
        self.root = root
        self.context = context
        self.venv = root / "venv"
        self.workdir = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYBOT_", "DISCORD_", "VIRTUAL_ENV"))}
        self.env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["HOME"] = str(root / "home")
        self.healthcheck: list[str] = []
        self.cmd: list[str] = []
        run([python, "-m", "venv", str(self.venv)])

    def path(self, container_path: str) -> Path:
        """A container path inside the temporary root; relative paths are under WORKDIR."""
        return self.root / container_path.lstrip("/") if container_path.startswith("/") else self.workdir / container_path

    def do(self, step: Step) -> None:
        if step.kind == "ARG":  # a build argument: from this environment, as `--build-arg NAME` would pass it
            name, _, default = step.args.partition("=")
            self.env[name] = os.environ.get(name, default.strip('"'))
        elif step.kind == "ENV":
            for pair in shlex.split(step.args):
                key, _, value = pair.partition("=")
                if key == "PIP_NO_CACHE_DIR":
                    continue
                self.env[key] = str(self.path(value)) if value.startswith("/") else value
        elif step.kind == "WORKDIR":
            self.workdir = self.path(step.args)
            self.workdir.mkdir(parents=True, exist_ok=True)
        elif step.kind == "COPY":
            *sources, dest = words(step.args)
            target = self.path(dest)
            into_dir = dest.endswith("/") or len(sources) > 1
            for source in sources:
                src = self.context / source
                dst = target / src.name if into_dir and not src.is_dir() else target
                dst.parent.mkdir(parents=True, exist_ok=True)
                if src.is_dir():
                    shutil.copytree(src, dst, dirs_exist_ok=True)  # Docker copies a folder's contents
                else:
                    shutil.copy2(src, dst)
        elif step.kind == "RUN":
            run(["bash", "-euo", "pipefail", "-c", step.args], cwd=self.workdir, env=self.env)
        elif step.kind == "VOLUME":
            for volume in words(step.args):
                self.path(volume).mkdir(parents=True, exist_ok=True)
        elif step.kind == "HEALTHCHECK":
            _, _, command = step.args.partition("CMD ")
            self.healthcheck = words(command.strip())
        elif step.kind == "CMD":
            self.cmd = words(step.args)

    def start(self) -> None:
        """The container's start: its HEALTHCHECK, then a question through the installed command."""
        if not self.healthcheck:
            raise SystemExit("image-steps: the Dockerfile has no HEALTHCHECK CMD")
        run(self.healthcheck, cwd=self.workdir, env=self.env)
        out = run(["policybot", "ask", QUESTION, "--json"], cwd=self.workdir, env=self.env, capture=True)
        answer = json.loads(out)
        if not answer.get("answerable") or EXPECT not in answer.get("answer", "") or not answer.get("sources"):
            raise SystemExit(f"image-steps: unexpected answer: {out[:800]}")
        print(f"image-steps: policybot ask answered: {answer['answer'][:300]!r} [{answer['index_version']}]", flush=True)


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, capture: bool = False) -> str:
    started = time.monotonic()
    print(f"image-steps: $ {shlex.join(cmd)}", flush=True)
    result = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE if capture else None)
    print(f"image-steps:   exit {result.returncode} in {time.monotonic() - started:.1f} s", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"image-steps: step failed: {shlex.join(cmd)}")
    return result.stdout or ""


def clean_context(root: Path, worktree: bool) -> Path:
    context = root / "context"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(context)])
    if worktree:  # the working tree's changes over the clone: tracked, new (not ignored), deleted
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True,
        ).stdout.decode().split("\0")
        for name in filter(None, listed):
            src, dst = REPO / name, context / name
            if src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
            elif dst.exists():
                dst.unlink()
    return context


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worktree", action="store_true", help="include uncommitted changes of the working tree")
    parser.add_argument("--keep", action="store_true", help="keep the temporary root (printed) for inspection")
    parser.add_argument("--python", default=shutil.which("python3.11") or sys.executable, help="the base image's Python")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="policybot-image-"))
    started = time.monotonic()
    try:
        context = clean_context(root, args.worktree)
        runner = Runner(root, context, args.python)
        for step in parse((context / "Dockerfile").read_text()):
            if step.skip:
                print(f"image-steps: skipped (needs root): {step.kind} {step.args}", flush=True)
                continue
            runner.do(step)
        runner.start()
    finally:
        if args.keep:
            print(f"image-steps: kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"image-steps: OK in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
