"""Building a version: plan it (:mod:`index.store._plan`), then one executor embeds, writes, verifies
and switches it in, so a full and an incremental build publish and report alike, and a failure at
any step leaves the live version serving."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.corpus import BODY, Chunked, DraftChunk, chunking_signature, embedding_text, labelled
from index.errors import BuildError, PolicybotError
from index.models import Span, token_budget
from index.settings import Settings
from index.store import _scan as corpus_scan
from index.store import _versions as versions
from index.store._home import IndexHome, open_home
from index.store._plan import BuildPlan, ChunkEncoder, Models, Report, Space, plan_full, plan_increment, reading_limits
from index.store._scan import FileState, Scan
from index.store._segment import SegmentWriter, VectorLimits, vector_limits, verify_segment
from index.store._snapshot import Snapshot, write_version
from index.types import Article, BuildProgress, BuildReport

__all__ = ["ChunkEncoder", "build_index", "execute"]

log = logging.getLogger(__name__)
ProgressFn = Callable[[BuildProgress], None]
EMBED_WINDOW = 2000
"""Articles embedded and written at a time (bounds a build's memory, whatever the corpus size)."""


def build_index(
    settings: Settings,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    embedder: Models = None,
    rescorer: Models = None,
    changed: Sequence[Path] | None = None,
) -> BuildReport:
    """Build a new version beside the live one (a failure leaves the live one serving). ``changed``:
    files the caller wrote or removed, looked up alone instead of walking, plus what earlier builds
    owe; ``embedder``/``rescorer``: a model or a factory, so a build with nothing to embed loads none."""
    data_dir = settings.data_dir
    home = open_home(settings)
    try:
        with versions.build_lock(data_dir):
            owed = versions.owed(data_dir)
            if changed is not None:
                changed = None if owed.paths is None else [*changed, *owed.paths]
            synced = home.sync_corpus(settings.corpus_dir, settings.trash_dir, changed)
            if changed is not None:
                changed = [*changed, *synced]
            home.prune(settings.keep_versions)
            tmp_dir = versions.new_tmp_dir(data_dir)
            try:
                started = time.perf_counter()
                reporter = _Reporter(data_dir, progress)
                plan = None
                if changed is not None and not full:
                    plan = plan_increment(settings, changed, reporter, embedder, rescorer, home)
                if plan is None:
                    plan = plan_full(settings, full, reporter, embedder, rescorer, home)
                report = execute(plan, settings, tmp_dir, reporter, started, home)
            except BaseException:
                shutil.rmtree(tmp_dir, ignore_errors=True)
                raise
            versions.settle(owed.records)
            home.prune(settings.keep_versions)
            return report
    finally:
        home.close()


def execute(
    plan: BuildPlan, settings: Settings, tmp_dir: Path, report: Report, started: float, home: IndexHome
) -> BuildReport:
    """Carry out ``plan``: write its segment, write and verify the version in ``tmp_dir``, switch it
    in, record the corpus files it indexed, and report."""
    written = _write_segment(settings, plan, report)
    segments = [(seg.name, seg.digest) for seg in plan.keep] + ([written] if written else [])
    meta = _meta(settings, plan.space, plan.skipped)
    new_segment = written[0] if written else None
    name, counts = _publish(settings, home, tmp_dir, meta, segments, plan.dead, new_segment, report)
    _record_files(settings.data_dir, plan.files)
    report("verifying", 1, 1)

    embedded = set(plan.embed)
    return BuildReport(
        version=name,
        articles=counts["articles"],
        added=len(embedded - plan.retired),
        changed=len(embedded & plan.retired),
        removed=len(plan.retired - embedded),
        unchanged=counts["articles"] - len(embedded),
        chunks_total=counts["chunks"],
        chunks_embedded=sum(len(c.chunks) for c in plan.embed.values()),
        seconds=time.perf_counter() - started,
        errors=plan.errors,
    )


class _Reporter:
    """Fans progress out to the caller and to the progress file other processes read."""

    def __init__(self, data_dir: Path, callback: ProgressFn | None) -> None:
        self.data_dir = data_dir
        self.callback = callback
        self._last_write = 0.0
        self._last_stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_write > 0.5 or done >= total or stage != self._last_stage:
            versions.write_progress(self.data_dir, stage, done, total)
            self._last_write, self._last_stage = now, stage
        if self.callback:
            self.callback(BuildProgress(stage, done, total))


def _record_files(data_dir: Path, files: Scan | Mapping[str, FileState | None]) -> None:
    """Remember what the new version indexed, so the next build reads only what changed since."""
    if isinstance(files, Scan):
        corpus_scan.save(data_dir, files)
    else:
        corpus_scan.update(data_dir, dict(files))


# ---- the new segment ---------------------------------------------------------------------------
def _write_segment(settings: Settings, plan: BuildPlan, report: Report) -> tuple[str, str] | None:
    """The plan's new segment, placed under its permanent name: ``(name, manifest sha256)``, or
    None when the plan adds no rows."""
    if not plan.rows:
        report("writing", 0, 0)
        return None
    space = plan.space
    rescore_dim = int(space.rescore_signature["dim"]) if space.rescore_signature else None
    tmp_segment = versions.new_tmp_segment_dir(settings.data_dir)
    writer = SegmentWriter(tmp_segment, dim=space.dim, rescore_dim=rescore_dim, limits=vector_limits(settings))
    try:
        embedding = _Counter(report, "embedding", sum(len(c.chunks) for c in plan.embed.values()))
        rescoring = _Counter(report, "re-scoring", embedding.total)
        pools = contextlib.ExitStack()
        for model in (space.encoder, space.second):
            parallel = getattr(model, "parallel", None)  # index.models.PooledEmbedder: worker processes
            if parallel is not None and embedding.total:
                pools.enter_context(parallel(embedding.total, settings.build_processes))
        with pools:
            _write_rows(writer, plan, report, embedding, rescoring)
        writer.finish()
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp_segment, ignore_errors=True)
        raise
    name = versions.place_segment(settings.data_dir, tmp_segment)
    return name, verify_segment(versions.segments_root(settings.data_dir) / name)[1]


def _write_rows(
    writer: SegmentWriter, plan: BuildPlan, report: Report, embedding: _Counter, rescoring: _Counter
) -> None:
    """Embed a window of articles, write it, go on: vectors never pile up for the whole corpus."""
    rows, encoder, second = plan.rows, plan.space.encoder, plan.space.second
    for start in range(0, len(rows), EMBED_WINDOW):
        part = rows[start : start + EMBED_WINDOW]
        work = [(a, plan.embed[a.id]) for a, idx in part if a is not None and idx is None]
        encoded = _embed(work, encoder, embedding) if work and encoder is not None else {}
        rescored = _embed(work, second, rescoring) if work and second is not None else {}
        report("writing", start, len(rows))
        for article, idx in part:
            if idx is not None:
                assert plan.previous is not None
                _copy_row(writer, plan.previous, idx, article)
            else:
                assert article is not None
                chunked = plan.embed[article.id]
                chunk_vectors, sentence_vectors = encoded[article.id]
                writer.add(
                    article, chunked.sentences, chunked.chunks, chunk_vectors, sentence_vectors,
                    chunked.kinds, rescored.get(article.id),
                )
        report("writing", start + len(part), len(rows))


class _Counter:
    """Progress of one stage summed over the windows a build embeds in."""

    def __init__(self, report: Report, stage: str, total: int) -> None:
        self.report, self.stage, self.total, self.done = report, stage, total, 0

    def __call__(self, n: int) -> None:
        self.done += n
        self.report(self.stage, self.done, self.total)


def _embed(
    work: list[tuple[Article, Chunked]], encoder: ChunkEncoder, counter: _Counter
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chunk and sentence vectors of every article to embed, by article id."""
    texts: list[str] = []
    spans: list[list[Span]] = []
    for article, chunked in work:
        for chunk in chunked.chunks:
            text, chunk_spans = _chunk_text_with_spans(article.title, chunked, chunk)
            texts.append(text)
            spans.append(chunk_spans)
    total = len(texts)
    counter(0)
    results = encoder.encode_chunks(texts, spans, counter)
    if len(results) != total:
        raise BuildError(f"embedder returned {len(results)} vectors for {total} chunks")

    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    position = 0
    for article, chunked in work:
        sentences, chunks = chunked.sentences, chunked.chunks
        mine = results[position : position + len(chunks)]
        position += len(chunks)
        sentence_vectors = np.zeros((len(sentences), mine[0].vector.shape[0]), dtype=np.float32)
        filled = np.zeros(len(sentences), dtype=bool)
        for chunk, item in zip(chunks, mine, strict=True):
            # A sentence shared by two chunks keeps the vector from the chunk where it came first:
            # there it has its preceding context, which is how the article reads.
            for j, sid in enumerate(range(chunk.first_sentence, chunk.last_sentence + 1)):
                if not filled[sid]:
                    sentence_vectors[sid] = item.sentence_vectors[j]
                    filled[sid] = True
        out[article.id] = (np.vstack([m.vector for m in mine]), sentence_vectors)
    return out


def _chunk_text_with_spans(title: str, chunked: Chunked, chunk: DraftChunk) -> tuple[str, list[Span]]:
    """The embedded text of a chunk and where each sentence (without its kind's label) sits in it."""
    text = embedding_text(title, "")
    spans: list[Span] = []
    for i in range(chunk.first_sentence, chunk.last_sentence + 1):
        if spans:
            text += " "
        sentence, kind = chunked.sentences[i], chunked.kinds[i]
        if kind != BODY:
            text += labelled("", kind)
        spans.append((len(text), len(text) + len(sentence)))
        text += sentence
    return text, spans


def _copy_row(writer: SegmentWriter, previous: Snapshot, idx: int, article: Article | None) -> None:
    """Copy live article ``idx`` of ``previous``, vectors and all, into the segment being written
    (``article``: its freshly read metadata, or None / a stub to keep the stored row's)."""
    row = previous.articles[idx]
    chunk_rows = slice(row.chunk_start, row.chunk_start + row.chunk_count)
    sentence_rows = slice(row.sentence_start, row.sentence_start + row.sentence_count)
    rescore = None
    if writer.rescore_dim is not None:  # the plan ensured the previous version has the same rescorer
        assert previous.rescore_chunk_vectors is not None and previous.rescore_sentence_vectors is not None
        rescore = (previous.rescore_chunk_vectors[chunk_rows], previous.rescore_sentence_vectors[sentence_rows])
    sentences = previous.sentence_text[row.sentence_start : row.sentence_start + row.sentence_count]
    chunks = [
        DraftChunk(
            ordinal=i,
            first_sentence=int(previous.chunk_first[cid] - row.sentence_start),
            last_sentence=int(previous.chunk_last[cid] - row.sentence_start),
            text=previous.chunk_text[cid],
        )
        for i, cid in enumerate(range(row.chunk_start, row.chunk_start + row.chunk_count))
    ]
    writer.add(
        corpus_scan.stub(row) if article is None or corpus_scan.is_stub(article) else article,
        sentences,
        chunks,
        previous.chunk_vectors[row.chunk_start : row.chunk_start + row.chunk_count],
        previous.sentence_vectors[row.sentence_start : row.sentence_start + row.sentence_count],
        previous.sentence_kind[row.sentence_start : row.sentence_start + row.sentence_count],
        rescore,
    )


# ---- the version --------------------------------------------------------------------------------
def _meta(settings: Settings, space: Space, skipped: Sequence[Sequence[str]]) -> dict[str, Any]:
    return {
        "model": settings.model,
        "dim": space.dim,
        "chunk_size": settings.chunk_sentences,
        "chunk_overlap": settings.chunk_overlap,
        "chunking": chunking_signature(
            settings.chunk_sentences, settings.chunk_overlap, token_budget(settings.model, settings.chunk_tokens)
        ),
        "embedder": space.signature,  # the model's signature: questions must be embedded the same way
        "options": settings.embedder_options(),
        "rescorer": space.rescore_signature or None,  # the second-stage model's signature (index.ask._stages)
        "corpus": str(settings.corpus_dir),
        "skipped": [list(e) for e in skipped],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _publish(
    settings: Settings,
    home: IndexHome,
    tmp_dir: Path,
    meta: dict[str, Any],
    segments: list[tuple[str, str]],
    dead: Mapping[str, list[int]],
    new_segment: str | None,
    report: Report,
) -> tuple[str, dict[str, int]]:
    """Write the version's manifest, verify it as a reader would, then switch it in."""
    report("verifying", 0, 1)
    write_version(tmp_dir, meta, segments, dict(dead))
    counts = _verify(tmp_dir, reading_limits(settings), new_segment)
    write_version(tmp_dir, {**meta, "counts": counts}, segments, dict(dead))
    name = home.next_version_name()
    home.publish(tmp_dir, name)
    return name, counts


def _verify(directory: Path, limits: VectorLimits | None = None, new_segment: str | None = None) -> dict[str, int]:
    """Load the new version as a reader would, check that search finds a chunk of the segment this
    build wrote by its own vector and that its full-text rows match its chunks, and count what it
    serves. Older segments were checked when they were written; loading re-verifies their files."""
    try:
        snap = Snapshot(directory, limits, preload=False)
    except PolicybotError as exc:
        raise BuildError(f"new index failed verification: {exc}") from exc
    names = [seg.name for seg in snap.segments]
    checked = names.index(new_segment) if new_segment in names else len(names) - 1
    if checked >= 0:
        seg = snap.segments[checked]
        lo, hi = snap.chunk_offsets[checked], snap.chunk_offsets[checked + 1]
        live_chunks = np.flatnonzero(snap.chunk_alive[lo:hi])  # local rows of the checked segment
        if len(live_chunks):
            # searched within its own segment: the older ones were checked when they were written,
            # and the IVF file of a large segment need not be read for this
            probe = int(live_chunks[len(live_chunks) // 2])
            vector = seg.chunks.rows(np.array([probe]))[0]
            near, _ = seg.chunks.search(vector, 5)
            if probe not in near.tolist() and not (len(near) and np.allclose(seg.chunks.rows(near), vector, atol=1e-3)):
                raise BuildError("new index failed verification: a chunk does not find itself")
        if seg.fts_count() != seg.counts["chunks"]:
            raise BuildError("new index failed verification: full-text rows do not match chunks")
    return {
        "articles": int(snap.alive.sum()),
        "chunks": int(snap.chunk_alive.sum()),
        "sentences": int(snap.article_sentence_count[snap.alive].sum()),
    }
