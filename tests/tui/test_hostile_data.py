"""Hostile data through every screen that shows it: the dashboard, the sync runs and each
run's detail, the container detail (log, health probes, a hostile compose label), the
migration detail and the findings. The scenario is tests/cli/test_hostile_data.py's: a
real PostgreSQL, real containers on the real engine, a broken migration folder.

On every screen: the app keeps running (no error modal, no exit), nothing drawn holds a
control character or a bidi control, markup is drawn as text, and what a screen holds
of a huge value is short (no 5 MB redraw)."""

from __future__ import annotations

from typing import Any

import pytest

from magflow_console.config import LoadedConfig, load_config
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.error import ErrorScreen
from magflow_console.tui.screens.findings import FindingsScreen
from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.widgets.log_view import TEXT, LogView
from magflow_console.tui.widgets.table import LiveTable
from tests.cli.test_hostile_data import (  # noqa: F401  (hostile_scenario is a fixture)
    MARKUP,
    SECRET,
    Scenario,
    hostile_scenario,
    raw_controls,
)
from tests.tui.helpers import real_app, screen_text, table_rows, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

#: the most a screen's widget may hold of one value (the run detail shows 16,000
#: characters of a JSON value; a log line is cut to the view's width)
SHOWN_MAX = 40_000


def scenario_config(s: Scenario) -> LoadedConfig:
    return load_config(
        environ={"XDG_CONFIG_HOME": "/nonexistent"},
        overrides={
            "database.url": s.db_url,
            "docker.host": s.engine.base_url,
            "docker.project": s.project,
            "docker.prefix": s.prefix,
            "docker.services": {"app": s.app},
            "alembic.strategy": "local",
            "alembic.scripts": str(s.scripts),
            "api.url": "http://127.0.0.1:1",
            "redis.url": "redis://127.0.0.1:1/0",
            "refresh_interval": 1.0,
        },
    )


def check_screen(app: MagflowApp, where: str, *texts: str) -> str:
    """What the terminal shows (and ``texts``, what widgets hold): clean and short."""
    assert app.is_running and app.return_code is None, f"{where}: the app exited"
    assert not isinstance(app.screen, ErrorScreen), f"{where}: an error modal"
    shown = screen_text(app)
    for text in (shown, *texts):
        assert not raw_controls(text), (where, raw_controls(text))
        assert SECRET not in text, f"{where}: the planted password"
    for text in texts:
        assert len(text) < SHOWN_MAX, (where, len(text))
    return shown


def rendered(widget: Any) -> str:
    return str(widget.render())


async def test_every_screen_survives_hostile_data(
    hostile_scenario: Scenario,  # noqa: F811
    reliability: Any,
) -> None:
    s = hostile_scenario
    for kind, count in s.planted.items():  # held only if every screen below survives them
        reliability.hostile(f"{kind}, through the TUI", count)
    app = real_app(scenario_config(s))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: all(
                src in app.store.snapshots
                for src in ("containers", "database", "migrations", "sync")
            ),
            "the stack's sources read",
            timeout=60,
        )
        for src in ("containers", "database", "migrations", "sync"):
            snap = app.store.snapshots[src]
            assert snap.state == "ok", (src, snap.error)
        await pilot.pause()
        tables = [table_rows(t) for t in app.screen.query(LiveTable)]
        cells = "\n".join(" ".join(c) for t in tables for c in t.values())
        check_screen(app, "dashboard", cells)
        assert "[bold red]boom" in cells, "the hostile label and operation as text"

        # the sync runs, and each hostile run in the detail
        app.open_sync()
        await pilot.pause()
        runs_screen = app.screen
        assert isinstance(runs_screen, SyncDetailScreen)
        table = runs_screen.query_one("#runs", LiveTable)
        await wait_for(
            pilot, lambda: set(s.runs.values()) <= set(table_rows(table)), "the hostile runs"
        )
        for kind, run_id in s.runs.items():
            index = [key for key, _ in table._shown].index(run_id)
            table.move_cursor(row=index, animate=False)
            await wait_for(
                pilot,
                lambda r=run_id: (  # type: ignore[misc]
                    runs_screen.current_run is not None and runs_screen.current_run.id == r
                ),
                f"the {kind} run in the detail",
            )
            await pilot.pause()
            detail = rendered(runs_screen.query_one("#run-detail"))
            check_screen(app, f"run detail ({kind})", detail)
            if kind == "markup":
                assert MARKUP in detail
            if kind in ("5mb", "40k entries"):
                assert "sync-logs --id" in detail and "--json" in detail
        await pilot.press("escape")

        # the hostile app: its log (non-UTF-8, a 1 MB line, escapes), its failed probes
        app.open_container(s.app)
        await pilot.pause()
        detail_screen = app.screen
        assert isinstance(detail_screen, ContainerDetailScreen)
        log = detail_screen.query_one(LogView)
        await wait_for(pilot, lambda: any(e[TEXT] == "after" for e in log.entries), "the log")
        await wait_for(pilot, lambda: detail_screen.info is not None, "the inspect")
        lines = "\n".join(e[TEXT] for e in log.entries)
        info = rendered(detail_screen.query_one("#container-info"))
        check_screen(app, "container detail", lines, info)
        assert MARKUP in lines and "\\u202e" in lines
        assert any("big line" in e[TEXT] for e in log.entries)
        await pilot.press("escape")

        # the container whose compose service label is hostile
        app.open_container(s.odd)
        await pilot.pause()
        odd_screen = app.screen
        assert isinstance(odd_screen, ContainerDetailScreen)
        await wait_for(pilot, lambda: odd_screen.info is not None, "the odd container's inspect")
        check_screen(
            app,
            "hostile label",
            rendered(odd_screen.query_one("#detail-title")),
            rendered(odd_screen.query_one("#container-info")),
        )
        await pilot.press("escape")

        # the broken migration folder
        app.open_migrations()
        await pilot.pause()
        assert isinstance(app.screen, MigrationDetailScreen)
        migrations = rendered(app.screen.query_one("#migration-detail"))
        check_screen(app, "migration detail", migrations)
        assert "cycle" in migrations
        await pilot.press("escape")

        # the findings (the logs read, quoted in excerpts)
        app.open_findings()
        await pilot.pause()
        findings = app.screen
        assert isinstance(findings, FindingsScreen)
        await wait_for(pilot, lambda: findings.logs_state == "read", "the logs read", timeout=60)
        await pilot.pause()
        listed = "\n".join(" ".join(c) for c in table_rows(findings.query_one(LiveTable)).values())
        codes = {a.finding.code for a in findings.advice}
        assert {"cycle", "missing_parent", "log_product_sync_failed"} <= codes, codes
        for index in range(len(findings.advice)):
            findings.query_one(LiveTable).move_cursor(row=index, animate=False)
            await pilot.pause()
            check_screen(app, "findings", listed, rendered(findings.query_one("#finding-detail")))
        await pilot.press("escape")
        assert app.is_running
