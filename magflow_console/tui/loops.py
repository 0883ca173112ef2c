"""The refresh loops: one thread worker per source, never overlapping.

A loop fetches in a thread worker (group ``src:<name>``), the worker posts
``SnapshotsReady`` to the app and ends; when the worker has finished (success, error or
cancel) the next run is scheduled with ``set_timer``, so a slow backend never piles up
requests. ``refresh_now`` starts every idle loop at once; a loop already fetching is
flagged to run again as soon as it ends. Docker events arrive as coalescing messages and
trigger a throttled container refresh. The event stream's own state is posted as it
changes (``EventStreamOpened`` / ``EventStreamLost``): a broken stream is re-opened every
``EVENT_RETRY`` seconds, and at once when the containers loop reads the engine again.

A loop's first read may have started before the app (``Backend.prefetch``): it is
applied on the app's thread as soon as it is in, at the latest when the dashboard mounts,
so the first frame shows what has arrived by then (``start``).

The database loop also analyses the migrations (``backend.migrations(db)`` needs the
database snapshot it just read), the sync loop also reads the orders, and the broker loop
reads Redis and the Celery state in it: each of those posts two snapshots.

``RefreshLoops`` is owned by the app (``app.loops``), one per profile shown: it reads
its own ``backend``, holds the timers and the stop flags of every blocking worker, and is
driven by the app's worker-state and event handlers for the workers it started
(``owns``). Its snapshots carry its ``generation``: when the app switches profile it
``retire``s the loops (no new reads; the app ignores what the old generation still
posts) and the old backend is closed once the last read in flight has ended, so a read
that was half-way through cannot open a connection again on a closed backend.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from textual.timer import Timer
from textual.worker import Worker, WorkerState

from magflow_console.tui.messages import (
    EventStreamLost,
    EventStreamOpened,
    FirstReadArrived,
    SnapshotsReady,
    Source,
    StackEventReceived,
)

if TYPE_CHECKING:
    from magflow_console.backend import Backend
    from magflow_console.tui.app import MagflowApp

#: the loops and the snapshots each one posts
LOOPS: dict[str, tuple[Source, ...]] = {
    "containers": ("containers",),
    "database": ("database", "migrations"),
    "sync": ("sync", "orders"),
    "api": ("api",),
    "broker": ("redis", "celery"),
}
EVENT_THROTTLE = 0.5  # seconds: a burst of events gives one container refresh
#: seconds between API polls while a health path answers 429 (MagFlow's rate limiter)
API_BACKOFF = 60.0
EVENT_RETRY = 5.0  # seconds before re-opening a failed event stream
GROUP_PREFIX = "src:"


class RefreshLoops:
    def __init__(self, app: MagflowApp, backend: Backend, generation: int = 0) -> None:
        self.app = app
        self.backend = backend
        self.generation = generation
        self.retired = False
        #: called once, when retired and the last worker has ended
        self._on_idle: Callable[[], None] | None = None
        self._workers: set[Worker[Any]] = set()
        self._timers: dict[str, Timer] = {}
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._event_timer: Timer | None = None
        self._events_stop = threading.Event()
        #: set to re-open a broken event stream now (and on stop)
        self._events_wake = threading.Event()
        #: why the event stream is not open (None: it is, or not tried yet), and what the
        #: app was last told (True open, False lost, None nothing yet): watcher thread
        self.events_error: str | None = None
        self._events_open: bool | None = None
        self._stops: set[threading.Event] = {self._events_stop, self._events_wake}
        #: the event stream waits for ``first_reads_done`` (see ``start``)
        self.events_deferred = False
        #: first reads started before the app (``Backend.prefetch``), not applied yet
        self._first: dict[str, Future[Any]] = {}
        #: each loop's timer callback, made once: Textual reads the signature of every new
        #: callable it calls (a lambda a refresh was 60 ``inspect.signature`` a minute)
        self._runners = {loop: functools.partial(self.run, loop) for loop in LOOPS}
        self._fetchers: dict[str, Callable[[], None]] = {
            "containers": self._fetch_containers,
            "database": self._fetch_database,
            "sync": self._fetch_sync,
            "api": self._fetch_api,
            "broker": self._fetch_broker,
        }

    def register_stop(self, stop: threading.Event) -> None:
        """A blocking worker's stop flag: set when the app shuts down (asyncio.run joins the
        worker threads, so a follower that never stops would hang the exit)."""
        self._stops.add(stop)

    # ------------------------------------------------------------------ scheduling

    def start(self, *, watch_events: bool) -> None:
        """Every loop's first read, and the Docker event stream.

        A first read that ``Backend.prefetch`` started before the app is applied on the
        app's thread as soon as it has arrived: here if it is in, else when the dashboard
        mounts (``apply_arrived``: the first frame shows it) or when it lands
        (``FirstReadArrived``), whichever comes first; the loop's own reads start after.
        When the first reads come from a forked child, this process has not imported the
        docker SDK yet: opening the event stream would import it now, beside the first
        frames on the same core, so it opens once every source has been read once and the
        first frame is out (``first_reads_done``, called by the app); the containers
        loop's next read catches what changed."""
        self.events_deferred = watch_events and self.backend.first_reads_forked
        self._first = self.backend.take_first_reads()
        for loop in LOOPS:
            future = self._first.get(loop)
            if future is None:
                self.run(loop)
                continue
            self._busy.add(loop)  # a refresh asked for meanwhile runs after it
            future.add_done_callback(self._arrived_callback(loop))
        self.apply_arrived()
        if watch_events and not self.events_deferred:
            self._start_events()

    def _arrived_callback(self, loop: str) -> Callable[[Future[Any]], None]:
        def arrived(_future: Future[Any]) -> None:  # the reader's thread
            self._post(FirstReadArrived(loop, self.generation))

        return arrived

    def apply_arrived(self) -> None:
        """Apply every first read that has arrived (the app's thread)."""
        for loop in [name for name, future in self._first.items() if future.done()]:
            self.first_read_arrived(loop)

    def first_read_arrived(self, loop: str) -> None:
        """Apply ``loop``'s first read, once (the app's thread); one that failed is read
        again here."""
        future = self._first.pop(loop, None)
        if future is None or self.retired:
            return
        try:
            result = future.result(timeout=0)
        except Exception:
            result = None
        if result is None:
            self._busy.discard(loop)
            self.run(loop)
            return
        sources = LOOPS[loop]
        snapshots = result if len(sources) > 1 else (result,)
        self.app.apply_snapshots(tuple(zip(sources, snapshots, strict=True)))
        self._finished(loop)

    def first_reads_done(self) -> None:
        """Every source has been read once: open a deferred event stream."""
        if self.events_deferred and not self.retired:
            self.events_deferred = False
            self._start_events()

    def _start_events(self) -> None:
        self._workers.add(
            self.app.run_worker(
                self._watch_events,
                name="docker events",
                group=f"events:{self.generation}",
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )
        )

    def stop(self) -> None:
        for stop in self._stops:
            stop.set()
        for timer in self._timers.values():
            timer.stop()
        self._timers.clear()
        if self._event_timer is not None:
            self._event_timer.stop()
            self._event_timer = None

    def retire(self, on_idle: Callable[[], None]) -> None:
        """No more reads; ``on_idle`` once the reads in flight have ended (now if none)."""
        self.retired = True
        self.stop()
        self._on_idle = on_idle
        self._check_idle()

    def owns(self, worker: Worker[Any]) -> bool:
        return worker in self._workers

    def _check_idle(self) -> None:
        if not self.retired or self._on_idle is None:
            return
        if any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self._workers):
            return
        on_idle, self._on_idle = self._on_idle, None
        on_idle()

    def run(self, loop: str) -> None:
        """Start ``loop`` now unless paused; if it is fetching, run again when it ends."""
        if self.retired:
            return
        if loop in self._busy:
            self._again.add(loop)
            return
        if self.app.paused:
            return
        timer = self._timers.pop(loop, None)
        if timer is not None:
            timer.stop()
        self._busy.add(loop)
        self._workers.add(
            self.app.run_worker(
                self._fetchers[loop],
                name=f"refresh {loop}",
                group=f"{GROUP_PREFIX}{self.generation}:{loop}",
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )
        )

    def refresh_now(self) -> None:
        for loop in LOOPS:
            self.run(loop)

    def _finished(self, loop: str) -> None:
        self._busy.discard(loop)
        if self.retired:
            return
        if loop in self._again:
            self._again.discard(loop)
            self.run(loop)
            return
        interval = self.interval(loop)
        for source in LOOPS[loop]:
            self.app.store.retry_every[source] = interval
        self._timers[loop] = self.app.set_timer(interval, self._runners[loop])

    def interval(self, loop: str) -> float:
        """The refresh interval; the API's is never under ``api.min_interval`` (MagFlow
        rate-limits its health paths) and a minute while they answer 429."""
        interval = self.app.refresh_interval
        if loop == "api":
            interval = max(interval, self.backend.profile.api.min_interval)
            api = self.app.store.api
            if api is not None and api.rate_limited:
                interval = max(interval, API_BACKOFF)
        return interval

    def worker_changed(self, event: Worker.StateChanged) -> None:
        """The app's ``on_worker_state_changed`` for a worker this owns: it ended (any way)."""
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self._workers.discard(event.worker)
        group = event.worker.group or ""
        if group.startswith(GROUP_PREFIX):
            self._finished(group.rsplit(":", 1)[-1])
        self._check_idle()

    # ------------------------------------------------------------------ workers

    def _post(
        self,
        message: SnapshotsReady
        | FirstReadArrived
        | StackEventReceived
        | EventStreamOpened
        | EventStreamLost,
    ) -> None:
        if not self.retired:
            self.app.post_message(message)

    def _snapshots(self, *snapshots: tuple[Source, Any]) -> None:
        self._post(SnapshotsReady(snapshots, generation=self.generation))

    def _fetch_containers(self) -> None:
        snap = self.backend.containers()
        self._snapshots(("containers", snap))
        if snap.state == "ok" and self.events_error is not None:
            self._events_wake.set()  # the engine answers again: re-open the stream now

    def _fetch_database(self) -> None:
        db = self.backend.database()
        self._snapshots(("database", db), ("migrations", self.backend.migrations(db)))

    def _fetch_sync(self) -> None:
        self._snapshots(("sync", self.backend.sync()), ("orders", self.backend.orders()))

    def _fetch_broker(self) -> None:
        redis, celery = self.backend.broker()
        self._snapshots(("redis", redis), ("celery", celery))

    def _fetch_api(self) -> None:
        self._snapshots(("api", self.backend.api()))

    def _watch_events(self) -> None:
        """Docker events for the stack; a broken stream is re-opened after a pause (cut
        short when the containers loop reads the engine again)."""
        stop, wake = self._events_stop, self._events_wake
        while not stop.is_set():
            try:
                for event in self.backend.events(stop, on_state=self._event_stream):
                    if stop.is_set():
                        return
                    # the source yields only the kinds in sources.docker_parse.EVENT_KINDS
                    kind = str(event.kind).split(":", 1)[0].strip()
                    self._post(StackEventReceived(kind, event.name))
            except Exception as exc:  # a bug in the source: the stream is still lost
                self._event_stream(f"Docker event stream failed: {exc}")
            if stop.is_set():
                return
            wake.wait(EVENT_RETRY)
            wake.clear()

    def _event_stream(self, error: str | None) -> None:
        """The source's word on the stream (watcher thread): tell the app when it changes
        between open and lost."""
        self.events_error = error
        if self._events_open is (error is None):
            return
        self._events_open = error is None
        if error is None:
            self._post(EventStreamOpened(generation=self.generation))
        else:
            self._post(EventStreamLost(error, generation=self.generation))

    def event_received(self) -> None:
        """A stack event: one containers refresh for a burst of them."""
        if self._event_timer is None:
            self._event_timer = self.app.set_timer(EVENT_THROTTLE, self._flush_events)

    def _flush_events(self) -> None:
        self._event_timer = None
        self.run("containers")
