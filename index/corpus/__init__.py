"""Articles as files: reading, writing, editing, the one HTML extractor, and sentence chunking."""

from index.corpus._chunking import (
    BODY,
    BYLINE,
    CAPTION,
    CREDIT,
    DATELINE,
    Chunked,
    DraftChunk,
    TokenBudget,
    TokenCounter,
    chunk_article,
    chunking_signature,
    embedding_text,
    estimate_tokens,
    labelled,
    split_sentences,
)
from index.corpus._html import Extracted, extract_article
from index.corpus._read import (
    SUFFIXES,
    article_id_for,
    iter_corpus_files,
    load_article,
    load_corpus,
    parse_article,
    parse_front_matter,
    read_article_bytes,
)
from index.corpus._sealed import seal_library_downloads
from index.corpus._service import Corpus
from index.corpus._write import CorpusStems, free_stem, render_markdown, slugify, write_if_changed, write_new

__all__ = [
    "BODY",
    "BYLINE",
    "CAPTION",
    "CREDIT",
    "DATELINE",
    "SUFFIXES",
    "Chunked",
    "Corpus",
    "CorpusStems",
    "DraftChunk",
    "Extracted",
    "TokenBudget",
    "TokenCounter",
    "article_id_for",
    "chunk_article",
    "chunking_signature",
    "embedding_text",
    "estimate_tokens",
    "extract_article",
    "free_stem",
    "iter_corpus_files",
    "labelled",
    "load_article",
    "load_corpus",
    "parse_article",
    "parse_front_matter",
    "read_article_bytes",
    "render_markdown",
    "seal_library_downloads",
    "slugify",
    "split_sentences",
    "write_if_changed",
    "write_new",
]
