"""Values PostgreSQL holds and Python cannot use, in ``app.emag_sync_logs`` and
``app.emag_products_v2`` of a real database: NaN and ±Infinity in ``duration_seconds``,
'infinity', '-infinity', year-12000 and far-future times, ``errors`` nested deeper than
Python's parser goes. One bad row costs that row, never the section."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from magflow_console.cli import jsonout
from magflow_console.models import SyncSnapshot, to_jsonable
from magflow_console.sources.database import DatabaseSource
from tests.sources.test_database import connect, insert_sync_log

pytestmark = pytest.mark.postgres


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN and ±Infinity, as strict parsers do."""

    def refuse(word: str) -> Any:
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def read(url: str, **kw: Any) -> tuple[SyncSnapshot, DatabaseSource]:
    src = DatabaseSource(url, **kw)
    snap = src.fetch_sync()
    assert snap.state == "ok", snap.error
    return snap, src


def set_column(conn: Any, run_id: str, column: str, literal: str) -> None:
    conn.execute(f"UPDATE app.emag_sync_logs SET {column} = '{literal}' WHERE id = %s", [run_id])


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "-5", "4e9"]
)
def test_a_duration_that_is_no_number_costs_only_itself(head_db_url: str, literal: str) -> None:
    with connect(head_db_url) as conn:
        good = insert_sync_log(conn, account_type="main", hours_ago=0.5)
        bad = insert_sync_log(conn, account_type="main", hours_ago=0.2)
        set_column(conn, bad, "duration_seconds", literal)
    snap, src = read(head_db_url)
    try:
        runs = {r.id: r for r in snap.recent}
        assert runs[good].duration_seconds == 30.0
        value = runs[bad].duration_seconds
        if math.isfinite(float(literal)):
            assert value == float(literal)
        else:
            assert value is None  # NaN and ±Infinity are unknown
        detail = src.sync_run(bad)
        assert detail is not None and detail.duration_seconds == value
        doc = strict_loads(jsonout.dumps(to_jsonable(snap)))  # strict JSON, whatever the row holds
        assert {r["id"]: r["duration_seconds"] for r in doc["recent"]}[bad] == (
            value if value is None else round(value, 3)
        )
    finally:
        src.close()


@pytest.mark.parametrize(
    "literal", ["infinity", "-infinity", "12000-01-01 00:00:00", "0044-03-15 00:00:00 BC"]
)
def test_a_start_python_cannot_hold_costs_only_its_row(head_db_url: str, literal: str) -> None:
    with connect(head_db_url) as conn:
        good = insert_sync_log(conn, account_type="main", hours_ago=1)
        insert_sync_log(conn, account_type="fbe", hours_ago=1)
        bad = insert_sync_log(conn, account_type="main", status="failed", hours_ago=0.1)
        set_column(conn, bad, "started_at", literal)
        set_column(conn, bad, "completed_at", literal)
    snap, src = read(head_db_url)
    try:
        runs = {r.id: r for r in snap.recent}
        assert runs[bad].started_at is None and runs[bad].completed_at is None
        assert runs[good].started_at is not None
        main = snap.accounts["main"]
        assert main.last_run == runs[good].started_at and main.last_run_status == "completed"
        assert main.runs_24h == 1 and main.success_rate_24h == 1.0
        assert not {f.code for f in snap.anomalies} & {"sync_failed"}
        detail = src.sync_run(bad)
        assert detail is not None and detail.started_at is None
        strict_loads(jsonout.dumps(to_jsonable(snap)))
    finally:
        src.close()


def test_a_far_future_start_is_never_the_last_run_nor_a_recent_failure(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        good = insert_sync_log(conn, account_type="main", hours_ago=1)
        insert_sync_log(conn, account_type="fbe", hours_ago=1)
        future = insert_sync_log(conn, account_type="main", status="failed", hours_ago=-24 * 3650)
        soon = insert_sync_log(conn, account_type="fbe", hours_ago=-0.05)  # a clock 3 min ahead
    snap, src = read(head_db_url)
    try:
        runs = {r.id: r for r in snap.recent}
        assert runs[future].started_at is not None  # listed, with its (absurd) time
        main = snap.accounts["main"]
        assert main.last_run == runs[good].started_at, "a far-future run is not the last one"
        assert main.last_success == runs[good].started_at
        assert (main.runs_24h, main.runs_7d, main.success_rate_24h) == (1, 1, 1.0)
        assert "sync_failed" not in {f.code for f in snap.anomalies}, "failed 'in 24 h' for ever"
        assert snap.accounts["fbe"].last_run == runs[soon].started_at  # a small skew counts
    finally:
        src.close()


def test_a_product_synced_at_infinity_costs_only_itself(demo_db_url: str) -> None:
    with connect(demo_db_url) as conn:
        newest = conn.execute(
            "SELECT account_type, max(last_synced_at) FROM app.emag_products_v2 GROUP BY 1"
        ).fetchall()
        counts = dict(
            conn.execute(
                "SELECT account_type, count(*) FROM app.emag_products_v2 GROUP BY 1"
            ).fetchall()
        )
        for literal, account in (("infinity", "main"), ("-infinity", "main"), ("infinity", "fbe")):
            conn.execute(
                "UPDATE app.emag_products_v2 SET last_synced_at = %s::timestamp WHERE id ="
                " (SELECT id FROM app.emag_products_v2 WHERE account_type = %s"
                "   AND isfinite(last_synced_at) ORDER BY last_synced_at LIMIT 1)",
                [literal, account],
            )
    snap, src = read(demo_db_url)
    try:
        for account, synced in newest:
            stats = snap.accounts[account]
            assert stats.products_total == counts[account]
            assert stats.last_synced_at == synced.replace(tzinfo=dt.UTC)
    finally:
        src.close()


def test_errors_nested_deeper_than_python_reads_cost_only_the_errors(head_db_url: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    beyond = "1" + "0" * 400 + ".5"  # jsonb keeps it; Python reads it as infinity
    with connect(head_db_url) as conn:
        nested = insert_sync_log(conn, account_type="main", hours_ago=0.5)
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s::jsonb WHERE id = %s", [deep, nested]
        )
        huge = insert_sync_log(conn, account_type="main", hours_ago=0.4)
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s::jsonb WHERE id = %s",
            [f'[{beyond}, -{beyond}, {{"error": "x", "n": {beyond}}}]', huge],
        )
    snap, src = read(head_db_url)
    try:
        assert {r.id for r in snap.recent} >= {nested, huge}
        run = src.sync_run(nested)
        assert run is not None, src.last_error
        assert isinstance(run.errors, str) and "nested too deeply" in run.errors
        big = src.sync_run(huge)
        assert big is not None and big.errors[:2] == [math.inf, -math.inf]
        doc = strict_loads(jsonout.dumps(to_jsonable(big)))
        assert doc["errors"] == [None, None, {"error": "x", "n": None}]
        # nesting Python read is cut at JSON_DEPTH_MAX; deeper than the encoder goes, too
        readable = json.loads("[" * 900 + "]" * 900)
        assert "nested deeper than 64 levels" in jsonout.dumps(to_jsonable({"errors": readable}))
        built: list[Any] = []
        for _ in range(50_000):
            built = [built]
        assert "nested deeper than 64 levels" in jsonout.dumps({"errors": built})
    finally:
        src.close()


def test_a_run_with_forty_thousand_page_errors_does_not_cancel_the_read(head_db_url: str) -> None:
    """6.5 MB of errors: the HTTP codes of the last 24 h are counted once per run (the
    outcome, which reads ``errors``, was computed again for each of the 40,000)."""
    from tests.render.test_sync_run import page_errors

    with connect(head_db_url) as conn:
        big = insert_sync_log(conn, account_type="main", hours_ago=0.5, errors=page_errors(40_000))
    snap, src = read(head_db_url)  # the default 5 s statement timeout
    try:
        partial = next(f for f in snap.anomalies if f.code == "sync_completed_with_errors")
        assert partial.subject == big and "eMAG answered 503 ×40000" in partial.message
    finally:
        src.close()
