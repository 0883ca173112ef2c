"""Pilot tests of every screen against the real backends: the demo PostgreSQL database, the
stack-like containers on the real Docker engine and the fake MagFlow HTTP API.

They assert on what is shown (table rows, pane texts, the exported screen), not only that
nothing crashed.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url
from textual.message import Message

from magflow_console.reference import DEMO_TARGET, HEAD
from magflow_console.reference.urls import to_libpq
from magflow_console.tui.messages import SnapshotsReady
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.dashboard import DashboardScreen
from magflow_console.tui.screens.help import HelpScreen
from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.widgets.containers_pane import ContainersPane
from magflow_console.tui.widgets.log_view import LOWER, TEXT, LogView
from magflow_console.tui.widgets.migrations_pane import MigrationsPane
from magflow_console.tui.widgets.pane import Summary
from magflow_console.tui.widgets.sync_pane import SyncPane
from magflow_console.tui.widgets.table import LiveTable
from tests.tui.helpers import real_app, real_config, screen_text, table_rows, wait_for, wait_loaded
from tests.tui.palette import type_command

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]


async def test_dashboard_shows_the_stack(stack_config: Any, stack_containers: Any) -> None:
    messages: list[Message] = []
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_loaded(pilot, app)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)

        rows = table_rows(screen.query_one(ContainersPane).table)
        worker = stack_containers.names["worker"]
        assert rows[worker][:3] == ["worker", "running", "unhealthy"]
        assert rows[stack_containers.names["app"]][2] == "healthy"

        migrations = screen.query_one(MigrationsPane).query_one(Summary).plain
        assert DEMO_TARGET in migrations.splitlines()[0]  # current
        assert HEAD in migrations  # head and the pending revision
        assert "1 to apply" in migrations
        assert "app.alembic_version" in migrations

        sync = screen.query_one(SyncPane)
        accounts = table_rows(sync.query_one("#sync-accounts", LiveTable))
        assert set(accounts) == {"main", "fbe"}
        anomalies = sync.query_one(Summary).plain
        assert any(line.startswith("▲ fbe:") for line in anomalies.splitlines()), anomalies
        assert table_rows(sync.table), "recent runs are listed"

        shown = screen_text(app)
        assert "CRITICAL" in shown  # worker unhealthy, redis crash-looping, fbe without success
        assert "unhealthy" in shown
        assert "/health/database" in shown and "/health/full" not in shown  # not polled
        sources = {s for m in messages if isinstance(m, SnapshotsReady) for s in m.sources}
        assert sources == {
            "containers", "database", "migrations", "sync", "orders", "api", "redis", "celery"
        }  # fmt: skip


async def test_keys_focus_panes_and_open_details(stack_config: Any, stack_containers: Any) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("2", "enter")
        assert isinstance(app.screen, MigrationDetailScreen)
        text = str(app.screen.query_one("#migration-detail").render())
        assert "Pending, in apply order (1)" in text
        assert f"{HEAD}" in text
        assert "← database" in text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)

        await pilot.press("3", "enter")
        assert isinstance(app.screen, SyncDetailScreen)
        sync_screen = app.screen
        table = sync_screen.query_one("#runs", LiveTable)
        await wait_for(pilot, lambda: len(table._shown) > 2, "sync runs listed")
        await pilot.press("a")  # account: main
        await wait_for(
            pilot,
            lambda: (
                bool(table._shown) and all(row[1] == "main" for row in table_rows(table).values())
            ),
            "runs filtered to account main",
        )
        await pilot.press("s")  # status: failed
        await wait_for(
            pilot,
            lambda: (
                bool(table._shown) and all(row[2] == "failed" for row in table_rows(table).values())
            ),
            "runs filtered to failed runs of main",
        )
        await wait_for(
            pilot,
            lambda: (
                sync_screen.current_run is not None and sync_screen.current_run.status == "failed"
            ),
            "the selected failed run is loaded",
        )
        detail = str(sync_screen.query_one("#run-detail").render())
        assert "errors" in detail and '"error":' in detail  # the errors JSON, pretty-printed
        await pilot.press("a", "s")  # account fbe, then the outcome class "empty" (0 items)
        await wait_for(
            pilot,
            lambda: (
                bool(table._shown)
                and all(row[1:3] == ["fbe", "empty"] for row in table_rows(table).values())
            ),
            "fbe's runs that synced nothing",
        )
        await pilot.press("escape")

        await pilot.press("a")
        assert isinstance(app.screen, AdminsScreen)
        admins = app.screen.query_one(LiveTable)
        await wait_for(pilot, lambda: len(admins._shown) >= 2, "admin users listed")
        emails = [row[0] for row in table_rows(admins).values()]
        assert "admin@magflow.local" in emails
        assert "$2b$" not in screen_text(app)  # never a bcrypt hash


async def test_container_detail_logs_filter_and_search(
    stack_config: Any, stack_containers: Any
) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        worker = stack_containers.names["worker"]
        app.open_container(worker)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerDetailScreen)
        log = screen.query_one(LogView)
        await wait_for(pilot, lambda: len(log.entries) >= 3, "log lines of the worker")
        # the worker writes two lines a second, so which lines are in the last TAIL depends
        # on how long the session's stack has been up: use only the lines it always writes
        texts = [e[TEXT] for e in log.entries]
        assert any("maintenance.heartbeat" in t for t in texts), texts[:10]
        await wait_for(pilot, lambda: screen.info is not None, "container inspect")
        info = str(screen.query_one("#container-info").render())
        assert "unhealthy" in info and "health probes" in info
        assert log.following

        await pilot.press("slash", *"succeeded", "enter")
        assert log.filter_text == "succeeded"
        assert log.shown and all("succeeded" in e[LOWER] for e in log.shown)
        assert len(log.shown) < len(log.entries)

        await pilot.press("slash", "ctrl+u", "enter")  # clear the filter
        assert len(log.shown) == len(log.entries)
        await pilot.press("s", *"received", "enter")
        first = log.match_index
        assert first is not None and "received" in log.shown[first][LOWER]
        assert not log.following  # searching pauses following
        await pilot.press("n")
        assert log.match_index is not None and "received" in log.shown[log.match_index][LOWER]
        assert log.match_index != first
        await pilot.press("end")
        assert log.following
        await pilot.press("t")
        assert not log.timestamps
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_escape_sequences_in_logs_are_neutralised(
    stack_config: Any, make_container: Any
) -> None:
    hostile = make_container(
        command=[
            "sh",
            "-c",
            r'printf "\033[2J\033[31m[bold red]boom[/bold red]\033]0;pwned\007 tail\n"; '
            "exec sleep 2147483647",
        ]
    )
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_container(hostile.name)
        await pilot.pause()
        log = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: bool(log.entries), "the hostile log line")
        line = log.entries[-1][TEXT]
        assert "\x1b" not in line and "\x07" not in line
        assert line == "[bold red]boom[/bold red] tail"  # shown literally, not as markup
        strip = log.render_line(log.shown.index(log.entries[-1]) - int(log.scroll_y))
        rendered = "".join(seg.text for seg in strip)
        assert "[bold red]boom[/bold red] tail" in rendered
        assert "pwned" not in screen_text(app)


async def test_help_lists_the_bindings_of_the_screen(stack_config: Any) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {desc: (keys, bid) for keys, desc, bid in help_screen.rows}
        assert rows["Refresh"] == ("r", "refresh")
        assert rows["Open"] == ("⏎", "open-detail") or rows["Open"][1] == "open-detail"
        assert rows["Filter"][1] == "filter" and rows["Admins"][1] == "admins"
        order = [desc for _, desc, _ in help_screen.rows]
        assert order.index("Open") < order.index("Refresh") < order.index("Select")
        shown = screen_text(app)
        assert "Keys: Dashboard" in shown and "open-detail" in shown
        await pilot.press("escape")
        app.open_migrations()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "Keys: MigrationDetail" in screen_text(app)


async def test_keys_are_remapped_from_the_profile(
    demo_db_url: str, docker_engine: Any, stack_containers: Any, fake_api: Any
) -> None:
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        keys={"admins": "u", "focus-sync": "f3"},
    )
    app = real_app(loaded)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("a")
        assert isinstance(app.screen, DashboardScreen)  # the old key no longer opens admins
        await pilot.press("f3")
        assert app.screen.focused is app.screen.query_one(SyncPane).table
        await pilot.press("u")
        assert isinstance(app.screen, AdminsScreen)
        await pilot.press("escape", "escape", "question_mark")
        rows = {desc: keys for keys, desc, _ in app.screen.rows}  # type: ignore[attr-defined]
        assert rows["Admins"] == "u"


async def test_database_down_shows_error_in_place_and_recovers(
    demo_db_url: str, pg_server: Any, docker_engine: Any, stack_containers: Any, fake_api: Any
) -> None:
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        refresh_interval=0.5,
    )
    name = make_url(demo_db_url).database
    admin = to_libpq(pg_server.admin_url)

    def set_connections(allowed: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.SQL("true" if allowed else "false")
                )
            )
            if not allowed:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )

    app = real_app(loaded)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_loaded(pilot, app)
            migrations = app.screen.query_one(MigrationsPane)
            containers = app.screen.query_one(ContainersPane)
            assert not migrations.has_class("-stale")
            set_connections(False)
            states = lambda: {k: (v.state, v.error) for k, v in app.store.snapshots.items()}  # noqa: E731
            # The database and sync sources refresh independently (one lock
            # each), so each may notice the outage on a different tick.
            try:
                await wait_for(
                    pilot,
                    lambda: (
                        migrations.has_class("-stale")
                        and app.store.sync is not None
                        and app.store.sync.state == "stale"
                    ),
                    "the migrations pane and the sync snapshot to go stale",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; store: {states()}") from None
            message = str(migrations.query_one(".pane-message").render())
            assert "retry" in message and len(message) > 20
            assert "stale" in message
            assert not containers.has_class("-stale") and not containers.has_class("-error")
            set_connections(True)
            await wait_for(
                pilot,
                lambda: (
                    not migrations.has_class("-stale")
                    and app.store.sync is not None
                    and app.store.sync.state == "ok"
                ),
                "the panes to recover",
            )
            assert not migrations.query_one(".pane-message").display
    finally:
        set_connections(True)


async def test_command_palette_reaches_actions(stack_config: Any) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await type_command(pilot, "admin users", "Open admin users")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, AdminsScreen), "admins from the palette"
        )
