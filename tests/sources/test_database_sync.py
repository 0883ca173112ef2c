"""DatabaseSource.fetch_sync / sync_run against a real PostgreSQL: per-account counts and
statistics on the demo data (expected values computed independently), and each anomaly
code on data made to trigger it (absent on clean data)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from magflow_console.models import SyncSnapshot
from magflow_console.sources.database import DatabaseSource
from tests.sources.test_database import connect, insert_row, insert_sync_log

pytestmark = pytest.mark.postgres

CODES = {
    "sync_completed_with_errors",
    "sync_completed_empty",
    "sync_failed",
    "sync_stale_running",
    "sync_no_recent_success",
    "sync_in_progress",
}


def fetch(url: str, **kw: Any) -> SyncSnapshot:
    filters = {k: kw.pop(k) for k in ("account", "status", "limit") if k in kw}
    src = DatabaseSource(url, **kw)
    try:
        snap = src.fetch_sync(**filters)
    finally:
        src.close()
    assert snap.state == "ok", snap.error
    return snap


def codes(snap: SyncSnapshot, account: str | None = None) -> set[str]:
    return {f.code for f in snap.anomalies if account is None or f.account == account}


def healthy(conn: Any) -> None:
    """A successful products run for main and fbe one hour ago."""
    insert_sync_log(conn, account_type="main", hours_ago=1)
    insert_sync_log(conn, account_type="fbe", hours_ago=1.5)


# --------------------------------------------------------------------------- demo data


def _classify(row: dict[str, Any], now: dt.datetime, timeout_min: int) -> str:
    errors = row["errors"]
    n_err = len(errors) if isinstance(errors, list) else (1 if errors else 0)
    if row["status"] == "completed":
        if max(row["total_items"], row["processed_items"]) == 0:
            return "empty"
        return "partial" if n_err else "success"
    started = row["started_at"].replace(tzinfo=dt.UTC)
    if row["status"] == "running" and started < now - dt.timedelta(minutes=timeout_min):
        return "stale_running"
    return str(row["status"])


def test_demo_accounts_match_independent_counts(demo_db_url: str) -> None:
    snap = fetch(demo_db_url)
    with connect(demo_db_url) as conn:
        conn.row_factory = __import__("psycopg").rows.dict_row
        products = {
            r["account_type"]: r
            for r in conn.execute(
                "SELECT account_type, count(*) AS n, sum(is_active::int) AS active,"
                " max(last_synced_at) AS newest FROM app.emag_products_v2 GROUP BY 1"
            )
        }
        offers = {
            r["account_type"]: r["n"]
            for r in conn.execute(
                "SELECT account_type, count(*) AS n FROM app.emag_product_offers_v2 GROUP BY 1"
            )
        }
        runs = conn.execute(
            "SELECT id::text AS id, account_type, status, total_items, processed_items, errors,"
            " started_at AT TIME ZONE 'UTC' AS started_at FROM app.emag_sync_logs"
            " WHERE sync_type = 'products'"
        ).fetchall()
        newest = [
            r["id"]
            for r in conn.execute(
                "SELECT id::text AS id FROM app.emag_sync_logs ORDER BY started_at DESC, id LIMIT 50"
            )
        ]
        n_logs = conn.execute("SELECT count(*) AS n FROM app.emag_sync_logs").fetchone()["n"]
    now = snap.fetched_at

    assert {"main", "fbe"} <= set(snap.accounts)
    assert products["main"]["n"] > 0 and products["fbe"]["n"] > 0
    for acct, p in products.items():
        st = snap.accounts[acct]
        assert st.products_total == p["n"]
        assert st.products_active == p["active"]
        assert st.products_inactive == p["n"] - p["active"]
        assert st.offers == offers.get(acct, 0)
        newest_sync = p["newest"]
        if newest_sync is not None and newest_sync.tzinfo is None:
            newest_sync = newest_sync.replace(tzinfo=dt.UTC)
        assert st.last_synced_at == newest_sync

    for acct in {r["account_type"] for r in runs}:
        mine = [r for r in runs if r["account_type"] == acct]
        outcomes = [(r, _classify(r, now, 60)) for r in mine]
        st = snap.accounts[acct]
        last = max(mine, key=lambda r: r["started_at"])
        assert st.last_run == last["started_at"].replace(tzinfo=dt.UTC)
        assert st.last_run_status == last["status"]
        ok = [r["started_at"] for r, o in outcomes if o == "success"]
        assert st.last_success == (max(ok).replace(tzinfo=dt.UTC) if ok else None)
        for hours, runs_attr, rate_attr in (
            (24, "runs_24h", "success_rate_24h"),
            (168, "runs_7d", "success_rate_7d"),
        ):
            since = now - dt.timedelta(hours=hours)
            window = [o for r, o in outcomes if r["started_at"].replace(tzinfo=dt.UTC) >= since]
            assert getattr(st, runs_attr) == len(window)
            expected = (window.count("success") / len(window)) if window else None
            assert getattr(st, rate_attr) == pytest.approx(expected)

    assert [r.id for r in snap.recent] == newest[:50]
    assert len(snap.recent) == min(50, n_logs)
    assert all(r.started_at is not None and r.started_at.tzinfo == dt.UTC for r in snap.recent)
    assert all(r.errors is None for r in snap.recent)  # detail only through sync_run()
    assert codes(snap) <= CODES


def test_demo_detail_and_error_count(demo_db_url: str) -> None:
    with connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT id::text, jsonb_array_length(errors) FROM app.emag_sync_logs"
            " WHERE status = 'completed' AND jsonb_typeof(errors) = 'array'"
            " AND jsonb_array_length(errors) > 0"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo seed should contain a completed run with errors"
    src = DatabaseSource(demo_db_url)
    run = src.sync_run(row[0])
    src.close()
    assert run is not None
    assert run.error_count == row[1]
    assert isinstance(run.errors, list) and len(run.errors) == row[1]
    assert run.outcome in {"partial", "empty"}


def test_demo_failure_patterns(demo_db_url: str, demo_summary: Any) -> None:
    """The seeder's documented patterns show up, and the per-run findings match an
    independent classification of the last 24 h."""
    snap = fetch(demo_db_url)
    for acct in ("main", "fbe"):
        assert snap.accounts[acct].products_total == demo_summary.products[acct]
        assert snap.accounts[acct].offers == demo_summary.offers[acct]
    found = {(f.code, f.account) for f in snap.anomalies}
    for f in snap.anomalies:  # every anomaly has the dashboard's short form
        assert f.short and len(f.short) <= 36 and len(f.short) < len(f.message), f
    # fbe: every run of the last ~31 h completed with 0 items -> no success for > 24 h
    assert ("sync_no_recent_success", "fbe") in found
    assert ("sync_no_recent_success", "main") not in found  # main's latest run is a success
    assert ("sync_completed_empty", "fbe") in found
    assert ("sync_stale_running", "main") in found  # the old committed running row
    assert snap.accounts["main"].last_run_status == "completed"
    assert snap.accounts["fbe"].last_success is not None
    assert snap.accounts["fbe"].last_success < snap.fetched_at - dt.timedelta(hours=24)

    with connect(demo_db_url) as conn:
        conn.row_factory = __import__("psycopg").rows.dict_row
        rows = conn.execute(
            "SELECT account_type, sync_type, status, total_items, processed_items, errors,"
            " started_at AT TIME ZONE 'UTC' AS started_at FROM app.emag_sync_logs"
            " WHERE started_at >= (now() AT TIME ZONE 'utc') - interval '24 hours'"
        ).fetchall()
    code_of = {
        "partial": "sync_completed_with_errors",
        "empty": "sync_completed_empty",
        "failed": "sync_failed",
    }
    expected = {
        (code_of[o], r["account_type"])
        for r in rows
        if (o := _classify(r, snap.fetched_at, 60)) in code_of
    }
    got = {(c, a) for c, a in found if c in code_of.values()}
    assert got == expected


# --------------------------------------------------------------------------- counts


def test_products_and_offers_per_account(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        ids = []
        for acct, active, synced_hours in [
            ("main", True, 3),
            ("main", True, 1),
            ("main", False, None),
            ("fbe", True, 5),
        ]:
            row = insert_row(
                conn,
                "emag_products_v2",
                {
                    "sku": "SKU-" + uuid.uuid4().hex[:8],
                    "account_type": acct,
                    "is_active": active,
                    "currency": "RON",
                    "last_synced_at": (
                        dt.datetime.now(dt.UTC) - dt.timedelta(hours=synced_hours)
                        if synced_hours
                        else None
                    ),
                },
            )
            ids.append((row["id"], row["sku"], acct))
        pid, sku, acct = ids[0]
        insert_row(
            conn,
            "emag_product_offers_v2",
            {"product_id": pid, "sku": sku, "account_type": acct, "currency": "RON", "price": 9.5},
        )
        healthy(conn)
    snap = fetch(head_db_url)
    main, fbe = snap.accounts["main"], snap.accounts["fbe"]
    assert (main.products_total, main.products_active, main.products_inactive) == (3, 2, 1)
    assert (fbe.products_total, fbe.products_active, fbe.products_inactive) == (1, 1, 0)
    assert (main.offers, fbe.offers) == (1, 0)
    assert main.last_synced_at is not None
    age = dt.datetime.now(dt.UTC) - main.last_synced_at
    assert dt.timedelta(minutes=50) < age < dt.timedelta(minutes=70)


def test_empty_tables_give_zero_accounts(head_db_url: str) -> None:
    snap = fetch(head_db_url)
    assert list(snap.accounts) == ["main", "fbe"]
    assert snap.accounts["main"].products_total == 0
    assert snap.accounts["main"].success_rate_24h is None
    assert snap.recent == ()
    # no run at all: nothing succeeded for either account
    assert {(f.code, f.account) for f in snap.anomalies} == {
        ("sync_no_recent_success", "main"),
        ("sync_no_recent_success", "fbe"),
    }


def test_unmigrated_database_is_an_error(empty_db_url: str) -> None:
    src = DatabaseSource(empty_db_url)
    snap = src.fetch_sync()
    src.close()
    assert snap.state == "error"
    assert snap.error is not None and "app.emag_sync_logs" in snap.error


# --------------------------------------------------------------------------- anomalies


def test_clean_data_has_no_anomalies(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        insert_sync_log(conn, account_type="main", hours_ago=30)
        insert_sync_log(conn, account_type="fbe", hours_ago=60)
        insert_sync_log(conn, account_type="main", sync_type="orders", hours_ago=2)
    snap = fetch(head_db_url)
    assert snap.anomalies == ()
    main = snap.accounts["main"]
    assert main.runs_24h == 1 and main.runs_7d == 2  # orders runs are not products runs
    assert main.success_rate_24h == 1.0 and main.last_run_status == "completed"
    assert [r.outcome for r in snap.recent] == ["success"] * 5


def test_completed_with_errors(head_db_url: str) -> None:
    errors = [
        {"error": "Page 3 failed: HTTP 503", "timestamp": "2025-10-21T10:00:00"},
        {"error": "Page 7 failed: HTTP 429", "timestamp": "2025-10-21T10:01:00"},
        {"error": "Failed to fetch page 4 for main account after 5 attempts: eMAG API "
         "error 429: Too Many Requests", "timestamp": "2025-10-21T10:02:00"},
        # numbers that are not HTTP statuses: a page, a count
        {"error": "Page 503 skipped after 500 items", "timestamp": "2025-10-21T10:03:00"},
    ]  # fmt: skip
    with connect(head_db_url) as conn:
        healthy(conn)
        bad = insert_sync_log(conn, account_type="main", hours_ago=0.5, errors=errors)
        insert_sync_log(conn, account_type="main", hours_ago=30, errors=errors)  # outside 24 h
    snap = fetch(head_db_url)
    found = [f for f in snap.anomalies if f.code == "sync_completed_with_errors"]
    assert len(found) == 1
    assert (found[0].account, found[0].subject, found[0].severity) == ("main", bad, "warning")
    assert "1 products sync" in found[0].message
    # which statuses the marketplace answered: rate limiting, not us
    assert found[0].message.endswith("4 errors in total; eMAG answered 429 ×2, 503 ×1)")
    assert codes(snap) == {"sync_completed_with_errors"}
    run = snap.recent[0]
    assert (run.id, run.outcome, run.error_count, run.status) == (bad, "partial", 4, "completed")
    main = snap.accounts["main"]
    assert main.success_rate_24h == pytest.approx(0.5)
    assert main.last_success is not None and main.last_success < run.started_at  # type: ignore[operator]


def test_completed_empty(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        latest = insert_sync_log(conn, account_type="fbe", hours_ago=0.2, items=0)
        older = insert_sync_log(conn, account_type="main", hours_ago=2, items=0)
    snap = fetch(head_db_url)
    found = {f.account: f for f in snap.anomalies if f.code == "sync_completed_empty"}
    assert set(found) == {"main", "fbe"}
    assert (found["fbe"].subject, found["fbe"].severity) == (latest, "critical")
    assert (found["main"].subject, found["main"].severity) == (older, "warning")
    assert codes(snap) == {"sync_completed_empty"}


def test_failed_run(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        failed = insert_sync_log(
            conn,
            account_type="main",
            status="failed",
            hours_ago=0.1,
            items=0,
            errors=[{"error": "Sync timed out after 600 s", "timestamp": "2025-10-21T10:00:00"}],
        )
    snap = fetch(head_db_url)
    found = [f for f in snap.anomalies if f.code == "sync_failed"]
    assert [(f.account, f.subject, f.severity) for f in found] == [("main", failed, "critical")]
    assert codes(snap) == {"sync_failed"}
    assert snap.accounts["main"].last_run_status == "failed"
    assert snap.recent[0].outcome == "failed"


def test_stale_running(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        stale = insert_sync_log(conn, account_type="fbe", status="running", hours_ago=2, items=0)
        fresh = insert_sync_log(
            conn, account_type="main", status="running", hours_ago=0.05, items=0
        )
    snap = fetch(head_db_url)
    found = [f for f in snap.anomalies if f.code == "sync_stale_running"]
    assert [(f.account, f.subject) for f in found] == [("fbe", stale)]
    assert codes(snap) == {"sync_stale_running"}
    outcome = {r.id: r.outcome for r in snap.recent}
    assert (outcome[stale], outcome[fresh]) == ("stale_running", "running")
    # a longer timeout makes the same row merely running
    relaxed = fetch(head_db_url, running_timeout_minutes=180)
    assert "sync_stale_running" not in codes(relaxed)


def test_no_recent_success(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        insert_sync_log(conn, account_type="main", hours_ago=30)
        insert_sync_log(conn, account_type="fbe", hours_ago=1)
    snap = fetch(head_db_url)
    found = [f for f in snap.anomalies if f.code == "sync_no_recent_success"]
    assert [f.account for f in found] == ["main"]
    assert "main" in found[0].message and "24 h" in found[0].message
    assert codes(snap) == {"sync_no_recent_success"}
    assert "sync_no_recent_success" not in codes(fetch(head_db_url, no_success_hours=48))


def test_both_run_has_its_own_key_and_covers_main_and_fbe(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        insert_sync_log(conn, account_type="main", hours_ago=30)
        both = insert_sync_log(conn, account_type="both", hours_ago=1)
    snap = fetch(head_db_url)
    assert list(snap.accounts) == ["main", "fbe", "both"]
    assert snap.accounts["both"].runs_24h == 1
    assert snap.accounts["fbe"].runs_24h == 0  # not double-counted
    assert snap.accounts["main"].runs_24h == 0
    assert "sync_no_recent_success" not in codes(snap)
    assert snap.recent[0].id == both


def test_errors_null_and_non_array_are_safe(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        null_id = insert_sync_log(conn, account_type="main", hours_ago=0.3, errors=None)
        obj_id = insert_sync_log(conn, account_type="main", hours_ago=0.2)
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s WHERE id = %s",
            [Jsonb({"error": "boom"}), obj_id],
        )
    snap = fetch(head_db_url)
    by_id = {r.id: r for r in snap.recent}
    assert (by_id[null_id].error_count, by_id[null_id].outcome) == (0, "success")
    assert (by_id[obj_id].error_count, by_id[obj_id].outcome) == (1, "partial")


# --------------------------------------------------------------------------- recent / detail


def test_recent_filters_and_limit(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        healthy(conn)
        failed = insert_sync_log(conn, account_type="fbe", status="failed", hours_ago=3)
        empty = insert_sync_log(conn, account_type="main", hours_ago=4, items=0)
        for h in range(5, 10):
            insert_sync_log(conn, account_type="main", hours_ago=h)
    assert {r.account_type for r in fetch(head_db_url, account="fbe").recent} == {"fbe"}
    assert len(fetch(head_db_url, account="fbe").recent) == 2
    assert [r.id for r in fetch(head_db_url, status="failed").recent] == [failed]
    assert [r.id for r in fetch(head_db_url, status="empty").recent] == [empty]
    assert len(fetch(head_db_url, status="success").recent) == 7
    assert len(fetch(head_db_url, status="completed").recent) == 8
    assert len(fetch(head_db_url, limit=3).recent) == 3
    assert len(fetch(head_db_url, recent_limit=4).recent) == 4
    starts = [r.started_at for r in fetch(head_db_url).recent]
    assert starts == sorted(starts, reverse=True)  # type: ignore[type-var]


def test_sync_run_detail(head_db_url: str) -> None:
    errors = [{"error": "Unhandled API error", "timestamp": "2025-10-21T10:00:00"}]
    with connect(head_db_url) as conn:
        run_id = insert_sync_log(
            conn,
            account_type="fbe",
            hours_ago=2,
            errors=errors,
            sync_params=Jsonb({"max_pages": 5}),
            triggered_by="console",
            sync_version="v2",
            operation="full_sync",
        )
    src = DatabaseSource(head_db_url)
    run = src.sync_run(run_id)
    assert run is not None
    assert (run.account_type, run.operation, run.outcome) == ("fbe", "full_sync", "partial")
    assert run.errors == errors
    assert run.sync_params == {"max_pages": 5}
    assert (run.triggered_by, run.sync_version) == ("console", "v2")
    assert run.completed_at is not None and run.started_at is not None
    assert run.completed_at - run.started_at == dt.timedelta(seconds=30)
    assert src.sync_run(str(uuid.uuid4())) is None and src.last_error is None
    assert src.sync_run("not-a-uuid") is None and src.last_error is None
    src.close()


def test_sync_run_by_unique_prefix(head_db_url: str) -> None:
    """What the human tables show (8 characters) finds the run; an ambiguous prefix says
    which runs it matches; too short or not hex is simply not an id."""
    base = uuid.uuid4().hex[:7]
    ids = [uuid.UUID(f"{base}{n}-0000-4000-8000-{uuid.uuid4().hex[:12]}") for n in (1, 2)]
    with connect(head_db_url) as conn:
        for i, run_id in enumerate(ids):
            insert_sync_log(conn, id=run_id, hours_ago=3 + i, account_type="fbe")
    src = DatabaseSource(head_db_url)
    try:
        run = src.sync_run(str(ids[0])[:8].upper())
        assert run is not None and run.id == str(ids[0]) and src.last_error is None
        assert src.sync_run(base) is None
        assert src.last_error is not None
        assert f"the id prefix {base} matches 2 runs" in src.last_error
        assert str(ids[0])[:13] in src.last_error and str(ids[1])[:13] in src.last_error
        assert src.sync_run(base[:5]) is None and src.last_error is None  # under 6: not an id
        assert src.sync_run("zzzzzzzz") is None and src.last_error is None
        assert src.sync_run("ffffffff-ffff") is None and src.last_error is None  # no match
    finally:
        src.close()


def _add_product(conn: Any, account: str) -> None:
    insert_row(
        conn,
        "emag_products_v2",
        {
            "sku": "SKU-" + uuid.uuid4().hex[:8],
            "account_type": account,
            "is_active": True,
            "currency": "RON",
        },
    )


def test_product_counts_are_cached_for_their_max_age(head_db_url: str) -> None:
    cached = DatabaseSource(head_db_url, counts_max_age_seconds=3600)
    fresh = DatabaseSource(head_db_url, counts_max_age_seconds=0)
    with connect(head_db_url) as conn:
        _add_product(conn, "main")
        first = cached.fetch_sync()
        assert first.accounts["main"].products_total == 1 and first.counts_age_seconds == 0.0
        assert fresh.fetch_sync().accounts["main"].products_total == 1
        _add_product(conn, "main")
        insert_sync_log(conn, account_type="main", hours_ago=0.1)
    again = cached.fetch_sync()
    assert again.accounts["main"].products_total == 1  # the catalogue scan is reused
    assert again.counts_age_seconds is not None and again.counts_age_seconds > 0  # and says so
    assert again.accounts["main"].runs_24h == 1  # sync statistics are always fresh
    now = fresh.fetch_sync()
    assert now.accounts["main"].products_total == 2 and now.counts_age_seconds == 0.0
    cached.close()
    fresh.close()
