"""Pictures of the main screens (pytest-textual-snapshot), deterministic by construction:
fixed snapshots from ``FakeBackend`` (pure rendering input, shaped like the demo data), a
frozen clock, no automatic refresh timers firing during the capture, no Docker events.

Update after an intended change: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from magflow_console.tui.app import MagflowApp
from magflow_console.tui.widgets.log_view import LogView
from tests.support.fake_backend import LOG_LINES, FakeBackend, fake_config, frozen_clock

SnapCompare = Callable[..., bool]


def make_app(*, protected: bool = False, db_down: bool = False) -> MagflowApp:
    backend = FakeBackend(fake_config(protected=protected), db_down=db_down)
    return MagflowApp(backend, clock=frozen_clock, watch_events=False, refresh_interval=3600)


async def finished_fetches(pilot: Pilot[Any]) -> None:
    """Wait for the one-shot fetch workers (not the log follower, which never ends)."""
    app = pilot.app
    await pilot.pause()
    fetches = [
        w
        for w in app.workers
        if w.group.startswith(("src:", "detail:")) and w.group != "detail:logs"
    ]
    if fetches:  # an empty list would mean "wait for every worker", follower included
        await app.workers.wait_for_complete(fetches)
    await pilot.pause()


def settle(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await finished_fetches(pilot)
        for key in keys:
            await pilot.press(key)
            await finished_fetches(pilot)
        logs = app.screen.query(LogView)
        if logs:
            log = logs.first()
            for _ in range(100):
                if len(log.entries) >= len(LOG_LINES):
                    break
                await pilot.pause(0.05)
            assert len(log.entries) == len(LOG_LINES), "the fake log lines did not arrive"
            await pilot.pause(0.2)

    return run_before


def test_dashboard_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle())


def test_dashboard_120x40(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=settle())


def test_dashboard_database_down(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(db_down=True), terminal_size=(80, 24), run_before=settle())


def test_dashboard_protected_profile(snap_compare: SnapCompare) -> None:
    assert snap_compare(make_app(protected=True), terminal_size=(80, 24), run_before=settle())


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(("down", "down", "down", "enter"), id="container_detail"),
        pytest.param(("2", "enter"), id="migration_detail"),
        pytest.param(("3", "down", "down", "enter"), id="sync_detail"),
        pytest.param(("a",), id="admins"),
        pytest.param(("question_mark",), id="help"),
        pytest.param(("5", "enter"), id="celery_detail"),
    ],
)
def test_detail_screens(snap_compare: SnapCompare, keys: tuple[str, ...]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle(*keys))
