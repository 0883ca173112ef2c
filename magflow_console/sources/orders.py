"""Order health per eMAG account from ``app.emag_orders`` (sheet §4.5, §11.4).

The order sync (``emag.sync_orders``, every 300 s) and the auto-acknowledge
(``emag.auto_acknowledge_orders``, every 600 s: new orders, status 1, become in-progress,
status 2, on eMAG) write only ``emag_orders``, never ``emag_sync_logs``, so their health is
read from the orders themselves: how many are new, how many new ones have waited too long
without being acknowledged, the newest ``last_synced_at`` and ``acknowledged_at``, and the
rows whose ``sync_error`` is set.

Two queries, chosen on a million orders (``bench/bench_database.py``):
- **new orders, on every call**: ``WHERE status = 1`` walks ``idx_emag_orders_status``,
  so its cost follows the number of new orders (a few thousand at most while the
  auto-acknowledge works), not the size of the table;
- **whole-table figures, cacheable**: the total, the rows with a sync error and the newest
  ``last_synced_at`` / ``acknowledged_at`` have no index to use (the console never creates
  indexes on MagFlow's database), so they take one (parallel) sequential scan, about
  0.3 s on a million orders; ``OrderTotalsCache`` reuses it and says how old it is.

"Stale" means status 1, ``acknowledged_at`` null, and ``created_at`` older than the
threshold (two auto-ack intervals, 1200 s, by default). ``created_at`` is when MagFlow first
stored the order, in its own naive-UTC clock and never null: an order can only be
acknowledged by MagFlow once it is there. ``order_date`` is eMAG's time of the order, may
be null, and would flag an order that a late sync has just brought in; ``last_synced_at``
moves on every sync of a new order (every 300 s), so a stuck order would never look old.

Timestamps are naive UTC in the database and aware UTC here. No Textual import.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from magflow_console.models import OrderAccountStats, OrdersSnapshot, utcnow
from magflow_console.sources.pg_conn import Conn, SourceError, rows, scalar
from magflow_console.sources.sync_stats import KNOWN_ACCOUNTS, aware, qident

TABLE = "emag_orders"
STATUS_NEW = 1
AUTO_ACK_INTERVAL_SECONDS = 600.0  # EMAG_AUTO_ACK_INTERVAL's default (sheet §6.4)
STALE_AFTER_SECONDS = 2 * AUTO_ACK_INTERVAL_SECONDS


def new_orders_sql(schema: str) -> str:
    """New orders per account and how many of them are stale (cutoff: naive UTC)."""
    return f"""SELECT account_type, count(*) AS new,
           count(*) FILTER (WHERE acknowledged_at IS NULL AND created_at < %(cutoff)s)
               AS stale
      FROM {qident(schema)}.{TABLE}
     WHERE status = {STATUS_NEW}
     GROUP BY account_type"""


def totals_sql(schema: str) -> str:
    """The whole-table figures per account (one pass over the table)."""
    return f"""SELECT account_type, count(*) AS total,
           count(*) FILTER (WHERE sync_error ~ '\\S') AS with_sync_error,
           max(last_synced_at) AS last_synced_at,
           max(acknowledged_at) AS last_acknowledged_at
      FROM {qident(schema)}.{TABLE}
     GROUP BY account_type"""


def check_table(conn: Conn, schema: str) -> None:
    """Raise ``SourceError`` with one sentence when ``<schema>.emag_orders`` is missing
    (checked first, so no failed statement aborts the caller's transaction)."""
    found = scalar(
        conn,
        "SELECT to_regclass(quote_ident(%(s)s) || '.' || quote_ident(%(t)s))",
        {"s": schema, "t": TABLE},
    )
    if found is None:
        raise SourceError(
            f'table {schema}.{TABLE} does not exist in database "{conn.info.dbname}" '
            "(is the schema migrated?)"
        )


def order_totals(conn: Conn, schema: str) -> dict[str, dict[str, Any]]:
    """account -> orders_total, with_sync_error, last_synced_at, last_acknowledged_at."""
    return {
        r["account_type"]: {
            "orders_total": int(r["total"]),
            "with_sync_error": int(r["with_sync_error"]),
            "last_synced_at": aware(r["last_synced_at"]),
            "last_acknowledged_at": aware(r["last_acknowledged_at"]),
        }
        for r in rows(conn, totals_sql(schema))
    }


def _utc(now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def new_orders(
    conn: Conn, schema: str, *, stale_after_seconds: float, now: dt.datetime
) -> dict[str, dict[str, int]]:
    """account -> new, new_unacknowledged_stale (``now``: naive is taken as UTC)."""
    cutoff = _utc(now).replace(tzinfo=None) - dt.timedelta(seconds=float(stale_after_seconds))
    return {
        r["account_type"]: {"new": int(r["new"]), "new_unacknowledged_stale": int(r["stale"])}
        for r in rows(conn, new_orders_sql(schema), {"cutoff": cutoff})
    }


def fetch_orders(
    conn: Conn,
    schema: str,
    *,
    stale_after_seconds: float = STALE_AFTER_SECONDS,
    now: dt.datetime | None = None,
    totals: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, OrderAccountStats]:
    """Order figures per account: ``main`` and ``fbe`` always (zeros on an empty table),
    then any other account found, by name.

    ``now`` is the reference time of the stale test (default: the database's clock, the
    one nearest to the clock MagFlow stamps ``created_at`` with). ``totals`` is a (cached)
    result of ``order_totals``; read here when ``None``. Raises ``SourceError`` with one
    sentence when the table is missing.
    """
    check_table(conn, schema)
    if now is None:
        now = scalar(conn, "SELECT now()")  # the transaction's start, aware
    assert now is not None
    data: dict[str, dict[str, Any]] = {a: {} for a in KNOWN_ACCOUNTS}
    for acct, values in (order_totals(conn, schema) if totals is None else totals).items():
        data.setdefault(acct, {}).update(values)
    fresh = new_orders(conn, schema, stale_after_seconds=stale_after_seconds, now=now)
    for acct, counts in fresh.items():
        data.setdefault(acct, {}).update(counts)
    order = [*KNOWN_ACCOUNTS, *sorted(a for a in data if a not in KNOWN_ACCOUNTS)]
    return {a: OrderAccountStats(account=a, **data[a]) for a in order}


class OrderTotalsCache:
    """The last ``order_totals`` result, reused for ``max_age_seconds`` (0: never).

    Not locked: ``DatabaseSource`` only reads it inside its (serialised) transactions.
    """

    def __init__(self, max_age_seconds: float) -> None:
        self.max_age_seconds = float(max_age_seconds)
        self._value: tuple[float, dict[str, dict[str, Any]]] | None = None

    def get(self, conn: Conn, schema: str) -> tuple[dict[str, dict[str, Any]], float]:
        """The totals and their age in seconds (0.0 when read now)."""
        now = time.monotonic()
        if self._value is not None and now - self._value[0] < self.max_age_seconds:
            return self._value[1], now - self._value[0]
        totals = order_totals(conn, schema)
        self._value = (time.monotonic(), totals)
        return totals, 0.0


def snapshot(
    conn: Conn,
    schema: str,
    cache: OrderTotalsCache,
    *,
    stale_after_seconds: float = STALE_AFTER_SECONDS,
    started: float | None = None,
) -> OrdersSnapshot:
    """An ``OrdersSnapshot`` read inside the caller's transaction (``started`` from
    ``time.perf_counter``). Raises ``SourceError`` like ``fetch_orders``."""
    started = time.perf_counter() if started is None else started
    check_table(conn, schema)  # before the cache: a dropped table is never hidden by it
    totals, age = cache.get(conn, schema)
    accounts = fetch_orders(conn, schema, stale_after_seconds=stale_after_seconds, totals=totals)
    return OrdersSnapshot(
        state="ok",
        error=None,
        fetched_at=utcnow(),
        duration_ms=(time.perf_counter() - started) * 1000,
        accounts=accounts,
        counts_age_seconds=age,
    )
