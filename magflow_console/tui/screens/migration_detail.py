"""Migration detail: where the database stands, pending list in apply order, every problem
explained, and the revision graph drawn as a readable tree (heads first, merges, roots)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from magflow_console.models import MigrationsSnapshot, Revision
from magflow_console.render import fmt, styles
from magflow_console.render.text import one_line
from magflow_console.tui.messages import Changed
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.migrations_pane import lock_text, migrations_text

if TYPE_CHECKING:
    pass


def newest_first(revisions: Sequence[Revision]) -> list[Revision]:
    """Topological order, children before parents (like ``alembic history``)."""
    by_id = {r.revision: r for r in revisions}
    children: dict[str, list[str]] = {r.revision: [] for r in revisions}
    indegree = {r.revision: 0 for r in revisions}
    for r in revisions:
        for parent in r.down_revisions:
            if parent in by_id:
                children[parent].append(r.revision)
                indegree[r.revision] += 1
    ready = sorted(rid for rid, n in indegree.items() if n == 0)
    order: list[str] = []
    while ready:
        rid = ready.pop(0)
        order.append(rid)
        for child in sorted(children[rid]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    order += sorted(rid for rid in by_id if rid not in order)  # cycles: append as they are
    return [by_id[rid] for rid in reversed(order)]


def graph_text(snap: MigrationsSnapshot) -> Text:
    heads, roots, merges = set(snap.heads), set(snap.roots), set(snap.merges)
    current, pending = set(snap.current), set(snap.pending)
    known = {r.revision for r in snap.revisions}
    child_count: dict[str, int] = {}
    for r in snap.revisions:
        for p in r.down_revisions:
            child_count[p] = child_count.get(p, 0) + 1
    t = Text(no_wrap=True, overflow="ellipsis")
    for r in newest_first(snap.revisions):
        rid = r.revision
        if rid in current:
            marker, style = "◆", "bold green"
        elif rid in pending:
            marker, style = "○", "yellow"
        else:
            marker, style = "●", ""
        t.append(f"{marker} ", style=style)
        t.append(one_line(rid), style=style or "bold")
        tags = []
        if rid in heads:
            tags.append("head")
        if rid in merges:
            tags.append("merge")
        if child_count.get(rid, 0) > 1:
            tags.append("branch point")
        if rid in roots:
            tags.append("root")
        if rid in current:
            tags.append("← database")
        elif rid in pending:
            tags.append("pending")
        if tags:
            t.append(f"  [{', '.join(tags)}]", style="cyan" if rid not in current else "bold green")
        if r.message:
            t.append(f"  {one_line(r.message, 60)}", style="dim")
        t.append("\n")
        if len(r.down_revisions) > 1:
            t.append("│   merges: ", style="dim")
            t.append(one_line(", ".join(r.down_revisions)) + "\n", style="dim")
        for parent in r.down_revisions:
            if parent not in known:
                t.append("│   parent ", style="red")
                t.append(one_line(parent), style="bold red")
                t.append(" is not defined by any file\n", style="red")
        if r.down_revisions:
            t.append("│\n", style="dim")
    for rid in snap.current:
        if rid not in known:
            t.append("◆ ", style="bold red")
            t.append(one_line(rid), style="bold red")
            t.append("  [← database] unknown revision: no migration file defines it\n", style="red")
    return t


def detail_text(snap: MigrationsSnapshot | None) -> Text:
    t = Text()
    if snap is None:
        return Text("loading…", style="dim")
    if snap.state in ("error", "stale"):
        t.append("✗ ", style="bold red")
        t.append(one_line(snap.error or ""), style="red")
        t.append("\n\n")
        if snap.state == "error":
            return t
    t.append("Where the database stands\n", style="bold underline")
    t.append_text(migrations_text(snap))
    t.append("\n")
    t.append("scripts  ", style="dim")
    t.append(one_line(snap.scripts_location or "?"))
    t.append(f"\nchecked  {fmt.full_stamp(snap.fetched_at)}\n\n", style="dim")

    t.append(f"Pending, in apply order ({len(snap.pending)})\n", style="bold underline")
    if not snap.pending:
        t.append("nothing to apply\n" if snap.db_checked else "database not checked\n", style="dim")
    for i, rid in enumerate(snap.pending, 1):
        t.append(f"{i:>3}. ", style="dim")
        t.append(one_line(rid), style="yellow")
        rev = next((r for r in snap.revisions if r.revision == rid), None)
        if rev and rev.message:
            t.append(f"  {one_line(rev.message, 60)}", style="dim")
        t.append("\n")
    t.append("\n")

    t.append(f"Problems ({len(snap.problems)})\n", style="bold underline")
    if not snap.problems:
        t.append("none\n", style="dim")
    for p in snap.problems:
        t.append(f"{p.severity.upper():<9}", style=styles.style_for(p.severity))
        t.append(f"{one_line(p.code)}\n", style="bold")
        t.append(f"  {one_line(p.message)}\n")
        if p.revisions:
            t.append(f"  revisions: {one_line(', '.join(p.revisions))}\n", style="dim")
    if snap.lock_holders:
        t.append("\nMigration lock (advisory 123456789)\n", style="bold underline")
        t.append_text(lock_text(snap.lock_holders))
        t.append("\n")
        for h in snap.lock_holders:
            t.append(f"  pid {h.pid} {'holds' if h.granted else 'waits'} ", style="dim")
            t.append(one_line(f"{h.application_name} {h.client_addr or ''} {h.state or ''}", 60))
            t.append("\n")
    t.append("\n")
    t.append(
        f"Revision graph ({len(snap.revisions)} revisions, newest first)\n",
        style="bold underline",
    )
    t.append_text(graph_text(snap))
    return t


class MigrationDetailScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("y", "copy", "Copy", id="copy-detail"),
        Binding("m", "app.migrate", "Migrate", id="migrate"),
        Binding("M", "app.migrate(True)", "Migrate with backup", id="migrate-backup", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static(Text(" Migrations", style="bold"), classes="detail-title")
        with VerticalScroll(id="migration-scroll"):
            yield Static(id="migration-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.mf.store_changed.subscribe(self, self._store_changed)
        self._store_changed(None)
        self.query_one("#migration-scroll").focus()

    def _store_changed(self, changed: Changed) -> None:
        if changed is not None and "migrations" not in changed:
            return
        self._text = detail_text(self.mf.store.migrations)
        self.query_one("#migration-detail", Static).update(self._text)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text.plain)
        self.notify("Copied (OSC 52).", timeout=2)
