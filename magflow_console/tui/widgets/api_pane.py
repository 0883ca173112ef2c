"""API pane: every health check, healthy or not, with its latency and why."""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from magflow_console.models import ApiCheck, ApiSnapshot
from magflow_console.render import fmt
from magflow_console.render.text import one_line
from magflow_console.tui.widgets.pane import TablePane
from magflow_console.tui.widgets.table import Row

COLUMNS: list[tuple[str, int | None]] = [
    ("check", 20),
    ("", 5),
    ("ms", 6),
    ("detail", None),
]


def check_row(check: ApiCheck) -> Row:
    if check.healthy:
        state = Text("ok", style="green")
    else:
        state = Text(
            "FAIL" if check.critical else "warn", style="bold red" if check.critical else "yellow"
        )
    code = f" {check.status_code}" if check.status_code not in (None, 200) else ""
    detail = check.detail or check.status or ""
    return (
        check.path,
        [
            Text(one_line(check.path, 20)),
            state,
            Text(fmt.coarse_latency(check.latency_ms), justify="right", style="dim"),
            Text(
                " " + one_line(f"{code.strip()} {detail}".strip(), 200),
                style="" if check.healthy else "red",
            ),
        ],
    )


class ApiPane(TablePane):
    source = "api"
    title = "API"
    hotkey = "4"

    columns = COLUMNS
    table_id = "api-table"

    def show_snapshot(self, snapshot: ApiSnapshot, now: dt.datetime) -> None:
        self.table.set_rows([check_row(c) for c in snapshot.checks])
        self.set_subtitle(one_line(snapshot.base_url or "", 30))
