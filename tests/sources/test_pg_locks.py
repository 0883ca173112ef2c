"""A read that the statement timeout cancels because another session holds ACCESS
EXCLUSIVE on a table: the error names the table, the holder's pid and its
application_name (real values from a real PostgreSQL), and the next read works."""

from __future__ import annotations

import pytest

from magflow_console.sources.database import DatabaseSource
from magflow_console.sources.pg_conn import ReadOnlyConnection, SourceError
from magflow_console.sources.pg_locks import TableLock, lock_timeout_message, timed_out
from tests.sources.test_database import connect


def test_a_locked_table_names_its_holder_in_the_timeout(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url, statement_timeout_ms=300)
    try:
        with connect(head_db_url, "nightly-vacuum-full", autocommit=False) as locker:
            locker.execute("LOCK TABLE app.emag_sync_logs IN ACCESS EXCLUSIVE MODE")
            pid = locker.info.backend_pid
            sync = src.fetch_sync()
            database = src.fetch_database()  # reads no locked table: unaffected
            locker.rollback()
        assert sync.state == "error" and sync.error is not None
        assert (
            f"timed out (table app.emag_sync_logs locked by pid {pid}, "
            "application nightly-vacuum-full)"
        ) in sync.error, sync.error
        assert "statement timeout (0.3 s)" in sync.error
        assert database.state == "ok", database.error
        assert src.fetch_sync().state == "ok"
    finally:
        src.close()


def test_a_slow_read_with_no_table_lock_keeps_its_own_words(head_db_url: str) -> None:
    db = ReadOnlyConnection(head_db_url, statement_timeout_ms=300)
    try:
        with pytest.raises(SourceError) as info, db.transaction() as conn:
            conn.execute("SELECT pg_sleep(2)")
        assert str(info.value) == f"a query on {db.target} was cancelled by the statement timeout"
        with db.transaction() as conn:  # and the connection is fine afterwards
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        db.close()


def test_the_message_and_the_timeout_test_are_pure() -> None:
    locks = [
        TableLock(41, "psql \x1b[31mred", "app.emag_sync_logs"),
        TableLock(42, "", "app.users"),
    ]
    assert lock_timeout_message("db:5432/magflow", locks, 5000) == (
        "a query on db:5432/magflow timed out (table app.emag_sync_logs locked by pid 41, "
        "application psql red; 1 more table lock(s)) and was cancelled by the statement "
        "timeout (5 s)"
    )
    assert "application unnamed client)" in lock_timeout_message("t", locks[1:], 250)

    class Canceled(Exception):
        sqlstate = "57014"

    assert timed_out(Canceled()) and not timed_out(ValueError("x"))
