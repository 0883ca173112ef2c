"""Every environment at a glance (``e``): each profile's verdict, worst finding and the
age of its data; enter opens the selected profile (``MagflowApp.switch_profile``).

The profile on screen is shown from the live store (no second connection), redrawn as
the store changes; a source that went stale there makes its line say so
(``environments.from_report``); the others
are read once when the screen opens (and on ``r``), each in its own thread with its own
connections, closed after the read, bounded by ``environments.DEFAULT_TIMEOUT``
(``environments.AllProfiles``). Rows fill in as profiles answer.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from magflow_console.environments import (
    AllProfiles,
    ProfileStatus,
    from_report,
)
from magflow_console.render import fmt
from magflow_console.render.styles import verdict_style
from magflow_console.render.text import one_line
from magflow_console.tui.messages import Changed, ProfileRead
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.table import LiveTable, Row

COLUMNS: list[tuple[str, int | None]] = [
    ("profile", 16),
    ("verdict", 9),
    ("data", 9),
    ("worst finding", None),
]
#: seconds between re-drawing the ages (only this screen: the dashboard stays quiet)
AGE_TICK = 10.0


def profile_row(
    line: ProfileStatus | None, name: str, current: str, now: dt.datetime, protected: bool
) -> Row:
    """``●`` marks the profile on screen; a protected one is red (as the config file
    says until it has been read)."""
    mark = "● " if name == current else "  "
    label = Text(mark + one_line(name, 13), style="bold")
    if line.protected if line is not None else protected:
        label.stylize("red")
    if line is None:
        return (name, [label, Text("reading…", style="dim"), Text(""), Text("")])
    age = line.age_s(now)
    data = "none" if age is None else fmt.span(age)
    worst = Text(one_line(line.worst or "nothing to act on", 200))
    if not line.worst:
        worst.stylize("dim")
    return (
        name,
        [
            label,
            Text(line.verdict.label.upper(), style=verdict_style(line.verdict.label)),
            Text(data, style="dim"),
            worst,
        ],
    )


class EnvironmentsScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("enter", "open_profile", "Open", id="env-open"),
        Binding("r", "reread", "Re-read", id="env-reread"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, ProfileStatus] = {}
        self._round = 0

    def compose(self) -> ComposeResult:
        n = len(self.mf.profiles.names)
        yield Static(
            Text(f" Environments · {n} profile{'s' if n != 1 else ''}", style="bold"),
            classes="detail-title",
        )
        yield Static(Text(" reading…", style="dim"), id="env-status")
        yield LiveTable(COLUMNS, id="environments")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()
        self.set_interval(AGE_TICK, self._redraw)
        self.mf.store_changed.subscribe(self, self._store_changed)
        self.action_reread()

    def _store_changed(self, _changed: Changed) -> None:
        """The profile on screen is read by the refresh loops: its line follows them (a
        source going stale shows at once, not at the next age tick)."""
        self._redraw()

    def on_screen_resume(self) -> None:
        self._redraw()

    def action_reread(self) -> None:
        self._round += 1
        self.lines = {}
        self._redraw()
        self._read(self._round)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:environments")
    def _read(self, round_: int) -> None:
        app = self.mf
        current = app.backend.profile_name
        others = [n for n in app.profiles.names if n != current]

        def answered(line: ProfileStatus) -> None:
            self.post_message(ProfileRead(round_, line))

        AllProfiles(app.profiles, others, on_line=answered).wait()

    @on(ProfileRead)
    def _profile_read(self, message: ProfileRead) -> None:
        if message.round != self._round:
            return
        self.lines[message.line.profile] = message.line
        self._redraw()

    def _current_line(self) -> ProfileStatus | None:
        app = self.mf
        report = app.store.report
        if report is None:
            return None
        return from_report(app.backend.profile_name, app.backend.loaded, report, None)

    def _redraw(self) -> None:
        app = self.mf
        now = app.clock()
        current = app.backend.profile_name
        lines = dict(self.lines)
        live = self._current_line()
        if live is not None:
            lines[current] = live
        marks = app.profiles.marks
        rows = [
            profile_row(lines.get(n), n, current, now, marks.get(n, (False, False))[0])
            for n in app.profiles.names
        ]
        self.query_one(LiveTable).set_rows(rows)
        done = sum(1 for n in app.profiles.names if n in lines)
        total = len(app.profiles.names)
        status = Text(f" {done} of {total} read", style="dim")
        status.append(" · enter opens the selected profile · r re-reads", style="dim")
        self.query_one("#env-status", Static).update(status)

    def selected(self) -> str | None:
        return self.query_one(LiveTable).selected_key

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_open_profile()

    def action_open_profile(self) -> None:
        name = self.selected()
        if name is not None:
            self.mf.switch_profile(name)

    def action_back(self) -> None:
        self.app.pop_screen()
