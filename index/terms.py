"""Words of a question that carry meaning: for the FTS5 query and for lexical overlap scores."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "else", "ever", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "tell", "say", "said", "says", "give", "list", "name", "named", "many", "much", "happen", "happened", "happens", "according", "article", "news", "report", "reported", "anyone", "someone", "something", "thing", "things", "know", "known", "get", "got", "make", "made", "take", "took", "one", "ones", "kind", "type", "else", "whats", "wasnt", "didnt", "dont", "isnt", "arent"]
)

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-']*[A-Za-z0-9]|[A-Za-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, keeping ids like ``cve-2021-44228`` and ``14028`` whole."""
    return [_plain(t) for t in _TOKEN.findall(text)]


def _plain(token: str) -> str:
    """Lower case, outer dots and quotes off, and a possessive dropped ("Pipeline's" → "pipeline")."""
    word = token.lower().strip(".'")
    return word[:-2] if word.endswith("'s") and len(word) > 3 else word


def cased_tokens(text: str) -> list[tuple[str, str]]:
    """``(lower-cased token, token as written)`` pairs, for telling names from common words."""
    return [(_plain(t), t) for t in _TOKEN.findall(text)]


def content_terms(text: str) -> list[str]:
    """Distinct non-stopword tokens in order of first appearance."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        keep = len(token) >= 2 if token.isdigit() else bool(token) and token not in STOPWORDS
        if keep:
            seen.setdefault(token, None)
    return list(seen)


def fts_query(terms: list[str]) -> str | None:
    """An FTS5 MATCH expression: any term may match; BM25 ranks by how many and how rare.

    Each term is quoted, so punctuation inside it (``CVE-2021-44228``, ``U.S.``) becomes an exact
    phrase of its parts instead of FTS5 syntax.
    """
    quoted = []
    for term in terms:
        clean = re.sub(r"[^\w]+", " ", term).strip()
        if clean:
            quoted.append('"' + clean + '"')
    return " OR ".join(quoted) if quoted else None


def stem(token: str) -> str:
    """A light suffix stripper, enough to match 'attended' with 'attending' in overlap scores."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "s", "ly"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token
