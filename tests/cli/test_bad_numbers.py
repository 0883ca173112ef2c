"""`sync-logs`, `sync-logs --id` and `status --json` on sync-log rows holding NaN and
±Infinity durations and 'infinity' or far-future times (a real PostgreSQL): no
traceback, the run shown with its unknown values, strict JSON (``null``, never a bare
``NaN``), and one bad row costing only itself."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.sources.test_database import connect, insert_sync_log
from tests.sources.test_sync_bad_values import strict_loads
from tests.support.cli import run_cli

pytestmark = pytest.mark.postgres

ELSEWHERE = ["--docker-host", "unix:///nonexistent/docker.sock", "--api-url", "http://127.0.0.1:1"]


@pytest.fixture
def bad_rows(head_db_url: str) -> dict[str, str]:
    """name -> run id: healthy runs for both accounts, then one bad value per row."""
    with connect(head_db_url) as conn:
        ids = {
            "good": insert_sync_log(conn, account_type="main", hours_ago=1),
            "fbe": insert_sync_log(conn, account_type="fbe", hours_ago=1),
        }
        for name, column, literal in (
            ("nan", "duration_seconds", "NaN"),
            ("inf", "duration_seconds", "Infinity"),
            ("-inf", "duration_seconds", "-Infinity"),
            ("absurd", "duration_seconds", "1e308"),
            ("infinity", "started_at", "infinity"),
            ("-infinity", "completed_at", "-infinity"),
        ):
            ids[name] = insert_sync_log(conn, account_type="main", hours_ago=0.5)
            conn.execute(
                f"UPDATE app.emag_sync_logs SET {column} = '{literal}' WHERE id = %s",
                [ids[name]],
            )
        ids["future"] = insert_sync_log(
            conn, account_type="main", status="failed", hours_ago=-24 * 3650
        )
    return ids


def test_sync_logs_id_shows_unknown_values_without_a_traceback(
    head_db_url: str, bad_rows: dict[str, str], tmp_path: Path
) -> None:
    for name in ("nan", "inf", "-inf", "absurd", "infinity", "-infinity"):
        proc = run_cli(["sync-logs", "--id", bad_rows[name], "--db-url", head_db_url], {}, tmp_path)
        assert proc.returncode == 0, (name, proc.stderr[-600:])
        assert proc.stderr == "" and "Traceback" not in proc.stdout
        lines = {line.split(None, 1)[0]: line for line in proc.stdout.splitlines() if line}
        duration = lines["duration"].split(None, 1)[1]
        if name == "absurd":
            assert duration.startswith(">") and duration.endswith("d") and len(duration) < 12
        elif name in ("nan", "inf", "-inf"):
            assert duration == "—"
        if name == "infinity":
            assert lines["started"].split(None, 1)[1] == "—"
        as_json = run_cli(
            ["sync-logs", "--id", bad_rows[name], "--json", "--db-url", head_db_url], {}, tmp_path
        )
        assert as_json.returncode == 0, as_json.stderr[-600:]
        doc = strict_loads(as_json.stdout)
        if name in ("nan", "inf", "-inf"):
            assert doc["duration_seconds"] is None


def test_sync_logs_and_status_json_are_strict_and_lose_one_row_only(
    head_db_url: str, bad_rows: dict[str, str], tmp_path: Path
) -> None:
    human = run_cli(["sync-logs", "--db-url", head_db_url], {"COLUMNS": "200"}, tmp_path)
    assert "Traceback" not in human.stdout + human.stderr
    assert "eMAG sync: ERROR" not in human.stdout
    assert all(run_id[:8] in human.stdout for run_id in bad_rows.values())
    assert "sync_failed" not in human.stdout  # the far-future failure is not "in 24 h"

    listed = run_cli(["sync-logs", "--json", "--db-url", head_db_url], {}, tmp_path)
    assert "Traceback" not in listed.stderr
    doc = strict_loads(listed.stdout)
    runs = {r["id"]: r for r in doc["recent"]}
    assert set(bad_rows.values()) <= set(runs)
    for name in ("nan", "inf", "-inf"):
        assert runs[bad_rows[name]]["duration_seconds"] is None
    assert runs[bad_rows["infinity"]]["started_at"] is None
    main = doc["accounts"]["main"]
    assert main["last_run"] is not None and main["last_run"].startswith(
        runs[bad_rows["good"]]["started_at"][:4]
    )
    assert not any(f["code"] == "sync_failed" for f in doc["anomalies"])

    status = run_cli(["status", "--json", "--db-url", head_db_url, *ELSEWHERE], {}, tmp_path)
    assert "Traceback" not in status.stderr
    report = strict_loads(status.stdout)
    assert report["sync"]["state"] == "ok", report["sync"]["error"]
    durations = [r["duration_seconds"] for r in report["sync"]["recent"]]
    assert all(d is None or math.isfinite(d) for d in durations)
