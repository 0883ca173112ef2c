"""Findings and next steps (``d``): the TUI face of ``magflow-console doctor``.

Every finding of the latest status, worst first (``diagnose.doctor.advise``), one row each,
plus what ``doctor`` says about admin logins (read once, in a worker, when the screen
opens); below the table the selected one's whole message and its next steps. ``enter``
opens the screen that shows the subject: the container, the sync run, the migrations or
the admins. The list follows the dashboard's refreshes (the app's ``store_changed`` signal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from magflow_console.diagnose import rules
from magflow_console.diagnose.doctor import Advice, advise
from magflow_console.models import AdminsSnapshot, Finding
from magflow_console.tui import fmt
from magflow_console.tui.messages import DetailLoaded
from magflow_console.tui.sanitize import clean, one_line
from magflow_console.tui.widgets.table import LiveTable, Row

if TYPE_CHECKING:
    from magflow_console.tui.app import MagflowApp

COLUMNS: list[tuple[str, int | None]] = [("level", 9), ("code", 27), ("what", None)]
MIGRATION_CODES = frozenset(
    {
        "multiple_heads", "multiple_roots", "missing_parent", "duplicate_revision", "cycle",
        "revision_id_too_long", "invalid_revision_id", "docstring_mismatch",
        "unknown_current_revision", "version_table_missing", "version_table_ambiguous",
        "pending_migrations", "migration_in_progress", "migrations_unreadable",
    }
)  # fmt: skip


def _style(level: str) -> str:
    return "magenta" if level == "UNKNOWN" else fmt.style_for(level.lower())


def advice_row(index: int, a: Advice) -> Row:
    subject = f"{a.finding.account}: " if a.finding.account else ""
    return (
        str(index),
        [
            Text(a.level, style=_style(a.level)),
            Text(one_line(a.finding.code, 26), style="bold"),
            Text(one_line(subject + (a.finding.short or a.finding.message))),
        ],
    )


def advice_text(a: Advice | None) -> Text:
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
    hint = target_hint(a)
    if hint:
        t.append(f"enter: {hint}", style="dim")
    return t


def target_hint(a: Advice) -> str | None:
    """What ``enter`` opens for this finding (None: no screen shows its subject)."""
    code = a.finding.code
    if code.startswith(("container_", "beat_")) and a.finding.subject:
        return "the container's detail (probes, restarts, logs)"
    if code.startswith("sync_"):
        return "the sync run" if _run_id(a) else "the sync runs"
    if code in MIGRATION_CODES:
        return "the migrations detail"
    if code.startswith("admin_"):
        return "the admin users"
    return None


def _run_id(a: Advice) -> str | None:
    subject = a.finding.subject
    return subject if subject and len(subject) == 36 and subject.count("-") == 4 else None


class FindingsScreen(Screen[None]):
    DEFAULT_CSS = """
    FindingsScreen #findings { height: auto; max-height: 50%; }
    FindingsScreen #finding-detail-box { height: 1fr; border-top: solid $panel-lighten-2; }
    FindingsScreen #finding-detail { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("enter", "open_subject", "Open", id="finding-open"),
        Binding("y", "copy", "Copy", id="finding-copy"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.advice: list[Advice] = []
        self.admin_findings: list[Finding] = []

    @property
    def mf(self) -> MagflowApp:
        return cast("MagflowApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(
            Text(" Findings and next steps (doctor)", style="bold"), classes="detail-title"
        )
        yield Static(id="findings-status")
        yield LiveTable(COLUMNS, id="findings")
        with VerticalScroll(id="finding-detail-box"):
            yield Static(id="finding-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()
        self.mf.store_changed.subscribe(self, self._store_changed)
        self._store_changed(None)
        self._load_admins()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:findings-admins")
    def _load_admins(self) -> None:
        self.post_message(DetailLoaded("findings-admins", self.mf.backend.admins()))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.what == "findings-admins":
            self.admin_findings = rules.admin_findings(cast(AdminsSnapshot, message.value))
            self._store_changed(None)

    def _store_changed(self, _source: str | None) -> None:
        report = self.mf.store.report
        self.advice = advise(report, self.admin_findings) if report is not None else []
        status = self.query_one("#findings-status", Static)
        if report is None:
            status.update(Text(" waiting for the first refresh…", style="dim"))
        else:
            info = sum(1 for a in self.advice if a.level == "INFO")
            counts = f" · {len(self.advice) - info} to act on" + (f", {info} info" if info else "")
            status.update(
                Text.assemble(
                    (" ", ""),
                    (report.verdict.label.upper(), _style(report.verdict.label.upper())),
                    (counts + ", worst first", "dim"),
                )
            )
        self.query_one(LiveTable).set_rows([advice_row(i, a) for i, a in enumerate(self.advice)])
        self._show_selected()

    def selected(self) -> Advice | None:
        key = self.query_one(LiveTable).selected_key
        if key is None or int(key) >= len(self.advice):
            return None
        return self.advice[int(key)]

    @on(DataTable.RowHighlighted)
    def _show_selected(self) -> None:
        self.query_one("#finding-detail", Static).update(advice_text(self.selected()))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open_subject()

    def action_open_subject(self) -> None:
        a = self.selected()
        if a is None:
            return
        f = a.finding
        if f.code.startswith(("container_", "beat_")) and f.subject:
            name = f.subject
            if f.code == "beat_gated_by_worker":
                name = self.mf.backend.profile.docker.services.get("worker", "magflow_worker")
            self.mf.open_container(name)
        elif f.code.startswith("sync_"):
            self.mf.open_sync(_run_id(a))
        elif f.code in MIGRATION_CODES:
            self.mf.open_migrations()
        elif f.code.startswith("admin_"):
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
