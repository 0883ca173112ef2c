"""A run whose ``errors`` hold 6.5 MB (40,000 page errors) in a real PostgreSQL: the
run detail shows a bounded part of them, built off the UI thread, and says how to get
all of it; the dashboard's columns keep "10" items and "40000" failed apart."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from magflow_console.render import sync_run
from magflow_console.tui.screens import sync_detail
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.widgets.sync_pane import SyncPane
from tests.render.test_sync_run import page_errors
from tests.sources.test_database import connect, insert_sync_log
from tests.tui.helpers import real_app, screen_text, table_rows, wait_for
from tests.tui.test_sync_bad_values import db_only_config

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_six_megabytes_of_errors_stay_off_the_ui_thread_and_short(
    head_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(head_db_url) as conn:
        insert_sync_log(conn, account_type="fbe", hours_ago=2)
        big = insert_sync_log(
            conn, account_type="main", hours_ago=0.5, errors=page_errors(40_000), items=10
        )
        failing = insert_sync_log(
            conn, account_type="main", hours_ago=0.2, items=10, failed_items=40_000
        )
        size = conn.execute(
            "SELECT octet_length(errors::text) FROM app.emag_sync_logs WHERE id = %s", [big]
        ).fetchone()[0]
    assert size > 6_500_000
    built_on: list[bool] = []

    def spy(run: Any) -> Any:  # the real run_text, noting whether the UI thread called it
        built_on.append(threading.current_thread() is threading.main_thread())
        return sync_run.run_text(run)

    monkeypatch.setattr(sync_detail, "run_text", spy)
    app = real_app(db_only_config(head_db_url))
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.screen.query_one(SyncPane)
        await wait_for(pilot, lambda: failing in table_rows(pane.table), "the runs listed")
        assert table_rows(pane.table)[failing][3:5] == ["10", "40k"]
        assert any("    10  40k" in line for line in screen_text(app).splitlines())

        app.open_sync(big)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SyncDetailScreen)
        await wait_for(
            pilot,
            lambda: screen.current_run is not None and screen.current_run.id == big,
            "the big run in the detail",
        )
        assert screen.current_run is not None and len(screen.current_run.errors) == 40_000
        shown = str(screen.query_one("#run-detail").render())
        assert len(shown) < 20_000
        assert (
            f"39,950 of 40,000 entries not shown; all of it: magflow-console sync-logs --id {big} --json"
            in shown
        )
        assert built_on and not any(built_on), "the run's text was built on the UI thread"
        await pilot.press("down", "up")  # the cursor moves over it again: still usable
        await wait_for(
            pilot,
            lambda: screen.current_run is not None and screen.current_run.id == big,
            "the big run again",
        )
        assert not any(built_on)
        await pilot.press("y")  # copies what is shown, not 6.5 MB
        assert app.is_running
