"""App behaviour that needs no external service: the error modal, event throttling,
pause, and the confirmation modal (rendering input from ``FakeBackend``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Button, Input

from magflow_console.models import ContainersSnapshot
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.messages import Changed, SnapshotsReady, StackEventReceived
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.error import ErrorScreen
from tests.support.fake_backend import FakeBackend, fake_config, frozen_clock
from tests.tui.helpers import screen_text, wait_for

pytestmark = pytest.mark.anyio


class ExplodingBackend(FakeBackend):
    def containers(self) -> ContainersSnapshot:
        raise RuntimeError("boom at postgresql://app:s3cret@db:5432/magflow")


async def test_unexpected_worker_error_becomes_a_modal_without_secrets() -> None:
    app = MagflowApp(ExplodingBackend(), clock=frozen_clock, watch_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "the error modal")
        modal = app.screen
        assert isinstance(modal, ErrorScreen)
        assert "RuntimeError: boom" in modal.details
        assert "s3cret" not in modal.details and "s3cret" not in screen_text(app)
        assert "Traceback" in modal.details  # details to copy, inside the modal only
        await pilot.press("escape")
        assert not isinstance(app.screen, ErrorScreen)
        # the other loops kept working
        assert app.store.api is not None and app.store.api.state == "ok"


async def test_docker_events_are_throttled_into_one_refresh() -> None:
    messages: list[Message] = []
    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False, refresh_interval=3600)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.store.containers is not None, "first fetch")
        before = sum(isinstance(m, SnapshotsReady) and "containers" in m.sources for m in messages)
        for _ in range(20):
            app.post_message(StackEventReceived("health_status", "magflow_worker"))
        await wait_for(
            pilot,
            lambda: (
                sum(isinstance(m, SnapshotsReady) and "containers" in m.sources for m in messages)
                > before
            ),
            "a container refresh after the events",
        )
        await pilot.pause(1.0)
        after = sum(isinstance(m, SnapshotsReady) and "containers" in m.sources for m in messages)
        assert after - before == 1


async def test_a_loops_reads_are_filed_together_with_one_signal() -> None:
    """A loop that reads two sources (the database and its migrations, the runs and the
    orders, Redis and Celery) has them filed together: one ``store_changed`` per loop,
    naming both, not one per source."""
    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False, refresh_interval=3600)
    published: list[Changed] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.report is not None, "first fetch")
        await pilot.pause(0.3)
        app.store_changed.subscribe(app.screen, published.append)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(published) >= 5, "every loop read again")
        await pilot.pause(0.3)
    assert sorted(published, key=sorted) == sorted(
        [
            frozenset({"containers"}),
            frozenset({"database", "migrations"}),
            frozenset({"sync", "orders"}),
            frozenset({"api"}),
            frozenset({"redis", "celery"}),
        ],
        key=sorted,
    )


async def test_pause_stops_refresh_and_shows_it() -> None:
    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.report is not None, "first fetch")
        await pilot.press("p")
        assert app.paused and "PAUSED" in screen_text(app)
        await pilot.press("p")
        assert not app.paused


@pytest.mark.parametrize("protected", [False, True])
async def test_confirm_modal_defaults_to_cancel_and_guards_protected(protected: bool) -> None:
    app = MagflowApp(FakeBackend(fake_config(protected=protected)), refresh_loops=False)
    results: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ConfirmScreen(
            "Apply 1 migration", profile="local", changes=["upgrade to head"], protected=protected
        )
        app.push_screen(screen, results.append)
        await pilot.pause()
        assert app.focused is screen.query_one("#cancel", Button)
        await pilot.press("enter")
        assert results == [False]
        screen = ConfirmScreen("Apply", profile="local", changes=["x"], protected=protected)
        app.push_screen(screen, results.append)
        await pilot.pause()
        confirm = screen.query_one("#confirm", Button)
        assert confirm.disabled is protected
        if protected:
            assert "PROTECTED" in screen_text(app)
            screen.query_one("#confirm-name", Input).value = "loca"
            await pilot.pause()
            assert confirm.disabled
            screen.query_one("#confirm-name", Input).value = "local"
            await pilot.pause()
            assert not confirm.disabled
        confirm.press()
        await pilot.pause()
        assert results == [False, True]


async def test_findings_screen_lists_worst_first_with_steps_and_opens_the_subject() -> None:
    from magflow_console.tui.screens.container_detail import ContainerDetailScreen
    from magflow_console.tui.screens.findings import FindingsScreen
    from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
    from magflow_console.tui.widgets.table import LiveTable

    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.report is not None, "the first status")
        await wait_for(
            pilot, lambda: all(app.store.snapshots.get(s) for s in ("containers", "sync")), "all"
        )
        assert "findings: d)" in screen_text(app)  # the header says where they are
        await pilot.press("d")
        assert isinstance(app.screen, FindingsScreen)
        screen = app.screen
        report = app.store.report
        assert report is not None
        levels = [a.level for a in screen.advice]
        order = {"CRITICAL": 0, "UNKNOWN": 1, "WARNING": 2, "INFO": 3}
        assert levels == sorted(levels, key=order.__getitem__) and levels[0] == "CRITICAL"
        assert len(screen.query_one(LiveTable)._shown) == len(screen.advice) >= 3
        first = screen.advice[0]
        shown = screen_text(app)
        assert first.finding.code in shown and "→ " in shown and first.steps[0][:30] in shown

        # enter on a container finding opens that container's detail
        index = next(
            i for i, a in enumerate(screen.advice) if a.finding.code.startswith("container_")
        )
        table = screen.query_one(LiveTable)
        table.move_cursor(row=index)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ContainerDetailScreen), "the container detail"
        )
        await pilot.press("escape")
        assert app.screen is screen
        # ... and on a migration finding, the migrations detail
        index = next(
            i for i, a in enumerate(screen.advice) if a.finding.code == "pending_migrations"
        )
        table.move_cursor(row=index)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, MigrationDetailScreen), "the migrations detail"
        )


async def test_a_search_hit_near_the_end_holds_the_view_while_lines_arrive() -> None:
    """Scrolling to a match in the last screenful lands at the end, which for a log view
    means "follow"; the match must still hold the view, or new lines push it away."""
    from textual.app import App, ComposeResult

    from magflow_console.tui.widgets.log_view import LogView

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LogView()

    app = Host()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(LogView)
        log.add_lines([f"line {i}" + (" NEEDLE" if i == 97 else "") for i in range(100)])
        await pilot.pause()
        assert log.following
        assert log.search("needle", forward=False)
        await pilot.pause()
        assert log.match_index == 97 and not log.following
        log.add_lines([f"later {i}" for i in range(50)])
        await pilot.pause()
        top = int(log.scroll_y)
        assert top <= 97 < top + log.size.height, (top, log.size.height)
        log.action_follow()  # end resumes following
        log.add_lines(["newest"])
        await pilot.pause()
        assert log.following and int(log.scroll_y) == log.max_scroll_y

        # a match on the very last line: the view is at its end, and still held
        log.add_lines(["the last NEEDLE"])
        await pilot.pause()
        assert log.search("needle")
        await pilot.pause()
        assert log.match_index == len(log.shown) - 1 and not log.following
        log.add_lines([f"after {i}" for i in range(30)])
        await pilot.pause()
        assert not log.following


async def test_the_api_is_polled_at_most_every_5_s_and_backs_off_on_429() -> None:
    from dataclasses import replace

    from magflow_console.models import ApiCheck, ApiSnapshot
    from magflow_console.tui.loops import API_BACKOFF

    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False, refresh_interval=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.api is not None, "the API read")
        assert app.loops.interval("containers") == 1.0
        assert app.loops.interval("api") == 5.0  # MagFlow rate-limits its health paths
        api = app.store.api
        assert isinstance(api, ApiSnapshot)
        limited = ApiCheck("/health/database", 429, False, 2.0, "rate-limited", "limited")
        app.store.update("api", replace(api, checks=(limited,)), frozen_clock())
        assert app.loops.interval("api") == API_BACKOFF


async def test_the_full_api_check_runs_only_when_asked() -> None:
    class Counting(FakeBackend):
        asked = 0

        def api_full_check(self) -> Any:
            Counting.asked += 1
            from magflow_console.models import ApiCheck

            return ApiCheck("/health/full", 200, True, 3.0, "ok", "database ok")

    app = MagflowApp(Counting(), clock=frozen_clock, watch_events=False, refresh_interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.report is not None, "the first refresh")
        await pilot.pause(1.2)  # a few refreshes
        assert Counting.asked == 0
        await pilot.press("F")
        await wait_for(pilot, lambda: Counting.asked == 1, "the full check, once")


class GatedBackend(FakeBackend):
    """Redis answers only once ``gate`` is set; ``opened`` is set when the Docker event
    stream is opened; ``forked`` says whether the first reads came from a forked child."""

    def __init__(self, *, forked: bool) -> None:
        super().__init__()
        self.forked = forked
        self.gate = threading.Event()
        self.opened = threading.Event()

    @property
    def first_reads_forked(self) -> bool:
        return self.forked

    def broker(self) -> Any:
        self.gate.wait(30)
        return super().broker()

    def events(self, stop: threading.Event, **kw: Any) -> Iterator[Any]:
        self.opened.set()
        return super().events(stop, **kw)


@pytest.mark.parametrize("forked", [True, False])
async def test_after_forked_first_reads_the_event_stream_waits_for_every_source(
    forked: bool,
) -> None:
    """With the first reads from a forked child, the event stream (which imports the
    docker SDK in this process) opens only once every source has been read once; without,
    at once."""
    backend = GatedBackend(forked=forked)
    app = MagflowApp(backend, clock=frozen_clock, watch_events=True, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.containers is not None, "the containers read")
        await pilot.pause(0.5)
        assert backend.opened.is_set() is not forked
        assert app.loops.events_deferred is forked
        backend.gate.set()
        await wait_for(pilot, backend.opened.is_set, "the event stream opened")
        assert not app.loops.events_deferred


async def test_forked_first_reads_all_in_before_the_first_frame_open_events_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every forked first read in before the dashboard mounts: the event stream (which
    imports the docker SDK beside the first frame on the same core) still waits for the
    first frame."""
    backend = PrefetchedBackend(forked=True)
    backend.arrive()
    app = MagflowApp(backend, clock=frozen_clock, watch_events=True, refresh_interval=3600)
    frame_out_at_open: list[bool] = []

    def events(stop: threading.Event, **kw: Any) -> Iterator[Any]:
        frame_out_at_open.append(getattr(app, "first_frame_shown", False))
        return FakeBackend.events(backend, stop, **kw)

    monkeypatch.setattr(backend, "events", events)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(frame_out_at_open), "the event stream opened")
        assert frame_out_at_open == [True]
        assert not app.loops.events_deferred


class PrefetchedBackend(FakeBackend):
    """First reads handed to the app as futures (as ``Backend.prefetch`` does), each read
    of its own counted. ``results``: what each first read gives (None: it failed);
    ``forked``: whether they came from a forked child."""

    def __init__(self, *, forked: bool = False) -> None:
        super().__init__()
        self.forked = forked
        self.reads: dict[str, int] = {"containers": 0, "database": 0, "sync": 0}
        self.futures: dict[str, Future[Any]] = {}
        self.results: dict[str, Any] = {
            "containers": FakeBackend.containers(self),
            "database": (FakeBackend.database(self), FakeBackend.migrations(self)),
            "sync": (FakeBackend.sync(self), FakeBackend.orders(self)),
            "api": FakeBackend.api(self),
            "broker": FakeBackend.broker(self),
        }
        self.futures = {loop: Future() for loop in self.results}

    def arrive(self, *loops: str) -> None:
        for loop in loops or tuple(self.results):
            self.futures[loop].set_result(self.results[loop])

    def take_first_reads(self) -> dict[str, Future[Any]]:
        return dict(self.futures)

    @property
    def first_reads_forked(self) -> bool:
        return self.forked

    def containers(self) -> ContainersSnapshot:
        self.reads["containers"] += 1
        return super().containers()

    def database(self) -> Any:
        self.reads["database"] += 1
        return super().database()

    def sync(self, *a: Any, **kw: Any) -> Any:
        self.reads["sync"] += 1
        return super().sync(*a, **kw)


def record_pane_shows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every ``Pane.show``: the pane's class and whether it had a snapshot to show."""
    from magflow_console.tui.widgets.pane import Pane

    shows: list[tuple[str, bool]] = []
    show = Pane.show

    def recorded(self: Pane, snapshot: Any, *a: Any, **kw: Any) -> Any:
        shows.append((type(self).__name__, snapshot is not None))
        return show(self, snapshot, *a, **kw)

    monkeypatch.setattr(Pane, "show", recorded)
    return shows


async def test_first_reads_that_arrived_before_the_dashboard_are_in_its_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First reads that land after the app started but before the dashboard mounted are
    drawn by the dashboard's first paint: no pane is ever shown loading, and no loop reads
    what the first reads brought."""
    shows = record_pane_shows(monkeypatch)
    backend = PrefetchedBackend()

    started = MagflowApp._started_profile

    def started_then_arrived(self: MagflowApp) -> None:
        started(self)
        backend.arrive()  # after the loops started, before the dashboard mounts

    monkeypatch.setattr(MagflowApp, "_started_profile", started_then_arrived)
    messages: list[Message] = []
    app = MagflowApp(backend, clock=frozen_clock, watch_events=False, refresh_interval=3600)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        assert all(app.store.snapshots.get(s) is not None for s in ("containers", "sync", "api"))
        await pilot.pause(0.3)
        assert {name for name, _ in shows} == {
            "ContainersPane", "MigrationsPane", "SyncPane", "ApiPane", "CeleryPane",
        }  # fmt: skip
        assert [s for s in shows if not s[1]] == []  # never "loading…"
        assert "restarting" in screen_text(app)  # the containers pane's rows
        assert backend.reads == {"containers": 0, "database": 0, "sync": 0}
        assert not any(isinstance(m, SnapshotsReady) for m in messages)


async def test_a_first_read_that_lands_later_is_applied_once_and_a_failed_one_is_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first read still on its way is applied when it lands, once; a refresh asked for
    meanwhile runs after it, not beside it; one that failed (None) is read by its loop."""
    shows = record_pane_shows(monkeypatch)
    backend = PrefetchedBackend()
    backend.results["database"] = None  # failed in the child
    backend.arrive("database", "sync", "api", "broker")
    app = MagflowApp(backend, clock=frozen_clock, watch_events=False, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.store.database is not None, "the database, read again")
        assert backend.reads["database"] == 1
        assert app.store.containers is None
        assert ("ContainersPane", False) in shows  # loading: its read is on its way
        await pilot.press("r")  # a refresh while the containers' first read is on its way
        await pilot.pause(0.3)
        assert backend.reads["containers"] == 0
        backend.arrive("containers")
        await wait_for(pilot, lambda: backend.reads["containers"] == 1, "the refresh after it")
        await pilot.pause(0.3)
        assert backend.reads == {"containers": 1, "database": 2, "sync": 1}
        assert app.store.containers is not None


async def test_the_collector_paused_for_start_up_resumes_at_the_first_frame() -> None:
    """``open_tui`` pauses the cyclic collector for start-up; the app's first frame
    resumes it, with what start-up built frozen out of its passes."""
    import gc

    gc.disable()
    try:
        app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, gc.isenabled, "the collector resumed")
            assert gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()


def test_open_tui_pauses_the_collector_until_the_app_runs_and_always_resumes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    import magflow_console.tui.app as tui_app
    from magflow_console.backend import Backend
    from magflow_console.environments import Profiles
    from magflow_console.main import open_tui

    seen: list[bool] = []

    def run_tui(loaded: Any, **kw: Any) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("the terminal went away")

    monkeypatch.setattr(tui_app, "run_tui", run_tui)
    monkeypatch.setattr(Backend, "prefetch", lambda self: None)  # no reads here
    loaded = fake_config()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        open_tui(lambda: loaded, lambda loaded: Profiles.only(loaded))
    assert seen == [False]
    assert gc.isenabled()
