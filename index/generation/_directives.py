"""Links and instructions in a written answer, the two things an article's author could smuggle in
past the fact check, are allowed only as a verbatim quote of the passage the sentence cites;
anything else fails the check, and the quoted answer (rendered without links) is sent instead."""

from __future__ import annotations

import re

_LINK = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]{1,15}://\S+)"  # any scheme: http, https, ftp, javascript...
    r"|(?:\bwww\.[^\s]+)"
    r"|(?:\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"  # e-mail addresses
    r"|(?:(?<![\w@.])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b(?:/[^\s]*)?)",
    re.I,
)
"""URLs with any scheme, ``www.`` hosts, e-mail addresses and bare host names ("evil.example/login")."""

_NOT_HOSTS = frozenset({"e.g", "i.e", "u.s", "u.k", "a.m", "p.m"})

_IMPERATIVE = (
    "visit|click|tap|go to|head to|navigate to|call|phone|text|email|e-mail|contact|message|dm|write to|send|"
    "download|install|run|execute|open|reset|change your|update your|log in|login|log on|sign in|sign up|"
    "enter|type|paste|reply|respond|share|forward|ignore|disregard|forget|follow|pay|transfer|wire|buy|"
    "purchase|subscribe|register|scan|check out|verify|confirm|provide|submit|act now|do not tell|don't tell"
)
_INSTRUCTION = re.compile(
    rf"^(?:(?:please|now|first|then|just|simply|immediately|kindly)[,\s]+)*(?:{_IMPERATIVE})\b"
    r"|\byou (?:should|must|need to|have to|ought to|are required to|may want to|will need to)\b"
    r"|\bplease\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:previous|prior|above|earlier|preceding)\b",
    re.I,
)
"""A sentence that tells the reader (or the model) to do something, rather than reporting news."""


def _norm(text: str) -> str:
    """Lower case, straight quotes, single spaces: the form quotes are compared in."""
    s = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').casefold()
    return re.sub(r"\s+", " ", s).strip()


def _host_form(link: str) -> str:
    """A link without scheme, ``www.`` and trailing punctuation: "https://www.X.gov/a." → "x.gov/a"."""
    s = _norm(link).rstrip(".,;:!?)]}'\"")
    s = re.sub(r"^[a-z][a-z0-9+.-]*://", "", s)
    return s.removeprefix("www.")


def links(text: str) -> list[str]:
    """Every link-like token of ``text`` as written (abbreviations such as "U.S." are not links)."""
    found = []
    for m in _LINK.finditer(text):
        token = m.group(0).rstrip(".,;:!?)]}'\"")
        if _norm(token) in _NOT_HOSTS or re.fullmatch(r"[\d.]+", token):
            continue
        found.append(token)
    return found


def unsupported_link(sentence: str, passage_text: str) -> str | None:
    """The first link of ``sentence`` that its cited passages do not contain, else None."""
    source = _norm(passage_text)
    source_hosts = {_host_form(link) for link in links(passage_text)}
    for link in links(sentence):
        form = _host_form(link)
        if form not in source_hosts and form not in source:
            return link
    return None


def is_instruction(sentence: str) -> bool:
    """Whether a (marker-free) sentence tells its reader to do something."""
    return bool(_INSTRUCTION.search(sentence.strip(" \"'“‘(")))


def quoted_verbatim(sentence: str, passage_text: str) -> bool:
    """Whether the sentence's words (without its closing punctuation) stand in the passage as written."""
    body = _norm(sentence).strip(" \"'.!?")
    return bool(body) and body in _norm(passage_text)
