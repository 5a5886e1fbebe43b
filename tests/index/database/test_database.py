"""The shared PostgreSQL connection: URLs checked, secrets never in errors, schemas made once."""

from __future__ import annotations

import threading

import pytest

from index import Settings
from index.database import connect, database_url, ensure_schema, redact_url
from index.errors import DatabaseError


def test_unset_url_means_the_file_store() -> None:
    assert database_url(Settings(database_url=None)) is None
    assert database_url(Settings(database_url="  ")) is None


def test_a_url_that_is_not_postgres_is_refused_without_its_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        database_url(Settings(database_url="mysql://bot:hunter2@db/x"))
    assert "hunter2" not in str(caught.value)


def test_the_url_is_a_secret_the_logs_redact() -> None:
    settings = Settings(database_url="postgresql://bot:hunter2@127.0.0.1:1/x")
    assert "postgresql://bot:hunter2@127.0.0.1:1/x" in settings.secrets()
    assert "hunter2" not in repr(settings)


def test_redact_url_hides_passwords_in_urls_and_parameters() -> None:
    assert redact_url("postgresql://bot:s3cret@h:5432/db") == "postgresql://bot:***@h:5432/db"
    assert "s3cret" not in redact_url("host=h password=s3cret user=bot")
    assert redact_url("postgresql://bot@h/db") == "postgresql://bot@h/db"


def test_a_refused_connection_is_a_short_error_without_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        connect("postgresql://bot:hunter2@127.0.0.1:1/nothing")
    assert "hunter2" not in str(caught.value)
    assert "cannot connect" in str(caught.value)


def test_schema_is_made_once_even_when_many_start_together(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with connect(postgres_url) as conn:
                ensure_schema(conn, "demo", 1, "CREATE TABLE demo (x int); INSERT INTO demo VALUES (1);")
        except BaseException as exc:  # collected: the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM demo").fetchone() == (1,)


def test_a_database_from_a_newer_policybot_is_refused(postgres_url: str) -> None:
    with connect(postgres_url) as conn:
        ensure_schema(conn, "demo", 3, "CREATE TABLE demo (x int)")
        with pytest.raises(DatabaseError, match="version 3"):
            ensure_schema(conn, "demo", 2, "CREATE TABLE demo2 (x int)")
