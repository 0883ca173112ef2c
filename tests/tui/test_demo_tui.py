"""The demo's dashboard (``LoadedConfig.demo``): the real demo database, the package's API
stand-in over it, no Docker engine (a socket that does not exist) and no Redis. The parts
the demo does not have are information; the API pane is live; the verdict is the demo
database's own problems.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from magflow_console.config import LoadedConfig, load_config
from magflow_console.diagnose import rules
from magflow_console.models import Finding
from magflow_console.reference import DEMO_TARGET, SCRIPTS_DIR
from magflow_console.reference.demo_facts import DemoFacts
from magflow_console.reference.standin_api import ApiServer, HealthApi
from magflow_console.tui.widgets.api_pane import ApiPane
from magflow_console.tui.widgets.celery_pane import CeleryPane
from magflow_console.tui.widgets.containers_pane import ContainersPane
from tests.tui.helpers import real_app, screen_text, table_rows, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def demo_config(demo_db_url: str) -> Iterator[LoadedConfig]:
    with ApiServer(HealthApi(DemoFacts(demo_db_url))) as api:
        loaded = load_config(
            environ={"XDG_CONFIG_HOME": "/nonexistent"},
            overrides={
                "database.url": demo_db_url,
                "docker.host": "unix:///nonexistent/docker.sock",
                "api.url": api.base_url,
                "alembic.scripts": str(SCRIPTS_DIR),
                "alembic.strategy": "local",
            },
        )
        yield dataclasses.replace(loaded, demo=True)


def _message(pane: ContainersPane | CeleryPane) -> str:
    return str(pane.query_one(".pane-message").render())


def _from_the_database(f: Finding, report_codes: set[str]) -> bool:
    return f.code in report_codes or f.code.startswith("orders_")


async def test_the_demo_dashboard_shows_a_whole_stack(demo_config: LoadedConfig) -> None:
    app = real_app(demo_config, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        containers = app.screen.query_one(ContainersPane)
        assert containers.has_class("-absent") and not containers.has_class("-error")
        assert _message(containers).startswith("no Docker engine (demo) · ")
        celery = app.screen.query_one(CeleryPane)
        assert celery.has_class("-absent") and not celery.has_class("-error")
        assert _message(celery).startswith("no Redis (demo) · ")

        api = app.screen.query_one(ApiPane)
        await wait_for(pilot, lambda: bool(table_rows(api.table)), "the API pane's checks")
        assert not api.has_class("-error")
        rows = table_rows(api.table)
        assert rows["/health/database"][1] == "ok"
        assert rows["/health/migrations"][1] == "ok"
        assert rows["/health/redis"][1] == "FAIL"  # honest: the demo has no Redis

        report = app.store.report
        assert report is not None
        assert app.store.all_ok(), "an absent part counts as read"
        db_codes = {p.code for p in report.migrations.problems}
        db_codes |= {a.code for a in report.sync.anomalies}
        acting = [f for f in report.findings if f.severity != "info"]
        assert acting and all(_from_the_database(f, db_codes) for f in acting), acting
        assert report.verdict == rules.verdict(acting, [])
        assert report.migrations.current == (DEMO_TARGET,)
        assert f"● {report.verdict.label.upper()}" in screen_text(app)
        assert "read " in screen_text(app).splitlines()[0]  # not "not every source readable"
