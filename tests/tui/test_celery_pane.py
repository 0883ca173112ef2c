"""The Celery pane against a real redis-server and a real solo worker: what the worker
executes, and the pane's error state while Redis is down and its recovery (as the other
panes do), with the detail screen on top."""

from __future__ import annotations

import time
from typing import Any

import pytest

from magflow_console.tui.screens.celery_detail import CeleryDetailScreen
from magflow_console.tui.widgets.celery_pane import CeleryPane
from tests.support.celery_app.control import Control
from tests.support.celery_rig import CeleryClient, CeleryProcess
from tests.support.redis_server import RedisServer
from tests.support.reliability import Recorder
from tests.tui.faults import SourceLog, assert_no_error_modal, assert_responsive
from tests.tui.helpers import real_app, real_config, screen_text, wait_for

pytestmark = pytest.mark.anyio


def _pane_text(app: Any) -> str:
    pane = app.screen.query_one(CeleryPane)
    return str(pane.query_one("#celery-summary").render())


async def test_the_celery_pane_follows_the_worker_and_survives_redis_going_away(
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis_db: RedisServer,
    celery_control: Control,
    celery_worker: CeleryProcess,
    celery_client: CeleryClient,
    reliability: Recorder,
) -> None:
    fake_api.set_mode("healthy")
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        **{"redis.url": redis_db.url},
    )
    celery_control.set("emag.sync_products", "sleep", seconds=120)
    task = celery_client.send(
        "emag.sync_products", kwargs={"account_type": "main", "max_pages_per_account": 5}
    )
    celery_worker.wait_for_log(f"emag.sync_products[{task}] received")
    app = real_app(loaded)
    log = SourceLog()
    async with app.run_test(size=(80, 24), message_hook=log.hook) as pilot:
        await wait_for(
            pilot, lambda: "sync_products main" in _pane_text(app), "the task the worker runs"
        )
        assert "busy" in _pane_text(app)
        await pilot.press("5", "enter")
        assert isinstance(app.screen, CeleryDetailScreen)
        await wait_for(pilot, lambda: "emag.sync_products [main]" in screen_text(app), "the detail")
        assert task in screen_text(app)

        redis_db.stop()
        stopped = time.monotonic()
        await wait_for(
            pilot,
            lambda: app.store.celery is not None and app.store.celery.state == "stale",
            "the Celery source to go stale while Redis is down",
        )
        status = str(app.screen.query_one("#celery-status").render())
        assert "stale" in status and "127.0.0.1" in status
        assert redis_db.password and redis_db.password not in screen_text(app)
        await pilot.press("escape")
        pane = app.screen.query_one(CeleryPane)
        assert pane.has_class("-stale")
        await assert_responsive(pilot, app)
        await wait_for(
            pilot,
            lambda: all(len(log.states(s, stopped)) >= 2 for s in ("containers", "database")),
            "the other sources to be read while Redis is down",
        )

        redis_db.restart()  # empty: MagFlow's Redis has no persistence
        restarted = time.monotonic()
        await wait_for(
            pilot,
            lambda: app.store.celery is not None and app.store.celery.state == "ok",
            "the Celery source to recover by itself",
        )
        await wait_for(pilot, lambda: not pane.has_class("-stale"), "the pane to recover")
        assert_no_error_modal(app)
    celery_control.release()
    recovered = log.recovered_after(("redis", "celery"), restarted)
    assert recovered is not None
    reliability.fault(
        "redis", "server stopped, then started empty", "Celery pane and detail", recovered
    )
