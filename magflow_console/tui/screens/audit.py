"""The audit log (``L``): every action attempt, newest first.

Rows come from ``actions.audit_view.audit_rows`` (entries scrubbed again on the way out,
control characters removed); the file is read in a thread worker. The status line says
how many lines could not be read (not UTF-8, not JSON), or why the file could not be.
Below the table the selected entry's parameters and detail are shown in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from magflow_console.actions.audit_view import AuditRow, AuditRows, audit_rows
from magflow_console.render.text import one_line
from magflow_console.tui.messages import AuditRead
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.table import LiveTable, Row

if TYPE_CHECKING:
    pass

LIMIT = 500
COLUMNS: list[tuple[str, int | None]] = [
    ("when (UTC)", 21),
    ("action", 22),
    ("outcome", 10),
    ("profile", 10),
    ("who", 18),
    ("detail", None),
]
OUTCOME_STYLES = {
    "ok": "green",
    "failed": "bold red",
    "error": "bold red",
    "refused": "yellow",
    "cancelled": "dim",
}


def audit_row(index: int, row: AuditRow) -> Row:
    return (
        str(index),
        [
            Text(row.when, style="dim"),
            Text(one_line(row.action, 21), style="bold"),
            Text(one_line(row.outcome), style=OUTCOME_STYLES.get(row.outcome, "")),
            Text(one_line(row.profile, 9)),
            Text(one_line(row.who, 17), style="dim"),
            Text(one_line(row.detail, 120)),
        ],
    )


def entry_text(row: AuditRow | None) -> Text:
    t = Text()
    if row is None:
        t.append("(no audit entries yet)", style="dim")
        return t
    t.append("params ", style="dim")
    t.append(one_line(row.params or "(none)"))
    t.append("\ndetail ", style="dim")
    t.append(one_line(row.detail or "(none)"))
    return t


class AuditScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("g", "reload", "Reload", id="audit-reload"),
        Binding("y", "copy", "Copy row", id="copy-audit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: AuditRows = AuditRows([])

    def compose(self) -> ComposeResult:
        yield Static(Text(" Audit log (newest first)", style="bold"), classes="detail-title")
        yield Static(Text(" loading…", style="dim"), id="audit-status")
        yield LiveTable(COLUMNS, id="audit")
        yield Static(id="audit-entry")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:audit")
    def _load(self) -> None:
        path = self.mf.backend.loaded.audit_log
        self.post_message(AuditRead(str(path), audit_rows(path, LIMIT)))

    @on(AuditRead)
    def _audit_read(self, message: AuditRead) -> None:
        path, rows = message.path, message.rows
        self.rows = rows
        status = Text(f" {len(rows)} entries · {one_line(path)}", style="dim")
        note = rows.note()
        if note:
            status.append(f" · {note}", style="yellow")
        self.query_one("#audit-status", Static).update(status)
        self.query_one(LiveTable).set_rows([audit_row(i, r) for i, r in enumerate(rows)])
        self._show_selected()

    def selected(self) -> AuditRow | None:
        key = self.query_one(LiveTable).selected_key
        return self.rows[int(key)] if key is not None and int(key) < len(self.rows) else None

    @on(DataTable.RowHighlighted)
    def _show_selected(self) -> None:
        self.query_one("#audit-entry", Static).update(entry_text(self.selected()))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.copy_to_clipboard("\t".join(row.cells()))
            self.notify("Copied (OSC 52).", timeout=2)
