"""Building a new index version from the corpus: incremental, verified, then switched in atomically."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.corpus import (
    BODY,
    Chunked,
    DraftChunk,
    chunk_article,
    chunking_signature,
    embedding_text,
    labelled,
)
from index.errors import BuildError, IndexCorruptError, IndexMissingError, PolicybotError
from index.models import EncodedChunk, Span, make_embedder, make_rescorer, token_budget
from index.settings import Settings
from index.store import _increment as increment
from index.store import _scan as corpus_scan
from index.store import _versions as versions
from index.store._segment import Segment, SegmentWriter, vector_limits, verify_segment
from index.store._snapshot import Snapshot, write_version
from index.types import Article, BuildProgress, BuildReport

log = logging.getLogger(__name__)
ProgressFn = Callable[[BuildProgress], None]
EMBED_WINDOW = 2000
"""Articles embedded and written at a time (bounds a build's memory, whatever the corpus size)."""


class ChunkEncoder(Protocol):
    """What a build needs from an embedder (tests pass failing or counting ones)."""

    name: str
    dim: int

    def signature(self) -> dict[str, Any]: ...

    def encode_chunks(
        self, texts: list[str], spans: list[list[Span]], progress: Callable[[int], None] | None = None
    ) -> list[EncodedChunk]: ...


def build_index(
    settings: Settings,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
    embedder: ChunkEncoder | Callable[[], ChunkEncoder] | None = None,
    rescorer: ChunkEncoder | Callable[[], ChunkEncoder] | None = None,
    changed: Sequence[Path] | None = None,
) -> BuildReport:
    """Build a new version beside the live one; on any failure the live version stays as it was.

    ``changed``: the corpus files the caller wrote or deleted (feeds, uploads). The build then looks
    up only those files' articles instead of walking the whole corpus (:mod:`index.store._increment`),
    so its cost follows the change, not the corpus; when that cannot be decided safely it walks.
    Every build also takes the changes earlier builds owe (refused by the lock, failed, killed:
    :func:`index.store._versions.owed`) and settles them once its version is live.

    ``embedder`` may be a loaded encoder or a factory, so a no-change rebuild never loads the model.
    ``rescorer`` (the same, for ``POLICYBOT_RESCORE_MODEL``) adds the second stage's chunk and
    sentence vectors to the version; None loads that model only when the setting names one.
    """
    data_dir = settings.data_dir
    with versions.build_lock(data_dir):
        owed = versions.owed(data_dir)
        if changed is not None:
            changed = None if owed.paths is None else [*changed, *owed.paths]
        versions.prune(data_dir, settings.keep_versions)
        tmp_dir = versions.new_tmp_dir(data_dir)
        try:
            reporter = _Reporter(data_dir, progress)
            report = None
            if changed is not None and not full:
                report = _build_increment(settings, tmp_dir, changed, reporter, embedder, rescorer)
            if report is None:
                report = _build(settings, tmp_dir, full, reporter, embedder, rescorer)
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
        versions.settle(owed.records)
        versions.prune(data_dir, settings.keep_versions)
        return report


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


def _build(
    settings: Settings,
    tmp_dir: Path,
    full: bool,
    report: _Reporter,
    embedder: ChunkEncoder | Callable[[], ChunkEncoder] | None,
    rescorer: ChunkEncoder | Callable[[], ChunkEncoder] | None = None,
) -> BuildReport:
    started = time.perf_counter()
    report("reading", 0, 1)
    previous = None if full else _previous_snapshot(settings)
    reusable = _reusable(previous, settings)
    try:
        scan = corpus_scan.scan_corpus(settings.corpus_dir, settings.data_dir, previous if reusable else None)
    except PolicybotError as exc:
        raise BuildError(str(exc)) from exc
    articles, errors = scan.articles, scan.errors
    for name, reason in errors:
        log.warning("skipped %s: %s", name, reason)
    if not articles:
        raise BuildError(f"no readable articles in {settings.corpus_dir}")
    report("reading", 1, 1)

    plans, to_embed = _plan(articles, reusable, settings, errors)
    signature: dict[str, Any]
    rescore_signature: dict[str, Any] | None = None
    if to_embed:
        encoder = _encoder(embedder, settings)
        signature = encoder.signature()
        second = _rescore_encoder(rescorer, settings)
        rescore_signature = second.signature() if second is not None else None
        reusing = any(how == "reuse" for how, _ in plans)
        if previous is not None and reusing and (
            previous.manifest.get("embedder") != signature or previous.rescorer != rescore_signature
        ):
            # Same settings, another model underneath (new weights, another fake in tests): the old
            # vectors are from another space, so nothing may be copied.
            log.warning("the model differs from the one that built the live index: re-embedding everything")
            scan = corpus_scan.scan_corpus(settings.corpus_dir, settings.data_dir, None)  # unchanged files too
            articles, errors = scan.articles, scan.errors
            plans, to_embed = _plan(articles, {}, settings, errors)
        dim = encoder.dim
    else:
        assert previous is not None  # nothing to embed means every article was reused
        encoder, second = None, None
        dim, signature = previous.dim, previous.manifest.get("embedder", {})
        rescore_signature = previous.rescorer

    kept, dead, copied = _segments_to_keep(previous, plans, settings.max_segments)
    rows: list[tuple[Article | None, int | None]] = []
    for how, a in plans:
        if how == "embed":
            rows.append((a, None))
        elif a.id in copied:
            assert previous is not None
            rows.append((a, previous.by_id.index_of(a.id)))
    segment_list = [(seg.name, seg.digest) for seg in kept]
    written = _write_segment(
        settings, previous, rows, to_embed, encoder, second, report, dim,
        int(rescore_signature["dim"]) if rescore_signature else None,
    )
    if written is not None:
        segment_list.append(written)
    meta = _meta(settings, dim, signature, rescore_signature, errors)
    name, _ = _publish(settings, tmp_dir, meta, segment_list, dead, written[0] if written else None, report)
    corpus_scan.save(settings.data_dir, scan)
    report("verifying", 1, 1)

    current_ids = {a.id for a in articles}
    old_ids = set(previous.by_id) if previous else set()
    embedded_ids = {a.id for a, _ in to_embed}
    return BuildReport(
        version=name,
        articles=len(plans),
        added=len(embedded_ids - old_ids),
        changed=len(embedded_ids & old_ids),
        removed=len(old_ids - current_ids),
        unchanged=len(plans) - len(embedded_ids),
        chunks_total=sum(len(c.chunks) for _, c in to_embed)
        + sum(
            int(previous.article_chunk_count[previous.by_id.index_of(a.id)])
            for how, a in plans
            if how == "reuse" and previous
        ),
        chunks_embedded=sum(len(c.chunks) for _, c in to_embed),
        seconds=time.perf_counter() - started,
        errors=tuple(errors),
    )


def _build_increment(
    settings: Settings,
    tmp_dir: Path,
    changed: Sequence[Path],
    report: _Reporter,
    embedder: ChunkEncoder | Callable[[], ChunkEncoder] | None,
    rescorer: ChunkEncoder | Callable[[], ChunkEncoder] | None,
) -> BuildReport | None:
    """A build from a list of changed files; None when only a full walk can decide (no live
    version, other settings, no scan cache, an id two files claim, another model underneath)."""
    started = time.perf_counter()
    report("reading", 0, 1)
    previous = _previous_snapshot(settings)
    if previous is None or not _same_setup(previous, settings):
        return None
    changes = increment.plan_changes(previous, settings.corpus_dir, settings.data_dir, changed)
    if changes is None:
        return None
    report("reading", 1, 1)
    budget = token_budget(settings.model, settings.chunk_tokens)
    to_embed: list[tuple[Article, Chunked]] = []
    for article in changes.embed:
        chunked = chunk_article(article, settings.chunk_sentences, settings.chunk_overlap, budget)
        if chunked.chunks:
            to_embed.append((article, chunked))
        else:
            changes.errors.append((article.id, "no sentences found"))  # as the full build names it
            changes.states[article.path] = None
    for name, reason in changes.errors:
        log.warning("skipped %s: %s", name, reason)

    encoder: ChunkEncoder | None = None
    second: ChunkEncoder | None = None
    dim, signature, rescore_signature = previous.dim, previous.manifest.get("embedder", {}), previous.rescorer
    if to_embed:
        encoder = _encoder(embedder, settings)
        second = _rescore_encoder(rescorer, settings)
        if encoder.signature() != signature or (second.signature() if second else None) != rescore_signature:
            return None  # another model underneath: the full build re-embeds everything
    alive_after = previous.alive.copy()
    alive_after[np.fromiter(changes.retired, dtype=np.int64, count=len(changes.retired))] = False
    kept, dead, merged = _choose_segments(previous, alive_after, bool(to_embed), settings.max_segments)
    rows: list[tuple[Article | None, int | None]] = [(a, None) for a, _ in to_embed]
    rows += [(None, int(previous.article_offsets[i] + local)) for i, locals_ in merged for local in locals_]
    written = _write_segment(
        settings, previous, rows, to_embed, encoder, second, report, dim,
        int(rescore_signature["dim"]) if rescore_signature else None,
    )
    segment_list = [(seg.name, seg.digest) for seg in kept] + ([written] if written else [])
    skipped = [tuple(e) for e in previous.manifest.get("skipped", []) if e[0] not in changes.fixed]
    meta = _meta(settings, dim, signature, rescore_signature, [*skipped, *changes.errors])
    name, counts = _publish(settings, tmp_dir, meta, segment_list, dead, written[0] if written else None, report)
    corpus_scan.update(settings.data_dir, changes.states)
    report("verifying", 1, 1)

    retired_ids = {previous.articles[idx].id for idx in changes.retired}
    embedded_ids = {a.id for a, _ in to_embed}
    return BuildReport(
        version=name,
        articles=counts["articles"],
        added=len(embedded_ids - retired_ids),
        changed=len(embedded_ids & retired_ids),
        removed=len(retired_ids - embedded_ids),
        unchanged=counts["articles"] - len(embedded_ids),
        chunks_total=counts["chunks"],
        chunks_embedded=sum(len(c.chunks) for _, c in to_embed),
        seconds=time.perf_counter() - started,
        errors=tuple(changes.errors),
    )


def _same_setup(previous: Snapshot, settings: Settings) -> bool:
    """Whether the live version was built with these settings (so its vectors may be kept)."""
    m = previous.manifest
    budget = token_budget(settings.model, settings.chunk_tokens)
    return (
        m.get("model") == settings.model
        and m.get("options", {}) == settings.embedder_options()
        and (m.get("rescorer") or {}).get("model") == settings.rescore_model
        and m.get("chunking") == chunking_signature(settings.chunk_sentences, settings.chunk_overlap, budget)
    )


def _write_segment(
    settings: Settings,
    previous: Snapshot | None,
    rows: list[tuple[Article | None, int | None]],
    to_embed: list[tuple[Article, Chunked]],
    encoder: ChunkEncoder | None,
    second: ChunkEncoder | None,
    report: _Reporter,
    dim: int,
    rescore_dim: int | None,
) -> tuple[str, str] | None:
    """The new segment: ``rows`` are articles to embed (idx None) or live rows of ``previous`` to
    copy (a merge). Returns ``(name, manifest sha256)``, or None when there is nothing to write."""
    if not rows:
        report("writing", 0, 0)
        return None
    tmp_segment = versions.new_tmp_segment_dir(settings.data_dir)
    writer = SegmentWriter(tmp_segment, dim=dim, rescore_dim=rescore_dim, limits=vector_limits(settings))
    try:
        drafts = {a.id: c for a, c in to_embed}
        embedding = _Counter(report, "embedding", sum(len(c.chunks) for _, c in to_embed))
        rescoring = _Counter(report, "re-scoring", embedding.total)
        pools = contextlib.ExitStack()
        for model in (encoder, second):
            parallel = getattr(model, "parallel", None)  # index.models.PooledEmbedder: worker processes
            if parallel is not None and embedding.total:
                pools.enter_context(parallel(embedding.total, settings.build_processes))
        with pools:
            _write_rows(writer, previous, rows, drafts, encoder, second, report, embedding, rescoring)
        writer.finish()
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp_segment, ignore_errors=True)
        raise
    name = versions.place_segment(settings.data_dir, tmp_segment)
    return name, verify_segment(versions.segments_root(settings.data_dir) / name)[1]


def _write_rows(
    writer: SegmentWriter,
    previous: Snapshot | None,
    rows: list[tuple[Article | None, int | None]],
    drafts: dict[str, Chunked],
    encoder: ChunkEncoder | None,
    second: ChunkEncoder | None,
    report: _Reporter,
    embedding: _Counter,
    rescoring: _Counter,
) -> None:
    """Embed a window of articles, write it, go on: vectors never pile up for the whole corpus."""
    for start in range(0, len(rows), EMBED_WINDOW):
        part = rows[start : start + EMBED_WINDOW]
        work = [(a, drafts[a.id]) for a, idx in part if a is not None and idx is None]
        encoded = _embed(work, encoder, embedding) if work and encoder is not None else {}
        rescored = _embed(work, second, rescoring) if work and second is not None else {}
        report("writing", start, len(rows))
        for article, idx in part:
            if idx is not None:
                assert previous is not None
                _copy_row(writer, previous, idx, article)
            else:
                assert article is not None
                chunked = drafts[article.id]
                chunk_vectors, sentence_vectors = encoded[article.id]
                writer.add(
                    article, chunked.sentences, chunked.chunks, chunk_vectors, sentence_vectors,
                    chunked.kinds, rescored.get(article.id),
                )
        report("writing", start + len(part), len(rows))


def _meta(
    settings: Settings,
    dim: int,
    signature: dict[str, Any],
    rescore_signature: dict[str, Any] | None,
    errors: list[tuple[str, str]],
) -> dict[str, Any]:
    return {
        "model": settings.model,
        "dim": dim,
        "chunk_size": settings.chunk_sentences,
        "chunk_overlap": settings.chunk_overlap,
        "chunking": chunking_signature(
            settings.chunk_sentences, settings.chunk_overlap, token_budget(settings.model, settings.chunk_tokens)
        ),
        "embedder": signature,  # the model's signature: questions must be embedded the same way
        "options": settings.embedder_options(),
        "rescorer": rescore_signature or None,  # the second-stage model's signature (index.ask._stages)
        "corpus": str(settings.corpus_dir),
        "skipped": [list(e) for e in errors],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _publish(
    settings: Settings,
    tmp_dir: Path,
    meta: dict[str, Any],
    segments: list[tuple[str, str]],
    dead: dict[str, list[int]],
    new_segment: str | None,
    report: _Reporter,
) -> tuple[str, dict[str, int]]:
    """Write the version's manifest, verify it as a reader would, then switch it in."""
    report("verifying", 0, 1)
    write_version(tmp_dir, meta, segments, dead)
    counts = _verify(tmp_dir, _reading_limits(settings), new_segment)
    write_version(tmp_dir, {**meta, "counts": counts}, segments, dead)
    name = versions.next_version_name(settings.data_dir)
    versions.publish(settings.data_dir, tmp_dir, name)
    return name, counts


def _previous_snapshot(settings: Settings) -> Snapshot | None:
    name = versions.current_version(settings.data_dir)
    if name is None:
        return None
    try:
        return Snapshot(versions.versions_dir(settings.data_dir) / name, _reading_limits(settings), preload=False)
    except (IndexCorruptError, IndexMissingError) as exc:
        log.warning("live index unusable, building from scratch: %s", exc)
        return None


def _plan(
    articles: list[Article], reusable: dict[str, str], settings: Settings, errors: list[tuple[str, str]]
) -> tuple[list[tuple[str, Article]], list[tuple[Article, Chunked]]]:
    """Which articles are copied from the live version and which are chunked and embedded."""
    plans: list[tuple[str, Article]] = []
    to_embed: list[tuple[Article, Chunked]] = []
    budget = token_budget(settings.model, settings.chunk_tokens)
    for article in articles:
        if reusable.get(article.id) == article.content_hash:
            plans.append(("reuse", article))
            continue
        chunked = chunk_article(article, settings.chunk_sentences, settings.chunk_overlap, budget)
        if not chunked.chunks:
            errors.append((article.id, "no sentences found"))
            continue
        to_embed.append((article, chunked))
        plans.append(("embed", article))
    return plans, to_embed


def _reusable(previous: Snapshot | None, settings: Settings) -> dict[str, str]:
    """Old articles whose vectors may be copied: same model, model options and chunking, else none.

    Decided from the settings alone, so a no-change rebuild never loads the model; the build
    still compares the loaded model's signature before copying next to new vectors.
    """
    if previous is None or not _same_setup(previous, settings):
        return {}
    return {article_id: content_hash for article_id, (content_hash, _) in previous.live_hashes().items()}


def _encoder(embedder: ChunkEncoder | Callable[[], ChunkEncoder] | None, settings: Settings) -> ChunkEncoder:
    """Load the model only when something needs embedding."""
    if embedder is None:
        return make_embedder(settings)
    if hasattr(embedder, "encode_chunks"):
        return embedder  # type: ignore[return-value]
    return embedder()


def _rescore_encoder(
    rescorer: ChunkEncoder | Callable[[], ChunkEncoder] | None, settings: Settings
) -> ChunkEncoder | None:
    """The second-stage model, loaded only when ``POLICYBOT_RESCORE_MODEL`` names one."""
    if not settings.rescore_model:
        return None
    if rescorer is None:
        return make_rescorer(settings)
    return _encoder(rescorer, settings)


class _Counter:
    """Progress of one stage summed over the windows a build embeds in."""

    def __init__(self, report: _Reporter, stage: str, total: int) -> None:
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
    if writer.rescore_dim is not None:  # _reusable ensured the previous version has the same rescorer
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


def _reading_limits(settings: Settings) -> Any:
    """A build reads versions row by row (compare, copy, one probe search): every vector set stays
    on disk, so a no-change rebuild never converts gigabytes to float32 just to look at them."""
    from dataclasses import replace

    return replace(vector_limits(settings), memory_rows=0)


def _segments_to_keep(
    previous: Snapshot | None, plans: list[tuple[str, Article]], max_segments: int
) -> tuple[list[Segment], dict[str, list[int]], set[str]]:
    """A full build's segments (see :func:`_choose_segments`): rows stay alive where the corpus
    still has the article unchanged; returns the kept segments, their dead rows and the ids of the
    reused articles copied into the new segment instead."""
    reused = {a.id for how, a in plans if how == "reuse"}
    if previous is None or not reused:
        return [], {}, set()
    alive_after = previous.alive.copy()
    for i, seg in enumerate(previous.segments):
        base = previous.article_offsets[i]
        alive_after[base : base + len(seg.ids)] &= np.fromiter((aid in reused for aid in seg.ids), bool, len(seg.ids))
    adding = any(how == "embed" for how, _ in plans)
    kept, dead, merged = _choose_segments(previous, alive_after, adding, max_segments)
    copied = {previous.segments[i].ids[int(local)] for i, rows in merged for local in rows}
    return kept, dead, copied


def _choose_segments(
    previous: Snapshot, alive_after: np.ndarray, adding: bool, max_segments: int
) -> tuple[list[Segment], dict[str, list[int]], list[tuple[int, np.ndarray]]]:
    """Which of the live version's segments the new version keeps as they are, which of their rows
    it retires, and which live rows are copied into the new segment instead, given which articles
    stay alive (``alive_after``, by global idx) and whether the build writes new articles.

    A segment whose rows are mostly retired, or one of the smallest when there are more than
    ``max_segments``, is merged: its live articles are copied into the new segment, so merging
    costs in proportion to the small segments, never to the largest. Returns the kept segments,
    their dead rows by segment name, and the merged segments as (index, live local rows).
    """
    kept: list[tuple[int, np.ndarray]] = []
    merged: list[tuple[int, np.ndarray]] = []
    for i, seg in enumerate(previous.segments):
        alive = alive_after[previous.article_offsets[i] : previous.article_offsets[i + 1]]
        if alive.any():
            (merged if alive.sum() < 0.5 * seg.counts["articles"] else kept).append((i, alive))
    kept.sort(key=lambda item: -previous.segments[item[0]].counts["chunks"])
    while kept and len(kept) + (1 if adding or merged else 0) > max_segments:
        merged.append(kept.pop())
    kept.sort(key=lambda item: item[0])
    dead = {previous.segments[i].name: np.flatnonzero(~alive).tolist() for i, alive in kept if not alive.all()}
    merged.sort(key=lambda item: item[0])
    return [previous.segments[i] for i, _ in kept], dead, [(i, np.flatnonzero(alive)) for i, alive in merged]


def _verify(directory: Path, limits: Any = None, new_segment: str | None = None) -> dict[str, int]:
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
            # and a million-article segment's IVF file need not be read for this
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
