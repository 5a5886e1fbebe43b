"""A first `policybot run` where nobody can type (as under compose) and no token is set: a set-up
message and exit 2, without loading the model; the real console script, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

SHIM = REPO / "tests" / "bot" / "shim"
MODEL_MODULES = ("torch", "sentence_transformers", "transformers")


def policybot() -> list[str]:
    script = Path(sys.executable).with_name("policybot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def first_run(tmp_path: Path, *, close_stdin: bool) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``policybot run`` with no token anywhere (no .env in its folder); returns it and its imported modules."""
    modules_out = tmp_path / "modules.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYBOT_", "DISCORD_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(SHIM), str(REPO)]),
        TEST_MODULES_OUT=str(modules_out),
        POLICYBOT_DATA=str(tmp_path / "data"),
        POLICYBOT_CORPUS=str(tmp_path / "corpus"),
    )
    command = [*policybot(), "run"]
    if close_stdin:  # fd 0 closed outright, not even /dev/null
        command = ["sh", "-c", 'exec "$@" <&-', "sh", *command]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    return result, set(modules_out.read_text().split())


@pytest.mark.parametrize("close_stdin", [False, True], ids=["stdin-devnull", "stdin-closed"])
def test_run_without_token_or_terminal_explains_the_setup_and_exits_2(tmp_path: Path, close_stdin: bool) -> None:
    result, modules = first_run(tmp_path, close_stdin=close_stdin)
    assert result.returncode == 2, result.stderr
    message = result.stderr
    for needed in ("DISCORD_TOKEN", ".env.example", ".env", "docs/discord-setup.md", "policybot chat"):
        assert needed in message, needed
    assert message.strip().count("\n") == 0  # one paragraph
    assert "Traceback" not in message and result.stdout == ""
    assert "bot.cli" in modules  # the module list is the real process's
    assert not [m for m in MODEL_MODULES if m in modules]  # the model was never loaded
    assert not (tmp_path / "data").exists()  # nor an index built


def test_a_blank_token_counts_as_no_token(tmp_path: Path) -> None:
    from bot.config import BotSettings

    assert BotSettings(_env_file=None, discord_token="  ").token() is None  # type: ignore[call-arg]
    assert BotSettings(_env_file=None, discord_token="abc").token() == "abc"  # type: ignore[call-arg]
