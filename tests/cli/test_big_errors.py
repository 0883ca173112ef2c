"""`sync-logs --id` of a run whose ``errors`` hold 6.5 MB (a real PostgreSQL): the human
output shows 50 entries and says how to get all of them; ``--json`` has all of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.render.test_sync_run import page_errors
from tests.sources.test_database import connect, insert_sync_log
from tests.support.cli import run_cli

pytestmark = pytest.mark.postgres


def test_sync_logs_id_bounds_the_errors_and_json_has_them_all(
    head_db_url: str, tmp_path: Path
) -> None:
    with connect(head_db_url) as conn:
        big = insert_sync_log(conn, account_type="main", hours_ago=0.5, errors=page_errors(40_000))
    human = run_cli(["sync-logs", "--id", big[:8], "--db-url", head_db_url], {}, tmp_path)
    assert human.returncode == 1, human.stderr  # completed with errors
    assert len(human.stdout) < 20_000
    assert "page 49:" in human.stdout and "page 50:" not in human.stdout
    note = f"39,950 of 40,000 entries not shown; all of it: magflow-console sync-logs --id {big} --json"
    assert note in " ".join(human.stdout.split())
    full = run_cli(["sync-logs", "--id", big, "--json", "--db-url", head_db_url], {}, tmp_path)
    assert full.returncode == 1, full.stderr
    assert len(json.loads(full.stdout)["errors"]) == 40_000
