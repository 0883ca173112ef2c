"""The seeder: counts per account, users, and every sync-log failure pattern of sheet §7."""

from __future__ import annotations

import datetime as dt

import pytest

from magflow_console.reference import DEMO_TARGET, upgrade
from magflow_console.reference.seed import SeedSummary, seed
from tests.reference._catalog import query
from tests.support.postgres import PgServer, fresh_magflow_db


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@pytest.mark.postgres
def test_demo_counts_per_account(demo_db_url: str, demo_summary: SeedSummary) -> None:
    rows = query(
        demo_db_url,
        "SELECT account_type, count(*), count(*) FILTER (WHERE is_active),"
        " count(*) FILTER (WHERE NOT is_active) FROM app.emag_products_v2 GROUP BY 1",
    )
    by_acct = {r[0]: r[1:] for r in rows}
    assert set(by_acct) == {"main", "fbe"}
    for acct, (total, active, inactive) in by_acct.items():
        assert total == 2500
        assert 0.8 * total < active < 0.97 * total, acct  # mostly active, some inactive
        assert inactive == total - active
        assert demo_summary.products[acct] == total and demo_summary.active[acct] == active
    status = query(
        demo_db_url,
        "SELECT count(*) FROM app.emag_products_v2 WHERE is_active <> (status = 'active')",
    )
    assert status == [(0,)]
    offers = dict(query(demo_db_url, "SELECT account_type, count(*) FROM app.emag_product_offers_v2 GROUP BY 1"))  # fmt: skip
    for acct in ("main", "fbe"):
        assert 0.8 * 2500 < offers[acct] < 2500  # offers for most products
    orders = dict(query(demo_db_url, "SELECT account_type, count(*) FROM app.emag_orders GROUP BY 1"))  # fmt: skip
    assert orders["main"] > 0 and orders["fbe"] > 0
    big = query(demo_db_url, "SELECT min(emag_order_id) FROM app.emag_orders")[0][0]
    assert big > 2**31  # needs the bigint of 32b7be1a5113
    assert query(demo_db_url, "SELECT count(*) FROM app.products") == [(50,)]
    skus = query(demo_db_url, "SELECT sku, name, price, brand FROM app.emag_products_v2 LIMIT 1")
    assert skus[0][0].startswith("EMG") and len(skus[0][1]) > 10 and skus[0][2] > 0


@pytest.mark.postgres
def test_demo_users_and_roles(demo_db_url: str) -> None:
    rows = query(
        demo_db_url,
        "SELECT u.email, u.is_active, u.is_superuser, u.hashed_password,"
        " EXISTS (SELECT 1 FROM app.user_roles ur JOIN app.roles r ON r.id = ur.role_id"
        " WHERE ur.user_id = u.id AND r.name = 'admin') FROM app.users u",
    )
    users = {r[0]: r[1:] for r in rows}
    assert users["admin@magflow.local"][:2] == (True, True) and users["admin@magflow.local"][3]
    assert users["admin@magflow.com"][:2] == (True, True) and not users["admin@magflow.com"][3]
    normal = [e for e, (active, su, _h, _r) in users.items() if active and not su]
    inactive_admins = [e for e, (active, su, _h, _r) in users.items() if not active and su]
    assert normal and inactive_admins
    hashes = {h for (_a, _s, h, _r) in users.values()}
    assert len(hashes) == 1  # hashed once, reused
    (hashed,) = hashes
    assert hashed.startswith("$2b$12$") and len(hashed) == 60


def _logs(url: str, where: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT account_type, status, total_items, errors, duration_seconds, started_at,"
        f" completed_at FROM app.emag_sync_logs WHERE {where} ORDER BY started_at",
    )


@pytest.mark.postgres
def test_sync_history_holds_every_failure_pattern(demo_db_url: str) -> None:
    url = demo_db_url
    now = _now()
    with_errors = _logs(url, "status = 'completed' AND jsonb_array_length(errors) > 0")
    main_err = [r for r in with_errors if r[0] == "main"]
    assert len(main_err) > 2 * (len(with_errors) - len(main_err))  # mostly on main
    for row in with_errors:
        errors = row[3]
        assert isinstance(errors, list)
        for entry in errors:
            assert set(entry) == {"error", "timestamp"}
            stamp = dt.datetime.fromisoformat(entry["timestamp"])
            assert stamp.tzinfo is None  # naive ISO
    texts = " ".join(e["error"] for r in with_errors for e in r[3])  # type: ignore[attr-defined]
    assert "429" in texts and "502" in texts
    assert _logs(url, "status = 'completed' AND total_items = 0")  # missing credentials
    failed = _logs(url, "status = 'failed'")
    assert failed and all(r[4] >= 600 for r in failed)  # type: ignore[operator]
    assert all(r[3][0]["error"] == "Sync timeout after 600 seconds" for r in failed)  # type: ignore[index]
    running = _logs(url, "status = 'running'")
    assert len(running) == 1 and running[0][6] is None
    assert now - running[0][5] > dt.timedelta(days=2)  # type: ignore[operator]
    assert _logs(url, "status IN ('partial', 'cancelled') OR sync_type <> 'products'") == []
    assert _logs(url, f"started_at > '{now.isoformat()}'") == []


def _last_success(url: str, acct: str) -> dt.datetime | None:
    rows = query(
        url,
        "SELECT max(started_at) FROM app.emag_sync_logs WHERE account_type = %s AND"
        " status = 'completed' AND total_items > 0 AND errors = '[]'::jsonb",
        [acct],
    )
    return rows[0][0]


@pytest.mark.postgres
def test_sync_history_alert_shape_and_gaps(demo_db_url: str) -> None:
    now = _now()
    main_last, fbe_last = _last_success(demo_db_url, "main"), _last_success(demo_db_url, "fbe")
    assert main_last is not None and now - main_last < dt.timedelta(hours=2)
    assert fbe_last is not None and now - fbe_last > dt.timedelta(hours=29)
    for acct in ("main", "fbe"):
        gap = query(
            demo_db_url,
            "SELECT max(d) FROM (SELECT started_at - lag(started_at) OVER (ORDER BY started_at)"
            " AS d FROM app.emag_sync_logs WHERE account_type = %s) x",
            [acct],
        )[0][0]
        assert gap >= dt.timedelta(hours=5), acct  # several hours with no sync at all
        span = query(
            demo_db_url,
            "SELECT max(started_at) - min(started_at), count(*) FROM app.emag_sync_logs"
            " WHERE account_type = %s",
            [acct],
        )[0]
        assert span[0] > dt.timedelta(days=21) and span[1] > 500  # weeks of hourly runs
    ops = dict(query(demo_db_url, "SELECT operation, count(*) FROM app.emag_sync_logs GROUP BY 1"))
    assert (
        set(ops) == {"full_sync", "incremental_sync"} and ops["incremental_sync"] > ops["full_sync"]
    )


def _fingerprint(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM app.emag_products_v2 t),"
        " (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM app.emag_sync_logs t),"
        " (SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM app.emag_orders t)",
    )


@pytest.mark.postgres
def test_seed_is_deterministic_for_seed_and_now(empty_db_url: str, pg_server: PgServer) -> None:
    second, third = fresh_magflow_db(pg_server), fresh_magflow_db(pg_server)
    now = dt.datetime(2025, 10, 22, 12, 0, 0)
    for url in (empty_db_url, second, third):
        upgrade(url, DEMO_TARGET)
    seed(empty_db_url, products_per_account=300, sync_days=10, now=now)
    seed(second, products_per_account=300, sync_days=10, now=now)
    seed(third, products_per_account=300, sync_days=10, now=now, rng_seed=7)
    assert _fingerprint(empty_db_url) == _fingerprint(second)
    assert _fingerprint(empty_db_url) != _fingerprint(third)


@pytest.mark.postgres
def test_scaled_seed(head_db_url: str) -> None:
    summary = seed(head_db_url, products_per_account=20000, sync_logs=6000, sync_days=28)
    assert summary.products == {"main": 20000, "fbe": 20000}
    total_logs = sum(summary.sync_logs.values())
    assert 5000 < total_logs <= 6000  # minus the gaps
    rows = query(
        head_db_url,
        "SELECT count(DISTINCT sku), count(*) FROM app.emag_products_v2 WHERE account_type = 'main'",
    )
    assert rows == [(20000, 20000)]
    assert query(head_db_url, "SELECT count(*) FROM app.emag_sync_logs WHERE status = 'running'") == [(1,)]  # fmt: skip
