"""Order health per account (``sources/orders.py``, ``DatabaseSource.fetch_orders``) on a
real PostgreSQL: hand-made orders with every figure worked out by hand, an empty table, a
missing table, naive timestamps read in another session time zone, the cache of the
whole-table figures, and the demo seed's order shapes."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import psycopg
import pytest

from magflow_console.models import OrderAccountStats, OrdersSnapshot, to_jsonable
from magflow_console.reference.seed import SeedSummary
from magflow_console.reference.urls import to_libpq
from magflow_console.sources import orders
from magflow_console.sources.database import DatabaseSource
from magflow_console.sources.pg_conn import ReadOnlyConnection, SourceError, scalar
from tests.sources.test_database import connect, insert_row

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2025, 10, 22, 12, 0, 0)  # naive UTC, like MagFlow's columns
UTC_NOW = NOW.replace(tzinfo=dt.UTC)
_ids = itertools.count(4_400_000_000)


def ago(**kw: float) -> dt.datetime:
    """A naive UTC time before ``NOW``."""
    return NOW - dt.timedelta(**kw)


def aware_ago(**kw: float) -> dt.datetime:
    return UTC_NOW - dt.timedelta(**kw)


def insert_order(conn: Any, account: str, status: int, created_at: dt.datetime, **kw: Any) -> None:
    """One ``app.emag_orders`` row; timestamps are given naive (UTC), as MagFlow writes them."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "emag_order_id": next(_ids),
        "account_type": account,
        "status": status,
        "is_complete": status == 4,
        "is_storno": status == 5,
        "total_amount": 99.5,
        "currency": "RON",
        "sync_status": "synced",
        "sync_attempts": 1,
        "created_at": created_at,
        "updated_at": created_at,
        "order_date": created_at,
    }
    values.update(kw)
    insert_row(conn, "emag_orders", values)


def read(url: str, **kw: Any) -> dict[str, OrderAccountStats]:
    """``orders.fetch_orders`` inside the console's own read-only transaction."""
    db = ReadOnlyConnection(url)
    try:
        with db.transaction() as conn:
            return orders.fetch_orders(conn, "app", **kw)
    finally:
        db.close()


def fetch(url: str, **kw: Any) -> OrdersSnapshot:
    src = DatabaseSource(url, **kw)
    try:
        return src.fetch_orders()
    finally:
        src.close()


# --------------------------------------------------------------------------- hand-made rows


def _seed_hand_made(conn: Any) -> None:
    # main -------------------------------------------------------------------------------
    # new, 5 minutes in MagFlow, placed on eMAG two days ago (order_date is not the clock)
    insert_order(conn, "main", 1, ago(minutes=5), order_date=ago(days=2),
                 last_synced_at=ago(minutes=1))  # fmt: skip
    # new for 30 minutes, no order_date, re-synced 2 minutes ago: stale all the same
    insert_order(conn, "main", 1, ago(minutes=30), order_date=None,
                 last_synced_at=ago(minutes=2))  # fmt: skip
    # new for 30 minutes but acknowledged 2 minutes ago (eMAG not updated yet): not stale
    insert_order(conn, "main", 1, ago(minutes=30), acknowledged_at=ago(minutes=2))
    # new for exactly the threshold: not older than it
    insert_order(conn, "main", 1, ago(seconds=1200))
    # new for one second more, with a fresh order_date: stale (created_at decides)
    insert_order(conn, "main", 1, ago(seconds=1201), order_date=ago(minutes=1))
    insert_order(conn, "main", 2, ago(hours=3), acknowledged_at=ago(hours=2, minutes=50),
                 last_synced_at=ago(hours=2, minutes=55))  # fmt: skip
    insert_order(conn, "main", 4, ago(days=5), acknowledged_at=ago(days=5, minutes=-5),
                 sync_error="eMAG API error 429: Too Many Requests")  # fmt: skip
    insert_order(conn, "main", 0, ago(days=6), sync_error="")  # empty: no error
    insert_order(conn, "main", 3, ago(days=7), sync_error=" \n\t")  # blank: no error
    # fbe --------------------------------------------------------------------------------
    insert_order(conn, "fbe", 1, ago(hours=3), last_synced_at=ago(minutes=4),
                 sync_error="Failed to acknowledge order: eMAG API error 503")  # fmt: skip
    insert_order(conn, "fbe", 1, ago(minutes=25))
    insert_order(conn, "fbe", 5, ago(days=10), acknowledged_at=ago(days=10),
                 last_synced_at=ago(days=10), sync_error="order not found")  # fmt: skip
    insert_order(conn, "fbe", 4, ago(days=2), acknowledged_at=ago(days=1))


def test_every_figure_per_account(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        _seed_hand_made(conn)
    got = read(head_db_url, stale_after_seconds=1200, now=UTC_NOW)

    assert list(got) == ["main", "fbe"]
    assert got["main"] == OrderAccountStats(
        account="main",
        orders_total=9,
        new=5,
        new_unacknowledged_stale=2,  # 30 min unsynced-order_date one, 1201 s one
        last_synced_at=aware_ago(minutes=1),
        with_sync_error=1,  # "" and blank text are not errors
        last_acknowledged_at=aware_ago(minutes=2),
    )
    assert got["fbe"] == OrderAccountStats(
        account="fbe",
        orders_total=4,
        new=2,
        new_unacknowledged_stale=2,
        last_synced_at=aware_ago(minutes=4),
        with_sync_error=2,
        last_acknowledged_at=aware_ago(days=1),
    )
    for stats in got.values():
        for stamp in (stats.last_synced_at, stats.last_acknowledged_at):
            assert stamp is not None and stamp.utcoffset() == dt.timedelta(0)


def test_threshold_and_naive_now(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        _seed_hand_made(conn)
    # two hours: only fbe's three-hour-old new order is stale
    longer = read(head_db_url, stale_after_seconds=7200, now=UTC_NOW)
    assert [longer[a].new_unacknowledged_stale for a in ("main", "fbe")] == [0, 1]
    assert [longer[a].new for a in ("main", "fbe")] == [5, 2]
    # a naive ``now`` is UTC; an aware one in another zone is the same instant
    naive = read(head_db_url, stale_after_seconds=1200, now=NOW)
    bucharest = read(
        head_db_url,
        stale_after_seconds=1200,
        now=UTC_NOW.astimezone(dt.timezone(dt.timedelta(hours=3))),
    )
    assert naive["main"].new_unacknowledged_stale == 2
    assert bucharest == naive
    # an hour later the 5-minute one is stale too; the acknowledged one never is
    later = read(head_db_url, stale_after_seconds=1200, now=UTC_NOW + dt.timedelta(hours=1))
    assert later["main"].new_unacknowledged_stale == 4
    assert later["fbe"].new_unacknowledged_stale == 2


def test_database_clock_in_another_session_time_zone(head_db_url: str) -> None:
    """``now=None`` takes the database clock; naive columns are not shifted by the
    session's time zone (MagFlow's are naive UTC)."""
    with connect(head_db_url) as conn:
        (db_now,) = conn.execute("SELECT now() AT TIME ZONE 'utc'").fetchone()
        insert_order(conn, "fbe", 1, db_now - dt.timedelta(minutes=2),
                     last_synced_at=db_now - dt.timedelta(minutes=1))  # fmt: skip
        insert_order(conn, "fbe", 1, db_now - dt.timedelta(minutes=40))
        insert_order(conn, "main", 1, db_now - dt.timedelta(minutes=19))
    with psycopg.connect(to_libpq(head_db_url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'Pacific/Kiritimati'")  # UTC+14
        got = orders.fetch_orders(conn, "app")
    assert (got["fbe"].new, got["fbe"].new_unacknowledged_stale) == (2, 1)
    assert (got["main"].new, got["main"].new_unacknowledged_stale) == (1, 0)
    assert got["fbe"].last_synced_at == (db_now - dt.timedelta(minutes=1)).replace(tzinfo=dt.UTC)

    snap = fetch(head_db_url)
    assert snap.state == "ok", snap.error
    assert snap.accounts == got


# --------------------------------------------------------------------------- edge cases


def test_empty_table(head_db_url: str) -> None:
    snap = fetch(head_db_url)
    assert snap.state == "ok" and snap.error is None
    assert snap.counts_age_seconds == 0.0
    assert snap.accounts == {
        "main": OrderAccountStats(account="main"),
        "fbe": OrderAccountStats(account="fbe"),
    }
    assert snap.accounts["main"].orders_total == 0 and snap.accounts["fbe"].last_synced_at is None


def test_missing_table_is_a_sentence(empty_db_url: str) -> None:
    name = empty_db_url.rsplit("/", 1)[1].split("?")[0]
    expected = (
        f'table app.emag_orders does not exist in database "{name}" (is the schema migrated?)'
    )
    snap = fetch(empty_db_url)
    assert snap.state == "error"
    assert snap.error == expected
    assert snap.accounts == {} and snap.counts_age_seconds is None

    db = ReadOnlyConnection(empty_db_url)
    try:
        with db.transaction() as conn:
            with pytest.raises(SourceError) as caught:
                orders.fetch_orders(conn, "app", now=UTC_NOW)
            assert str(caught.value) == expected
            assert scalar(conn, "SELECT 41 + 1") == 42  # the transaction is not aborted
    finally:
        db.close()


def test_other_schema_and_unknown_account(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        conn.execute('ALTER SCHEMA app RENAME TO "My Shop"')
        conn.execute(
            'ALTER TABLE "My Shop".emag_orders DROP CONSTRAINT ck_emag_orders_account_type'
        )
        conn.execute(
            'INSERT INTO "My Shop".emag_orders (id, emag_order_id, account_type, status,'
            " is_complete, is_storno, total_amount, currency, sync_status, sync_attempts,"
            " created_at, updated_at) VALUES (gen_random_uuid(), 1, 'both', 1, false, false,"
            " 1.0, 'RON', 'synced', 0, %s, %s)",
            [ago(hours=1), ago(hours=1)],
        )
    db = ReadOnlyConnection(head_db_url)
    try:
        with db.transaction() as conn:
            got = orders.fetch_orders(conn, "My Shop", now=UTC_NOW)
    finally:
        db.close()
    assert list(got) == ["main", "fbe", "both"]
    assert (got["both"].orders_total, got["both"].new, got["both"].new_unacknowledged_stale) == (
        1,
        1,
        1,
    )
    assert got["main"].orders_total == 0


def test_whole_table_figures_are_cached_new_orders_are_not(head_db_url: str) -> None:
    cached = DatabaseSource(head_db_url, counts_max_age_seconds=3600)
    fresh = DatabaseSource(head_db_url, counts_max_age_seconds=0)
    try:
        with connect(head_db_url) as conn:
            (db_now,) = conn.execute("SELECT now() AT TIME ZONE 'utc'").fetchone()
            insert_order(conn, "main", 4, db_now - dt.timedelta(days=1))
            first = cached.fetch_orders()
            assert first.state == "ok" and first.counts_age_seconds == 0.0
            assert (first.accounts["main"].orders_total, first.accounts["main"].new) == (1, 0)
            insert_order(conn, "main", 1, db_now - dt.timedelta(hours=1), sync_error="boom",
                         last_synced_at=db_now)  # fmt: skip
        again = cached.fetch_orders()
        main = again.accounts["main"]
        assert (main.orders_total, main.with_sync_error, main.last_synced_at) == (1, 0, None)
        assert (main.new, main.new_unacknowledged_stale) == (1, 1)  # read on every call
        assert again.counts_age_seconds is not None and 0 < again.counts_age_seconds < 60
        now_fresh = fresh.fetch_orders()
        assert now_fresh.counts_age_seconds == 0.0
        main = now_fresh.accounts["main"]
        assert (main.orders_total, main.with_sync_error) == (2, 1)
        assert main.last_synced_at == db_now.replace(tzinfo=dt.UTC)
        data = to_jsonable(now_fresh)
        assert (
            data["accounts"]["main"]["last_synced_at"] == db_now.replace(tzinfo=dt.UTC).isoformat()
        )
    finally:
        cached.close()
        fresh.close()


# --------------------------------------------------------------------------- demo seed


def test_demo_orders_have_the_shapes_the_rules_need(
    demo_db_url: str, demo_summary: SeedSummary
) -> None:
    """Seen at the seed's own reference time: main 3 new ones, all fresh; fbe 2 fresh and 4
    stale (its auto-acknowledge is failing); sync errors and acknowledged orders on both.
    Every figure is also recomputed in Python from the raw rows."""
    ref = demo_summary.now  # naive UTC
    got = read(demo_db_url, now=ref)
    with connect(demo_db_url) as conn:
        conn.row_factory = psycopg.rows.dict_row
        raw = conn.execute(
            "SELECT account_type, status, created_at, acknowledged_at, last_synced_at,"
            " sync_error FROM app.emag_orders"
        ).fetchall()
    cutoff = ref - dt.timedelta(seconds=1200)
    for acct in ("main", "fbe"):
        mine = [r for r in raw if r["account_type"] == acct]
        new = [r for r in mine if r["status"] == 1]
        acked = [r["acknowledged_at"] for r in mine if r["acknowledged_at"] is not None]
        synced = [r["last_synced_at"] for r in mine if r["last_synced_at"] is not None]
        assert got[acct] == OrderAccountStats(
            account=acct,
            orders_total=len(mine),
            new=len(new),
            new_unacknowledged_stale=sum(
                1 for r in new if r["acknowledged_at"] is None and r["created_at"] < cutoff
            ),
            last_synced_at=max(synced).replace(tzinfo=dt.UTC),
            with_sync_error=sum(1 for r in mine if (r["sync_error"] or "").strip()),
            last_acknowledged_at=max(acked).replace(tzinfo=dt.UTC),
        )
        assert len(mine) == demo_summary.orders[acct] == 250
        assert all(r["acknowledged_at"] is None for r in new)
        assert len(acked) > 100  # most of the history was acknowledged
    main, fbe = got["main"], got["fbe"]
    assert (main.new, main.new_unacknowledged_stale, main.with_sync_error) == (3, 0, 2)
    assert (fbe.new, fbe.new_unacknowledged_stale) == (6, 4)
    assert 2 < fbe.with_sync_error <= 6  # 2 old sync errors + about half the stale ones
    assert ref - main.last_acknowledged_at.replace(tzinfo=None) < dt.timedelta(hours=3)  # type: ignore[union-attr]
    assert ref - fbe.last_acknowledged_at.replace(tzinfo=None) > dt.timedelta(hours=3)  # type: ignore[union-attr]
    for stats in (main, fbe):  # every new order is re-read by the 300 s order sync
        assert ref - stats.last_synced_at.replace(tzinfo=None) <= dt.timedelta(seconds=300)  # type: ignore[union-attr]
