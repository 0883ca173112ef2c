"""Who is doing what on the MagFlow database: the Alembic migration lock and long
transactions (the only trace a running eMAG sync leaves, sheet §7).

Plain functions over an open psycopg connection (dict rows); no Textual import.
"""

from __future__ import annotations

from magflow_console.models import LockHolder, LongTransaction
from magflow_console.sources.pg_conn import Conn, rows

MIGRATION_LOCK_ID = 123456789  # pg_advisory_lock key taken by MagFlow's alembic/env.py
SYNC_TABLES = ("emag_products_v2", "emag_sync_logs")

# A bigint advisory key shows up as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
_LOCK_SQL = """
    SELECT l.pid,
           l.granted,
           coalesce(a.application_name, '') AS application_name,
           host(a.client_addr) AS client_addr,
           a.state,
           extract(epoch FROM now() - CASE WHEN l.granted
                                           THEN coalesce(a.xact_start, a.query_start)
                                           ELSE a.query_start END) AS seconds,
           a.query
      FROM pg_locks l
      LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory'
       AND l.classid = (CAST(%(key)s AS bigint) >> 32)::oid
       AND l.objid = (CAST(%(key)s AS bigint) & 4294967295)::oid
       AND l.objsubid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY l.granted DESC, seconds DESC NULLS LAST, l.pid
    """

_LONG_XACT_SQL = """
    WITH sync_rel AS (
        SELECT to_regclass(quote_ident(%(schema)s) || '.' || quote_ident(t)) AS oid
          FROM unnest(CAST(%(tables)s AS text[])) AS t
    )
    SELECT a.pid,
           coalesce(a.application_name, '') AS application_name,
           host(a.client_addr) AS client_addr,
           a.state,
           extract(epoch FROM now() - a.xact_start) AS age,
           a.query,
           (EXISTS (SELECT 1
                      FROM pg_locks l
                     WHERE l.pid = a.pid
                       AND l.locktype = 'relation'
                       AND l.relation IN (SELECT oid FROM sync_rel WHERE oid IS NOT NULL))
            OR coalesce(a.query, '') ~* CAST(%(pattern)s AS text)) AS touches
      FROM pg_stat_activity a
     WHERE a.datname = current_database()
       AND a.pid <> pg_backend_pid()
       AND a.backend_type = 'client backend'
       AND a.xact_start IS NOT NULL
       AND a.xact_start < now() - make_interval(secs => CAST(%(min_age)s AS double precision))
       AND a.state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
     ORDER BY a.xact_start, a.pid
    """


def _short(query: str | None, limit: int = 500) -> str | None:
    if query is None:
        return None
    query = " ".join(query.split())
    return query if len(query) <= limit else query[: limit - 1] + "…"


def migration_lock_holders(conn: Conn) -> tuple[LockHolder, ...]:
    """Granted holder(s) first, then the waiters, of the migration advisory lock."""
    return tuple(
        LockHolder(
            pid=int(r["pid"]),
            granted=bool(r["granted"]),
            application_name=r["application_name"],
            client_addr=r["client_addr"],
            state=r["state"],
            waiting_seconds=float(r["seconds"]) if r["seconds"] is not None else None,
            query=_short(r["query"]),
        )
        for r in rows(conn, _LOCK_SQL, {"key": MIGRATION_LOCK_ID})
    )


def long_transactions(
    conn: Conn, schema: str, min_age_seconds: float
) -> tuple[LongTransaction, ...]:
    """Other clients' transactions open longer than ``min_age_seconds`` (oldest first)."""
    pattern = r"\m(" + "|".join(SYNC_TABLES) + r")\M"
    params = {
        "schema": schema,
        "tables": list(SYNC_TABLES),
        "pattern": pattern,
        "min_age": float(min_age_seconds),
    }
    return tuple(
        LongTransaction(
            pid=int(r["pid"]),
            application_name=r["application_name"],
            client_addr=r["client_addr"],
            state=r["state"],
            xact_age_seconds=float(r["age"]),
            query=_short(r["query"]),
            touches_sync_tables=bool(r["touches"]),
        )
        for r in rows(conn, _LONG_XACT_SQL, params)
    )
