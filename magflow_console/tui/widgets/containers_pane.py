"""Containers pane: one row per container (service, state, health, restarts, uptime);
its subtitle says when the Docker event stream is lost (the rows are then only polled)."""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from magflow_console.models import ContainerInfo, ContainersSnapshot
from magflow_console.render import fmt, styles
from magflow_console.render.text import one_line
from magflow_console.tui.widgets.pane import TablePane
from magflow_console.tui.widgets.table import Row

COLUMNS: list[tuple[str, int | None]] = [
    ("svc", 7),
    ("state", 11),
    ("health", 10),
    ("rst", 4),
    ("up", 5),
]
MISSING_PREFIX = "missing:"


def container_row(c: ContainerInfo, now: dt.datetime) -> Row:
    service = one_line(c.service or c.name, 6)
    health = c.health or "–"
    restarts = Text(str(c.restart_count), style="bold red" if c.restart_count >= 3 else "")
    if c.state == "running" and c.started_at is not None:
        up = Text(fmt.age(c.started_at, now))
    else:
        up = Text("down", style="red")
    return (
        c.name,
        [
            Text(service, style="bold"),
            Text(one_line(c.state), style=styles.style_for(c.state)),
            Text(one_line(health), style=styles.style_for(c.health) or "dim"),
            restarts,
            up,
        ],
    )


def container_rows(snap: ContainersSnapshot, now: dt.datetime) -> list[Row]:
    rows = [container_row(c, now) for c in snap.items]
    for service in snap.missing:
        rows.append(
            (
                MISSING_PREFIX + service,
                [
                    Text(one_line(service, 12), style="bold"),
                    Text("missing", style="bold red"),
                    Text("–", style="dim"),
                    Text(""),
                    Text(""),
                ],
            )
        )
    return rows


class ContainersPane(TablePane):
    source = "containers"
    title = "Containers"
    hotkey = "1"

    columns = COLUMNS
    table_id = "containers-table"
    #: since when the Docker event stream is lost (None: open), set before ``show``
    events_lost_at: dt.datetime | None = None

    def show_snapshot(self, snapshot: ContainersSnapshot, now: dt.datetime) -> None:
        self.table.set_rows(container_rows(snapshot, now))
        parts = []
        if snapshot.items:
            variant = f" · {snapshot.stack_variant} stack" if snapshot.stack_variant else ""
            parts.append(f"{len(snapshot.items)} containers{variant}")
        if self.events_lost_at is not None:
            parts.append(f"no events since {fmt.hms(self.events_lost_at)}")
        self.set_subtitle(" · ".join(parts))

    def selected_name(self) -> str | None:
        key = self.table.selected_key
        if key is None or key.startswith(MISSING_PREFIX):
            return None
        return key
