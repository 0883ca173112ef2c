"""One sync trigger per account across consoles: a PostgreSQL advisory lock.

Two consoles (two people, two terminals) that plan a sync of the same account at the
same moment both pass the pre-flight: a sync leaves no trace another connection can see
until its worker has started (the ``running`` row is flushed, never committed, sheet §7).
Both would then trigger it, and MagFlow would run the account's sync twice.

Decision: the database every console reads is the place they meet. Before triggering,
the action takes a **session-level advisory lock per account**
(``pg_try_advisory_lock(SYNC_LOCK_CLASS, account key)``, two int4 keys: in ``pg_locks``
``classid`` = ``SYNC_LOCK_CLASS``, ``objid`` = the key, ``objsubid`` = 2; MagFlow's own
migration lock is the bigint form, ``objsubid`` = 1, so they never collide) on a
dedicated connection named ``magflow-console-sync``, and holds it until its run ends:
the trigger, and with ``--wait`` the watch for the outcome. It never waits for it: a
console that cannot take it is refused, with the holder's pid, application and client
address. Under the lock the action checks again that no sync is running (``busy()``:
the pre-flight's long transactions and fresh ``running`` rows, plus any other session
holding a write lock on ``emag_sync_logs``, which is what a sync's uncommitted row
leaves in ``pg_locks`` from its first second), so a console that comes just after
another one's trigger is refused too once that sync has started. ``both`` takes the
locks of ``main`` and ``fbe``. Closing the connection (a crash, Ctrl-C) releases them.

Read-only towards MagFlow: an advisory lock writes nothing. No Textual import.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from magflow_console.actions.guard import ActionContext, ActionRefused
from magflow_console.render.fmt import session
from magflow_console.sources.pg_conn import Conn, SourceError, friendly_error, parse_url, rows

APPLICATION_NAME = "magflow-console-sync"
#: the advisory lock's first key: "mfcs" (magflow-console sync) as an int4
SYNC_LOCK_CLASS = 0x6D666373
ACCOUNT_KEYS = {"main": 1, "fbe": 2}  # ``both`` takes both

_HOLDERS_SQL = """
    SELECT l.objid::int AS key,
           l.pid,
           coalesce(a.application_name, '') AS application_name,
           host(a.client_addr) AS client_addr,
           extract(epoch FROM now() - a.backend_start) AS seconds
      FROM pg_locks l
      LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory'
       AND l.granted
       AND l.classid = CAST(%(cls)s AS int)::oid
       AND l.objsubid = 2
       AND l.objid = ANY(CAST(%(keys)s AS int[])::oid[])
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.pid <> pg_backend_pid()
       AND l.pid IS DISTINCT FROM CAST(%(own)s AS int)
     ORDER BY l.objid, l.pid
    """

#: other sessions holding a write lock on the sync log: a sync's uncommitted row
_WRITERS_SQL = """
    SELECT l.pid,
           coalesce(a.application_name, '') AS application_name,
           host(a.client_addr) AS client_addr,
           extract(epoch FROM now() - a.xact_start) AS seconds
      FROM pg_locks l
      JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'relation'
       AND l.granted
       AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock')
       AND l.relation = to_regclass(quote_ident(%(schema)s) || '.emag_sync_logs')
       AND l.pid <> pg_backend_pid()
     ORDER BY a.xact_start, l.pid
    """


def _keys(accounts: Sequence[str]) -> list[int]:
    return sorted({ACCOUNT_KEYS.get(a, 0) for a in accounts})


def _who(r: dict[str, Any]) -> str:
    return session(r["pid"], r["application_name"], r["client_addr"], r["seconds"])


def guard_holders(conn: Conn, accounts: Sequence[str], own_pid: int | None = None) -> list[str]:
    """Who holds the sync lock of any of ``accounts`` (another console triggering);
    ``own_pid``: the session of this console's own guard, not counted."""
    names = {v: k for k, v in ACCOUNT_KEYS.items()}
    params = {"cls": SYNC_LOCK_CLASS, "keys": _keys(accounts), "own": own_pid}
    found = rows(conn, _HOLDERS_SQL, params)
    return [
        f"another console is triggering a sync of {names.get(r['key'], '?')}: {_who(r)}"
        for r in found
    ]


def sync_log_writers(conn: Conn, schema: str) -> list[str]:
    """Sessions writing ``emag_sync_logs`` now: a running sync's uncommitted row."""
    return [
        f"{_who(r)} is writing {schema}.emag_sync_logs (a running sync's uncommitted row)"
        for r in rows(conn, _WRITERS_SQL, {"schema": schema})
    ]


class SyncGuard:
    """The advisory locks of one run (``acquire`` ... ``release``; a context manager)."""

    def __init__(self, ctx: ActionContext) -> None:
        p = ctx.profile
        self.schema = p.database.db_schema
        self.connect_timeout = p.database.connect_timeout
        url = ctx.database_url()
        self.url = parse_url(url)
        self._conn: Conn | None = None

    @property
    def pid(self) -> int | None:
        """The backend pid of the guard's session (while it holds the locks)."""
        return self._conn.info.backend_pid if self._conn is not None else None

    def acquire(self, accounts: Sequence[str]) -> None:
        """Take every account's lock or none; ``ActionRefused`` naming the holder when one
        is held, ``SourceError`` when the database cannot be reached."""
        params: dict[str, Any] = {
            **self.url.params,
            "connect_timeout": max(2, math.ceil(self.connect_timeout)),
            "application_name": APPLICATION_NAME,
        }
        try:
            conn = psycopg.connect(
                make_conninfo("", **params), autocommit=True, prepare_threshold=None
            )
        except (psycopg.Error, OSError) as exc:
            raise SourceError(friendly_error(exc, self.url, self.connect_timeout)) from None
        self._conn = conn
        try:
            for key in _keys(accounts):
                got = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", [SYNC_LOCK_CLASS, key]
                ).fetchone()
                if not (got and got[0]):
                    held = guard_holders(conn, accounts) or [
                        "another console is triggering a sync of the same account"
                    ]
                    self.release()
                    raise ActionRefused(
                        "A sync of this account is being triggered elsewhere: "
                        + "; ".join(held)
                        + "."
                    )
        except psycopg.Error as exc:
            self.release()
            raise SourceError(friendly_error(exc, self.url, self.connect_timeout)) from None

    def release(self) -> None:
        """Closing the session releases every advisory lock it holds."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock_all()")
            with contextlib.suppress(Exception):
                conn.close()
