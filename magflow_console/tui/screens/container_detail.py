"""Container detail: state, restart history, image, ports, health-probe log, and the logs.

Logs are followed by a thread worker; lines land in a lock-protected buffer that the
screen drains every ``FLUSH_SECONDS`` (batching: a chatty container causes at most ~12
redraws a second, not one per line). The worker never touches widgets.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from magflow_console.models import ContainerInfo
from magflow_console.tui import fmt
from magflow_console.tui.messages import DetailLoaded
from magflow_console.tui.sanitize import one_line
from magflow_console.tui.widgets.log_view import LogView

if TYPE_CHECKING:
    from magflow_console.tui.app import MagflowApp

FLUSH_SECONDS = 0.08
TAIL = 500
PROBES_SHOWN = 3


def info_text(c: ContainerInfo | None, name: str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if c is None:
        t.append(f"{one_line(name)}: ", style="bold")
        t.append("not found (or the Docker engine cannot be reached)", style="red")
        return t
    t.append("state ", style="dim")
    t.append(one_line(c.state), style=fmt.style_for(c.state))
    t.append("  health ", style="dim")
    t.append(one_line(c.health or "no healthcheck"), style=fmt.style_for(c.health) or "dim")
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


class ContainerDetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "filter", "Filter", id="log-filter"),
        Binding("s", "search", "Search", id="log-search"),
        Binding("R", "app.container('restart')", "Restart", id="container-restart", show=False),
        Binding("S", "app.container('stop')", "Stop", id="container-stop", show=False),
        Binding("T", "app.container('start')", "Start", id="container-start", show=False),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.container_name = name
        self._pending: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._input_mode = "filter"
        self.info: ContainerInfo | None = None

    @property
    def mf(self) -> MagflowApp:
        return cast("MagflowApp", self.app)

    def compose(self) -> ComposeResult:
        title = Static(id="detail-title", classes="detail-title")
        title.update(
            Text.assemble((" Container ", "bold"), (one_line(self.container_name), "bold"))
        )
        yield title
        yield Static(Text("loading…", style="dim"), id="container-info")
        yield Static(id="log-status")
        yield LogView(id="log")
        yield Input(id="log-input")
        yield Footer()

    def on_mount(self) -> None:
        self.mf.register_stop(self._stop)
        self.query_one("#log-input", Input).display = False
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
        self.post_message(
            DetailLoaded("container", self.mf.backend.container_detail(self.container_name))
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:logs")
    def _follow(self) -> None:
        for line in self.mf.backend.follow(self.container_name, self._stop, tail=TAIL):
            with self._lock:
                self._pending.append(line)
            if self._stop.is_set():
                break

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self.query_one(LogView).add_lines(batch)

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.what != "container":
            return
        self.info = message.value
        info = cast(ContainerInfo | None, message.value)
        self.query_one("#container-info", Static).update(info_text(info, self.container_name))
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

    # ------------------------------------------------------------------ status line

    @on(LogView.StatusChanged)
    def _update_status(self) -> None:
        log = self.query_one(LogView)
        t = Text(no_wrap=True, overflow="ellipsis")
        if log.following:
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
        self.query_one("#log-status", Static).update(t)

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
