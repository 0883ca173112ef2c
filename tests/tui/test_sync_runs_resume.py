"""The sync-runs screen after a read failed because another session held ``ACCESS
EXCLUSIVE`` on ``app.emag_sync_logs`` (a real PostgreSQL, a short statement timeout):
it says so, then resumes by itself once the lock is gone, and ``r`` reads it again at
once (even with the automatic refresh paused)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from magflow_console.reference.urls import to_libpq
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.widgets.table import LiveTable
from tests.sources.test_database import connect, insert_sync_log
from tests.tui.helpers import real_app, wait_for
from tests.tui.test_sync_bad_values import db_only_config

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@contextmanager
def table_locked(url: str) -> Iterator[None]:
    with psycopg.connect(to_libpq(url), application_name="pytest-locker") as conn:
        conn.execute("LOCK TABLE app.emag_sync_logs IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


def filters(screen: SyncDetailScreen) -> str:
    return str(screen.query_one("#sync-filters").render())


def keys(screen: SyncDetailScreen) -> set[str]:
    return {key for key, _ in screen.query_one("#runs", LiveTable)._shown}


async def test_the_runs_screen_resumes_after_a_lock_and_r_reloads_it(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        first = insert_sync_log(conn, account_type="main", hours_ago=2)
    config = db_only_config(
        head_db_url, **{"database.statement_timeout_ms": 300, "refresh_interval": 0.5}
    )
    app = real_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_sync()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SyncDetailScreen)
        await wait_for(pilot, lambda: first in keys(screen), "the runs listed")

        with table_locked(head_db_url):
            await pilot.press("a")  # account main: read while the table is locked
            await wait_for(pilot, lambda: "statement timeout" in filters(screen), "the error")
            assert first in keys(screen), "the rows read before stay"
        with connect(head_db_url) as conn:
            later = insert_sync_log(conn, account_type="main", hours_ago=1)
        # no key pressed: the next refresh reads it again
        await wait_for(
            pilot,
            lambda: later in keys(screen) and "✗" not in filters(screen),
            "the screen to resume by itself",
        )

        await pilot.press("p")  # paused: nothing refreshes unless asked
        assert app.paused
        with table_locked(head_db_url):
            await pilot.press("r")
            await wait_for(pilot, lambda: "statement timeout" in filters(screen), "r's error")
        with connect(head_db_url) as conn:
            last = insert_sync_log(conn, account_type="main", hours_ago=0.5)
        await pilot.pause(1.5)
        assert last not in keys(screen), "read again while paused without being asked"
        await pilot.press("r")
        await wait_for(
            pilot, lambda: last in keys(screen) and "✗" not in filters(screen), "r to reload"
        )


async def test_a_run_that_could_not_be_read_is_read_again(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        run = insert_sync_log(conn, account_type="main", hours_ago=2)
    config = db_only_config(
        head_db_url, **{"database.statement_timeout_ms": 300, "refresh_interval": 0.5}
    )
    app = real_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        with table_locked(head_db_url):
            app.open_sync(run)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SyncDetailScreen)
            detail: Any = screen.query_one("#run-detail")
            await wait_for(
                pilot, lambda: "could not be read" in str(detail.render()), "the failed read"
            )
            assert "statement timeout" in str(detail.render())
        await wait_for(
            pilot,
            lambda: screen.current_run is not None and screen.current_run.id == run,
            "the run read again once the lock is gone",
        )
