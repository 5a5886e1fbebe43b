"""Saved questions (``/watch``) are scored against every poll's new articles, so each question's
vector is encoded once per model and kept, keyed by (question text, model signature), instead of
being encoded again at every poll."""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from typing import Any, Protocol

import numpy as np

MAX_QUESTIONS = 4096
"""Vectors kept per model; the least recently used question is encoded again when it returns."""


class QueryEncoder(Protocol):
    def signature(self) -> dict[str, Any]: ...

    def encode_query(self, text: str) -> np.ndarray: ...


class _Vectors:
    """One model's question vectors, least recently used first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


_BY_MODEL: weakref.WeakKeyDictionary[Any, _Vectors] = weakref.WeakKeyDictionary()
_BY_MODEL_LOCK = threading.Lock()


def question_vector(encoder: QueryEncoder, text: str) -> np.ndarray:
    """``encoder.encode_query(text)``, encoded once per loaded model (the cache lives and dies with
    the model object, so a test's fake or a reloaded model never sees another one's vectors)."""
    try:
        with _BY_MODEL_LOCK:
            cache = _BY_MODEL.setdefault(encoder, _Vectors())
    except TypeError:  # a model object that cannot be weakly referenced: encode every time
        return encoder.encode_query(text)
    key = (text, json.dumps(encoder.signature(), sort_keys=True, default=str))
    with cache.lock:
        vector = cache.vectors.get(key)
        if vector is not None:
            cache.vectors.move_to_end(key)
            return vector
    vector = np.array(encoder.encode_query(text), copy=True)
    vector.setflags(write=False)  # shared by every later poll: nobody may change it in place
    with cache.lock:
        cache.vectors[key] = vector
        while len(cache.vectors) > MAX_QUESTIONS:
            cache.vectors.popitem(last=False)
    return vector
