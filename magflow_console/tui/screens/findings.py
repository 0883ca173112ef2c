"""Findings and next steps (``d``): the TUI face of ``magflow-console doctor``.

Every finding of the latest status, worst first (``diagnose.doctor.advise``), one row each,
plus what ``doctor`` adds (``diagnose.doctor.extra_findings``): admin logins and what the
containers' recent logs say. Both are read once, each in its own thread worker, when the
screen opens (the logs as soon as the containers snapshot is readable): the status
findings show at once, the others when they arrive. Below the table the selected one's
whole message and its next steps. ``enter`` opens the screen that shows the subject: the
container, the sync run, the migrations or the admins. The list follows the dashboard's
refreshes (the app's ``store_changed`` signal); the cursor stays on its finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from magflow_console.diagnose import rules
from magflow_console.diagnose.doctor import (
    Advice,
    doctor_verdict,
    to_act_on,
)
from magflow_console.models import Finding, StatusReport
from magflow_console.render import styles
from magflow_console.render.text import clean, one_line
from magflow_console.tui.messages import AdminsRead, Changed, LogFindingsRead
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.table import LiveTable, Row

if TYPE_CHECKING:
    pass

COLUMNS: list[tuple[str, int | None]] = [("level", 9), ("code", 27), ("what", None)]
MIGRATION_CODES = frozenset(
    {
        "multiple_heads", "multiple_roots", "missing_parent", "duplicate_revision", "cycle",
        "revision_id_too_long", "invalid_revision_id", "docstring_mismatch",
        "unknown_current_revision", "version_table_missing", "version_table_ambiguous",
        "pending_migrations", "migration_in_progress", "migrations_unreadable",
    }
)  # fmt: skip


#: codes whose subject is a container name (beat_gated_by_worker: see ``container_of``)
CONTAINER_PREFIXES = ("container_", "beat_", "entrypoint_", "log_", "emag_")
#: codes whose subject is an admin's email
ADMIN_CODES = frozenset({"dev_admin_autoprovision"})


def _style(level: str) -> str:
    return "magenta" if level == "UNKNOWN" else styles.style_for(level.lower())


def row_text(f: Finding) -> str:
    """The finding in a few words, led by its account unless they already name it
    ("fbe: eMAG credentials not set", "magflow_worker: fbe: ...")."""
    text = f.short or f.message
    prefix = f"{f.account}: " if f.account else ""
    if prefix and (text.startswith(prefix) or f" {prefix}" in text[:60]):
        prefix = ""
    return prefix + text


def advice_row(key: str, a: Advice) -> Row:
    return (
        key,
        [
            Text(a.level, style=_style(a.level)),
            Text(one_line(a.finding.code, 26), style="bold"),
            Text(one_line(row_text(a.finding))),
        ],
    )


def row_keys(advice: list[Advice]) -> list[str]:
    """A key per finding that survives a refresh (the cursor stays on its finding when the
    list changes around it): code, account and subject, numbered when they repeat."""
    keys: list[str] = []
    seen: dict[str, int] = {}
    for a in advice:
        f = a.finding
        base = f"{f.code}|{f.account or ''}|{f.subject or ''}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return keys


def container_of(a: Advice, containers: frozenset[str], worker: str) -> str | None:
    """The container whose detail shows this finding's subject, if any."""
    f = a.finding
    if f.code == "beat_gated_by_worker":
        return worker
    if not f.subject:
        return None
    if f.code.startswith(CONTAINER_PREFIXES) or f.subject in containers:
        return f.subject
    return None


def advice_text(a: Advice | None, hint: str | None = None) -> Text:
    t = Text()
    if a is None:
        t.append("Nothing to do: every check the console makes passed.", style="green")
        return t
    t.append(f"{a.level} ", style=_style(a.level))
    t.append(f"{a.finding.code}\n", style="bold")
    t.append(clean(a.finding.message) + "\n")
    for step in a.steps:
        t.append("→ ", style="cyan")
        t.append(clean(step) + "\n")
    if hint:
        t.append(f"enter: {hint}", style="dim")
    return t


def target_hint(a: Advice, container: str | None) -> str | None:
    """What ``enter`` opens for this finding (None: no screen shows its subject);
    ``container`` is what ``container_of`` says."""
    code = a.finding.code
    if container:
        return f"{one_line(container, 40)}'s detail (probes, restarts, logs)"
    if code.startswith("sync_"):
        return "the sync run" if _run_id(a) else "the sync runs"
    if code in MIGRATION_CODES:
        return "the migrations detail"
    if code.startswith("admin_") or code in ADMIN_CODES:
        return "the admin users"
    return None


def _run_id(a: Advice) -> str | None:
    subject = a.finding.subject
    return subject if subject and len(subject) == 36 and subject.count("-") == 4 else None


class FindingsScreen(AppScreen[None]):
    DEFAULT_CSS = """
    FindingsScreen #findings { height: auto; max-height: 50%; }
    FindingsScreen #finding-detail-box { height: 1fr; border-top: solid $panel-lighten-2; }
    FindingsScreen #finding-detail { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("enter", "open_subject", "Open", id="finding-open"),
        Binding("y", "copy", "Copy", id="finding-copy"),
        Binding("r", "refresh_all", "Refresh", id="findings-refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.advice: list[Advice] = []
        self._keys: dict[str, Advice] = {}
        #: the container logs: "waiting" (no readable containers snapshot yet),
        #: "reading" (the worker runs), "read"
        self.logs_state = "waiting"

    def compose(self) -> ComposeResult:
        yield Static(
            Text(" Findings and next steps (doctor)", style="bold"), classes="detail-title"
        )
        yield Static(id="findings-status")
        yield LiveTable(COLUMNS, id="findings")
        with VerticalScroll(id="finding-detail-box"):
            yield Static(id="finding-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()
        self.mf.store_changed.subscribe(self, self._store_changed)
        self._store_changed(None)
        self._load_admins()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:findings-admins")
    def _load_admins(self) -> None:
        self.post_message(AdminsRead(self.mf.backend.admins()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:findings-logs")
    def _load_logs(self) -> None:
        containers = self.mf.store.containers
        found = self.mf.backend.log_findings(containers) if containers is not None else []
        self.post_message(LogFindingsRead(found))

    @on(AdminsRead)
    def _admins_read(self, message: AdminsRead) -> None:
        self.mf.store.admin_findings = rules.admin_findings(message.snapshot)
        self.mf.store_changed.publish(None)

    @on(LogFindingsRead)
    def _logs_read(self, message: LogFindingsRead) -> None:
        self.mf.store.log_findings = list(message.findings)
        self.logs_state = "read"
        self.mf.store_changed.publish(None)

    def action_refresh_all(self) -> None:
        """``r`` here also reads the admins and the containers' logs again (the dashboard's
        loops do not read them): the screen then lists what a new ``doctor`` would."""
        self.mf.action_refresh()
        self._load_admins()
        if self.logs_state != "reading":
            self.logs_state = "waiting"
            self._read_logs_when_possible()

    def _read_logs_when_possible(self) -> None:
        """Start reading the containers' logs once there is a containers snapshot that is
        not in error (what ``doctor`` reads them from)."""
        containers = self.mf.store.containers
        if self.logs_state == "waiting" and containers is not None and containers.state != "error":
            self.logs_state = "reading"
            self._load_logs()

    def _store_changed(self, _changed: Changed) -> None:
        self._read_logs_when_possible()
        report = self.mf.store.report
        extra = self.mf.store.extra()
        self.advice = self.mf.store.advice()
        self._keys = dict(zip(row_keys(self.advice), self.advice, strict=True))
        self.query_one("#findings-status", Static).update(self.status_text(report, extra))
        self.query_one(LiveTable).set_rows([advice_row(k, a) for k, a in self._keys.items()])
        self._show_selected()

    def status_text(self, report: StatusReport | None, extra: list[Finding]) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if report is None:
            t.append(" waiting for the first refresh…", style="dim")
        else:
            label = doctor_verdict(report, extra).label.upper()
            act = to_act_on(self.advice)
            info = len(self.advice) - act
            counts = f" · {act} to act on" + (f", {info} info" if info else "")
            t.append(" ")
            t.append(label, style=_style(label))
            t.append(counts + ", worst first", style="dim")
        if self.logs_state == "reading":
            t.append(" · reading container logs…", style="italic dim")
        return t

    def selected(self) -> Advice | None:
        key = self.query_one(LiveTable).selected_key
        return None if key is None else self._keys.get(key)

    def _container_of(self, a: Advice) -> str | None:
        snap = self.mf.store.containers
        names = frozenset(c.name for c in snap.items) if snap is not None else frozenset()
        worker = self.mf.backend.profile.docker.services.get("worker", "magflow_worker")
        return container_of(a, names, worker)

    @on(DataTable.RowHighlighted)
    def _show_selected(self) -> None:
        a = self.selected()
        hint = target_hint(a, self._container_of(a)) if a is not None else None
        self.query_one("#finding-detail", Static).update(advice_text(a, hint))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open_subject()

    def action_open_subject(self) -> None:
        a = self.selected()
        if a is None:
            return
        f = a.finding
        container = self._container_of(a)
        if container:
            self.mf.open_container(container, search=f.evidence if f.subject == container else None)
        elif f.code.startswith("sync_"):
            self.mf.open_sync(_run_id(a))
        elif f.code in MIGRATION_CODES:
            self.mf.open_migrations()
        elif f.code.startswith("admin_") or f.code in ADMIN_CODES:
            self.mf.open_admins()
        else:
            self.notify("No detail screen for this finding: its steps say where to look.")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self) -> None:
        a = self.selected()
        if a is not None:
            self.app.copy_to_clipboard(advice_text(a).plain)
            self.notify("Copied the finding and its steps (OSC 52).", timeout=2)
