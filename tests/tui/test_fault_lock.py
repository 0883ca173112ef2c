"""Another session holds ACCESS EXCLUSIVE on ``app.emag_sync_logs`` while the TUI runs: the
statement timeout cancels the sync read, the sync pane says "timed out (table
app.emag_sync_logs locked by pid N, application X)" with the holder's real pid and
application_name, nothing hangs (a key is handled, the other sources are read), and the
pane recovers by itself when the lock is released. The recovery time is recorded."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from magflow_console.reference.urls import to_libpq
from magflow_console.tui.widgets.migrations_pane import MigrationsPane
from magflow_console.tui.widgets.sync_pane import SyncPane
from tests.support.reliability import Recorder
from tests.tui.faults import SourceLog, assert_no_error_modal, assert_responsive
from tests.tui.helpers import real_app, real_config, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

HOLDER = "nightly-maintenance"


async def test_a_locked_sync_table_names_its_holder_and_nothing_hangs(
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    reliability: Recorder,
) -> None:
    fake_api.set_mode("healthy")
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        **{"database.statement_timeout_ms": 1000},
    )
    log = SourceLog()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: app.store.sync.state == "ok", "a good sync read first")
        pane = app.screen.query_one(SyncPane)

        def message() -> str:
            return str(pane.query_one(".pane-message").render())

        with psycopg.connect(to_libpq(demo_db_url), application_name=HOLDER) as locker:
            locker.execute("LOCK TABLE app.emag_sync_logs IN ACCESS EXCLUSIVE MODE")
            pid = locker.info.backend_pid
            locked = time.monotonic()
            said = f"timed out (table app.emag_sync_logs locked by pid {pid}, application {HOLDER})"
            await wait_for(
                pilot,
                lambda: pane.has_class("-stale") and said in message(),
                "the sync pane to name the lock holder",
                60,
            )
            assert "statement timeout (1 s)" in message()
            await assert_responsive(pilot, app)
            await wait_for(
                pilot,
                lambda: all(
                    len(log.states(s, locked)) >= 2 for s in ("containers", "database", "sync")
                ),
                "the other sources, and the sync again, read while the table is locked",
            )
            assert all(s == "ok" for s in log.states("containers", locked))
            assert all(s == "ok" for s in log.states("database", locked))
            assert not app.screen.query_one(MigrationsPane).has_class("-stale")
            assert all(s == "error" for s in log.states("sync", locked)[1:])
            locker.rollback()
            released = time.monotonic()
        await wait_for(
            pilot,
            lambda: not pane.has_class("-stale") and app.store.sync.state == "ok",
            "the sync pane to recover by itself",
            60,
        )
        assert_no_error_modal(app)
    recovered = log.recovered_after(("sync",), released)
    assert recovered is not None
    reliability.fault(
        "postgresql",
        "ACCESS EXCLUSIVE lock on app.emag_sync_logs held by another session",
        "dashboard sync pane",
        recovered,
    )
