"""The reader: a small cross-encoder that reads a question with a passage and points at its answer words.

Relevance and span heads over ``[CLS] question [SEP] title \\n passage [SEP]``; ``[CLS]`` is the null
span. Details in ``reader_weights/MODEL_CARD.md``; training lives in ``measure/reader``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from index.errors import ReaderWeightsError
from index.models._embedder import native_bfloat16

WEIGHTS = Path(__file__).with_name("reader_weights")
"""The weights shipped with the package (fp16 safetensors, tokenizer, thresholds, manifest)."""
MANIFEST = "SHA256SUMS"
READER_CONFIG = "reader.json"
WEIGHTS_FILE = "model.safetensors"
REQUIRED = (WEIGHTS_FILE, READER_CONFIG, "config.json", "tokenizer.json")
PRECISIONS = ("auto", "float32", "bfloat16")
READER_OFF = "off"
"""``POLICYBOT_READER_MODEL=off``: no reader, so no short answers."""


@dataclass(frozen=True)
class Reading:
    """What the reader found in one passage (one per passage, in input order).

    ``answer_score`` is the best span's score minus the null span's; ``span`` is (start, end)
    character offsets into the passage text (not the title), or None when no span fits.
    """

    relevance: float
    answer_score: float
    span: tuple[int, int] | None


@dataclass(frozen=True)
class ReaderConfig:
    """The settings saved beside the weights (``reader.json``); thresholds are calibrated on
    held-out articles and decide when the best reading is no answer at all."""

    max_length: int = 192
    max_question_tokens: int = 64
    max_answer_tokens: int = 30
    relevance_threshold: float = 0.0
    precision: str = "auto"  # auto: bfloat16 where the CPU has it natively, else float32
    batch_size: int = 16

    @classmethod
    def load(cls, folder: Path) -> ReaderConfig:
        data = json.loads((folder / READER_CONFIG).read_text(encoding="utf-8"))
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class TextReader(Protocol):
    """What the ask path needs of a reader (a fake one serves tests that count calls)."""

    @property
    def relevance_threshold(self) -> float: ...

    def read(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Reading]: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> None:
    """Record the sha256 of every file in the weights folder (what :func:`verify` checks)."""
    lines = [f"{sha256_file(p)}  {p.name}" for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST]
    (folder / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


def verify(folder: Path) -> None:
    """Refuse weights that are missing or differ from their manifest: a damaged or swapped model
    would silently give wrong answers."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise ReaderWeightsError(f"The reader weights in {folder} have no {MANIFEST} manifest; reinstall them.")
    entries = [line.split(maxsplit=1) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(len(e) != 2 for e in entries):
        raise ReaderWeightsError(f"The reader manifest {manifest} is malformed; reinstall the weights.")
    names = {name.strip() for _, name in entries}
    for required in REQUIRED:
        if required not in names:
            raise ReaderWeightsError(f"The reader manifest in {folder} does not list {required}; reinstall the weights.")
    for expected, name in entries:
        path = folder / name.strip()
        if not path.is_file():
            raise ReaderWeightsError(f"Reader file missing: {path}; reinstall the weights.")
        if sha256_file(path) != expected:
            raise ReaderWeightsError(f"Reader file {path} does not match its sha256 in {MANIFEST}; reinstall the weights.")


def resolve(model: str | None) -> Path:
    """The weights folder for ``POLICYBOT_READER_MODEL``: unset → the shipped weights; a folder;
    else a hub name from the local Hugging Face cache (offline)."""
    if not model:
        return WEIGHTS
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))  # never a download at question time
    except Exception as exc:  # any hub failure is one message to the user
        raise ReaderWeightsError(f"Reader model {model!r} is neither a folder nor a cached hub model ({exc}).") from exc


def build_network(encoder: Any) -> Any:
    """The encoder plus the span and relevance heads (a ``torch.nn.Module``)."""
    import torch

    class ReaderNetwork(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = int(encoder.config.hidden_size)
            self.dropout = torch.nn.Dropout(float(getattr(encoder.config, "hidden_dropout_prob", 0.1)))
            self.span = torch.nn.Linear(hidden, 2)
            self.relevance = torch.nn.Linear(hidden, 1)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> tuple[Any, Any, Any]:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            hidden = self.dropout(hidden)
            start_end = self.span(hidden).float()
            relevance = self.relevance(hidden[:, 0]).float().squeeze(-1)
            return start_end[..., 0], start_end[..., 1], relevance

    return ReaderNetwork(encoder)


@dataclass(frozen=True)
class Batch:
    """Encoded (question, passage) pairs: model inputs plus, per row, which tokens are passage
    tokens and their character offsets in the passage text."""

    input_ids: Any
    attention_mask: Any
    token_type_ids: Any
    passage_mask: Any  # bool [rows, tokens]: tokens inside the passage text (not title, not question)
    offsets: list[list[tuple[int, int]]]  # per row, per token: (start, end) in the passage text


def encode(tokenizer: Any, question: str, passages: Sequence[tuple[str, str]], config: ReaderConfig) -> Batch:
    """Tokenise one question against passages; the passage is truncated, the question only when it
    alone would crowd out the passage (``max_question_tokens``)."""
    import torch

    question = " ".join(question.split())
    q_offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(q_offsets) > config.max_question_tokens:
        question = question[: q_offsets[config.max_question_tokens - 1][1]]
    seconds = [f"{title}\n{text}" if title else text for title, text in passages]
    shifts = [len(title) + 1 if title else 0 for title, _ in passages]
    enc = tokenizer(
        [question] * len(passages),
        seconds,
        truncation="only_second",
        max_length=config.max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    inside_rows: list[list[bool]] = []
    offsets: list[list[tuple[int, int]]] = []
    for row, pairs in enumerate(enc["offset_mapping"].tolist()):
        ids = enc.sequence_ids(row)
        shift = shifts[row]
        inside = [ids[t] == 1 and a >= shift and b > a for t, (a, b) in enumerate(pairs)]
        inside_rows.append(inside)
        offsets.append([(a - shift, b - shift) if ok else (0, 0) for ok, (a, b) in zip(inside, pairs, strict=True)])
    mask = torch.tensor(inside_rows, dtype=torch.bool)
    token_types = enc.get("token_type_ids")
    if token_types is None:
        token_types = torch.zeros_like(enc["input_ids"])
    return Batch(enc["input_ids"], enc["attention_mask"], token_types, mask, offsets)


def best_spans(start: Any, end: Any, passage_mask: Any, max_answer_tokens: int) -> tuple[Any, Any, Any, Any]:
    """Per row: best span score, null score, and the start/end token of the best span (SQuAD 2.0:
    span score = start + end logit, null = both at ``[CLS]``, start <= end < start + max length)."""
    import torch

    width = start.shape[1]
    null = start[:, 0] + end[:, 0]
    neg = torch.finfo(start.dtype).min / 4
    s = start.masked_fill(~passage_mask, neg)
    e = end.masked_fill(~passage_mask, neg)
    scores = s[:, :, None] + e[:, None, :]
    index = torch.arange(width)
    band = (index[None, :] >= index[:, None]) & (index[None, :] < index[:, None] + max_answer_tokens)
    scores = scores.masked_fill(~band[None], neg)
    flat = scores.reshape(scores.shape[0], -1)
    best, where = flat.max(dim=1)
    return best, null, where // width, where % width


class Reader:
    """A reader from a verified weights folder; thread-safe (one ``read`` at a time)."""

    def __init__(self, folder: Path | None = None, *, threads: int | None = None, precision: str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else WEIGHTS
        verify(self.folder)  # before torch: damaged weights are refused without loading anything heavy
        import torch
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.config = ReaderConfig.load(self.folder)
        self.precision = precision or self.config.precision
        if self.precision not in PRECISIONS:
            raise ReaderWeightsError(f"Reader precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}.")
        if self.precision == "auto":
            self.precision = "bfloat16" if native_bfloat16() else "float32"
        self.threads = threads
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        if not getattr(self.tokenizer, "is_fast", False):
            raise ReaderWeightsError(f"The reader in {self.folder} needs a fast tokenizer (tokenizer.json).")
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(self.folder)), add_pooling_layer=False)
        network = build_network(encoder)
        state = {k: v.float() for k, v in load_file(str(self.folder / WEIGHTS_FILE)).items()}
        missing, unexpected = network.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ReaderWeightsError(
                f"The reader weights in {self.folder} do not fit the network "
                f"({len(missing)} missing, {len(unexpected)} unexpected)."
            )
        network.eval()
        self._network = network
        self._lock = threading.Lock()

    @property
    def relevance_threshold(self) -> float:
        return self.config.relevance_threshold

    def read(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Reading]:
        """Read ``(title, text)`` passages for one question; batches sorted by length limit padding."""
        if not passages:
            return []
        order = sorted(range(len(passages)), key=lambda i: len(passages[i][0]) + len(passages[i][1]))
        out: dict[int, Reading] = {}
        size = max(1, self.config.batch_size)
        with self._lock:
            before = self._torch.get_num_threads()
            if self.threads:
                self._torch.set_num_threads(self.threads)
            try:
                for at in range(0, len(order), size):
                    rows = order[at : at + size]
                    for i, reading in zip(rows, self._read_batch(question, [passages[i] for i in rows]), strict=True):
                        out[i] = reading
            finally:
                if self.threads:
                    self._torch.set_num_threads(before)
        return [out[i] for i in range(len(passages))]

    def _read_batch(self, question: str, passages: Sequence[tuple[str, str]]) -> list[Reading]:
        torch = self._torch
        batch = encode(self.tokenizer, question, passages, self.config)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            start, end, relevance = self._network(batch.input_ids, batch.attention_mask, batch.token_type_ids)
        best, null, first, last = best_spans(start.float(), end.float(), batch.passage_mask, self.config.max_answer_tokens)
        readings = []
        for row in range(len(passages)):
            span = None
            score = float("-inf")
            if bool(batch.passage_mask[row].any()):
                span = (batch.offsets[row][int(first[row])][0], batch.offsets[row][int(last[row])][1])
                score = float(best[row] - null[row])
            readings.append(Reading(float(relevance[row]), score, span))
        return readings
