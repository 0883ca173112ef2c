"""Who holds a lock that blocks the console's reads, to say so when a read times out.

A read takes ACCESS SHARE on what it reads, so only ACCESS EXCLUSIVE blocks it (``LOCK
TABLE``, most ``ALTER TABLE``, ``DROP``, ``TRUNCATE``, ``VACUUM FULL``). When the statement
timeout cancels a read, ``pg_conn.ReadOnlyConnection`` asks ``table_locks`` who holds such
a lock on a table of the database (``pg_locks`` joined to ``pg_stat_activity``: the pid
and its ``application_name``) and the error says "timed out (table app.x locked by pid
N, application X)". The waiting query is gone by then, so the holder is not proven to be
what it waited for: a table lock of another session at that moment is the only thing
that makes a read wait, and the message names the table so the reader can judge.

Plain functions over an open psycopg connection; no Textual import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from magflow_console.render.text import one_line, scrub

#: the sessions holding ACCESS EXCLUSIVE on a table of this database, oldest first
_BLOCKING_LOCKS_SQL = """
    SELECT l.pid,
           coalesce(a.application_name, '') AS application_name,
           n.nspname AS schema,
           c.relname AS relation
      FROM pg_locks l
      JOIN pg_class c ON c.oid = l.relation
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'relation'
       AND l.mode = 'AccessExclusiveLock'
       AND l.granted
       AND l.pid <> pg_backend_pid()
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND n.nspname <> 'information_schema'
       AND n.nspname !~ '^pg_'
     ORDER BY a.xact_start NULLS LAST, l.pid, c.relname
    """


@dataclass(frozen=True)
class TableLock:
    """Another session holding ACCESS EXCLUSIVE on a table: it blocks every read of it."""

    pid: int
    application_name: str
    table: str  # schema.relation


def table_locks(conn: psycopg.Connection[Any]) -> list[TableLock]:
    """Who holds a lock that blocks reads on a table of this database (``pg_locks``
    joined to ``pg_stat_activity``), oldest transaction first."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_BLOCKING_LOCKS_SQL)
        found = cur.fetchall()
    return [
        TableLock(int(r["pid"]), r["application_name"], f"{r['schema']}.{r['relation']}")
        for r in found
    ]


def timed_out(err: BaseException) -> bool:
    """The statement (or lock) timeout cancelled the query."""
    orig: BaseException = getattr(err, "orig", None) or err
    return getattr(orig, "sqlstate", None) in {"57014", "55P03"}


def lock_timeout_message(target: str, locks: list[TableLock], timeout_ms: int) -> str:
    """``a query on host:port/db timed out (table app.x locked by pid N, application X)
    and was cancelled by the statement timeout (5 s)``."""
    first = locks[0]
    who = scrub(one_line(first.application_name, 60)) or "unnamed client"
    more = f"; {len(locks) - 1} more table lock(s)" if len(locks) > 1 else ""
    return (
        f"a query on {target} timed out (table {one_line(first.table, 80)} locked by pid "
        f"{first.pid}, application {who}{more}) and was cancelled by the statement timeout "
        f"({timeout_ms / 1000:g} s)"
    )
