"""Migrations pane: current vs heads, pending count, version table, problems, lock holder."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from magflow_console.models import LockHolder, MigrationsSnapshot
from magflow_console.render import fmt, styles
from magflow_console.render.text import one_line, tail
from magflow_console.tui.widgets.pane import Pane, Summary

LABEL = 8  # width of the label column
PENDING_SHOWN = 3


def _label(text: Text, label: str) -> None:
    text.append(f"{label:<{LABEL}}", style="dim")


def _ids(ids: tuple[str, ...], style: str = "") -> Text:
    if not ids:
        return Text("none", style="dim")
    return Text(", ".join(one_line(i) for i in ids), style=style)


def lock_text(holders: tuple[LockHolder, ...]) -> Text:
    if not holders:
        return Text("free", style="dim")
    granted = [h for h in holders if h.granted]
    waiting = [h for h in holders if not h.granted]
    out = Text()
    if granted:
        h = granted[0]
        who = one_line(h.application_name or h.client_addr or f"pid {h.pid}", 24)
        out.append("migration in progress: ", style="bold yellow")
        out.append(f"{who} (pid {h.pid}, {fmt.span(h.waiting_seconds)})")
    if waiting:
        out.append(f"{' · ' if granted else ''}{len(waiting)} waiting", style="yellow")
    return out


def migrations_text(snap: MigrationsSnapshot) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    current_ok = bool(snap.current) and set(snap.current) == set(snap.heads)
    _label(text, "current")
    if not snap.db_checked:
        text.append("not checked", style="dim")
    else:
        known = {r.revision for r in snap.revisions}
        if not snap.current:
            text.append("none (not stamped)", style="bold red")
        for i, rev in enumerate(snap.current):
            if i:
                text.append(", ")
            unknown = rev not in known
            style = "green" if current_ok else ("bold red" if unknown else "yellow")
            text.append(one_line(rev), style=style)
            if unknown:
                text.append(" (unknown revision)", style="bold red")
    text.append("\n")
    _label(text, "heads")
    text.append_text(_ids(snap.heads, "bold" if len(snap.heads) == 1 else "bold red"))
    text.append("\n")
    _label(text, "pending")
    if not snap.db_checked:
        text.append("—", style="dim")
    elif snap.pending:
        text.append(f"{len(snap.pending)} to apply", style="bold yellow")
        for rid in snap.pending[:PENDING_SHOWN]:
            text.append("\n" + " " * LABEL + "→ ", style="dim")
            text.append(one_line(rid), style="yellow")
        if len(snap.pending) > PENDING_SHOWN:
            more = len(snap.pending) - PENDING_SHOWN
            text.append("\n" + " " * LABEL + f"… {more} more (enter)", style="dim")
    else:
        text.append("0 (up to date)" if current_ok else "0", style="green" if current_ok else "")
    text.append("\n")
    _label(text, "table")
    tables = snap.version_tables
    text.append_text(_ids(tables, "yellow" if len(tables) != 1 else ""))
    text.append("\n")
    _label(text, "lock")
    text.append_text(lock_text(snap.lock_holders))
    # the pane is narrow: short forms, and info problems of one kind on one line (the
    # migration detail screen lists each in full)
    infos = Counter(p.code for p in snap.problems if p.severity == "info")
    folded: set[str] = set()
    for problem in snap.problems:
        if problem.severity == "info" and infos[problem.code] > 1:
            if problem.code in folded:
                continue
            folded.add(problem.code)
            line = f"{problem.code.replace('_', ' ')} ×{infos[problem.code]}"
        else:
            line = problem.short or problem.message
        text.append("\n")
        text.append("● ", style=styles.style_for(problem.severity))
        text.append(one_line(line), style=styles.style_for(problem.severity))
    return text


class MigrationsPane(Pane):
    source = "migrations"
    title = "Migrations"
    hotkey = "2"

    def compose_body(self) -> ComposeResult:
        yield Summary(id="migrations-summary")

    @property
    def focus_target(self) -> Widget:
        return self.query_one(Summary)

    def show_snapshot(self, snapshot: MigrationsSnapshot, now: dt.datetime) -> None:
        self.query_one(Summary).set_text(migrations_text(snapshot))
        location = snapshot.scripts_location or ""
        self.set_subtitle(tail(location, 30) if location else "")

    def selected_text(self) -> str:
        return self.query_one(Summary).plain
