"""One immutable segment of the index: a batch of articles with their text, vectors and layout.

Written once, checksummed in its manifest, never modified, and reused by later versions, so an
increment costs what changed, not the archive. Its files: docs/design/store-layout.md.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import durability
from index.corpus import DraftChunk
from index.errors import IndexCorruptError, IndexMissingError
from index.settings import Settings
from index.store._ann import VectorSet
from index.store._versions import sync_path
from index.terms import stem, tokens
from index.types import Article

FORMAT = 3
DB = "store.sqlite"
LAYOUT = "layout.npz"
MANIFEST = "manifest.json"
CHUNKS, SENTENCES = "chunks", "sentences"
RESCORE_CHUNKS, RESCORE_SENTENCES = "rescore_chunks", "rescore_sentences"
KINDS = ("body", "caption", "byline", "dateline", "credit")
"""Sentence kinds by code (index.corpus._chunking's names); stored as one byte each in the layout."""

SCHEMA = """
CREATE TABLE articles(
    idx INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, path TEXT, title TEXT NOT NULL,
    source TEXT, url TEXT, published TEXT, authors TEXT, tags TEXT, content_hash TEXT NOT NULL,
    sentence_start INTEGER NOT NULL, sentence_count INTEGER NOT NULL,
    chunk_start INTEGER NOT NULL, chunk_count INTEGER NOT NULL);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY, article_idx INTEGER NOT NULL, ordinal INTEGER NOT NULL,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE sentences(
    id INTEGER PRIMARY KEY, article_idx INTEGER NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'body');
CREATE TABLE doc_freq(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, body, tokenize='porter unicode61');
"""


@dataclass(frozen=True)
class VectorLimits:
    """Where vectors stop living in RAM as float32 and where an approximate index starts to pay.

    Both are counts of rows in one segment's matrix (settings ``memory_rows`` and ``ann_min_rows``).
    """

    memory_rows: int = 250_000
    ann_min_rows: int = 50_000


def vector_limits(settings: Settings) -> VectorLimits:
    """The limits the settings ask for (``POLICYBOT_MEMORY_ROWS``, ``POLICYBOT_ANN_MIN_ROWS``)."""
    return VectorLimits(memory_rows=settings.memory_rows, ann_min_rows=settings.ann_min_rows)


class SegmentWriter:
    """Appends articles with their vectors, then writes and checksums every file of the segment."""

    def __init__(
        self, directory: Path, *, dim: int, rescore_dim: int | None = None, limits: VectorLimits | None = None
    ) -> None:
        self.directory = directory
        self.dim = dim
        self.rescore_dim = rescore_dim
        self.limits = limits or VectorLimits()
        directory.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(directory / DB)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        dims = {CHUNKS: dim, SENTENCES: dim, RESCORE_CHUNKS: rescore_dim, RESCORE_SENTENCES: rescore_dim}
        self._vectors = {name: _RowSpool(directory, name, d) for name, d in dims.items() if d is not None}
        self._layout: dict[str, list[int]] = {name: [] for name in _LAYOUT_FIELDS}
        self._sources: dict[str, int] = {}
        self._doc_freq: Counter[str] = Counter()
        self.articles = self.chunks = self.sentences = 0

    def add(
        self,
        article: Article,
        sentences: list[str],
        chunks: list[DraftChunk],
        chunk_vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        kinds: list[str] | None = None,
        rescore: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append one article; ``kinds`` says what each sentence is (body, caption, byline…);
        ``rescore`` is its (chunk, sentence) vectors from the re-scoring model, when there is one."""
        if chunk_vectors.shape[0] != len(chunks) or sentence_vectors.shape[0] != len(sentences):
            raise ValueError(f"vector count mismatch for article {article.id}")
        if (rescore is None) != (self.rescore_dim is None):
            raise ValueError(f"re-scoring vectors {'missing' if rescore is None else 'unexpected'} for {article.id}")
        if rescore is not None:
            if rescore[0].shape[0] != len(chunks) or rescore[1].shape[0] != len(sentences):
                raise ValueError(f"re-scoring vector count mismatch for article {article.id}")
            self._vectors[RESCORE_CHUNKS].append(rescore[0])
            self._vectors[RESCORE_SENTENCES].append(rescore[1])
        kinds = kinds or ["body"] * len(sentences)
        idx = self.articles
        self._db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                idx, article.id, article.path, article.title, article.source, article.url,
                article.published.isoformat() if article.published else None,
                json.dumps(list(article.authors)), json.dumps(list(article.tags)), article.content_hash,
                self.sentences, len(sentences), self.chunks, len(chunks),
            ),
        )
        self._db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            [(self.sentences + i, idx, i, s, k) for i, (s, k) in enumerate(zip(sentences, kinds, strict=True))],
        )
        chunk_rows = [(self.chunks + c.ordinal, idx, c.ordinal, c.first_sentence, c.last_sentence, c.text) for c in chunks]
        self._db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?)", chunk_rows)
        self._db.executemany(
            "INSERT INTO chunks_fts(rowid, title, body) VALUES (?,?,?)", [(r[0], article.title, r[5]) for r in chunk_rows]
        )
        for chunk in chunks:
            self._doc_freq.update({stem(t) for t in tokens(chunk.text)})
        layout = self._layout
        layout["article_sentence_start"].append(self.sentences)
        layout["article_sentence_count"].append(len(sentences))
        layout["article_chunk_start"].append(self.chunks)
        layout["article_chunk_count"].append(len(chunks))
        layout["article_published"].append(article.published.toordinal() if article.published else 0)
        layout["article_source"].append(self._sources.setdefault(article.source, len(self._sources)))
        layout["chunk_article"].extend([idx] * len(chunks))
        layout["chunk_first"].extend(self.sentences + c.first_sentence for c in chunks)
        layout["chunk_last"].extend(self.sentences + c.last_sentence for c in chunks)
        layout["sentence_article"].extend([idx] * len(sentences))
        layout["sentence_kind"].extend(_kind_code(k) for k in kinds)
        self._vectors[CHUNKS].append(chunk_vectors)
        self._vectors[SENTENCES].append(sentence_vectors)
        self.articles += 1
        self.chunks += len(chunks)
        self.sentences += len(sentences)

    def finish(self) -> dict[str, Any]:
        """Write vectors, layout and manifest; the folder is then a complete segment."""
        files: list[str] = [DB, LAYOUT]
        for name, spool in self._vectors.items():
            # sentences and re-scoring rows are only ever read by id: only chunks get an ANN index
            files += spool.finish(ann_min=self.limits.ann_min_rows if name == CHUNKS else None)
        arrays = {name: np.asarray(values, dtype=_LAYOUT_FIELDS[name]) for name, values in self._layout.items()}
        np.savez(self.directory / LAYOUT, **arrays)  # type: ignore[arg-type]
        self._db.executemany("INSERT INTO doc_freq VALUES (?,?)", sorted(self._doc_freq.items()))
        self._db.commit()
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()
        for name in files:  # on the disk before the manifest that vouches for them
            sync_path(self.directory / name)
        manifest = {
            "format": FORMAT,
            "dim": self.dim,
            "rescore_dim": self.rescore_dim,
            "counts": {"articles": self.articles, "chunks": self.chunks, "sentences": self.sentences},
            "sources": list(self._sources),
            "files": {name: file_digest(self.directory / name) for name in files},
        }
        write_json_durably(self.directory / MANIFEST, manifest)
        sync_path(self.directory)
        return manifest

    def abort(self) -> None:
        self._db.close()
        for spool in self._vectors.values():
            spool.discard()


class _RowSpool:
    """Rows appended as float16 to a scratch file, so a segment of millions of vectors is written
    without ever holding them in RAM; ``finish`` turns it into the VectorSet files."""

    def __init__(self, directory: Path, stem: str, dim: int) -> None:
        self.directory, self.stem, self.dim = directory, stem, dim
        self.scratch = directory / f".{stem}.rows"
        self._fh = open(self.scratch, "wb")  # noqa: SIM115 - open for the writer's whole life
        self.rows = 0

    def append(self, vectors: np.ndarray) -> None:
        block = np.ascontiguousarray(vectors, dtype=np.float16)
        if block.ndim != 2 or (len(block) and block.shape[1] != self.dim):
            raise ValueError(f"{self.stem}: vectors of shape {block.shape}, expected (n, {self.dim})")
        self._fh.write(block.tobytes())
        self.rows += len(block)

    def finish(self, ann_min: int | None) -> list[str]:
        self._fh.close()
        name = f"{self.stem}.f16.npy"
        tmp = self.directory / f".{name}.tmp"
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(self.rows, self.dim))
        step = 65_536
        for start in range(0, self.rows, step):
            count = min(step, self.rows - start)
            out[start : start + count] = np.fromfile(
                self.scratch, dtype=np.float16, count=count * self.dim, offset=start * self.dim * 2
            ).reshape(count, self.dim)
        out.flush()
        del out
        os.replace(tmp, self.directory / name)
        self.scratch.unlink()
        names = [name]
        if ann_min is not None and self.rows and self.rows >= ann_min:
            names.append(write_ann(self.directory, self.stem, np.load(self.directory / name, mmap_mode="r")))
        return names

    def discard(self) -> None:
        self._fh.close()
        self.scratch.unlink(missing_ok=True)


def write_ann(directory: Path, stem: str, stored: np.ndarray) -> str:
    """The approximate index of a large chunk set, built from the float16 rows as stored."""
    import faiss

    from index.store._ann import DEFAULT, build_index

    index = build_index(stored, None, DEFAULT)
    name = f"{stem}.{DEFAULT.kind}.faiss"
    tmp = directory / f".{name}.tmp"
    faiss.write_index(index, str(tmp))
    os.replace(tmp, directory / name)
    return name


_LAYOUT_FIELDS: dict[str, Any] = {
    "article_sentence_start": np.int64,
    "article_sentence_count": np.int32,
    "article_chunk_start": np.int64,
    "article_chunk_count": np.int32,
    "article_published": np.int64,
    "article_source": np.int32,
    "chunk_article": np.int32,
    "chunk_first": np.int64,
    "chunk_last": np.int64,
    "sentence_article": np.int32,
    "sentence_kind": np.int8,
}


def _kind_code(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else 0


def file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def write_json_durably(path: Path, data: dict[str, Any]) -> None:
    """Write, then fsync: a manifest is what makes the files beside it count."""
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        durability.fsync_file(fh.fileno(), path)


VERIFIED = ".verified"
"""Sizes and modification times of a segment's files when they last matched their checksums.
Re-hashing gigabytes on every start would make loading a large index cost minutes; a file that is
changed in place (a flipped byte, a truncation) gets a new time or size and is hashed again."""
_VERIFIED: dict[tuple[str, str], tuple[tuple[int, int], ...]] = {}
_VERIFIED_LOCK = threading.Lock()


def verify_segment(directory: Path) -> tuple[dict[str, Any], str]:
    """Check every file against the segment's manifest; returns it and its own SHA-256.

    Only a segment whose files changed (size or mtime) since any process last checked it is re-hashed.
    """
    if not directory.is_dir():
        raise IndexMissingError(f"index segment {directory.name} is missing; run `policybot build --full`")
    try:
        raw = (directory / MANIFEST).read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        raise IndexCorruptError(f"index segment {directory.name} has no manifest (incomplete build)") from None
    except ValueError as exc:
        raise IndexCorruptError(f"index segment {directory.name} has a damaged manifest: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexCorruptError(f"index segment {directory.name} has format {found}, need {FORMAT}")
    files: dict[str, Any] = manifest.get("files", {})
    stems = [CHUNKS, SENTENCES] + ([RESCORE_CHUNKS, RESCORE_SENTENCES] if manifest.get("rescore_dim") else [])
    listed = {name.split(".", 1)[0] for name in files}
    if not {DB, LAYOUT} <= set(files) or not set(stems) <= listed or not listed <= {"store", "layout", *stems}:
        raise IndexCorruptError(f"index segment {directory.name} lists the wrong files")
    stamps = []
    for name in sorted(files):
        try:
            st = (directory / name).stat()
        except FileNotFoundError:
            raise IndexCorruptError(f"index file {name} is missing from segment {directory.name}") from None
        stamps.append((st.st_size, st.st_mtime_ns))
    key = (str(directory.resolve()), digest)
    with _VERIFIED_LOCK:
        if _VERIFIED.get(key) == tuple(stamps):
            return manifest, digest
    record = {"digest": digest, "stamps": [list(s) for s in stamps]}
    try:
        trusted = json.loads((directory / VERIFIED).read_text()) == record
    except (OSError, ValueError):
        trusted = False
    if not trusted:
        for name, expected in files.items():
            path = directory / name
            if path.stat().st_size != expected["bytes"] or file_digest(path)["sha256"] != expected["sha256"]:
                raise IndexCorruptError(f"index file {name} in segment {directory.name} is corrupt (checksum mismatch)")
        with contextlib.suppress(OSError):  # a read-only volume: every process hashes once
            tmp = directory / f"{VERIFIED}.tmp"
            tmp.write_text(json.dumps(record))
            os.replace(tmp, directory / VERIFIED)
    with _VERIFIED_LOCK:
        _VERIFIED[key] = tuple(stamps)
    return manifest, digest


class Segment:
    """A loaded, verified segment; row ids are local (0-based within the segment)."""

    def __init__(self, directory: Path, limits: VectorLimits | None = None) -> None:
        self.directory = directory
        self.name = directory.name
        self._thread_local = threading.local()
        self.manifest, self.digest = verify_segment(directory)
        limits = limits or VectorLimits()
        counts = self.manifest["counts"]
        self.counts: dict[str, int] = {k: int(v) for k, v in counts.items()}
        self.sources: list[str] = list(self.manifest.get("sources", []))
        try:
            with np.load(directory / LAYOUT, allow_pickle=False) as layout:
                self.layout = {name: layout[name] for name in _LAYOUT_FIELDS}
            self.chunks = VectorSet.open(directory, CHUNKS, in_memory_max=limits.memory_rows)
            self.sentences = VectorSet.open(directory, SENTENCES, in_memory_max=limits.memory_rows)
            self.rescore_chunks: VectorSet | None = None
            self.rescore_sentences: VectorSet | None = None
            if self.manifest.get("rescore_dim"):
                self.rescore_chunks = VectorSet.open(directory, RESCORE_CHUNKS, in_memory_max=limits.memory_rows)
                self.rescore_sentences = VectorSet.open(directory, RESCORE_SENTENCES, in_memory_max=limits.memory_rows)
        except (KeyError, RuntimeError, ValueError, OSError, sqlite3.DatabaseError) as exc:
            raise IndexCorruptError(f"index segment {self.name} cannot be loaded: {exc}") from exc
        if (
            len(self.chunks) != counts["chunks"]
            or len(self.sentences) != counts["sentences"]
            or len(self.layout["chunk_article"]) != counts["chunks"]
            or len(self.layout["sentence_article"]) != counts["sentences"]
            or len(self.layout["article_chunk_count"]) != counts["articles"]
            or (self.rescore_chunks is not None and len(self.rescore_chunks) != counts["chunks"])
            or (self.rescore_sentences is not None and len(self.rescore_sentences) != counts["sentences"])
        ):
            raise IndexCorruptError(f"index segment {self.name} is inconsistent: counts do not match")

    @functools.cached_property
    def ids(self) -> list[str]:
        """Article ids by local row, read on first use: an increment build that looks up only the
        ids it changes never reads a million of them."""
        try:
            ids = [r[0] for r in self._query("SELECT id FROM articles ORDER BY idx")]
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"index segment {self.name} cannot be read: {exc}") from exc
        if len(ids) != self.counts["articles"]:
            raise IndexCorruptError(f"index segment {self.name} is inconsistent: counts do not match")
        return ids

    def find(self, article_id: str) -> int | None:
        """The local row holding ``article_id`` (dead or alive), without reading every id."""
        rows = self._query("SELECT idx FROM articles WHERE id = ?", (article_id,))
        return int(rows[0][0]) if rows else None

    # ---- SQLite, one read-only connection per thread ------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._thread_local, "db", None)
        if db is None:
            uri = f"file:{self.directory / DB}?mode=ro&immutable=1"
            db = self._thread_local.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return db

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._connect().execute(sql, params).fetchall()

    def article_rows(self, first: int, last: int) -> list[tuple[Any, ...]]:
        """Raw ``articles`` rows ``first..last-1``."""
        return self._query("SELECT * FROM articles WHERE idx >= ? AND idx < ? ORDER BY idx", (first, last))

    def hash_rows(self) -> list[tuple[int, str, str, str]]:
        """``(idx, id, content_hash, path)`` of every article: what a build compares the corpus with."""
        return [(int(r[0]), r[1], r[2], r[3] or "") for r in self._query("SELECT idx, id, content_hash, path FROM articles")]

    def texts(self, table: str, ids: list[int]) -> list[str]:
        """Text of chunks or sentences by local id, in the order asked."""
        if table not in ("chunks", "sentences"):
            raise ValueError(table)
        if not ids:
            return []
        found: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(self._query(f"SELECT id, text FROM {table} WHERE id IN ({marks})", tuple(part)))
        return [found[i] for i in ids]

    def all_texts(self, table: str) -> list[str]:
        if table not in ("chunks", "sentences"):
            raise ValueError(table)
        return [r[0] for r in self._query(f"SELECT text FROM {table} ORDER BY id")]

    def fts(self, match: str, limit: int) -> list[tuple[int, float]]:
        """BM25 over this segment's chunks (title weighted higher); higher score = better."""
        rows = self._query(
            "SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?",
            (match, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def fts_rows(self, match: str, cap: int) -> int:
        """How many chunks ``match`` finds, counted up to ``cap`` (cheap: no ranking)."""
        sql = "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)"
        return int(self._query(sql, (match, cap))[0][0])

    def fts_count(self) -> int:
        return int(self._query("SELECT count(*) FROM chunks_fts")[0][0])

    def doc_freq(self, terms: list[str]) -> dict[str, int]:
        """How many of this segment's chunks contain each stemmed word."""
        if not terms:
            return {}
        marks = ",".join("?" * len(terms))
        return dict(self._query(f"SELECT term, n FROM doc_freq WHERE term IN ({marks})", tuple(terms)))

    def all_doc_freq(self) -> list[tuple[str, int]]:
        return [(str(t), int(n)) for t, n in self._query("SELECT term, n FROM doc_freq")]

