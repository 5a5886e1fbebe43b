"""Every neural model the engine runs, made in one factory from the settings."""

from index.models._cross_encoder import Reranker
from index.models._embedder import EncodedChunk, Encoder, Span
from index.models._factory import Models, make_embedder, make_rescorer
from index.models._ner import ner
from index.models._tokens import token_budget

__all__ = ["EncodedChunk", "Encoder", "Models", "Reranker", "Span", "make_embedder", "make_rescorer", "ner", "token_budget"]
