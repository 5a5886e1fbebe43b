"""Citation tidying and the prompt."""

from __future__ import annotations

from datetime import date

from index.generation._citations import cited, strip_markers, tidy
from index.generation._prompt import build_messages
from index.generation._types import Passage


def test_tidy_moves_markers_before_the_full_stop() -> None:
    assert tidy("Yes. [1] It met in Washington, D.C. on Wednesday [1, 2].  Done[3] .") == (
        "Yes [1]. It met in Washington, D.C. on Wednesday [1][2]. Done [3]."
    )
    assert tidy("Answer: It paid [Passage 2].No more [2-3]") == "It paid [2]. No more [2][3]."
    assert tidy("A [1] [2] , b [3].") == "A [1][2], b [3]."
    assert tidy("It applies from 2027 [1]., [2], [3]") == "It applies from 2027 [1][2][3]."  # seen from Qwen 1.5B
    assert tidy("Yes\nBiden signed it. [1]\n\nIt passed [2].") == "Yes. Biden signed it [1]. It passed [2]."


def test_cited_and_strip() -> None:
    assert cited("A [2][1]. B [2].") == [2, 1]
    assert strip_markers("Yes [1]. It paid $4.4 million [2][3].") == "Yes. It paid $4.4 million."


def test_prompt_holds_only_the_numbered_passages_and_the_rules() -> None:
    passages = [
        Passage(1, "Title one", "AFP", date(2021, 8, 25), "First text."),
        Passage(2, "Title two", "", None, " Second text. "),
    ]
    messages = build_messages(" Did it happen? ", passages)
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    for rule in ("ONLY the numbered passages", "square brackets", "I cannot tell", "at most 4 sentences"):
        assert rule in system
    assert "Yes" not in system and 'Begin with "Yes" or "No"' in user
    assert "[1] Title one (AFP, 2021-08-25)\nFirst text." in user
    assert "[2] Title two\nSecond text." in user
    assert user.index("[1] Title one") < user.index("[2] Title two") < user.index("Question: Did it happen?")
    assert "Cite them as [1], [2]." in user


def test_yes_no_is_asked_for_only_on_yes_no_questions() -> None:
    passages = [Passage(1, "t", "s", None, "x")]
    assert 'Begin with "Yes" or "No"' in build_messages("Was it paid in bitcoin?", passages)[1]["content"]
    assert "Yes" not in build_messages("Who paid?", passages)[1]["content"]
    assert "Cite it as [1]." in build_messages("Who paid?", passages)[1]["content"]
    assert "Yes" not in build_messages("Island nations?", passages)[1]["content"]
