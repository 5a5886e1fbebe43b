"""The store's part of ``policybot bench --backend postgres`` on a tiny synthetic corpus against a real
PostgreSQL: both backends build, publish and serve the increment, a second engine with its own data
folder ends on the new version, a standby takes the leader lock over after each kind of kill, and the
scratch databases are gone afterwards. Structure only: the timings are the bench's output."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bot.cli import build_parser
from index.settings import Settings
from measure import cli as measure_cli
from measure.bench import pg_store, postgres


def test_store_bench_on_both_backends(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    result = pg_store.store_bench(
        postgres_url, tmp_path / "work", settings, base=30, increment=10, trials=1, retry=0.05, log=lambda _: None
    )

    assert result["base"] == 30 and result["increment"] == 10
    rows = {row["backend"]: row for row in result["rows"]}
    assert set(rows) == {"files", "postgres"}
    for row in rows.values():
        assert row["added"] == 10 and row["chunks_embedded"] > 0
        assert row["reader_before"] != row["reader_after"] == row["built"]  # the reader moved to the new version
        assert row["chunks_after"] == row["chunks_before"] + row["chunks_embedded"]
        assert row["check_ms_p95"] >= row["check_ms_p50"] > 0.0  # the per-question pointer check was timed
        assert row["serve_new_s"] >= row["fetch_s"] >= 0.0 and row["increment_build_s"] >= row["verify_publish_s"] > 0.0
    assert rows["files"]["fetched_mb"] == 0.0  # one data folder: nothing to fetch
    assert rows["postgres"]["fetched_mb"] > 0.0  # its own data folder: the new segment came from the database

    assert [row["kill"] for row in result["failover"]] == list(pg_store.KILLS)
    for row in result["failover"]:
        assert row["trials"] == 1 and row["retry_s"] == 0.05
        assert (
            row["takeover_s_max"] >= row["takeover_s_p50"] >= 0.0 and row["freed_ms_max"] >= row["freed_ms_p50"] >= 0.0
        )

    with psycopg.connect(postgres_url) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'pb_bench_%'").fetchone()
        locks = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    assert left == (0,)  # every scratch database dropped
    assert not any((tmp_path / "work" / backend).exists() for backend in rows)  # nor corpora or indexes left
    assert locks == (0,)  # no holder or standby left holding a lock

    table = postgres.format_results({"store": result})
    assert "postgres" in table and "pg_terminate_backend" in table and "SIGKILL" in table


def test_scratch_database_keeps_the_servers_options() -> None:
    url = "postgresql://bot:secret@db.internal:5433/policybot?sslmode=require"
    assert (
        pg_store.database_in(url, "pb_bench_x") == "postgresql://bot:secret@db.internal:5433/pb_bench_x?sslmode=require"
    )
    socket = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert pg_store.database_in(socket, "pb_bench_x") == "postgresql://postgres:@/pb_bench_x?host=/tmp/pg"


def test_cli_takes_the_store_options_and_refuses_unknown_parts() -> None:
    parser = build_parser(measure_cli)
    args = parser.parse_args(
        ["bench", "--backend", "postgres", "--pg-parts", "store", "--pg-store-base", "500", "--pg-increment", "100",
         "--pg-failover-trials", "3", "--pg-retry", "0.5"]
    )  # fmt: skip
    assert (args.pg_parts, args.pg_store_base, args.pg_increment) == ("store", 500, 100)
    assert (args.pg_failover_trials, args.pg_retry) == (3, 0.5)
    bad = parser.parse_args(["bench", "--backend", "postgres", "--pg-parts", "store,everything"])
    assert postgres.main(bad, Settings(_env_file=None)) == 2  # type: ignore[call-arg]
