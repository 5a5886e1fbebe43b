"""make_backend, the orchestrator's handling of misbehaving backends, and the optional GGUF backend."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from index.generation._backend import Backend, make_backend
from index.generation._gguf import GgufBackend
from index.generation._openai_compat import OpenAICompatible
from index.generation._types import GenerationError, Passage
from index.generation._writer import write_answer


def test_make_backend(tmp_path: Path) -> None:
    assert make_backend(None, None, None, None, 1) is None
    assert make_backend("", "m", "k", "", 1) is None
    backend = make_backend("http://127.0.0.1:11434/v1", "qwen", "secret", None, 1)
    assert isinstance(backend, OpenAICompatible) and isinstance(backend, Backend)
    assert backend.name == "openai:qwen"
    with pytest.raises(ValueError, match="not both"):
        make_backend("http://127.0.0.1:1/v1", "m", None, str(tmp_path / "m.gguf"), 1)
    with pytest.raises(ValueError, match="not found"):
        make_backend(None, None, None, str(tmp_path / "missing.gguf"), 1)


class Broken:
    name = "broken"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def complete(self, messages: list[dict[str, str]], *, timeout: float) -> str:
        raise self.error


class Late:
    name = "late"

    def complete(self, messages: list[dict[str, str]], *, timeout: float) -> str:
        import time

        time.sleep(timeout + 0.05)  # ignores its deadline: the answer must still not be used
        return "Yes [1]."


PASSAGES = [Passage(1, "t", "s", date(2021, 1, 1), "It happened.")]


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (Broken(GenerationError("HTTP 503")), "HTTP 503"),
        (Broken(RuntimeError("bug")), "backend failed (RuntimeError)"),
        (Late(), "timeout after 0.1 s"),
    ],
)
def test_backend_failures_never_raise(backend: Any, reason: str) -> None:
    written = write_answer("Did it?", PASSAGES, backend, budget_s=0.1)
    assert (written.generated, written.checker, written.text, written.backend) == (False, reason, "", backend.name)


GGUF = os.environ.get("POLICYBOT_TEST_GGUF", "")


@pytest.mark.slow
@pytest.mark.skipif(not GGUF or not Path(GGUF).is_file(), reason="set POLICYBOT_TEST_GGUF to a GGUF model file")
def test_gguf_backend_writes_a_checked_answer(nlp: Any) -> None:
    pytest.importorskip("xllamacpp")
    backend = make_backend(None, None, None, GGUF, 1)
    assert isinstance(backend, GgufBackend)
    passages = [
        Passage(1, "CIRCIA signed", "policybot sample", date(2022, 3, 15),
                "President Joe Biden signed the Cyber Incident Reporting for Critical Infrastructure Act on March 15, 2022."),
    ]  # fmt: skip
    written = write_answer("Who signed CIRCIA?", passages, backend, budget_s=120)
    assert written.backend.startswith("gguf:")
    assert written.draft, written.checker
    assert written.checker == "passed", written.draft
    assert "Biden" in written.text and written.citations == (1,)
    with pytest.raises(GenerationError, match=r"timeout after 0\.5 s"):
        backend.complete([{"role": "user", "content": "Count from 1 to 300, one number a line."}], timeout=0.5)


def test_gguf_backend_repr_and_missing_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    backend = GgufBackend("/nowhere/model.gguf", 0)
    assert backend.threads == 1 and backend.name == "gguf:model.gguf"
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(GenerationError, match="xllamacpp is not installed"):
        backend.complete([{"role": "user", "content": "hi"}], timeout=1)
