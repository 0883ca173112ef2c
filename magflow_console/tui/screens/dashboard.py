"""The dashboard: header line and five panes (containers, Celery and migrations on the
left, API and eMAG sync on the right).

A refresh repaints only what it changed: the header, and the pane whose source was read
(``SOURCE_PANES``); an idle dashboard over SSH must not redraw rows whose text is the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input

from magflow_console.diagnose.doctor import to_act_on
from magflow_console.render.text import one_line
from magflow_console.tui.messages import Changed
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.api_pane import ApiPane
from magflow_console.tui.widgets.celery_pane import CeleryPane
from magflow_console.tui.widgets.containers_pane import ContainersPane
from magflow_console.tui.widgets.header import StatusHeader, header_text
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.migrations_pane import MigrationsPane
from magflow_console.tui.widgets.pane import Pane
from magflow_console.tui.widgets.sync_pane import SyncPane

if TYPE_CHECKING:
    pass

#: findings about an eMAG account that come from the containers' environment: the sync
#: pane lists them with its anomalies (the cause next to the 0-item runs)
ACCOUNT_FINDINGS = frozenset({"emag_credentials_missing", "emag_target_split", "emag_sandbox"})

PANES: dict[str, type[Pane]] = {
    "containers": ContainersPane,
    "migrations": MigrationsPane,
    "sync": SyncPane,
    "api": ApiPane,
    "celery": CeleryPane,
}
#: which pane shows what a source just read (the database and the orders have no pane:
#: they change the header's verdict, and the orders show in the Celery detail)
SOURCE_PANES: dict[str, tuple[str, ...]] = {
    "containers": ("containers",),
    "migrations": ("migrations",),
    "sync": ("sync",),
    "api": ("api",),
    "redis": ("celery",),
    "celery": ("celery",),
}


class DashboardScreen(AppScreen[None]):
    BINDINGS = [
        Binding("1", "focus_pane('containers')", "Containers", id="focus-containers", show=False),
        Binding("2", "focus_pane('migrations')", "Migrations", id="focus-migrations", show=False),
        Binding("3", "focus_pane('sync')", "Sync", id="focus-sync", show=False),
        Binding("4", "focus_pane('api')", "API", id="focus-api", show=False),
        Binding("5", "focus_pane('celery')", "Celery", id="focus-celery", show=False),
        Binding("enter", "open_detail", "Open", id="open-detail"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", id="clear-filter", show=False),
        Binding("a", "admins", "Admins", id="admins"),
        Binding("F", "api_full", "Full API check", id="api-full-check", show=False),
        Binding("y", "copy", "Copy", id="copy", show=False),
        Binding("m", "app.migrate", "Migrate", id="migrate"),
        Binding("M", "app.migrate(True)", "Migrate with backup", id="migrate-backup", show=False),
        Binding("s", "app.trigger_sync", "Sync", id="trigger-sync"),
        Binding("R", "app.container('restart')", "Restart", id="container-restart"),
        Binding("S", "app.container('stop')", "Stop", id="container-stop", show=False),
        Binding("T", "app.container('start')", "Start", id="container-start", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield StatusHeader(
            protected=self.mf.backend.profile.protected, exposed=self.mf.exposed_files, id="header"
        )
        with Horizontal(id="panes"):
            with Vertical(id="col-left"):
                yield ContainersPane(id="pane-containers")
                yield CeleryPane(id="pane-celery")
                yield MigrationsPane(id="pane-migrations")
            with Vertical(id="col-right"):
                yield ApiPane(id="pane-api")
                yield SyncPane(id="pane-sync")
        yield Input(placeholder="filter containers and runs (esc clears)", id="filter")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.mf.loops.apply_arrived()  # the first frame shows what the first reads brought
        self.mf.store_changed.subscribe(self, self._store_changed)
        self._store_changed(None)
        self.pane("containers").focus_target.focus()

    def pane(self, name: str) -> Pane:
        return self.query_one(PANES[name])

    def _store_changed(self, changed: Changed) -> None:
        app, store = self.mf, self.mf.store
        now = app.clock()
        profile = app.backend.profile
        report = store.report
        self.query_one(StatusHeader).set_text(
            header_text(
                profile=app.backend.profile_name,
                protected=profile.protected,
                read_only=profile.read_only,
                verdict=report.verdict if report else None,
                last_good=store.last_good,
                all_read=store.all_ok(),
                paused=app.paused,
                findings=to_act_on(store.advice()),
            )
        )
        sync = cast(SyncPane, self.pane("sync"))
        account_findings = tuple(
            f for f in (report.findings if report else ()) if f.code in ACCOUNT_FINDINGS
        )
        names = (
            set(PANES)
            if changed is None
            else {name for source in changed for name in SOURCE_PANES.get(source, ())}
        )
        if account_findings != sync.account_findings:
            sync.account_findings = account_findings
            names.add("sync")
        cast(CeleryPane, self.pane("celery")).redis = store.redis
        cast(ContainersPane, self.pane("containers")).events_lost_at = store.events_lost_at
        for name in PANES:
            if name in names:
                self.pane(name).show(store.snapshots.get(name), store.retry_every.get(name), now)

    # ------------------------------------------------------------------ actions

    def action_focus_pane(self, name: str) -> None:
        self.pane(name).focus_target.focus()

    def _focused_pane(self) -> Pane | None:
        node = self.focused
        while node is not None:
            if isinstance(node, Pane):
                return node
            node = node.parent  # type: ignore[assignment]
        return None

    def action_open_detail(self) -> None:
        pane = self._focused_pane()
        if isinstance(pane, ContainersPane):
            name = pane.selected_name()
            if name:
                self.mf.open_container(name)
        elif isinstance(pane, MigrationsPane):
            self.mf.open_migrations()
        elif isinstance(pane, SyncPane):
            run_id = pane.selected_run()
            self.mf.open_sync(run_id)
        elif isinstance(pane, CeleryPane):
            self.mf.open_celery()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_detail()

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.pane("containers").query_one("LiveTable").set_filter(event.value)  # type: ignore[attr-defined]
        cast(SyncPane, self.pane("sync")).table.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.pane("containers").focus_target.focus()
        if not event.value:
            event.input.display = False

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.pane("containers").focus_target.focus()

    def action_api_full(self) -> None:
        """/health/full once: it is not polled (it logs a traceback in the app per call)."""
        self.notify("Probing /health/full once…", timeout=2)
        self.run_worker(
            self._api_full,
            thread=True,
            exclusive=True,
            group="detail:api-full",
            exit_on_error=False,
        )

    def _api_full(self) -> None:
        check = self.mf.backend.api_full_check()
        if check is None:
            self.app.call_from_thread(self.notify, "No API URL: nothing to probe.", timeout=4)
            return
        severity = "information" if check.healthy else "error"
        text = f"{check.path}: {'healthy' if check.healthy else 'not healthy'}: {check.detail}"
        self.app.call_from_thread(
            self.notify, one_line(text, 200), title="Full API check", severity=severity, timeout=10
        )

    def action_admins(self) -> None:
        self.mf.open_admins()

    def action_copy(self) -> None:
        pane = self._focused_pane()
        text = pane.selected_text() if pane else ""
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("Copied to the clipboard (OSC 52).", timeout=2)
