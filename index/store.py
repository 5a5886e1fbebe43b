"""One index version on disk: SQLite (articles, chunks, sentences, FTS5) + FAISS + sentence vectors.

A version is written once into a fresh folder by :class:`VersionWriter` and never modified;
:class:`Snapshot` loads it read-only after checking every file against the manifest, so a
truncated or tampered file is reported instead of served.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.chunking import DraftChunk
from index.errors import IndexCorruptError, IndexMissingError
from index.models import Article, Citation

FORMAT = 2
DB = "store.sqlite"
VECTORS = "chunks.faiss"
SENTENCE_VECTORS = "sentences.npy"
MANIFEST = "manifest.json"
RESCORE_CHUNK_VECTORS = "rescore_chunks.npy"
RESCORE_SENTENCE_VECTORS = "rescore_sentences.npy"
BASE_FILES = frozenset({DB, VECTORS, SENTENCE_VECTORS})
RESCORE_FILES = frozenset({RESCORE_CHUNK_VECTORS, RESCORE_SENTENCE_VECTORS})
"""Present only in versions built with a re-scoring model (the manifest's ``rescorer``)."""

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, body, tokenize='porter unicode61');
"""


@dataclass(frozen=True)
class ArticleRow:
    """An indexed article's metadata plus where its sentences and chunks sit in the arrays."""

    idx: int
    citation: Citation
    path: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    content_hash: str
    sentence_start: int
    sentence_count: int
    chunk_start: int
    chunk_count: int

    @property
    def id(self) -> str:
        return self.citation.article_id

    @property
    def published(self) -> date | None:
        return self.citation.published


class VersionWriter:
    """Appends articles with their vectors, then writes and checksums every file."""

    def __init__(
        self,
        directory: Path,
        *,
        model: str,
        dim: int,
        chunk_size: int,
        chunk_overlap: int,
        embedder: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        rescorer: dict[str, Any] | None = None,
    ) -> None:
        """``rescorer``: the re-scoring model's signature; every article then brings its vectors too."""
        self.directory = directory
        self.meta = {
            "format": FORMAT,
            "model": model,
            "dim": dim,
            "chunk_size": chunk_size,
            "chunk_overlap": chunk_overlap,
            "embedder": embedder or {},  # the model's signature: questions must be embedded the same way
            "options": options or {},
            "rescorer": rescorer or None,  # the second-stage model's signature (index.rescore)
        }
        self._db = sqlite3.connect(directory / DB)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        self._chunk_vectors: list[np.ndarray] = []
        self._sentence_vectors: list[np.ndarray] = []
        self._rescore_chunks: list[np.ndarray] = []
        self._rescore_sentences: list[np.ndarray] = []
        self._articles = 0
        self._chunks = 0
        self._sentences = 0

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
        if (rescore is None) != (self.meta["rescorer"] is None):
            raise ValueError(f"re-scoring vectors {'missing' if rescore is None else 'unexpected'} for {article.id}")
        if rescore is not None:
            if rescore[0].shape[0] != len(chunks) or rescore[1].shape[0] != len(sentences):
                raise ValueError(f"re-scoring vector count mismatch for article {article.id}")
            self._rescore_chunks.append(np.asarray(rescore[0], dtype=np.float32))
            self._rescore_sentences.append(np.asarray(rescore[1], dtype=np.float32))
        kinds = kinds or ["body"] * len(sentences)
        idx = self._articles
        self._db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                idx, article.id, article.path, article.title, article.source, article.url,
                article.published.isoformat() if article.published else None,
                json.dumps(list(article.authors)), json.dumps(list(article.tags)), article.content_hash,
                self._sentences, len(sentences), self._chunks, len(chunks),
            ),
        )
        self._db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            [(self._sentences + i, idx, i, s, k) for i, (s, k) in enumerate(zip(sentences, kinds, strict=True))],
        )
        chunk_rows = [
            (self._chunks + c.ordinal, idx, c.ordinal, c.first_sentence, c.last_sentence, c.text) for c in chunks
        ]
        self._db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?)", chunk_rows)
        self._db.executemany(
            "INSERT INTO chunks_fts(rowid, title, body) VALUES (?,?,?)",
            [(row[0], article.title, row[5]) for row in chunk_rows],
        )
        self._chunk_vectors.append(np.asarray(chunk_vectors, dtype=np.float32))
        self._sentence_vectors.append(np.asarray(sentence_vectors, dtype=np.float32))
        self._articles += 1
        self._chunks += len(chunks)
        self._sentences += len(sentences)

    def finish(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write vectors and the manifest; the folder is then a complete version."""
        dim = int(str(self.meta["dim"]))
        chunk_matrix = _stack(self._chunk_vectors, dim)
        sentence_matrix = _stack(self._sentence_vectors, dim)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if len(chunk_matrix):
            index.add_with_ids(chunk_matrix, np.arange(len(chunk_matrix), dtype=np.int64))
        faiss.write_index(index, str(self.directory / VECTORS))
        np.save(self.directory / SENTENCE_VECTORS, sentence_matrix)
        names = [DB, VECTORS, SENTENCE_VECTORS]
        rescorer = self.meta["rescorer"]
        if isinstance(rescorer, dict):
            rescore_dim = int(rescorer["dim"])
            np.save(self.directory / RESCORE_CHUNK_VECTORS, _stack(self._rescore_chunks, rescore_dim))
            np.save(self.directory / RESCORE_SENTENCE_VECTORS, _stack(self._rescore_sentences, rescore_dim))
            names += [RESCORE_CHUNK_VECTORS, RESCORE_SENTENCE_VECTORS]
        counts = {"articles": self._articles, "chunks": self._chunks, "sentences": self._sentences}
        meta = {**self.meta, **(extra or {}), "counts": counts, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._db.executemany("INSERT INTO meta VALUES (?,?)", [(k, json.dumps(v)) for k, v in meta.items()])
        self._db.commit()
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()
        files = {name: _file_digest(self.directory / name) for name in names}
        manifest = {**meta, "files": files}
        (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return manifest

    def abort(self) -> None:
        self._db.close()


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    return np.ascontiguousarray(np.vstack(parts) if parts else np.zeros((0, dim)), dtype=np.float32)


def _file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


class Snapshot:
    """A loaded, verified, read-only version; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.version = directory.name
        self.manifest = verify_version(directory)
        self.dim = int(self.manifest["dim"])
        try:
            self.faiss_index = faiss.read_index(str(directory / VECTORS))
            self.sentence_vectors = np.load(directory / SENTENCE_VECTORS, allow_pickle=False)
            self._load_tables()
        except (RuntimeError, ValueError, OSError, sqlite3.DatabaseError) as exc:
            raise IndexCorruptError(f"index version {self.version} cannot be loaded: {exc}") from exc
        counts = self.manifest["counts"]
        if (
            self.faiss_index.ntotal != counts["chunks"]
            or len(self.chunk_text) != counts["chunks"]
            or self.sentence_vectors.shape != (counts["sentences"], self.dim)
            or len(self.articles) != counts["articles"]
        ):
            raise IndexCorruptError(f"index version {self.version} is inconsistent: counts do not match")
        flat = faiss.downcast_index(self.faiss_index.index)  # type: ignore[attr-defined]
        self.chunk_vectors = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, self.dim), "f4")
        self.rescorer: dict[str, Any] | None = self.manifest.get("rescorer") or None
        self.rescore_chunk_vectors, self.rescore_sentence_vectors = self._load_rescore_vectors(counts)
        self._local = threading.local()

    def _load_rescore_vectors(self, counts: dict[str, int]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The re-scoring model's chunk and sentence vectors (row i = chunk / sentence i), if built.

        Question side: ``Query.rescore_vector``. Answer composition may score a candidate
        sentence ``sid`` as ``rescore_sentence_vectors[sid] @ query.rescore_vector``.
        """
        if self.rescorer is None:
            return None, None
        dim = int(self.rescorer["dim"])
        try:
            chunks = np.load(self.directory / RESCORE_CHUNK_VECTORS, allow_pickle=False)
            sentences = np.load(self.directory / RESCORE_SENTENCE_VECTORS, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise IndexCorruptError(f"index version {self.version}: re-scoring vectors cannot be loaded: {exc}") from exc
        if chunks.shape != (counts["chunks"], dim) or sentences.shape != (counts["sentences"], dim):
            raise IndexCorruptError(f"index version {self.version} is inconsistent: re-scoring vector counts do not match")
        return chunks, sentences

    def _load_tables(self) -> None:
        db = self._connect()
        try:
            rows = db.execute("SELECT * FROM articles ORDER BY idx").fetchall()
            self.articles = [_article_row(r) for r in rows]
            self.by_id = {a.id: a for a in self.articles}
            chunks = db.execute("SELECT article_idx, first_sentence, last_sentence, text FROM chunks ORDER BY id")
            chunk_rows = chunks.fetchall()
            sentences = db.execute("SELECT article_idx, text, kind FROM sentences ORDER BY id").fetchall()
        finally:
            db.close()
        self.chunk_article = np.array([r[0] for r in chunk_rows], dtype=np.int32)
        starts = np.array([self.articles[r[0]].sentence_start for r in chunk_rows], dtype=np.int64)
        self.chunk_first = starts + np.array([r[1] for r in chunk_rows], dtype=np.int64)
        self.chunk_last = starts + np.array([r[2] for r in chunk_rows], dtype=np.int64)
        self.chunk_text = [r[3] for r in chunk_rows]
        self.sentence_article = np.array([r[0] for r in sentences], dtype=np.int32)
        self.sentence_text = [r[1] for r in sentences]
        self.sentence_kind = [r[2] for r in sentences]
        self.published_ordinal = np.array(
            [a.published.toordinal() if a.published else 0 for a in self.articles], dtype=np.int64
        )

    def _connect(self) -> sqlite3.Connection:
        uri = f"file:{self.directory / DB}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def fts(self, match: str, limit: int) -> list[tuple[int, float]]:
        """BM25 over chunks (title weighted higher); higher score = better."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        rows = db.execute(
            "SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?",
            (match, limit),
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def fts_count(self) -> int:
        db = self._connect()
        try:
            return int(db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0])
        finally:
            db.close()

    def dense(self, query: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """Top chunk ids and cosine scores from FAISS."""
        k = min(limit, self.faiss_index.ntotal)
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self.faiss_index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]


def _article_row(r: tuple[Any, ...]) -> ArticleRow:
    return ArticleRow(
        idx=r[0],
        citation=Citation(r[1], r[3], r[4] or "", r[5] or "", date.fromisoformat(r[6]) if r[6] else None),
        path=r[2] or "",
        authors=tuple(json.loads(r[7] or "[]")), tags=tuple(json.loads(r[8] or "[]")),
        content_hash=r[9], sentence_start=r[10], sentence_count=r[11], chunk_start=r[12], chunk_count=r[13],
    )


def verify_version(directory: Path) -> dict[str, Any]:
    """Check that every file exists with the size and SHA-256 the manifest recorded."""
    if not directory.is_dir():
        raise IndexMissingError(f"index version {directory.name} is missing; run `policybot build`")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise IndexCorruptError(f"index version {directory.name} has no manifest (incomplete build)") from None
    except ValueError as exc:
        raise IndexCorruptError(f"index version {directory.name} has a damaged manifest: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"index version {directory.name} has format {manifest.get('format')}, need {FORMAT}")
    for name, expected in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file():
            raise IndexCorruptError(f"index file {name} is missing from version {directory.name}")
        if path.stat().st_size != expected["bytes"] or _file_digest(path)["sha256"] != expected["sha256"]:
            raise IndexCorruptError(f"index file {name} in version {directory.name} is corrupt (checksum mismatch)")
    expected = BASE_FILES | (RESCORE_FILES if manifest.get("rescorer") else frozenset())
    if set(manifest.get("files", {})) != expected:
        raise IndexCorruptError(f"index version {directory.name} lists the wrong files")
    return manifest
