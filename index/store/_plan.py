"""What a build will do, decided before it writes anything: a full walk and an increment each give a
:class:`BuildPlan`, and one executor (:mod:`index.store._execute`) carries out either, so both
publish and report the same way."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.corpus import SUFFIXES, Chunked, chunk_article, chunking_signature, load_article
from index.errors import ArticleError, BuildError, IndexCorruptError, IndexMissingError, PolicybotError
from index.models import EncodedChunk, Span, make_embedder, make_rescorer, token_budget
from index.settings import Settings
from index.store import _scan as corpus_scan
from index.store._home import IndexHome
from index.store._scan import FileState, Scan
from index.store._segment import Segment, VectorLimits, vector_limits
from index.store._snapshot import Snapshot
from index.types import Article

log = logging.getLogger(__name__)
Report = Callable[[str, int, int], None]
"""Progress of a stage: ``report(stage, done, total)``."""
Row = tuple[Article | None, int | None]
"""A row of the new segment: ``(article, None)`` is embedded; ``(article, idx)`` copies live row
``idx`` of the previous version with fresh metadata, ``(None, idx)`` with its stored metadata."""


class ChunkEncoder(Protocol):
    """What a build needs from an embedder (tests pass failing or counting ones)."""

    name: str
    dim: int

    def signature(self) -> dict[str, Any]: ...

    def encode_chunks(
        self, texts: list[str], spans: list[list[Span]], progress: Callable[[int], None] | None = None
    ) -> list[EncodedChunk]: ...


Models = ChunkEncoder | Callable[[], ChunkEncoder] | None
"""A loaded encoder, a factory (so a build with nothing to embed never loads the model), or None."""


@dataclass(frozen=True)
class Space:
    """The vector space of the new version: the models that embed its new rows (None when nothing
    is embedded) and the signatures its manifest records."""

    encoder: ChunkEncoder | None
    second: ChunkEncoder | None
    dim: int
    signature: dict[str, Any]
    rescore_signature: dict[str, Any] | None


@dataclass(frozen=True)
class BuildPlan:
    """Everything a build does, decided: the rows of the one new segment (embedded and copied, in
    order), the live segments kept and their retired rows, what the report and manifest say."""

    previous: Snapshot | None
    rows: tuple[Row, ...]
    embed: Mapping[str, Chunked]
    keep: tuple[Segment, ...]
    dead: Mapping[str, list[int]]
    retired: frozenset[str]
    """Ids of live articles the version drops or replaces (the report's changed and removed)."""
    space: Space
    errors: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, ...], ...]
    """What the manifest lists as skipped."""
    files: Scan | Mapping[str, FileState | None]
    """The scan cache once the version is live: a whole walk, or an increment's files (None: gone)."""


# ---- the full walk ----------------------------------------------------------------------------
def plan_full(
    settings: Settings, full: bool, report: Report, embedder: Models, rescorer: Models, home: IndexHome
) -> BuildPlan:
    """Walk the corpus: unchanged articles are copied from the live version (none when ``full``)."""
    report("reading", 0, 1)
    previous = None if full else previous_snapshot(settings, home)
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

    plans, to_embed = _chunk_or_reuse(articles, reusable, settings, errors)
    if to_embed:
        encoder = _encoder(embedder, settings)
        second = _rescore_encoder(rescorer, settings)
        space = Space(encoder, second, encoder.dim, encoder.signature(), second.signature() if second else None)
        reusing = any(how == "reuse" for how, _ in plans)
        if previous is not None and reusing and (
            previous.manifest.get("embedder") != space.signature or previous.rescorer != space.rescore_signature
        ):
            # Same settings, another model underneath (new weights, another fake in tests): the old
            # vectors are from another space, so nothing may be copied.
            log.warning("the model differs from the one that built the live index: re-embedding everything")
            scan = corpus_scan.scan_corpus(settings.corpus_dir, settings.data_dir, None)  # unchanged files too
            articles, errors = scan.articles, scan.errors
            plans, to_embed = _chunk_or_reuse(articles, {}, settings, errors)
    else:
        assert previous is not None  # nothing to embed means every article was reused
        space = Space(None, None, previous.dim, previous.manifest.get("embedder", {}), previous.rescorer)

    kept, dead, copied = _segments_to_keep(previous, plans, settings.max_segments)
    rows: list[Row] = []
    for how, a in plans:
        if how == "embed":
            rows.append((a, None))
        elif a.id in copied:
            assert previous is not None
            rows.append((a, previous.by_id.index_of(a.id)))
    old_ids = set(previous.by_id) if previous else set()
    embedded = {a.id for a, _ in to_embed}
    return BuildPlan(
        previous=previous,
        rows=tuple(rows),
        embed={a.id: c for a, c in to_embed},
        keep=tuple(kept),
        dead=dead,
        retired=frozenset((old_ids - {a.id for a in articles}) | (old_ids & embedded)),
        space=space,
        errors=tuple(errors),
        skipped=tuple(errors),
        files=scan,
    )


def _chunk_or_reuse(
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
    Decided from the settings alone, so a no-change rebuild never loads the model."""
    if previous is None or not _same_setup(previous, settings):
        return {}
    return {article_id: content_hash for article_id, (content_hash, _) in previous.live_hashes().items()}


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


# ---- the increment ------------------------------------------------------------------------------
def plan_increment(
    settings: Settings, changed: Sequence[Path], report: Report, embedder: Models, rescorer: Models, home: IndexHome
) -> BuildPlan | None:
    """Look up only the changed files' articles; None when only a full walk can decide (no live
    version, other settings, no scan cache, an id two files claim, another model underneath)."""
    report("reading", 0, 1)
    previous = previous_snapshot(settings, home)
    if previous is None or not _same_setup(previous, settings):
        return None
    changes = _changes(previous, settings.corpus_dir, settings.data_dir, changed)
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

    space = Space(None, None, previous.dim, previous.manifest.get("embedder", {}), previous.rescorer)
    if to_embed:
        encoder = _encoder(embedder, settings)
        second = _rescore_encoder(rescorer, settings)
        rescore_signature = second.signature() if second else None
        if encoder.signature() != space.signature or rescore_signature != space.rescore_signature:
            return None  # another model underneath: the full build re-embeds everything
        space = replace(space, encoder=encoder, second=second)
    alive_after = previous.alive.copy()
    alive_after[np.fromiter(changes.retired, dtype=np.int64, count=len(changes.retired))] = False
    kept, dead, merged = _choose_segments(previous, alive_after, bool(to_embed), settings.max_segments)
    rows: list[Row] = [(a, None) for a, _ in to_embed]
    rows += [(None, int(previous.article_offsets[i] + local)) for i, locals_ in merged for local in locals_]
    skipped = [tuple(e) for e in previous.manifest.get("skipped", []) if e[0] not in changes.fixed]
    return BuildPlan(
        previous=previous,
        rows=tuple(rows),
        embed={a.id: c for a, c in to_embed},
        keep=tuple(kept),
        dead=dead,
        retired=frozenset(previous.articles[idx].id for idx in changes.retired),
        space=space,
        errors=tuple(changes.errors),
        skipped=(*skipped, *changes.errors),
        files=changes.states,
    )


@dataclass
class _Changes:
    """An increment's files: articles to embed, live rows retired (global idx), files skipped, the
    scan-cache records to write, and names whose earlier "skipped" entry no longer applies."""

    embed: list[Article] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)
    states: dict[str, FileState | None] = field(default_factory=dict)
    fixed: set[str] = field(default_factory=set)


def _changes(previous: Snapshot, corpus_dir: Path, data_dir: Path, paths: Iterable[Path]) -> _Changes | None:
    """What ``paths`` (new, rewritten or deleted files) change, or None when only a walk can tell:
    no scan cache to say what a deleted file held, or an id another file still claims."""
    root = str(corpus_dir)
    wanted: dict[str, str] = {}  # path as the corpus walk spells it -> name relative to the corpus
    for p in paths:
        rel = os.path.relpath(p, root)
        parts = rel.split(os.sep)
        if rel.startswith("..") or any(part.startswith(".") for part in parts):
            continue  # outside the corpus, or hidden: a walk would not see it either
        if os.path.splitext(rel)[1].lower() not in SUFFIXES or _under_linked_folder(root, parts[:-1]):
            continue
        wanted[os.path.join(root, rel)] = rel.replace(os.sep, "/")
    cached = corpus_scan.cached_states(data_dir, list(wanted))
    if cached is None:
        return None
    changes = _Changes()
    new_ids: set[str] = set()
    for path, name in sorted(wanted.items()):
        changes.fixed.update((name, Path(name).stem))  # skipped entries name files, or ids
        old = cached.get(path)
        try:
            article = load_article(Path(path), corpus_dir)
            st = os.stat(path)
        except (OSError, ArticleError) as exc:
            if old is not None:  # deleted or now unreadable: the article it held leaves the index
                _retire(previous, changes, old.article_id, path)
            if os.path.lexists(path):  # unreadable, not deleted (a link to nothing is named too)
                changes.errors.append((name, str(exc.strerror if isinstance(exc, OSError) else exc)))
            changes.states[path] = None
            continue
        if old is not None and old.article_id != article.id:
            _retire(previous, changes, old.article_id, path)
        if article.id in new_ids:
            return None  # two changed files claim one id: the walk decides which one wins
        new_ids.add(article.id)
        idx = previous.find_live(article.id)
        if idx is not None:
            row = previous.articles[idx]
            if row.path != path and os.path.exists(row.path):
                return None  # another file still holds this id: a duplicate the walk reports
            if row.path == path and row.content_hash == article.content_hash:
                changes.states[path] = FileState(st.st_size, st.st_mtime_ns, article.id, article.content_hash)
                continue
            changes.retired.add(idx)
        changes.embed.append(article)
        changes.states[path] = FileState(st.st_size, st.st_mtime_ns, article.id, article.content_hash)
    return changes


def _under_linked_folder(root: str, folders: list[str]) -> bool:
    """Whether a folder on the way is a symbolic link (the walk never follows those either)."""
    here = root
    for folder in folders:
        here = os.path.join(here, folder)
        if os.path.islink(here):
            return True
    return False


def _retire(previous: Snapshot, changes: _Changes, article_id: str, path: str) -> None:
    """Retire the live article that ``path`` held when it was last scanned (if it still does)."""
    idx = previous.find_live(article_id)
    if idx is not None and previous.articles[idx].path == path:
        changes.retired.add(idx)


# ---- shared -------------------------------------------------------------------------------------
def _choose_segments(
    previous: Snapshot, alive_after: np.ndarray, adding: bool, max_segments: int
) -> tuple[list[Segment], dict[str, list[int]], list[tuple[int, np.ndarray]]]:
    """Which live segments the new version keeps as they are (and their retired rows), and which
    are merged: their live rows copied into the new segment. A segment mostly retired, or one of
    the smallest past ``max_segments``, is merged, so merging costs what the small ones hold."""
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


def previous_snapshot(settings: Settings, home: IndexHome) -> Snapshot | None:
    """The live version (fetched into this data folder first if it is elsewhere), read row by row;
    None before the first build or when it is unusable."""
    name = home.live()
    if name is None:
        return None
    try:
        return Snapshot(home.local(name), reading_limits(settings), preload=False)
    except (IndexCorruptError, IndexMissingError) as exc:
        log.warning("live index unusable, building from scratch: %s", exc)
        return None


def reading_limits(settings: Settings) -> VectorLimits:
    """A build reads versions row by row (compare, copy, one probe search): every vector set stays
    on disk, so a no-change rebuild never converts a large index to float32 just to look at it."""
    return replace(vector_limits(settings), memory_rows=0)


def _encoder(embedder: Models, settings: Settings) -> ChunkEncoder:
    """Load the model only when something needs embedding."""
    if embedder is None:
        return make_embedder(settings)
    if hasattr(embedder, "encode_chunks"):
        return embedder  # type: ignore[return-value]
    return embedder()


def _rescore_encoder(rescorer: Models, settings: Settings) -> ChunkEncoder | None:
    """The second-stage model, loaded only when ``POLICYBOT_RESCORE_MODEL`` names one."""
    if not settings.rescore_model:
        return None
    if rescorer is None:
        return make_rescorer(settings)
    return _encoder(rescorer, settings)
