"""The Textual app: wiring only. It owns the backend, the ``Store`` of snapshots, the
refresh loops (``loops.RefreshLoops``) and the action flows (``action_flow.ActionFlows``),
opens the screens, and turns an unexpected worker error into the error modal.

Entry point: ``run_tui(loaded, backend=None) -> int`` (``magflow_console.main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
import traceback
from collections.abc import Sequence
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.worker import Worker

from magflow_console.backend import Backend
from magflow_console.config import LoadedConfig
from magflow_console.diagnose.doctor import secret_file_findings
from magflow_console.environments import Profiles
from magflow_console.models import utcnow
from magflow_console.render.fmt import Clock
from magflow_console.render.text import clean, scrub
from magflow_console.tui.action_flow import ActionFlows
from magflow_console.tui.commands import MagflowCommands
from magflow_console.tui.keymap import build_keymap
from magflow_console.tui.loops import RefreshLoops
from magflow_console.tui.messages import (
    Changed,
    EventStreamLost,
    EventStreamOpened,
    FirstReadArrived,
    Snapshot,
    SnapshotsReady,
    Source,
    StackEventReceived,
)
from magflow_console.tui.store import Store


class MagflowApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "magflow-console"
    COMMANDS: ClassVar = App.COMMANDS | {MagflowCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("p", "toggle_pause", "Pause", id="pause"),
        Binding("L", "audit_log", "Audit log", id="audit-log", show=False),
        Binding("d", "findings", "Findings and next steps", id="findings", show=False),
        Binding("e", "environments", "Environments", id="environments", show=False),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = utcnow,
        watch_events: bool = True,
        refresh_loops: bool = True,
        refresh_interval: float | None = None,
        profiles: Profiles | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.watch_events = watch_events
        self.refresh_loops = refresh_loops
        self._interval_override = refresh_interval
        self.paused = False
        #: the profiles the environments screen lists and ``switch_profile`` can open
        self.profiles = profiles or Profiles.only(backend.loaded)
        self.store_changed: Signal[Changed] = Signal(self, "store-changed")
        self.flows = ActionFlows(self)
        #: loops of profiles switched away from, until their last read has ended
        self._retired: list[RefreshLoops] = []
        #: set after the first frame (``_started_up``)
        self.first_frame_shown = False
        self._use(backend, generation=0)

    def _use(self, backend: Backend, generation: int) -> None:
        """Everything that belongs to one profile: its backend, store, loops and keys."""
        self.backend = backend
        self.refresh_interval = self._interval_override or backend.profile.refresh_interval
        #: config or secret files other users can read: the header marks them, the
        #: findings screen lists them (checked once, as ``doctor`` does)
        self.exposed_files = backend.loaded.exposed_files()
        self.store = Store(
            profile=backend.profile_name,
            no_success_hours=backend.profile.sync.no_success_hours,
            file_findings=secret_file_findings(self.exposed_files),
        )
        self.loops = RefreshLoops(self, backend, generation)
        keymap, self._unknown_keys = build_keymap(backend.profile.keys)
        self.set_keymap(keymap)
        self.set_class(backend.profile.protected, "-protected")

    def on_mount(self) -> None:
        from magflow_console.tui.screens.dashboard import DashboardScreen

        self._exit_on_hangup()
        self.push_screen(DashboardScreen())
        self._started_profile()
        self.call_after_refresh(self._started_up)

    def _started_up(self) -> None:
        """After the first frame: what start-up built (modules, CSS, widgets) lives as
        long as the app; keep it out of the collector's full passes, which cost 60-200 ms
        every few seconds while a log is followed at 5,000 lines/s (bench/bench_logs.py),
        and resume the collector if start-up paused it (``magflow_console.main``). A
        deferred event stream may open now."""
        gc.freeze()
        gc.enable()
        self.first_frame_shown = True
        self._open_deferred_events()

    def _open_deferred_events(self) -> None:
        """Open the Docker event stream that waited for the first reads (``RefreshLoops
        .start``), once every source has been read and the first frame is out: opening it
        imports the docker SDK on this process's core, which beside the first frame made
        it ~0.1 s later (bench/tried.toml)."""
        if self.loops.events_deferred and self.first_frame_shown and self.store.all_read():
            self.loops.first_reads_done()

    def _started_profile(self) -> None:
        if self._unknown_keys:
            self.notify(
                "Unknown binding ids in profile keys: " + ", ".join(self._unknown_keys),
                severity="warning",
            )
        if self.refresh_loops:
            self.loops.start(watch_events=self.watch_events)

    def _exit_on_hangup(self) -> None:
        """A dropped SSH session (SIGHUP) or a kill (SIGTERM) quits like `q`: followers are
        released and whoever started the app (e.g. the demo) still cleans up after it."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.exit)

    def on_unmount(self) -> None:
        for loops in (self.loops, *self._retired):
            loops.stop()

    def exit(
        self, result: int | None = None, return_code: int = 0, message: Any | None = None
    ) -> None:
        # release blocking followers before asyncio joins their threads
        for loops in (self.loops, *self._retired):
            loops.stop()
        super().exit(result, return_code, message)

    # ------------------------------------------------------------------ profiles

    def switch_profile(self, name: str) -> None:
        """Show profile ``name``: its backend, store, loops, keys and guards; the old
        profile's loops stop and its backend is closed once its reads in flight end.
        Refused (with the reason) while an action runs or when ``name`` cannot be loaded."""
        from magflow_console.config_sources import ConfigError
        from magflow_console.tui.screens.dashboard import DashboardScreen

        if name == self.backend.profile_name:
            self.back_to_dashboard()
            return
        busy = self.flows.running()
        if busy:
            self.notify(
                f"{busy} is running on {self.backend.profile_name}: switch when it has ended.",
                severity="error",
                timeout=8,
            )
            return
        try:
            loaded = self.profiles.load(name)
        except ConfigError as exc:
            self.notify(f"Cannot open {name}: {scrub(clean(str(exc)))}", severity="error")
            return
        old = self.loops
        self._retired.append(old)
        old.retire(lambda: self._close_retired(old))
        self._use(Backend(loaded), generation=old.generation + 1)
        self.paused = False
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(DashboardScreen())
        self._started_profile()
        self.notify(f"Profile {name}.", timeout=3)

    def _close_retired(self, loops: RefreshLoops) -> None:
        """A retired profile's last read has ended: close its connections (in a thread,
        a close can wait on the network)."""
        if loops in self._retired:
            self._retired.remove(loops)
        threading.Thread(
            target=loops.backend.close, name=f"close {loops.backend.profile_name}", daemon=True
        ).start()

    def back_to_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    # ------------------------------------------------------------------ data

    def on_snapshots_ready(self, message: SnapshotsReady) -> None:
        if message.generation == self.loops.generation:  # else read for a profile left
            self.apply_snapshots(message.snapshots)

    def on_first_read_arrived(self, message: FirstReadArrived) -> None:
        if message.generation == self.loops.generation:
            self.loops.first_read_arrived(message.loop)

    def apply_snapshots(self, snapshots: Sequence[tuple[Source, Snapshot]]) -> None:
        """File what a loop read of the shown profile, and tell the screens once."""
        self.store.update_many(snapshots, self.clock())
        self.store_changed.publish(frozenset(source for source, _ in snapshots))
        self._open_deferred_events()

    def on_stack_event_received(self, _message: StackEventReceived) -> None:
        self.loops.event_received()

    def on_event_stream_opened(self, message: EventStreamOpened) -> None:
        if message.generation == self.loops.generation:
            self.store.event_stream(None, self.clock())
            self.store_changed.publish(frozenset({"containers"}))

    def on_event_stream_lost(self, message: EventStreamLost) -> None:
        if message.generation == self.loops.generation:
            self.store.event_stream(message.error, self.clock())
            self.store_changed.publish(frozenset({"containers"}))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        for loops in (self.loops, *self._retired):
            if loops.owns(event.worker):
                loops.worker_changed(event)
                break
        if event.state.name == "ERROR" and event.worker.error is not None:
            self.show_error(f"Background task '{event.worker.name}' failed", event.worker.error)

    def register_stop(self, stop: threading.Event) -> None:
        """A blocking worker's stop flag, set when the app shuts down."""
        self.loops.register_stop(stop)

    def show_error(self, title: str, error: BaseException) -> None:
        """An unexpected error becomes a modal with copyable details (never a traceback on screen)."""
        from magflow_console.tui.screens.error import ErrorScreen

        if isinstance(self.screen, ErrorScreen):
            return
        details = "".join(traceback.format_exception(error))
        self.push_screen(ErrorScreen(title, scrub(clean(details))))

    # ------------------------------------------------------------------ navigation

    def open_container(self, name: str, search: str | None = None) -> None:
        """A container's detail; with ``search``, its log view finds that text once the
        log's backlog is in (a finding's evidence)."""
        from magflow_console.tui.screens.container_detail import ContainerDetailScreen

        self.push_screen(ContainerDetailScreen(name, search=search))

    def open_migrations(self) -> None:
        from magflow_console.tui.screens.migration_detail import MigrationDetailScreen

        self.push_screen(MigrationDetailScreen())

    def open_sync(self, run_id: str | None = None) -> None:
        from magflow_console.tui.screens.sync_detail import SyncDetailScreen

        self.push_screen(SyncDetailScreen(run_id))

    def open_celery(self) -> None:
        from magflow_console.tui.screens.celery_detail import CeleryDetailScreen

        if not isinstance(self.screen, CeleryDetailScreen):
            self.push_screen(CeleryDetailScreen())

    def open_findings(self) -> None:
        from magflow_console.tui.screens.findings import FindingsScreen

        if not isinstance(self.screen, FindingsScreen):
            self.push_screen(FindingsScreen())

    def open_audit(self) -> None:
        from magflow_console.tui.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen())

    def open_environments(self) -> None:
        from magflow_console.tui.screens.environments import EnvironmentsScreen

        if not isinstance(self.screen, EnvironmentsScreen):
            self.push_screen(EnvironmentsScreen())

    def open_admins(self) -> None:
        from magflow_console.tui.screens.admins import AdminsScreen

        self.push_screen(AdminsScreen())

    # ------------------------------------------------------------------ actions (keys)

    def action_findings(self) -> None:
        self.open_findings()

    def action_environments(self) -> None:
        self.open_environments()

    def action_audit_log(self) -> None:
        self.open_audit()

    def action_migrate(self, backup: bool = False) -> None:
        self.flows.migrate(backup)

    def action_container(self, verb: str) -> None:
        self.flows.container(verb)

    def action_trigger_sync(self) -> None:
        self.flows.trigger_sync()

    def action_create_admin(self) -> None:
        self.flows.create_admin()

    def action_reset_password(self) -> None:
        self.flows.reset_password()

    def action_deactivate_admin(self) -> None:
        self.flows.deactivate_admin()

    def action_help(self) -> None:
        from magflow_console.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_refresh(self) -> None:
        self.loops.refresh_now()
        self.notify("Refreshing…", timeout=1)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.loops.refresh_now()
        self.notify("Paused: no automatic refresh." if self.paused else "Resumed.", timeout=2)
        self.store_changed.publish(None)


def run_tui(
    loaded: LoadedConfig, *, backend: Backend | None = None, profiles: Profiles | None = None
) -> int:
    """Run the TUI for ``loaded``'s profile (it can switch to ``profiles``); returns the
    process exit code. Whatever profile is shown at the end is closed."""
    backend = backend or Backend(loaded)
    app = MagflowApp(backend, profiles=profiles)
    try:
        result = app.run()
    finally:
        app.backend.close()
        if app.backend is not backend:
            backend.close()  # closed already by the switch, unless a read still held it
    return int(result or 0)
