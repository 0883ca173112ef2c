"""eMAG sync statistics and anomalies from ``app.emag_sync_logs`` and the product tables.

Set-based queries only (one GROUP BY per question, indexes on ``started_at`` and
``status``), so a database with a million products and 100k sync logs stays fast.

Decisions (documented in the report):
- ``both`` rows (a ``both`` run writes one row, sheet §7) are shown under their own
  account key ``both``; they are *not* added to ``main``/``fbe`` run counts, but a
  successful ``both`` run counts as a recent success for ``main`` and ``fbe`` in the
  ``sync_no_recent_success`` rule (the run covered both accounts).
- outcome: completed with 0 items -> ``empty`` (even with errors: nothing synced);
  completed with errors -> ``partial``; completed otherwise -> ``success``; a
  committed ``running`` row older than the timeout -> ``stale_running``.
- anomalies about finished runs look at the last 24 h, one finding per
  (code, account, sync type) with the count and the newest run id as ``subject``.

No Textual import.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from magflow_console.models import AccountStats, Finding, LongTransaction, SyncRun
from magflow_console.render.text import scrub_json
from magflow_console.sources.pg_conn import Conn, first, rows

KNOWN_ACCOUNTS = ("main", "fbe")
BOTH = "both"


def qident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# errors is jsonb: a list of {"error", "timestamp"}; be safe with null / non-array values
ERROR_COUNT_SQL = """(CASE jsonb_typeof(errors)
        WHEN 'array' THEN jsonb_array_length(errors)
        WHEN 'object' THEN (errors <> '{}'::jsonb)::int
        WHEN 'string' THEN (errors <> '""'::jsonb)::int
        ELSE 0 END)"""

NOW_UTC = "(now() AT TIME ZONE 'utc')"
#: how far ahead of the database's clock a start may be (the app's clock may run ahead)
FUTURE_SLACK = "interval '15 minutes'"
#: a start the statistics can use: not 'infinity' and not in the future. A row without one
#: is still listed, but never counts as the last run, a success or a failure "in the last
#: 24 h" (a far-future row would be all three for ever)
SANE_START = f"(isfinite(started_at) AND started_at <= {NOW_UTC} + {FUTURE_SLACK})"

OUTCOME_SQL = f"""(CASE
        WHEN status = 'completed' AND greatest(total_items, processed_items) = 0 THEN 'empty'
        WHEN status = 'completed' AND {ERROR_COUNT_SQL} > 0 THEN 'partial'
        WHEN status = 'completed' THEN 'success'
        WHEN status = 'running'
             AND started_at < {NOW_UTC} - make_interval(mins => CAST(%(running_timeout)s AS int))
             THEN 'stale_running'
        ELSE status END)"""

# the outcome 'success' as a filter: completed, items > 0, no errors
SUCCESS_SQL = f"""(status = 'completed' AND greatest(total_items, processed_items) > 0
        AND {ERROR_COUNT_SQL} = 0)"""

RUN_COLUMNS = f"""id::text AS id, sync_type, account_type, operation, status, started_at,
        completed_at, duration_seconds, total_items, processed_items, created_items,
        updated_items, failed_items, {ERROR_COUNT_SQL} AS error_count, {OUTCOME_SQL} AS outcome"""

DETAIL_COLUMNS = f"{RUN_COLUMNS}, errors, sync_params, triggered_by, sync_version"

SYNC_TABLES_NEEDED = ("emag_sync_logs", "emag_products_v2", "emag_product_offers_v2")


def aware(value: Any) -> dt.datetime | None:
    """Naive values are UTC (MagFlow writes naive UTC); aware ones are converted to UTC."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def finite(value: Any) -> float | None:
    """A number column as a float; ``None`` for NULL, NaN, ±Infinity or what is no number
    (double precision holds them all; nothing downstream can use them)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def row_to_run(m: Mapping[str, Any], detail: bool = False) -> SyncRun:
    return SyncRun(
        id=str(m["id"]),
        sync_type=m["sync_type"],
        account_type=m["account_type"],
        operation=m["operation"],
        status=m["status"],
        started_at=aware(m["started_at"]),
        completed_at=aware(m["completed_at"]),
        duration_seconds=finite(m["duration_seconds"]),
        total_items=int(m["total_items"] or 0),
        processed_items=int(m["processed_items"] or 0),
        created_items=int(m["created_items"] or 0),
        updated_items=int(m["updated_items"] or 0),
        failed_items=int(m["failed_items"] or 0),
        error_count=int(m["error_count"] or 0),
        # a run's JSON and free text may quote a request (headers, a password=): masked
        # here, so that no face shows a secret from them
        errors=scrub_json(m["errors"]) if detail else None,
        sync_params=scrub_json(m["sync_params"]) if detail else None,
        triggered_by=scrub_json(m["triggered_by"]) if detail else None,
        sync_version=scrub_json(m["sync_version"]) if detail else None,
        outcome=m["outcome"],
    )


def missing_tables(conn: Conn, schema: str, tables: tuple[str, ...]) -> list[str]:
    found = rows(
        conn,
        "SELECT t FROM unnest(CAST(%(tables)s AS text[])) AS t "
        "WHERE to_regclass(quote_ident(%(schema)s) || '.' || quote_ident(t)) IS NULL",
        {"tables": list(tables), "schema": schema},
    )
    return [f"{schema}.{r['t']}" for r in found]


def recent_runs(
    conn: Conn,
    schema: str,
    *,
    running_timeout: int,
    limit: int,
    account: str | None = None,
    status: str | None = None,
) -> tuple[SyncRun, ...]:
    """Newest first; ``status`` matches the status column *or* the outcome class."""
    where = []
    params: dict[str, Any] = {"running_timeout": running_timeout, "limit": max(0, int(limit))}
    if account:
        where.append("account_type = %(account)s")
        params["account"] = account
    if status:
        where.append(f"(status = %(status)s OR {OUTCOME_SQL} = %(status)s)")
        params["status"] = status
    sql = (
        f"SELECT {RUN_COLUMNS} FROM {qident(schema)}.emag_sync_logs"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY started_at DESC, id LIMIT %(limit)s"
    )
    return tuple(row_to_run(r) for r in rows(conn, sql, params))


def run_ids_by_prefix(conn: Conn, schema: str, prefix: str, limit: int = 6) -> list[str]:
    """Ids of the runs whose id starts with ``prefix`` (hex digits and dashes), newest first.

    A sequential scan of the ids: some milliseconds on 100k rows, for one lookup."""
    sql = (
        f"SELECT id::text AS id FROM {qident(schema)}.emag_sync_logs "
        "WHERE id::text LIKE %(p)s ORDER BY started_at DESC LIMIT %(n)s"
    )
    return [r["id"] for r in rows(conn, sql, {"p": prefix + "%", "n": limit})]


def one_run(conn: Conn, schema: str, run_id: str, running_timeout: int) -> SyncRun | None:
    sql = f"SELECT {DETAIL_COLUMNS} FROM {qident(schema)}.emag_sync_logs WHERE id = CAST(%(id)s AS uuid)"
    row = first(conn, sql, {"id": run_id, "running_timeout": running_timeout})
    return row_to_run(row, detail=True) if row is not None else None


def product_counts(conn: Conn, schema: str) -> dict[str, dict[str, Any]]:
    """Products (total / active / inactive / newest sync) and offers per account.

    The expensive part of ``fetch_sync`` on a big catalogue: ``is_active`` is in no index,
    so this is one (parallel) sequential scan of ``emag_products_v2``; offers are counted
    from the ``(sku, account_type)`` index. ``DatabaseSource`` caches the result briefly.
    """
    s = qident(schema)
    data: dict[str, dict[str, Any]] = {}
    for r in rows(
        conn,
        f"""SELECT account_type, count(*) AS total,
                   count(*) FILTER (WHERE is_active) AS active,
                   max(last_synced_at) FILTER (WHERE isfinite(last_synced_at)
                        AND last_synced_at <= {NOW_UTC} + {FUTURE_SLACK}) AS last_synced
              FROM {s}.emag_products_v2 GROUP BY account_type""",
    ):
        data.setdefault(r["account_type"], {}).update(
            products_total=int(r["total"]),
            products_active=int(r["active"]),
            products_inactive=int(r["total"]) - int(r["active"]),
            last_synced_at=aware(r["last_synced"]),
        )

    for r in rows(
        conn,
        f"SELECT account_type, count(*) AS n FROM {s}.emag_product_offers_v2 GROUP BY account_type",
    ):
        data.setdefault(r["account_type"], {})["offers"] = int(r["n"])
    return data


def account_stats(
    conn: Conn,
    schema: str,
    *,
    counts: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, AccountStats]:
    """Products, offers and products-sync statistics per account (main and fbe always).

    ``counts`` is a (cached) result of ``product_counts``; computed here when ``None``.
    """
    s = qident(schema)
    data: dict[str, dict[str, Any]] = {a: {} for a in KNOWN_ACCOUNTS}
    for acct, values in (product_counts(conn, schema) if counts is None else counts).items():
        data.setdefault(acct, {}).update(values)

    # Index-driven: the accounts by a skip scan of (sync_type, account_type), then per
    # account the newest run and the newest success by a backward scan of started_at, and
    # the 24 h / 7 d windows by a range scan of started_at; no pass over the whole history.
    for r in rows(
        conn,
        f"""WITH RECURSIVE accts AS (
                    (SELECT account_type FROM {s}.emag_sync_logs
                      WHERE sync_type = 'products' ORDER BY account_type LIMIT 1)
                    UNION ALL
                    SELECT (SELECT l.account_type FROM {s}.emag_sync_logs l
                             WHERE l.sync_type = 'products' AND l.account_type > a.account_type
                             ORDER BY l.account_type LIMIT 1)
                      FROM accts a WHERE a.account_type IS NOT NULL)
                SELECT a.account_type, last.started_at AS last_run, last.status AS last_status,
                       ok.started_at AS last_success, w.runs_24h, w.ok_24h, w.runs_7d, w.ok_7d
                  FROM accts a
                  LEFT JOIN LATERAL (
                        SELECT started_at, status FROM {s}.emag_sync_logs
                         WHERE sync_type = 'products' AND account_type = a.account_type
                           AND {SANE_START}
                         ORDER BY started_at DESC, id LIMIT 1) last ON true
                  LEFT JOIN LATERAL (
                        SELECT started_at FROM {s}.emag_sync_logs
                         WHERE sync_type = 'products' AND account_type = a.account_type
                           AND {SUCCESS_SQL} AND {SANE_START}
                         ORDER BY started_at DESC LIMIT 1) ok ON true
                 CROSS JOIN LATERAL (
                        SELECT count(*) FILTER (WHERE started_at >= {NOW_UTC} - interval '24 hours')
                                   AS runs_24h,
                               count(*) FILTER (WHERE started_at >= {NOW_UTC} - interval '24 hours'
                                                  AND {SUCCESS_SQL}) AS ok_24h,
                               count(*) AS runs_7d,
                               count(*) FILTER (WHERE {SUCCESS_SQL}) AS ok_7d
                          FROM {s}.emag_sync_logs
                         WHERE sync_type = 'products' AND account_type = a.account_type
                           AND started_at >= {NOW_UTC} - interval '7 days' AND {SANE_START}) w
                 WHERE a.account_type IS NOT NULL""",
    ):
        runs_24h, runs_7d = int(r["runs_24h"]), int(r["runs_7d"])
        data.setdefault(r["account_type"], {}).update(
            last_run=aware(r["last_run"]),
            last_run_status=r["last_status"],
            last_success=aware(r["last_success"]),
            runs_24h=runs_24h,
            runs_7d=runs_7d,
            success_rate_24h=(int(r["ok_24h"]) / runs_24h) if runs_24h else None,
            success_rate_7d=(int(r["ok_7d"]) / runs_7d) if runs_7d else None,
        )

    order = [*KNOWN_ACCOUNTS, *sorted(a for a in data if a not in KNOWN_ACCOUNTS)]
    return {a: AccountStats(account=a, **data[a]) for a in order}


_LABELS = {
    "partial": ("sync_completed_with_errors", "completed with errors"),
    "empty": ("sync_completed_empty", "completed with 0 items (nothing synced)"),
    "failed": ("sync_failed", "failed"),
}
_SHORT = {"partial": "with errors", "empty": "with 0 items", "failed": "failed"}


def _fmt(ts: dt.datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts else "never"


# an HTTP status the eMAG API answered, as the sync's page errors word it ("eMAG API error
# 429: Too Many Requests", "... HTTP 503"): rate limiting and server errors, the ones the
# sync retries five times before it skips the page (sheet §6.2)
HTTP_CODE_RE = r"(?:error|http|status|code)[^0-9]{0,15}(429|5[0-9][0-9])\M"


def http_codes(
    conn: Conn, s: str, params: Mapping[str, Any]
) -> dict[tuple[str, str, str], list[tuple[str, int]]]:
    """(account, sync type, outcome) -> [(HTTP status, how many page errors)], most first,
    over the last 24 h: which account the marketplace is refusing, and how.

    The runs are chosen first (a materialized CTE): flattened into the join, their outcome,
    which reads ``errors``, was computed again for every error, so a run with 40,000 page
    errors (6.5 MB) took minutes and cancelled the whole sync read."""
    found = rows(
        conn,
        f"""WITH r AS MATERIALIZED (
                SELECT * FROM (SELECT account_type, sync_type, errors, {OUTCOME_SQL} AS outcome
                                 FROM {s}.emag_sync_logs
                                WHERE started_at >= {NOW_UTC} - interval '24 hours'
                                  AND {SANE_START} AND jsonb_typeof(errors) = 'array') x
                 WHERE outcome IN ('partial', 'empty', 'failed'))
            SELECT r.account_type, r.sync_type, r.outcome, m[1] AS code, count(*) AS n
              FROM r
             CROSS JOIN LATERAL jsonb_array_elements(r.errors) e
             CROSS JOIN LATERAL regexp_matches(
                   CASE jsonb_typeof(e) WHEN 'object' THEN coalesce(e->>'error', '')
                                        WHEN 'string' THEN e #>> '{{}}' ELSE '' END,
                   %(http_re)s, 'i') m
             GROUP BY 1, 2, 3, 4
             ORDER BY 1, 2, 3, n DESC, code""",
        {**params, "http_re": HTTP_CODE_RE},
    )
    out: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    for r in found:
        key = (r["account_type"], r["sync_type"], r["outcome"])
        out.setdefault(key, []).append((r["code"], int(r["n"])))
    return out


def anomalies(
    conn: Conn,
    schema: str,
    accounts: Mapping[str, AccountStats],
    *,
    running_timeout: int,
    no_success_hours: float,
    long_xacts: tuple[LongTransaction, ...],
) -> tuple[Finding, ...]:
    s = qident(schema)
    found: list[Finding] = []
    params = {"running_timeout": running_timeout}

    bad = rows(
        conn,
        f"""SELECT account_type, sync_type, outcome, count(*) AS n,
                       max(started_at) AS newest, sum(error_count) AS errors,
                       (array_agg(id ORDER BY started_at DESC))[1] AS newest_id
                  FROM (SELECT id::text AS id, account_type, sync_type, started_at,
                               {ERROR_COUNT_SQL} AS error_count, {OUTCOME_SQL} AS outcome
                          FROM {s}.emag_sync_logs
                         WHERE started_at >= {NOW_UTC} - interval '24 hours'
                           AND {SANE_START}) r
                 WHERE outcome IN ('partial', 'empty', 'failed')
                 GROUP BY account_type, sync_type, outcome
                 ORDER BY account_type, sync_type, outcome""",
        params,
    )
    http = http_codes(conn, s, params) if bad else {}
    for r in bad:
        code, label = _LABELS[r["outcome"]]
        acct = accounts.get(r["account_type"])
        latest_is_bad = (
            r["sync_type"] == "products"
            and acct is not None
            and acct.last_run is not None
            and aware(r["newest"]) == acct.last_run
        )
        severity: Any = "warning"
        if r["outcome"] in ("empty", "failed") and latest_is_bad:
            severity = "critical"
        extra = f", {int(r['errors'])} errors in total" if r["outcome"] == "partial" else ""
        answered = http.get((r["account_type"], r["sync_type"], r["outcome"]))
        if answered:
            extra += "; eMAG answered " + ", ".join(f"{c} ×{n}" for c, n in answered)
        found.append(
            Finding(
                code=code,
                severity=severity,
                message=(
                    f"{r['n']} {r['sync_type']} sync run(s) for {r['account_type']} {label} in the "
                    f"last 24 h (newest {_fmt(aware(r['newest']))}{extra})"
                ),
                account=r["account_type"],
                subject=r["newest_id"],
                short=(
                    ("" if r["sync_type"] == "products" else f"{r['sync_type']}: ")
                    + f"{r['n']} run(s) {_SHORT[r['outcome']]} in 24 h"
                ),
            )
        )

    stale = rows(
        conn,
        f"""SELECT account_type, count(*) AS n, min(started_at) AS oldest,
                       (array_agg(id::text ORDER BY started_at))[1] AS oldest_id
                  FROM {s}.emag_sync_logs
                 WHERE status = 'running' AND isfinite(started_at)
                   AND started_at < {NOW_UTC} - make_interval(mins => CAST(%(running_timeout)s AS int))
                 GROUP BY account_type ORDER BY account_type""",
        params,
    )
    for r in stale:
        found.append(
            Finding(
                code="sync_stale_running",
                severity="warning",
                message=(
                    f"{r['n']} sync run(s) for {r['account_type']} still marked running for more than "
                    f"{running_timeout} min (oldest started {_fmt(aware(r['oldest']))}); "
                    "a committed 'running' row is stale and safe to mark failed"
                ),
                account=r["account_type"],
                subject=r["oldest_id"],
                short=f"{r['n']} run(s) stuck 'running' > {running_timeout} min",
            )
        )

    now = dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(hours=no_success_hours)
    both = accounts.get(BOTH)
    for name, st in accounts.items():
        if name == BOTH:
            continue
        candidates = [st.last_success]
        if both is not None and name in KNOWN_ACCOUNTS:
            candidates.append(both.last_success)
        last = max((c for c in candidates if c is not None), default=None)
        if last is not None and last >= cutoff:
            continue
        since = "none in the retained history" if last is None else f"last {_fmt(last)}"
        found.append(
            Finding(
                code="sync_no_recent_success",
                severity="warning",
                message=(
                    f"no successful products sync for {name} in the last "
                    f"{no_success_hours:g} h ({since})"
                ),
                account=name,
                short=f"no successful sync in {no_success_hours:g} h",
            )
        )

    for x in long_xacts:
        if not x.touches_sync_tables:
            continue
        who = x.application_name or "unnamed client"
        found.append(
            Finding(
                code="sync_in_progress",
                severity="info",
                message=(
                    f"a transaction touching the sync tables has been open for "
                    f"{x.xact_age_seconds:.0f} s (pid {x.pid}, {who}"
                    f"{', ' + x.client_addr if x.client_addr else ''}): probably a running sync"
                ),
                subject=str(x.pid),
                short=f"sync probably running (pid {x.pid}, {x.xact_age_seconds:.0f} s)",
            )
        )
    return tuple(found)
