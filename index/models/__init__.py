"""Every neural model the engine runs, made in one factory from the settings."""

from index.models._cross_encoder import Reranker
from index.models._embedder import EncodedChunk, Encoder, Span
from index.models._factory import Models, make_embedder, make_reader, make_rescorer
from index.models._ner import ner
from index.models._reader import (
    READER_CONFIG,
    WEIGHTS_FILE,
    Reader,
    ReaderConfig,
    Reading,
    TextReader,
    build_network,
    encode,
    verify,
    write_manifest,
)
from index.models._tokens import token_budget

__all__ = [
    "READER_CONFIG",
    "WEIGHTS_FILE",
    "EncodedChunk",
    "Encoder",
    "Models",
    "Reader",
    "ReaderConfig",
    "Reading",
    "Reranker",
    "Span",
    "TextReader",
    "build_network",
    "encode",
    "make_embedder",
    "make_reader",
    "make_rescorer",
    "ner",
    "token_budget",
    "verify",
    "write_manifest",
]
