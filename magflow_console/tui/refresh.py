"""The refresh loops: one thread worker per source, never overlapping.

A loop fetches in a thread worker (group ``src:<name>``), the worker posts
``SnapshotReady`` and ends; when the worker has finished (success, error or cancel) the
next run is scheduled with ``set_timer``, so a slow backend never piles up requests.
``refresh_now`` starts every idle loop at once; a loop already fetching is flagged to
run again as soon as it ends. Docker events arrive as coalescing messages and trigger a
throttled container refresh.

The database loop also analyses the migrations (``backend.migrations(db)`` needs the
database snapshot it just read), so it posts two snapshots.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from magflow_console.tui.messages import SnapshotReady, StackEventReceived

if TYPE_CHECKING:
    from magflow_console.backend import Backend
    from magflow_console.render.fmt import Clock
    from magflow_console.tui.store import Store

#: the loops and the snapshots each one posts
LOOPS: dict[str, tuple[str, ...]] = {
    "containers": ("containers",),
    "database": ("database", "migrations"),
    "sync": ("sync",),
    "api": ("api",),
}
EVENT_THROTTLE = 0.5  # seconds: a burst of events gives one container refresh
EVENT_RETRY = 5.0  # seconds before re-opening a failed event stream


class RefreshingApp(App[int]):
    """Base of the App: owns the timers and workers of the refresh loops."""

    backend: Backend
    store: Store
    clock: Clock
    paused: bool
    refresh_interval: float
    watch_events: bool

    def show_error(self, title: str, error: BaseException) -> None:
        raise NotImplementedError

    def _init_loops(self) -> None:
        self._loop_timers: dict[str, Timer] = {}
        self._loops_busy: set[str] = set()
        self._loops_again: set[str] = set()
        self._loop_event_timer: Timer | None = None
        self._events_stop = threading.Event()
        self._stop_events: set[threading.Event] = {self._events_stop}

    def register_stop(self, stop: threading.Event) -> None:
        """A blocking worker's stop flag: set when the app shuts down (asyncio.run joins the
        worker threads, so a follower that never stops would hang the exit)."""
        self._stop_events.add(stop)

    # ------------------------------------------------------------------ scheduling

    def start_loops(self) -> None:
        for loop in LOOPS:
            self.run_loop(loop)
        if self.watch_events:
            self._watch_events()

    def stop_loops(self) -> None:
        for stop in self._stop_events:
            stop.set()
        for timer in self._loop_timers.values():
            timer.stop()
        self._loop_timers.clear()

    def run_loop(self, loop: str) -> None:
        """Start ``loop`` now unless paused; if it is fetching, run again when it ends."""
        if loop in self._loops_busy:
            self._loops_again.add(loop)
            return
        if self.paused:
            return
        timer = self._loop_timers.pop(loop, None)
        if timer is not None:
            timer.stop()
        self._loops_busy.add(loop)
        getattr(self, f"_fetch_{loop}")()

    def refresh_now(self) -> None:
        for loop in LOOPS:
            self.run_loop(loop)

    def _loop_finished(self, loop: str) -> None:
        self._loops_busy.discard(loop)
        if loop in self._loops_again:
            self._loops_again.discard(loop)
            self.run_loop(loop)
            return
        interval = self.refresh_interval
        for source in LOOPS[loop]:
            self.store.next_retry[source] = self.clock() + dt.timedelta(seconds=interval)
        self._loop_timers[loop] = self.set_timer(interval, lambda: self.run_loop(loop))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        group = worker.group or ""
        if group.startswith("src:") and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._loop_finished(group[4:])
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.show_error(f"Background task '{worker.name}' failed", worker.error)

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, exit_on_error=False, group="src:containers")
    def _fetch_containers(self) -> None:
        self.post_message(SnapshotReady("containers", self.backend.containers()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="src:database")
    def _fetch_database(self) -> None:
        db = self.backend.database()
        self.post_message(SnapshotReady("database", db))
        self.post_message(SnapshotReady("migrations", self.backend.migrations(db)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="src:sync")
    def _fetch_sync(self) -> None:
        self.post_message(SnapshotReady("sync", self.backend.sync()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="src:api")
    def _fetch_api(self) -> None:
        self.post_message(SnapshotReady("api", self.backend.api()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="events")
    def _watch_events(self) -> None:
        """Docker events for the stack; a broken stream is re-opened after a pause."""
        stop = self._events_stop
        while not stop.is_set():
            try:
                for event in self.backend.events(stop):
                    if stop.is_set():
                        return
                    # the source yields only the kinds in sources.docker_parse.EVENT_KINDS
                    kind = str(getattr(event, "kind", "")).split(":", 1)[0].strip()
                    self.post_message(StackEventReceived(kind, str(getattr(event, "name", ""))))
            except Exception:  # the stream died (engine gone): the containers loop reports it
                pass
            stop.wait(EVENT_RETRY)

    def on_stack_event_received(self, message: StackEventReceived) -> None:
        if self._loop_event_timer is None:
            self._loop_event_timer = self.set_timer(EVENT_THROTTLE, self._flush_events)

    def _flush_events(self) -> None:
        self._loop_event_timer = None
        self.run_loop("containers")
