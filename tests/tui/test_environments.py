"""Every environment in the TUI (issue 14, items 1-2): the environments screen (``e``)
lists each profile of the config with its verdict, and enter switches the whole console
to it: panes, loops, guards and colour; the old profile's database connections close.

Real PostgreSQL (two databases, one per profile), the real Docker engine, the fake API
and a real redis-server; the profiles come from a real config file, loaded the way the
command line loads them (``cli.common.config_profiles``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from magflow_console.backend import Backend
from magflow_console.cli.common import config_profiles, load
from magflow_console.reference import SCRIPTS_DIR
from magflow_console.reference.urls import to_libpq
from magflow_console.sources.pg_conn import APPLICATION_NAME
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.dashboard import DashboardScreen
from magflow_console.tui.screens.environments import EnvironmentsScreen
from magflow_console.tui.widgets.header import StatusHeader
from magflow_console.tui.widgets.table import LiveTable
from tests.support.postgres import PgServer
from tests.support.redis_server import RedisServer
from tests.tui.helpers import table_rows, wait_for, wait_loaded
from tests.tui.palette import type_command

pytestmark = pytest.mark.anyio


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


def write_config(path: Path, profiles: dict[str, dict[str, Any]], default: str) -> Path:
    lines = [f"default_profile = {_toml(default)}"]
    for name, sections in profiles.items():
        lines.append(f"[profiles.{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in sections.items() if not isinstance(v, dict)]
        for section, values in sections.items():
            if isinstance(values, dict):
                lines.append(f"[profiles.{name}.{section}]")
                lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def stack_profile(
    db_url: str, engine: Any, stack: Any, api_url: str, redis_url: str, **top: Any
) -> dict[str, Any]:
    return {
        "refresh_interval": 1.0,
        **top,
        "database": {"url": db_url},
        "docker": {
            "host": engine.base_url,
            "project": stack.project,
            "prefix": stack.prefix,
            "services": stack.service_map,
        },
        "alembic": {"scripts": str(SCRIPTS_DIR), "strategy": "local"},
        "api": {"url": api_url},
        "redis": {"url": redis_url},
    }


def console_connections(pg_server: PgServer, db_url: str) -> int:
    """The console's open connections to the database of ``db_url``."""
    dbname = psycopg.conninfo.conninfo_to_dict(to_libpq(db_url))["dbname"]
    with psycopg.connect(to_libpq(pg_server.admin_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (dbname, APPLICATION_NAME),
        ).fetchone()
    return int(row[0]) if row else 0


def two_profile_app(
    tmp_path: Path,
    blue_db: str,
    green_db: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis: RedisServer,
) -> MagflowApp:
    common = (docker_engine, stack_containers, fake_api.base_url, redis.url)
    config = write_config(
        tmp_path / "config.toml",
        {
            "blue": stack_profile(blue_db, *common),
            "green": stack_profile(green_db, *common, protected=True),
            "broken": {"database": {"url": blue_db, "password_file": str(tmp_path / "gone")}},
        },
        default="blue",
    )
    args = argparse.Namespace(config=str(config))
    first = load(args)
    return MagflowApp(Backend(first), profiles=config_profiles(args, first))


async def test_the_environments_screen_lists_every_profile_and_switches(
    tmp_path: Path,
    pg_server: PgServer,
    demo_db_url: str,
    head_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis_db: RedisServer,
) -> None:
    fake_api.set_mode("healthy")
    app = two_profile_app(
        tmp_path, demo_db_url, head_db_url, docker_engine, stack_containers, fake_api, redis_db
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot, app)
        assert app.backend.profile_name == "blue" and not app.has_class("-protected")
        assert console_connections(pg_server, demo_db_url) >= 1

        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, EnvironmentsScreen)
        table = screen.query_one(LiveTable)

        def rows() -> dict[str, list[str]]:
            return table_rows(table)

        await wait_for(
            pilot,
            lambda: all(r[1] not in ("reading…", "") for r in rows().values()),
            "every profile's verdict",
            timeout=60,
        )
        shown = rows()
        assert list(shown) == ["blue", "broken", "green"]
        assert shown["blue"][0].startswith("●")  # the profile on screen
        assert shown["broken"][1] == "UNKNOWN"
        assert "profiles.broken.database.password_file" in shown["broken"][3]
        # green is read with its own connections, closed once it has answered
        assert shown["green"][1] in ("OK", "WARNING", "CRITICAL")
        await wait_for(
            pilot,
            lambda: console_connections(pg_server, head_db_url) == 0,
            "the overview's read of green to close its connections",
        )

        # a profile that cannot be loaded is refused with the reason, nothing changes
        table.move_cursor(row=1, animate=False)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("Cannot open broken" in str(n.message) for n in app._notifications),
            "the refusal to open broken",
        )
        assert app.backend.profile_name == "blue"

        # enter on green: the whole console moves to it
        old_backend = app.backend
        table.move_cursor(row=2, animate=False)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.backend.profile_name == "green", "the switch")
        assert isinstance(app.screen, DashboardScreen) and len(app.screen_stack) == 2
        assert app.has_class("-protected")
        assert app.store.profile == "green"
        await wait_loaded(pilot, app)
        header = str(app.screen.query_one(StatusHeader).render())
        assert "green" in header and "PROTECTED" in header, header
        db = app.store.database
        assert db is not None and db.state == "ok"
        # the dashboard shows green's database (the head database: nothing pending)
        migrations = app.store.migrations
        assert migrations is not None and not migrations.pending, migrations
        # nothing of blue stays open
        await wait_for(
            pilot,
            lambda: console_connections(pg_server, demo_db_url) == 0,
            "blue's database connections to close",
        )
        assert old_backend is not app.backend
        assert console_connections(pg_server, head_db_url) >= 1

        # back to blue from the palette
        await pilot.press("ctrl+p")
        await type_command(pilot, "switch to profile blue", "Switch to profile blue")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.backend.profile_name == "blue", "the switch back")
        assert not app.has_class("-protected")
        await wait_for(
            pilot,
            lambda: console_connections(pg_server, head_db_url) == 0,
            "green's database connections to close",
        )


async def test_no_switch_while_an_action_waits_for_its_confirmation(
    tmp_path: Path,
    pg_server: PgServer,
    demo_db_url: str,
    head_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis_db: RedisServer,
) -> None:
    fake_api.set_mode("healthy")
    app = two_profile_app(
        tmp_path, demo_db_url, head_db_url, docker_engine, stack_containers, fake_api, redis_db
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("m")  # the demo database is one revision behind: a real plan
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        app.switch_profile("green")
        await pilot.pause()
        assert app.backend.profile_name == "blue"
        assert isinstance(app.screen, ConfirmScreen)
        assert any("switch when it has ended" in str(n.message) for n in app._notifications)
        await pilot.press("escape")  # cancel (audited); now the switch goes through
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the cancel")
        app.switch_profile("green")
        await wait_for(pilot, lambda: app.backend.profile_name == "green", "the switch")
