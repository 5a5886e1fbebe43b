"""One index version: immutable segments plus the rows later builds retired, loaded read-only once
every file is checked and shown as one id space, so retrieval never sees segments; large vector
sets are memory-mapped and large texts read on demand, so memory does not grow with the corpus."""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorruptError, IndexMissingError
from index.store._columns import ArticleIndex, ArticleRow, ArticleTable, KindColumn, StackedRows, TextColumn, stack_rows
from index.store._segment import FORMAT, Segment, VectorLimits, verify_segment, write_json_durably

MANIFEST = "manifest.json"
SEGMENTS = "segments"
SENTENCE_SCAN_MAX = 150_000
"""Up to this many sentences every one votes for its article (an exact scan, bound by memory
bandwidth); above it only the candidate articles' sentences are scored."""
PRELOAD_ROWS = 300_000
"""Up to this many chunks, article rows and texts are read into lists at load (fast answers);
above it they are read from SQLite when asked for (bounded memory)."""


def segments_dir(version_dir: Path) -> Path:
    """``data/segments``, beside ``data/versions`` (which holds ``version_dir``)."""
    return version_dir.parent.parent / SEGMENTS


def write_version(directory: Path, meta: dict[str, Any], segments: list[tuple[str, str]], dead: dict[str, list[int]]) -> dict[str, Any]:
    """Write a version's manifest: ``segments`` as ``(name, manifest sha256)``, ``dead`` local rows."""
    body = {
        **meta,
        "format": FORMAT,
        "segments": [{"name": n, "sha256": d} for n, d in segments],
        "dead": {name: sorted(rows) for name, rows in dead.items() if rows},
    }
    manifest = {**body, "digest": _digest(body)}
    directory.mkdir(parents=True, exist_ok=True)
    write_json_durably(directory / MANIFEST, manifest)
    return manifest


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def read_version_manifest(directory: Path) -> dict[str, Any]:
    """The version's manifest, checked against its own digest (a flipped byte is caught)."""
    if not directory.is_dir():
        raise IndexMissingError(f"index version {directory.name} is missing; run `policybot build`")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise IndexCorruptError(f"index version {directory.name} has no manifest (incomplete build)") from None
    except ValueError as exc:
        raise IndexCorruptError(f"index version {directory.name} has a damaged manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexCorruptError(f"index version {directory.name} has format {found}, need {FORMAT}")
    body = {k: v for k, v in manifest.items() if k != "digest"}
    if manifest.get("digest") != _digest(body):
        raise IndexCorruptError(f"index version {directory.name} has a damaged manifest (digest mismatch)")
    return manifest


def verify_version(directory: Path) -> dict[str, Any]:
    """Check the manifest and every file of every segment it names; returns the manifest."""
    manifest = read_version_manifest(directory)
    for item in manifest["segments"]:
        _, digest = verify_segment(segments_dir(directory) / item["name"])
        if digest != item["sha256"]:
            raise IndexCorruptError(f"index segment {item['name']} is not the one version {directory.name} was built with")
    return manifest


class Snapshot:
    """A loaded, verified, read-only version; safe to share between threads.

    Ids (article ``idx``, chunk and sentence ids) are global: each segment's rows follow the
    previous segment's. Dead articles keep their ids but are never returned by searches.
    """

    def __init__(self, directory: Path, limits: VectorLimits | None = None, *, preload: bool | None = None) -> None:
        """``preload``: read texts and article rows into RAM now (None: when the index is small).
        A build passes False, with ``memory_rows=0``: it compares and copies, it does not search."""
        self.directory = directory
        self.version = directory.name
        self.manifest = verify_version(directory)
        self.dim = int(self.manifest["dim"])
        self.rescorer: dict[str, Any] | None = self.manifest.get("rescorer") or None
        root = segments_dir(directory)
        self.segments = [Segment(root / item["name"], limits) for item in self.manifest["segments"]]
        for seg in self.segments:
            if seg.manifest.get("dim") != self.dim:
                raise IndexCorruptError(f"index segment {seg.name} has another vector size than version {self.version}")
        self._offsets()
        self._mark_dead(self.manifest.get("dead", {}))
        total_chunks = int(self.chunk_article.shape[0])
        preload = total_chunks <= PRELOAD_ROWS if preload is None else preload
        self.articles: ArticleTable = ArticleTable(self, preload)
        self._by_id: ArticleIndex | None = ArticleIndex(self) if preload else None
        self._by_id_lock = threading.Lock()
        self.chunk_text: TextColumn = TextColumn(self, "chunks", self.chunk_offsets, preload)
        self.sentence_text: TextColumn = TextColumn(self, "sentences", self.sentence_offsets, preload)
        self.sentence_kind: KindColumn = KindColumn(self.sentence_kind_codes)
        self.chunk_vectors = stack_rows([s.chunks for s in self.segments], self.chunk_offsets, self.dim)
        self.sentence_vectors = stack_rows([s.sentences for s in self.segments], self.sentence_offsets, self.dim)
        self.rescore_chunk_vectors: np.ndarray | StackedRows | None = None
        self.rescore_sentence_vectors: np.ndarray | StackedRows | None = None
        if self.rescorer is not None:
            dim = int(self.rescorer["dim"])
            if any(s.rescore_chunks is None or s.rescore_sentences is None for s in self.segments):
                raise IndexCorruptError(f"index version {self.version}: a segment lacks the re-scoring vectors")
            self.rescore_chunk_vectors = stack_rows([s.rescore_chunks for s in self.segments], self.chunk_offsets, dim)  # type: ignore[misc]
            self.rescore_sentence_vectors = stack_rows([s.rescore_sentences for s in self.segments], self.sentence_offsets, dim)  # type: ignore[misc]

    # ---- global arrays ------------------------------------------------------------------------
    def _offsets(self) -> None:
        segs = self.segments
        self.article_offsets = _starts([s.counts["articles"] for s in segs])
        self.chunk_offsets = _starts([s.counts["chunks"] for s in segs])
        self.sentence_offsets = _starts([s.counts["sentences"] for s in segs])

        def cat(field: str, shift: list[int] | None, dtype: Any) -> np.ndarray:
            parts = [s.layout[field].astype(dtype) + (shift[i] if shift else 0) for i, s in enumerate(segs)]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        self.chunk_article = cat("chunk_article", self.article_offsets, np.int32)
        self.chunk_first = cat("chunk_first", self.sentence_offsets, np.int64)
        self.chunk_last = cat("chunk_last", self.sentence_offsets, np.int64)
        self.sentence_article = cat("sentence_article", self.article_offsets, np.int32)
        self.sentence_kind_codes = cat("sentence_kind", None, np.int8)
        self.published_ordinal = cat("article_published", None, np.int64)
        self.article_chunk_start = cat("article_chunk_start", self.chunk_offsets, np.int64)
        self.article_chunk_count = cat("article_chunk_count", None, np.int64)
        self.article_sentence_start = cat("article_sentence_start", self.sentence_offsets, np.int64)
        self.article_sentence_count = cat("article_sentence_count", None, np.int64)
        codes: dict[str, int] = {}
        parts = []
        for seg in segs:
            mapping = np.array([codes.setdefault(name, len(codes)) for name in seg.sources] or [0], dtype=np.int32)
            parts.append(mapping[seg.layout["article_source"]] if len(seg.layout["article_source"]) else np.zeros(0, np.int32))
        self.sources = list(codes)
        self.article_source = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

    def _mark_dead(self, dead: Mapping[str, list[int]]) -> None:
        self.alive = np.ones(len(self.published_ordinal), dtype=bool)
        names = {seg.name: i for i, seg in enumerate(self.segments)}
        for name, rows in dead.items():
            if name not in names:
                raise IndexCorruptError(f"index version {self.version} retires rows of an unknown segment {name}")
            i = names[name]
            local = np.asarray(rows, dtype=np.int64)
            if len(local) and (local.min() < 0 or local.max() >= self.segments[i].counts["articles"]):
                raise IndexCorruptError(f"index version {self.version} retires rows segment {name} does not have")
            self.alive[self.article_offsets[i] + local] = False
        self.chunk_alive = self.alive[self.chunk_article] if len(self.chunk_article) else np.zeros(0, dtype=bool)
        self.has_dead = not bool(self.alive.all())

    def segment_of(self, offsets: list[int], global_id: int) -> tuple[int, int]:
        """``(segment index, local id)`` of a global article/chunk/sentence id."""
        i = bisect.bisect_right(offsets, global_id) - 1
        return i, global_id - offsets[i]

    @property
    def by_id(self) -> ArticleIndex:
        """Live articles by id; built on first use when the version was not preloaded (an increment
        build asks for a few ids with :meth:`find_live` and never builds it)."""
        if self._by_id is None:
            with self._by_id_lock:
                if self._by_id is None:
                    self._by_id = ArticleIndex(self)
        return self._by_id

    def find_live(self, article_id: str) -> int | None:
        """The global idx of the live article ``article_id`` (None: not served), by one indexed
        lookup per segment instead of the id index."""
        if self._by_id is not None:
            return self._by_id.get_idx(article_id)
        for i, seg in enumerate(self.segments):
            local = seg.find(article_id)
            if local is not None and self.alive[self.article_offsets[i] + local]:
                return self.article_offsets[i] + local
        return None

    def load_indexes(self) -> None:
        """Read every approximate index now: a serving process should not make its first question
        wait for it, and an index that does not load is refused before the version is switched in
        (a build skips this: it never searches the segments it only copies)."""
        for seg in self.segments:
            for vectors in (seg.chunks, seg.sentences):
                try:
                    vectors.index  # noqa: B018 - reads and caches the faiss file
                except (RuntimeError, ValueError) as exc:
                    raise IndexCorruptError(f"index segment {seg.name} has an unreadable vector index: {exc}") from exc

    def live_articles(self) -> Iterator[ArticleRow]:
        """Every article this version serves (dead rows left out), in id order."""
        for idx in np.flatnonzero(self.alive).tolist():
            yield self.articles[idx]

    def live_hashes(self) -> dict[str, tuple[str, str]]:
        """``id → (content hash, file path)`` of every live article, read in one query per segment
        (a build of a million articles compares these, never a million article rows)."""
        cached: dict[str, tuple[str, str]] | None = self.__dict__.get("_live_hashes")
        if cached is not None:
            return cached
        out: dict[str, tuple[str, str]] = {}
        for i, seg in enumerate(self.segments):
            alive = self.alive[self.article_offsets[i] : self.article_offsets[i + 1]]
            for idx, article_id, content_hash, path in seg.hash_rows():
                if alive[idx]:
                    out[article_id] = (content_hash, path)
        self.__dict__["_live_hashes"] = out
        return out

    # ---- search ------------------------------------------------------------------------------
    def dense(self, query: np.ndarray, limit: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top chunk ids and cosines; ``allowed`` is a boolean mask over chunks (None: all live)."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        keep = self.chunk_alive if allowed is None else (allowed & self.chunk_alive)
        if limit <= 0 or not len(keep):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if isinstance(self.chunk_vectors, np.ndarray):
            scores = self.chunk_vectors @ query
            if allowed is not None or self.has_dead:
                scores = np.where(keep, scores, -np.inf)
            k = min(limit, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.isfinite(scores[top])]
            order = np.argsort(-scores[top], kind="stable")
            return top[order].astype(np.int64), scores[top][order].astype(np.float32)
        ids: list[np.ndarray] = []
        scores_out: list[np.ndarray] = []
        filtered = allowed is not None or self.has_dead
        for i, seg in enumerate(self.segments):
            lo, hi = self.chunk_offsets[i], self.chunk_offsets[i + 1]
            mask = keep[lo:hi]
            if not mask.any():
                continue
            if not seg.chunks.mapped:
                local_scores = seg.chunks.scan(query)
                local_scores = np.where(mask, local_scores, -np.inf)
                k = min(limit, len(local_scores))
                local = np.argpartition(-local_scores, k - 1)[:k]
                local = local[np.isfinite(local_scores[local])]
                got = local_scores[local]
            else:
                share = float(mask.mean())
                want = limit if not filtered else int(min(len(mask), limit / max(share, 1e-3) * 2))
                local, got = seg.chunks.search(query, want)
                ok = mask[local]
                if ok.sum() < min(limit, int(mask.sum())) and share < 1.0:
                    # a narrow filter: score the allowed rows exactly instead (they are few)
                    local = np.flatnonzero(mask)
                    got = seg.chunks.rows(local) @ query
                else:
                    local, got = local[ok], got[ok]
            ids.append(np.asarray(local, dtype=np.int64) + lo)
            scores_out.append(np.asarray(got, dtype=np.float32))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        all_ids, all_scores = np.concatenate(ids), np.concatenate(scores_out)
        order = np.argsort(-all_scores, kind="stable")[:limit]
        return all_ids[order], all_scores[order]

    def best_sentence_per_article(self, query: np.ndarray, candidates: Iterable[int] = ()) -> np.ndarray:
        """Each article's best sentence cosine (-1 where not scored): every sentence of in-RAM
        segments while the index has at most ``SENTENCE_SCAN_MAX`` sentences, else (and for
        memory-mapped segments) only the ``candidates``' sentences."""
        per_article = np.full(len(self.alive), -1.0)
        if not len(self.sentence_article):
            return per_article
        scan_all = len(self.sentence_article) <= SENTENCE_SCAN_MAX
        wanted = sorted(set(candidates))
        for i, seg in enumerate(self.segments):
            a_lo, a_hi = self.article_offsets[i], self.article_offsets[i + 1]
            lo = self.sentence_offsets[i]
            if scan_all and not seg.sentences.mapped:
                # sentences are stored article after article: a max over each article's run of rows
                counts = self.article_sentence_count[a_lo:a_hi]
                has = np.flatnonzero(counts > 0)
                if len(has):
                    starts = self.article_sentence_start[a_lo:a_hi][has] - lo
                    per_article[a_lo + has] = np.maximum.reduceat(seg.sentences.scan(query), starts)
                continue
            for a in wanted[bisect.bisect_left(wanted, a_lo) : bisect.bisect_left(wanted, a_hi)]:
                start, count = int(self.article_sentence_start[a]) - lo, int(self.article_sentence_count[a])
                if count:
                    per_article[a] = float(np.max(seg.sentences.rows(slice(start, start + count)) @ query))
        if self.has_dead:
            per_article[~self.alive] = -1.0
        return per_article

    def fts(self, match: str, limit: int) -> list[tuple[int, float]]:
        """BM25 over live chunks (title weighted higher); higher score = better."""
        found: list[tuple[int, float]] = []
        for i, seg in enumerate(self.segments):
            base = self.chunk_offsets[i]
            rows = seg.fts(match, limit * 2 if self.has_dead else limit)
            found.extend((base + cid, score) for cid, score in rows if self.chunk_alive[base + cid])
        if len(self.segments) > 1:
            found.sort(key=lambda pair: -pair[1])
        return found[:limit]

    def fts_rows(self, match: str, cap: int) -> int:
        """Chunks ``match`` finds over all segments, counted up to ``cap``."""
        total = 0
        for seg in self.segments:
            total += seg.fts_rows(match, cap - total)
            if total >= cap:
                break
        return total

    # ---- word statistics ---------------------------------------------------------------------
    def doc_freq(self, terms: list[str]) -> dict[str, int]:
        """Chunks containing each stemmed word, over all segments (retired rows included)."""
        out: dict[str, int] = {}
        for seg in self.segments:
            for term, n in seg.doc_freq(terms).items():
                out[term] = out.get(term, 0) + n
        return out

    def all_doc_freq(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for seg in self.segments:
            for term, n in seg.all_doc_freq():
                out[term] = out.get(term, 0) + n
        return out


def _starts(counts: list[int]) -> list[int]:
    starts = [0]
    for n in counts:
        starts.append(starts[-1] + n)
    return starts


def segment_dirs(version_dir: Path) -> list[Path]:
    """The folders of the segments a version names, in order (for tools and tests)."""
    return [segments_dir(version_dir) / item["name"] for item in read_version_manifest(version_dir)["segments"]]
