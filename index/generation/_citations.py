"""Citation markers: reading [n] (and the variants small models write) and tidying their spacing.

The tidy form is the one the checker reads and the caller sends: one ``[n]`` per cited passage,
a space before it, and the markers before the sentence's full stop ("attended [1][2].").
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[\s*(?:passages?|sources?)?\s*(\d+(?:\s*(?:,|;|-|–|and)\s*(?:passages?\s*)?\d+)*)\s*\]", re.I)
_CANONICAL = re.compile(r"\[(\d+)\]")
_RUN = r"(?:\[\d+\])+"


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group):
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 20:
            out += list(range(bounds[0], bounds[1] + 1))
        else:
            out += bounds
    return out


def canonical(text: str) -> str:
    """Rewrite "[1, 2]", "[1-2]", "[Passage 1]" as "[1][2]"."""
    return _MARKER.sub(lambda m: "".join(f"[{n}]" for n in _numbers(m.group(1))), text)


def tidy(text: str) -> str:
    """One line, canonical markers placed before the terminal punctuation, normal spacing."""
    s = re.sub(r"^\s*(?:answer|a)\s*:\s*", "", text.strip(), flags=re.I)
    s = " ".join(_end_line(line) for line in s.splitlines() if line.strip())
    s = canonical(re.sub(r"\s+", " ", s))
    s = re.sub(r"\](\.?)\s*[,;]\s*(?=\[\d+\])", r"]\1", s)  # "[1], [2]" and "[1]., [2]" are one run
    s = re.sub(rf"([.!?])((?:\s*{_RUN})+)", lambda m: re.sub(r"\s+", "", m.group(2)) + m.group(1), s)
    s = re.sub(r"(?<=[^\s\]])(\[\d+\])", r" \1", s)  # "word[1]" → "word [1]"
    s = re.sub(r"\]\s+\[", "][", s)  # "[1] [2]" → "[1][2]"
    s = re.sub(r"\s+([.,;:!?])", r"\1", s)
    s = re.sub(r"(?<=\])([.!?])(?=[A-Z\"“])", r"\1 ", s)  # "[1].No" → "[1]. No"
    return re.sub(r"\s+", " ", s).strip()


def _end_line(line: str) -> str:
    """A line break ends a sentence: "Yes", a line break, "Biden signed [1]" is "Yes. Biden signed [1]"."""
    m = re.fullmatch(r"(.*?)((?:\s*\[[^\]]*\])*)", line.strip())
    body, markers = (m.group(1), m.group(2)) if m else (line.strip(), "")
    if body and body[-1] not in ".!?:;,":
        body += "."
    return body + markers


def cited(text: str) -> list[int]:
    """The passage numbers a (tidy) text cites, in order of first citation."""
    seen: list[int] = []
    for m in _CANONICAL.finditer(canonical(text)):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """The text without its markers: what spaCy and the number patterns should read."""
    s = _CANONICAL.sub("", canonical(text))
    s = re.sub(r"\s+([.,;:!?])", r"\1", s)
    return re.sub(r"\s+", " ", s).strip()
