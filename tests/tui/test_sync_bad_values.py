"""The TUI on sync-log rows holding NaN and ±Infinity durations and 'infinity' or
far-future times (a real PostgreSQL): the run detail shows them as unknown instead of
crashing the app, and the dashboard's account line does not take a far-future run for
the last one ("0s" for ever)."""

from __future__ import annotations

from typing import Any

import pytest

from magflow_console.config import LoadedConfig, load_config
from magflow_console.tui.screens.error import ErrorScreen
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.widgets.sync_pane import SyncPane
from magflow_console.tui.widgets.table import LiveTable
from tests.cli.test_bad_numbers import bad_rows  # noqa: F401  (a fixture)
from tests.tui.helpers import real_app, table_rows, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def db_only_config(db_url: str, **extra: Any) -> LoadedConfig:
    """The database for real; Docker, the API and Redis nowhere (their panes say so)."""
    overrides: dict[str, Any] = {
        "database.url": db_url,
        "docker.host": "unix:///nonexistent/docker.sock",
        "api.url": "http://127.0.0.1:1",
        "redis.url": "redis://127.0.0.1:1/0",
        "refresh_interval": 1.0,
    }
    overrides.update(extra)
    return load_config(environ={"XDG_CONFIG_HOME": "/nonexistent"}, overrides=overrides)


async def test_bad_values_in_the_run_detail_and_the_dashboard(
    head_db_url: str,
    bad_rows: dict[str, str],  # noqa: F811
) -> None:
    app = real_app(db_only_config(head_db_url))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot,
            lambda: app.store.sync is not None and app.store.sync.state == "ok",
            "the sync source read",
        )
        pane = app.screen.query_one(SyncPane)
        await wait_for(pilot, lambda: bool(table_rows(pane.table)), "the runs on the dashboard")
        accounts = table_rows(pane.query_one("#sync-accounts", LiveTable))
        assert accounts["main"][3] != "0s", "a far-future run taken for the last one"
        runs = table_rows(pane.table)
        assert runs[bad_rows["future"]][0].startswith("20"), "a far-future start shows its year"
        assert runs[bad_rows["infinity"]][0] == "—"

        for name in ("nan", "inf", "-inf", "absurd", "infinity", "-infinity"):
            app.open_sync(bad_rows[name])
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SyncDetailScreen)
            await wait_for(
                pilot,
                lambda s=screen, n=name: (  # type: ignore[misc]
                    s.current_run is not None and s.current_run.id == bad_rows[n]
                ),
                f"the {name} run in the detail",
            )
            detail = str(screen.query_one("#run-detail").render())
            duration = next(x for x in detail.splitlines() if x.startswith("duration"))
            if name in ("nan", "inf", "-inf"):
                assert duration.split(None, 1)[1] == "—"
            assert not isinstance(app.screen, ErrorScreen) and app.is_running
            await pilot.press("escape")
        assert app.is_running and app.return_code is None
