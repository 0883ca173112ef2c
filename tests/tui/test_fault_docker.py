"""The Docker engine (the dockerd process) stopped and started again while the TUI runs:
on the dashboard and with a container's detail (its followed log) open.

A private engine of this module's own (``PrivateDockerd``, with two stack-like
containers that restart with it): the session's engine, which other tests use, is never
stopped. Each case checks that the containers pane (or the detail) shows the fault from
the first read that starts after the engine has gone, that the database and the API are
still read meanwhile, that a key is handled, and then, with no key pressed, that
everything follows again once the engine is back: the containers are read, the Docker
event stream is re-opened (an event arrives: a container restarted after the engine came
back shows up as an event, which only the stream posts) and the followed log shows new
lines. No error modal, no traceback logged or raised in a thread, no worker left
running from before the recovery. The recovery times are measured and recorded in the
reliability ledger, never asserted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest
from textual.worker import WorkerState

from magflow_console.tui.messages import EventStreamLost, EventStreamOpened, StackEventReceived
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.environments import EnvironmentsScreen
from magflow_console.tui.widgets.containers_pane import ContainersPane
from magflow_console.tui.widgets.log_view import LogView
from magflow_console.tui.widgets.table import LiveTable
from tests.support.docker_engine import PrivateDockerd, compose_labels, healthcheck
from tests.support.image import ensure_test_image
from tests.support.reliability import Recorder
from tests.tui.faults import (
    SourceLog,
    assert_no_error_modal,
    assert_responsive,
    failed_within_one_read,
)
from tests.tui.helpers import real_app, real_config, table_rows, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

PROJECT = "magflow"
PREFIX = "magflow_"
SERVICES = {"app": "magflow_app", "worker": "magflow_worker"}
#: the worker writes a numbered line every 0.3 s (its log is what the detail follows)
TICKS = 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.3; done'
OTHERS = ("database", "api")  # read meanwhile, and fine
FAULT = "engine (dockerd) stopped, then started"


@dataclass
class Engine:
    daemon: PrivateDockerd
    base_url: str
    project: str = PROJECT
    prefix: str = PREFIX

    @property
    def service_map(self) -> dict[str, str]:
        return dict(SERVICES)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.base_url, timeout=30)


def _run_stack(client: docker.DockerClient, image: str) -> None:
    """The app (healthy) and the worker (writes ticks), both ``unless-stopped``: the
    engine starts them again when it comes back."""
    specs: dict[str, dict[str, Any]] = {
        "app": {
            "command": ["sleep", "2147483647"],
            "healthcheck": healthcheck("true", retries=3),
        },
        "worker": {"command": ["sh", "-c", TICKS]},
    }
    run: Any = client.containers.run  # the SDK's overloads do not take **spec
    for service, spec in specs.items():
        run(
            image,
            name=SERVICES[service],
            detach=True,
            init=True,
            network_mode="host",
            labels=compose_labels(PROJECT, service),
            restart_policy={"Name": "unless-stopped"},
            **spec,
        )


@pytest.fixture(scope="module")
def private_engine() -> Iterator[Engine]:
    if shutil.which("dockerd") is None:
        pytest.fail(
            "this test stops and starts a dockerd of its own: dockerd is not installed "
            "(Debian package docker.io)",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("this test starts a dockerd of its own: it must run as root", pytrace=False)
    daemon = PrivateDockerd.fresh()
    try:
        base_url = daemon.start()
        client = docker.DockerClient(base_url=base_url, timeout=60)
        try:
            _run_stack(client, ensure_test_image(client))
        finally:
            client.close()
    except Exception as exc:
        daemon.stop()
        pytest.fail(f"could not start a private dockerd with the test stack: {exc}", pytrace=False)
    try:
        yield Engine(daemon, base_url)
    finally:
        daemon.stop()


@pytest.fixture
def engine(private_engine: Engine) -> Iterator[Engine]:
    """The private engine, running (a failed test may have left it stopped)."""
    if not private_engine.daemon.running:
        private_engine.daemon.start()
    yield private_engine
    if not private_engine.daemon.running:
        private_engine.daemon.start()


@dataclass
class Tracebacks:
    """Tracebacks the console logged (any record with exception info, or one saying
    "Traceback") or raised in a thread of its own."""

    logged: list[str]
    threads: list[str]

    def assert_none(self) -> None:
        assert not self.logged, f"tracebacks logged: {self.logged}"
        assert not self.threads, f"exceptions in threads: {self.threads}"


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "Traceback" in text:
            self.into.append(f"{record.name}: {text}")


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    found = Tracebacks([], [])
    handler = _Collect(found.logged)
    root = logging.getLogger()
    old_level, old_hook = root.level, threading.excepthook
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def hook(args: threading.ExceptHookArgs) -> None:
        found.threads.append(f"{args.thread.name if args.thread else '?'}: {args.exc_value!r}")

    threading.excepthook = hook
    try:
        yield found
    finally:
        threading.excepthook = old_hook
        root.removeHandler(handler)
        root.setLevel(old_level)


def _config(engine: Engine, db_url: str, fake_api: Any) -> Any:
    fake_api.set_mode("healthy")
    return real_config(db_url=db_url, docker_engine=engine, stack=engine, api_url=fake_api.base_url)


def _opened(log: SourceLog, since: float) -> list[float]:
    return [at for at, m in log.messages if isinstance(m, EventStreamOpened) and at >= since]


def _lost(log: SourceLog, since: float) -> list[float]:
    return [at for at, m in log.messages if isinstance(m, EventStreamLost) and at >= since]


def _events_for(log: SourceLog, name: str, since: float) -> list[StackEventReceived]:
    return [
        m
        for at, m in log.messages
        if isinstance(m, StackEventReceived) and m.name == name and at >= since
    ]


async def _halt(engine: Engine) -> tuple[float, float]:
    """Stop the engine (in a thread: the console runs meanwhile). Returns (when the stop
    began, when the process had gone)."""
    began = time.monotonic()
    await asyncio.to_thread(engine.daemon.halt)
    return began, time.monotonic()


async def _start(engine: Engine) -> float:
    """Start the engine again; returns when it began. Launched from this (the main)
    thread, which outlives it (``PrivateDockerd.launch``); waited for in another, so
    the console runs meanwhile."""
    started = time.monotonic()
    engine.daemon.launch()
    await asyncio.to_thread(engine.daemon.wait_ready)
    return started


def _in_error(pane: ContainersPane) -> bool:
    return pane.has_class("-error") or pane.has_class("-stale")


def _busy_workers(app: Any) -> list[Any]:
    return [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]


async def _assert_no_stuck_worker(pilot: Any, app: Any, log: SourceLog, long_lived: set[str]):
    """Every refresh worker busy now ends (each loop reads again after it), at most one
    worker per group is busy, and the long-lived ones (the event watcher, a log follower)
    each run exactly once."""
    mark = time.monotonic()
    busy = [w for w in _busy_workers(app) if (w.group or "").startswith("src:")]
    await wait_for(
        pilot,
        lambda: all(log.states(s, mark) for s in ("containers", *OTHERS)),
        "every loop to read again after the recovery",
        60,
    )
    await wait_for(
        pilot,
        lambda: all(w.state not in (WorkerState.PENDING, WorkerState.RUNNING) for w in busy),
        "the refresh workers busy at the recovery to end",
        60,
    )
    groups: dict[str, int] = {}
    for worker in _busy_workers(app):
        groups[worker.group or worker.name] = groups.get(worker.group or worker.name, 0) + 1
    assert all(n == 1 for n in groups.values()), groups
    for prefix in long_lived:
        running = [g for g in groups if g.startswith(prefix)]
        assert len(running) == 1, (prefix, groups)


async def test_engine_stopped_and_started_under_the_dashboard(
    engine: Engine,
    demo_db_url: str,
    fake_api: Any,
    reliability: Recorder,
    tracebacks: Tracebacks,
) -> None:
    log = SourceLog()
    app = real_app(_config(engine, demo_db_url, fake_api))
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                app.store.containers is not None
                and app.store.containers.state == "ok"
                and len(app.store.containers.items) == len(SERVICES)
                and bool(_opened(log, 0))
            ),
            "the containers read and the event stream open",
        )
        pane = app.screen.query_one(ContainersPane)
        began, stopped = await _halt(engine)
        await wait_for(pilot, lambda: _in_error(pane), "the containers pane's error state", 60)
        message = str(pane.query_one(".pane-message").render())
        assert str(engine.daemon.socket) in message and "retrying every" in message, message
        await wait_for(
            pilot,
            lambda: all(len(log.states(s, stopped)) >= 2 for s in ("containers", *OTHERS)),
            "two reads of every source while the engine is down",
            60,
        )
        assert _lost(log, began), "the event stream was not reported lost"
        assert app.store.events_error is not None
        assert "events" in str(pane.border_subtitle), pane.border_subtitle
        await assert_responsive(pilot, app)
        # the environments screen: the profile on screen is not passed off as fresh
        await pilot.press("e")
        await wait_for(
            pilot, lambda: isinstance(app.screen, EnvironmentsScreen), "the environments screen"
        )
        envs = app.screen

        def live_row() -> str:
            rows = table_rows(envs.query_one(LiveTable))
            return " ".join(rows.get(app.backend.profile_name, []))

        await wait_for(
            pilot,
            lambda: "stale since" in live_row() and "containers" in live_row(),
            "the environments line of this profile to say its containers are stale",
        )
        assert "OK" not in live_row().split(), live_row()

        started = await _start(engine)
        failed_within_one_read(log, "containers", stopped, started)
        for source in OTHERS:  # still read, and still fine, meanwhile
            states = log.states(source, stopped, started)
            assert len(states) >= 2 and all(s == "ok" for s in states), (source, states)

        await wait_for(
            pilot, lambda: "stale" not in live_row(), "the environments line to recover", 60
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not envs, "back to the dashboard")
        await wait_for(
            pilot,
            lambda: (
                app.store.containers is not None
                and app.store.containers.state == "ok"
                and not _in_error(pane)
            ),
            "the containers pane to recover, no key pressed",
            60,
        )
        await wait_for(pilot, lambda: bool(_opened(log, started)), "the event stream again", 60)
        assert app.store.events_error is None
        assert "events" not in str(pane.border_subtitle), pane.border_subtitle
        # an event, which only the stream posts: a container restarted now
        acted = time.monotonic()
        client = engine.client()
        try:
            await asyncio.to_thread(client.containers.get(SERVICES["app"]).restart, timeout=5)
        finally:
            client.close()
        await wait_for(
            pilot,
            lambda: bool(_events_for(log, SERVICES["app"], acted)),
            "an event of the restarted container from the re-opened stream",
            60,
        )
        await _assert_no_stuck_worker(pilot, app, log, {"events:"})
        assert_no_error_modal(app)
    tracebacks.assert_none()
    recovered = log.recovered_after(("containers",), started)
    assert recovered is not None
    reliability.fault("docker", FAULT, "dashboard (containers pane)", recovered)
    reliability.fault(
        "docker", FAULT, "dashboard (event stream re-opened)", _opened(log, started)[0] - started
    )


async def test_engine_stopped_and_started_under_the_container_detail(
    engine: Engine,
    demo_db_url: str,
    fake_api: Any,
    reliability: Recorder,
    tracebacks: Tracebacks,
) -> None:
    log = SourceLog()
    app = real_app(_config(engine, demo_db_url, fake_api))
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        app.open_container(SERVICES["worker"])
        await wait_for(
            pilot, lambda: isinstance(app.screen, ContainerDetailScreen), "the container detail"
        )
        screen = app.screen
        view = screen.query_one(LogView)

        def status() -> str:
            return str(screen.query_one("#log-status").render())

        def info() -> str:
            return str(screen.query_one("#container-info").render())

        def ticks_after(when: dt.datetime) -> int:
            return sum(
                1 for e in view.entries if e[0] is not None and e[0] >= when and "tick" in e[1]
            )

        opened_at = dt.datetime.now(dt.UTC)
        await wait_for(
            pilot,
            lambda: "● following" in status() and ticks_after(opened_at) >= 2,
            "the worker's ticks followed",
        )
        assert "state running" in info(), info()
        await _halt(engine)
        await wait_for(
            pilot,
            lambda: "● following" not in status() and "stopped following" in status(),
            "the detail to say it stopped following",
            60,
        )
        assert re.search(r"stopped following at \d\d:\d\d:\d\d", status()), status()
        assert "retrying every" in status(), status()
        await wait_for(
            pilot,
            lambda: str(engine.daemon.socket) in info(),
            "the container info to say the engine cannot be reached",
            60,
        )
        # the last good value, kept below (the engine stopped the container first: it may
        # say exited), under the error and since when
        assert "state " in info() and "below: as read at" in info(), info()
        assert re.search(r"since \d\d:\d\d:\d\d", info()), info()
        await assert_responsive(pilot, app)
        assert app.screen is screen

        back_at = dt.datetime.now(dt.UTC)
        started = await _start(engine)
        await wait_for(
            pilot,
            lambda: "● following" in status() and ticks_after(back_at) >= 2,
            "the log followed again with new lines, no key pressed",
            60,
        )
        followed = time.monotonic() - started
        await wait_for(
            pilot,
            lambda: str(engine.daemon.socket) not in info() and "state running" in info(),
            "the container info read again",
            60,
        )
        assert app.screen is screen
        await _assert_no_stuck_worker(pilot, app, log, {"events:", "detail:logs"})
        assert_no_error_modal(app)
    tracebacks.assert_none()
    reliability.fault("docker", FAULT, "container detail (log followed again)", followed)
