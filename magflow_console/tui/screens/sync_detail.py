"""Sync runs: filter by account and status, and the full selected run (params, counts,
duration, triggered_by, and its ``errors`` JSON pretty-printed, bounded by
``render.sync_run``).

The list is read again at every refresh of the app's sync loop (``store_changed``) and
on ``r``: after a failure (a locked table, the database down) the screen says when it
failed and resumes by itself. A run's text is built in the worker that reads it, never
on the UI thread (its ``errors`` may be megabytes)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Static

from magflow_console.models import SyncRun, SyncSnapshot
from magflow_console.render import fmt
from magflow_console.render.sync_run import run_text
from magflow_console.render.text import one_line
from magflow_console.tui.messages import Changed, SyncRunRead, SyncRunsRead
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.sync_pane import RUN_COLUMNS, run_row
from magflow_console.tui.widgets.table import LiveTable

ACCOUNTS: tuple[str | None, ...] = (None, "main", "fbe", "both")
#: a status, or an outcome class (what went wrong first: failed, 0 items, errors, stuck)
STATUSES: tuple[str | None, ...] = (
    None, "failed", "empty", "partial", "stale_running", "running", "success", "completed",
)  # fmt: skip
LIMIT = 200


class SyncDetailScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("a", "cycle_account", "Account", id="sync-account"),
        Binding("s", "cycle_status", "Status", id="sync-status"),
        # "s" already cycles the status filter here (and the pilot tests rely on it)
        Binding("S", "app.trigger_sync", "Trigger sync", id="trigger-sync"),
        Binding("slash", "filter", "Filter", id="sync-filter"),
        Binding("y", "copy", "Copy run", id="copy-run"),
        Binding("r", "reload", "Refresh", id="sync-refresh"),
    ]

    def __init__(self, run_id: str | None = None) -> None:
        super().__init__()
        self.initial_run = run_id
        self.account: str | None = None
        self.status: str | None = None
        self.current_run: SyncRun | None = None
        self.current_text: Text | None = None
        #: run id -> its text, built by the worker that read the run (taken by the handler)
        self._texts: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(" eMAG sync runs", style="bold"), classes="detail-title")
        yield Static(id="sync-filters")
        yield LiveTable(RUN_COLUMNS, id="runs")
        yield Input(placeholder="filter rows (esc closes)", id="runs-filter")
        with VerticalScroll(id="run-scroll"):
            yield Static(Text("select a run", style="dim"), id="run-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#runs-filter", Input).display = False
        self._show_filters()
        self.query_one(LiveTable).focus()
        store = self.mf.store.sync
        if store is not None and store.state != "error":
            self._show_runs(store)
        self._load_runs()
        if self.initial_run:
            self._load_run(self.initial_run)
        self.mf.store_changed.subscribe(self, self._store_changed)

    def _store_changed(self, changed: Changed) -> None:
        """The app's sync loop read the database again: so does this screen (its filters
        and limit differ from the dashboard's)."""
        if changed is not None and "sync" in changed:
            self.reload()

    def reload(self) -> None:
        """The runs again, and the selected run when its last read failed."""
        self._load_runs()
        key = self.query_one(LiveTable).selected_key or self.initial_run
        if key is not None and (self.current_run is None or self.current_run.id != key):
            self._load_run(key)

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:runs")
    def _load_runs(self) -> None:
        snap = self.mf.backend.sync(account=self.account, status=self.status, limit=LIMIT)
        self.post_message(SyncRunsRead(snap))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:run")
    def _load_run(self, run_id: str) -> None:
        backend = self.mf.backend
        run = backend.sync_run(run_id)
        if run is not None:
            self._texts[run_id] = run_text(run)
        else:
            why = backend.sync_run_error or "deleted, or the database is down"
            self._texts[run_id] = Text(
                f"This run could not be read ({one_line(why)}).", style="red"
            )
        self.post_message(SyncRunRead(run_id, run))

    @on(SyncRunsRead)
    def _runs_read(self, message: SyncRunsRead) -> None:
        self._show_runs(message.snapshot)

    @on(SyncRunRead)
    def _run_read(self, message: SyncRunRead) -> None:
        text = self._texts.pop(message.run_id, None)
        wanted = self.query_one(LiveTable).selected_key or self.initial_run
        if wanted is not None and message.run_id != wanted:
            return  # a late answer for a row the cursor has already left
        if text is None:  # (not posted by this screen's worker)
            text = run_text(message.run) if message.run is not None else Text("")
        self.current_run = message.run
        self.current_text = text if message.run is not None else None
        self.query_one("#run-detail", Static).update(text)

    def _show_runs(self, snap: SyncSnapshot) -> None:
        table = self.query_one(LiveTable)
        if snap.state == "error":
            when = fmt.hms(snap.fetched_at)
            self.query_one("#sync-filters", Static).update(
                Text(
                    f" ✗ {one_line(snap.error or '')} (at {when} UTC; the rows below are from "
                    "before; retried at every refresh, r now)",
                    style="red",
                )
            )
            return
        self._show_filters(len(snap.recent))
        now = self.mf.clock()
        table.set_rows([run_row(r, now) for r in snap.recent])
        if self.initial_run:
            for index, run in enumerate(snap.recent):
                if run.id == self.initial_run:
                    table.move_cursor(row=index, animate=False)
            self.initial_run = None

    def _show_filters(self, count: int | None = None) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" account ", style="dim")
        t.append(self.account or "all", style="bold")
        t.append("  status ", style="dim")
        t.append(self.status or "all", style="bold")
        if count is not None:
            t.append(f"  {count} runs", style="dim")
        t.append("  (a / s cycle, / filters rows)", style="dim")
        self.query_one("#sync-filters", Static).update(t)

    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        if key and (self.current_run is None or self.current_run.id != key):
            self._load_run(key)

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        field = self.query_one("#runs-filter", Input)
        if field.display:
            field.value = ""
            field.display = False
            self.query_one(LiveTable).focus()
            return
        self.app.pop_screen()

    def action_cycle_account(self) -> None:
        self.account = ACCOUNTS[(ACCOUNTS.index(self.account) + 1) % len(ACCOUNTS)]
        self._show_filters()
        self._load_runs()

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self._show_filters()
        self._load_runs()

    def action_filter(self) -> None:
        field = self.query_one("#runs-filter", Input)
        field.display = True
        field.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(LiveTable).set_filter(event.value)

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(LiveTable).focus()

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#run-scroll").focus()

    def action_reload(self) -> None:
        """Read the runs (and a run that failed to load) now, and refresh the dashboard."""
        self.reload()
        self.mf.action_refresh()

    def action_copy(self) -> None:
        if self.current_text is not None:
            self.app.copy_to_clipboard(self.current_text.plain)
            self.notify("Run copied (OSC 52).", timeout=2)
