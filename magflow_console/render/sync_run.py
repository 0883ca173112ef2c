"""One eMAG sync run in full (counts, timing, params and its ``errors`` JSON), as rich
text: the sync detail screen of the TUI and ``sync-logs --id`` print the same thing.

Rich only, no Textual.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from magflow_console.models import SyncRun
from magflow_console.render import fmt
from magflow_console.render.styles import style_for
from magflow_console.render.text import clean, one_line


def pretty_json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def run_text(run: SyncRun) -> Text:
    t = Text()

    def row(label: str, value: str, style: str = "") -> None:
        t.append(f"{label:<13}", style="dim")
        t.append(one_line(value) + "\n", style=style)

    row("run", run.id, "bold")
    row(
        "outcome",
        f"{run.outcome or '?'} (status {run.status})",
        style_for(run.outcome or run.status),
    )
    row("type", f"{run.sync_type} · {run.operation} · account {run.account_type}")
    row("started", fmt.full_stamp(run.started_at))
    row("completed", fmt.full_stamp(run.completed_at))
    row("duration", fmt.duration(run.duration_seconds))
    row("triggered by", run.triggered_by or "— (never written by MagFlow)")
    row("version", run.sync_version or "—")
    row(
        "items",
        f"total {run.total_items:,} · processed {run.processed_items:,} · created "
        f"{run.created_items:,} · updated {run.updated_items:,} · failed {run.failed_items:,}",
        "red" if run.failed_items else "",
    )
    row("errors", f"{run.error_count}", "red" if run.error_count else "")
    t.append("params\n", style="dim")
    t.append(clean(pretty_json(run.sync_params)) + "\n")
    t.append("errors\n", style="dim")
    t.append(clean(pretty_json(run.errors)), style="red" if run.errors else "")
    return t
