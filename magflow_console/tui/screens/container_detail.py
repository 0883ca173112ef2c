"""Container detail: state, restart history, image, ports, health-probe log, what the
environment says about the eMAG accounts, what the log says, and the logs.

Logs are followed by a thread worker, which never gives up: when the stream breaks or
cannot be opened (the engine stopped, the container removed) the status line says since
when the log is not followed and why, and the worker opens it again every refresh
interval, after the last line seen. Likewise the info is read again every refresh
interval; a failed read keeps the last one, dimmed, under the error and since when.

The follower cleans each line into the view's ``LogEntry`` (off the UI thread) and puts
it in a lock-protected buffer, bounded like the view's, that the screen drains every
``FLUSH_SECONDS`` (batching: a container writing 5,000 lines a second causes at most ~10
redraws a second, not one per line, and the UI thread only appends them). The worker
never touches widgets. Credentials in the lines arrive masked (the Docker source's ``LogLine``): MagFlow's request log carries
the Authorization header, and no screen shows a secret.

The diagnosis below the info is what ``doctor`` says about this one container:

- **eMAG** (app and worker, any container whose watched environment names were read):
  per account, credentials set or which names are unset, and where product and order
  syncs go, from the environment and /app/.env; per path (product sync, order sync,
  health endpoint) where they differ, and whether /app/.env was read
  (``diagnose.emag_paths.account_env``: names and a few non-secret values only);
- **Log says**: ``diagnose.logs.log_findings`` over the last ``TAIL`` lines
  followed (within ``LOG_WINDOW``, doctor's window), in a thread worker: first when the
  initial burst of lines is over (a flush tick brings nothing new), then at most every
  ``LOG_FINDINGS_SECONDS`` while new lines arrive (one pass costs ~10 ms for 500 lines).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from magflow_console.backend import LOG_TAIL, LOG_WINDOW
from magflow_console.diagnose import rules
from magflow_console.diagnose.emag_paths import (
    ACCOUNTS,
    UNKNOWN,
    AccountEnv,
    account_env,
    account_notes,
    credentials_word,
    environment_words,
)
from magflow_console.diagnose.logs import log_findings
from magflow_console.models import ContainerInfo, Finding, worst_first
from magflow_console.render import fmt, styles
from magflow_console.render.text import one_line
from magflow_console.tui.messages import (
    ContainerInspected,
    LogFindingsRead,
    LogStreamLost,
    LogStreamOpened,
)
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.log_view import MAX_LINES, LogEntry, LogView, log_entry

if TYPE_CHECKING:
    pass

FLUSH_SECONDS = 0.1  # ~10 frames a second while following: no one reads faster
TAIL = LOG_TAIL  # the lines doctor reads per container
PROBES_SHOWN = 3
LOG_FINDINGS_SECONDS = 1.0
LOG_FINDINGS_SHOWN = 3


def info_text(c: ContainerInfo | None, name: str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if c is None:
        t.append(f"{one_line(name)}: ", style="bold")
        t.append("not found (or the Docker engine cannot be reached)", style="red")
        return t
    t.append("state ", style="dim")
    t.append(one_line(c.state), style=styles.style_for(c.state))
    t.append("  health ", style="dim")
    t.append(one_line(c.health or "no healthcheck"), style=styles.style_for(c.health) or "dim")
    if c.health_failing_streak:
        t.append(f" (failing streak {c.health_failing_streak})", style="red")
    t.append("  restarts ", style="dim")
    t.append(str(c.restart_count), style="bold red" if c.restart_count >= 3 else "")
    if c.restart_policy:
        t.append(f" ({one_line(c.restart_policy)})", style="dim")
    t.append("\nstarted ", style="dim")
    t.append(fmt.full_stamp(c.started_at))
    t.append("  finished ", style="dim")
    t.append(fmt.full_stamp(c.finished_at))
    t.append("  exit ", style="dim")
    code = "—" if c.exit_code is None else str(c.exit_code)
    t.append(code, style="red" if c.exit_code not in (None, 0) else "")
    t.append("\nimage ", style="dim")
    t.append(one_line(c.image, 40))
    t.append("  ports ", style="dim")
    t.append(one_line(", ".join(c.ports) or "none"))
    if c.health_log:
        t.append("\nhealth probes (newest last):", style="dim")
        for probe in c.health_log[-PROBES_SHOWN:]:
            ok = probe.exit_code == 0
            t.append("\n ")
            t.append(fmt.hms(probe.end or probe.start), style="dim")
            t.append(
                f" exit {probe.exit_code if probe.exit_code is not None else '?'} ",
                style="green" if ok else "bold red",
            )
            t.append(one_line(probe.output or "(no output)", 200), style="" if ok else "red")
    return t


def _credentials(a: AccountEnv) -> Text:
    return Text(credentials_word(a), style="green" if a.credentials_set else "bold red")


def _target_word(target: str) -> Text:
    return Text(one_line(target, 30), style="dim" if target == UNKNOWN else "")


def _targets(a: AccountEnv) -> Text:
    t = Text()
    if a.products_target == a.orders_target:
        t.append("products+orders→", style="dim")
        t.append_text(_target_word(a.products_target))
    else:
        t.append("products→", style="dim")
        t.append(one_line(a.products_target, 30), style="yellow")
        t.append("  orders→", style="dim")
        t.append(one_line(a.orders_target, 30), style="yellow")
    if a.base_url:
        t.append(" (base URL)", style="dim")
    return t


def emag_text(c: ContainerInfo | None) -> Text:
    """One line per eMAG account as this container's settings configure it (the
    environment, then /app/.env; per path where the paths differ, sheet §11.5); nothing
    when its environment was not read (no watched name set: "not known")."""
    t = Text()
    if c is None or not c.env_set:
        return t
    rows = [account_env(c, account) for account in ACCOUNTS]
    t.append("eMAG", style="bold")
    t.append(f" ({one_line(environment_words(rows[0]), 72)})", style="dim")
    creds = [_credentials(a) for a in rows]
    width = max(len(x.plain) for x in creds)
    for a, cred in zip(rows, creds, strict=True):
        t.append(f"\n {a.account:<5} ")
        t.append_text(cred)
        t.append(" " * (width - len(cred.plain) + 2))
        t.append_text(_targets(a))
        for note in account_notes(a):
            t.append(f"\n       {one_line(note, 72)}", style="dim")
    if c.dotenv_state in ("unreadable", "not_read"):
        t.append(f"\n {one_line(rows[0].unread(), 78)}", style="dim")
    return t


def log_says_text(name: str, findings: list[Finding] | None) -> Text:
    """The log findings of container ``name``, worst first, a few words each."""
    t = Text()
    if not findings:
        return t
    t.append("Log says", style="bold")
    t.append(f" (last {TAIL} lines; next steps on the findings screen)", style="dim")
    for f in findings[:LOG_FINDINGS_SHOWN]:
        text = (f.short or f.message).removeprefix(f"{name}: ")
        t.append("\n ▲ ", style=styles.style_for(f.severity))
        t.append(one_line(text, 74))
    if len(findings) > LOG_FINDINGS_SHOWN:
        t.append(f"\n   … and {len(findings) - LOG_FINDINGS_SHOWN} more", style="dim")
    return t


def diagnosis_text(c: ContainerInfo | None, name: str, findings: list[Finding] | None) -> Text:
    parts = [p for p in (emag_text(c), log_says_text(name, findings)) if p.plain]
    return Text("\n").join(parts)


class ContainerDetailScreen(AppScreen[None]):
    DEFAULT_CSS = """
    ContainerDetailScreen #container-info { text-wrap: nowrap; text-overflow: ellipsis; }
    ContainerDetailScreen #container-diagnosis { height: auto; max-height: 9; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "filter", "Filter", id="log-filter"),
        Binding("s", "search", "Search", id="log-search"),
        Binding("R", "app.container('restart')", "Restart", id="container-restart", show=False),
        Binding("S", "app.container('stop')", "Stop", id="container-stop", show=False),
        Binding("T", "app.container('start')", "Start", id="container-start", show=False),
    ]

    def __init__(self, name: str, *, search: str | None = None) -> None:
        super().__init__()
        self.container_name = name
        #: text to find in the log once its backlog is in (a finding's evidence)
        self._initial_search = (search or "").strip() or None
        #: lines followed, not shown yet (``_lock``); no more than the view keeps
        self._pending: deque[LogEntry] = deque(maxlen=MAX_LINES)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._input_mode = "filter"
        self.info: ContainerInfo | None = None
        self._info_loaded = False
        #: the last ``TAIL`` lines followed (``LogLine``s, credentials masked; ``_lock``)
        self._recent: deque[Any] = deque(maxlen=TAIL)
        self._log_dirty = False
        self._finding = False
        self._found_at: float | None = None  # monotonic start of the last pass
        self._lines_since: float | None = None  # monotonic time of the first batch
        #: what the log says (None: not read yet)
        self.log_findings: list[Finding] | None = None
        #: the log stream: opened once yet; why it is not open and since when (None: open)
        self._stream_opened = False
        self._stream_error: str | None = None
        self._stream_lost_at: dt.datetime | None = None
        #: the info: when the shown one was read; why a later read failed and since when
        self._info_read_at: dt.datetime | None = None
        self._info_error: str | None = None
        self._info_lost_at: dt.datetime | None = None

    def compose(self) -> ComposeResult:
        title = Static(id="detail-title", classes="detail-title")
        title.update(
            Text.assemble((" Container ", "bold"), (one_line(self.container_name), "bold"))
        )
        yield title
        yield Static(Text("loading…", style="dim"), id="container-info")
        yield Static(id="container-diagnosis")
        yield Static(id="log-status")
        yield LogView(id="log")
        yield Input(id="log-input")
        yield KeyBar()

    def on_mount(self) -> None:
        self.mf.register_stop(self._stop)
        self.query_one("#log-input", Input).display = False
        self.query_one("#container-diagnosis", Static).display = False
        self.query_one(LogView).focus()
        self._load_info()
        self._follow()
        self.set_interval(FLUSH_SECONDS, self._flush)
        self._update_status()

    def on_unmount(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:container")
    def _load_info(self) -> None:
        name = self.container_name
        backend = self.mf.backend
        info = backend.container_detail(name)
        error = None if info is not None else backend.docker.last_error
        self.post_message(ContainerInspected(name, info, error))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:logs")
    def _follow(self) -> None:
        lines = self.mf.backend.follow(
            self.container_name,
            self._stop,
            tail=TAIL,
            retry=self.mf.refresh_interval,
            on_state=self._stream_state,
        )
        for line in lines:
            entry = log_entry(line)  # cleaned here, not on the UI thread
            with self._lock:
                self._pending.append(entry)
                self._recent.append(line)
            if self._stop.is_set():
                break

    def _stream_state(self, error: str | None) -> None:
        """The follower's word on the stream (worker thread)."""
        self.post_message(LogStreamOpened() if error is None else LogStreamLost(error))

    @on(LogStreamOpened)
    def _stream_opened_again(self) -> None:
        self._stream_opened = True
        self._stream_error = self._stream_lost_at = None
        self._update_status()

    @on(LogStreamLost)
    def _stream_lost(self, message: LogStreamLost) -> None:
        if self._stream_lost_at is None:
            self._stream_lost_at = self.mf.clock()
        self._stream_error = message.error
        self._update_status()

    def _flush(self) -> None:
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
        if batch:
            self.query_one(LogView).add_entries(batch)
            self._log_dirty = True
            if self._lines_since is None:
                self._lines_since = time.monotonic()
        elif self._initial_search and self._lines_since is not None:
            # the backlog is in: go to the newest line with the finding's evidence
            log = self.query_one(LogView)
            log.search(self._initial_search, forward=False)
            self._initial_search = None
            self._update_status()
        self._find_if_due(quiet=not batch)

    def _find_if_due(self, *, quiet: bool) -> None:
        """Start the log-findings worker when lines arrived since its last pass: the first
        pass once a flush tick brings nothing new (the backlog is in) or lines have kept
        coming for ``LOG_FINDINGS_SECONDS``, later ones at most every
        ``LOG_FINDINGS_SECONDS``. Never two at once, and only after the first inspect (it
        says the container's service)."""
        if not (self._log_dirty and self._info_loaded) or self._finding:
            return
        now = time.monotonic()
        since = self._found_at if self._found_at is not None else self._lines_since
        waited = since is not None and now - since >= LOG_FINDINGS_SECONDS
        if not waited and (self._found_at is not None or not quiet):
            return
        self._log_dirty = False
        self._finding = True
        self._found_at = now
        info = self.info
        self._find_in_log(info.service if info else None, bool(info and rules.is_down(info)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:log-findings")
    def _find_in_log(self, service: str | None, down: bool) -> None:
        found: list[Finding] = []
        try:
            with self._lock:
                lines = list(self._recent)
            since = fmt.as_utc(self.mf.clock() - LOG_WINDOW)
            lines = [x for x in lines if x.timestamp is None or fmt.as_utc(x.timestamp) >= since]
            found = worst_first(log_findings(self.container_name, service, lines, down=down))
        finally:
            self.post_message(LogFindingsRead(found))

    def _show_diagnosis(self) -> None:
        text = diagnosis_text(self.info, self.container_name, self.log_findings)
        widget = self.query_one("#container-diagnosis", Static)
        widget.update(text)
        widget.display = bool(text.plain)

    @on(LogFindingsRead)
    def _log_findings_read(self, message: LogFindingsRead) -> None:
        self._finding = False
        self.log_findings = message.findings
        self._show_diagnosis()

    @on(ContainerInspected)
    def _inspected(self, message: ContainerInspected) -> None:
        info = message.info
        now = self.mf.clock()
        self._info_loaded = True
        if info is None:  # the last good info stays, under the error
            if self._info_lost_at is None:
                self._info_lost_at = now
            self._info_error = message.error or "not found"
        else:
            self.info, self._info_read_at = info, now
            self._info_lost_at = self._info_error = None
        self._show_info()
        self._show_diagnosis()
        if info is not None:
            title = Text.assemble(
                (" Container ", "bold"),
                (one_line(info.name), "bold"),
                (f"  service {one_line(info.service or '?')}", "dim"),
                (f"  project {one_line(info.project or '?')}", "dim"),
                no_wrap=True,
            )
            self.query_one("#detail-title", Static).update(title)
        self.set_timer(self.mf.refresh_interval, self._load_info)

    def _show_info(self) -> None:
        body = info_text(self.info, self.container_name)
        if self._info_lost_at is not None:
            head = Text("✗ ", style="bold red")
            head.append(f"since {fmt.hms(self._info_lost_at)} UTC", style="red")
            if self.info is not None:
                body.stylize("dim")
                head.append(f" (below: as read at {fmt.hms(self._info_read_at)})", style="dim")
            head.append(f": {one_line(self._info_error or '', 160)}", style="red")
            body = Text("\n").join([head, body])
        self.query_one("#container-info", Static).update(body)

    # ------------------------------------------------------------------ status line

    @on(LogView.StatusChanged)
    def _update_status(self) -> None:
        log = self.query_one(LogView)
        t = Text(no_wrap=True, overflow="ellipsis")
        if self._stream_lost_at is not None:
            # whatever the view does, no new line comes: say since when, and why (last)
            said = "stopped following at" if self._stream_opened else "not following since"
            t.append(f" ✗ {said} {fmt.hms(self._stream_lost_at)} UTC", style="bold red")
            t.append(f" (retrying every {fmt.span(self.mf.refresh_interval)})", style="dim")
        elif log.following:
            t.append(" ● following", style="green")
        else:
            t.append(" ‖ paused", style="bold yellow")
            t.append(" (end resumes)", style="dim")
        t.append(f"  {len(log.shown):,}/{len(log.entries):,} lines", style="dim")
        if log.filter_text:
            t.append("  filter ", style="dim")
            t.append(one_line(log.filter_text, 20), style="bold")
        if log.search_text:
            t.append("  search ", style="dim")
            t.append(one_line(log.search_text, 20), style="bold")
            t.append(f" {log.match_count()} matches (n/N)", style="dim")
        if not log.timestamps:
            t.append("  no timestamps", style="dim")
        if self._stream_error is not None:
            t.append(f"  {one_line(self._stream_error, 160)}", style="red")
        # one line high (app.tcss): new text never moves anything, so no layout pass (which
        # would put the new status one frame later)
        self.query_one("#log-status", Static).update(t, layout=False)

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        field = self.query_one("#log-input", Input)
        if field.display:
            field.display = False
            self.query_one(LogView).focus()
            return
        self.app.pop_screen()

    def _open_input(self, mode: str) -> None:
        self._input_mode = mode
        log = self.query_one(LogView)
        field = self.query_one("#log-input", Input)
        field.placeholder = (
            "filter lines (enter applies, empty clears)"
            if mode == "filter"
            else "search (enter, then n / N)"
        )
        field.value = log.filter_text if mode == "filter" else log.search_text
        field.display = True
        field.focus()

    def action_filter(self) -> None:
        self._open_input("filter")

    def action_search(self) -> None:
        self._open_input("search")

    @on(Input.Changed, "#log-input")
    def _typed(self, event: Input.Changed) -> None:
        if self._input_mode == "filter":
            self.query_one(LogView).set_filter(event.value)

    @on(Input.Submitted, "#log-input")
    def _submitted(self, event: Input.Submitted) -> None:
        log = self.query_one(LogView)
        if self._input_mode == "search" and not log.search(event.value):
            self.notify("No match.", timeout=2)
        event.input.display = False
        log.focus()
        self._update_status()
