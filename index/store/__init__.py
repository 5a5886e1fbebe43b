"""The index: immutable segments, versions behind a live pointer (``CURRENT``, or PostgreSQL when
``POLICYBOT_DATABASE_URL`` is set), and the build that makes them."""

from index.store._ann import DEFAULT as ANN_DEFAULT
from index.store._ann import AnnParams, VectorSet, nlist_for
from index.store._ann import build_index as build_ann_index
from index.store._execute import build_index
from index.store._home import IndexHome, open_home
from index.store._idf import idf_table, selective_terms, unseen_idf
from index.store._segment import vector_limits
from index.store._snapshot import Snapshot
from index.store._versions import (
    current_version,
    owed,
    owing,
    read_progress,
    read_progress_text,
)

__all__ = [
    "ANN_DEFAULT",
    "AnnParams",
    "IndexHome",
    "Snapshot",
    "VectorSet",
    "build_ann_index",
    "build_index",
    "current_version",
    "idf_table",
    "nlist_for",
    "open_home",
    "owed",
    "owing",
    "read_progress",
    "read_progress_text",
    "selective_terms",
    "unseen_idf",
    "vector_limits",
]
