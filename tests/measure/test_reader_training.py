"""The reader's training and evaluation scripts stay runnable (CI never trains: their help must work)."""

from __future__ import annotations

import pytest

from measure.reader import evaluate, train


@pytest.mark.parametrize("module", [train, evaluate])
def test_the_scripts_parse_their_options(module: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        module.main(["--help"])  # type: ignore[attr-defined]
    assert stop.value.code == 0 and "usage" in capsys.readouterr().out

