"""The audit log as rows, newest first: for the TUI's audit view and ``magflow-console audit``.

Entries are scrubbed again on the way out (a hand-edited or foreign line must not show a
secret either) and control characters are removed from every cell. No Textual import.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magflow_console.actions.audit import AuditLog, scrub_params
from magflow_console.render.text import one_line

COLUMNS = ("when", "who", "profile", "action", "outcome", "params", "detail")


@dataclass(frozen=True)
class AuditRow:
    when: str  # "2025-10-21 20:46:52Z"
    who: str
    profile: str
    action: str
    outcome: str
    params: str  # "email=a@b.c full_name='X'"
    detail: str
    entry: dict[str, Any]  # the scrubbed entry (for --json)

    def cells(self) -> tuple[str, ...]:
        return (
            self.when,
            self.who,
            self.profile,
            self.action,
            self.outcome,
            self.params,
            self.detail,
        )


def _when(value: Any) -> str:
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return one_line(value)
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%SZ")


def format_params(params: Any) -> str:
    if not isinstance(params, dict):
        return one_line(params)
    parts = []
    for key, value in params.items():
        shown = json.dumps(value, default=str) if not isinstance(value, str) else value
        if isinstance(value, str) and (" " in value or value == ""):
            shown = repr(value)
        parts.append(f"{one_line(key)}={one_line(shown)}")
    return " ".join(parts)


def to_row(entry: dict[str, Any]) -> AuditRow:
    params = entry.get("params")
    safe_params = scrub_params(params) if isinstance(params, dict) else {}
    safe = {**entry, "params": safe_params}
    return AuditRow(
        when=_when(entry.get("at")),
        who=one_line(entry.get("who")),
        profile=one_line(entry.get("profile")),
        action=one_line(entry.get("action")),
        outcome=one_line(entry.get("outcome")),
        params=format_params(safe_params),
        detail=one_line(entry.get("detail")),
        entry=safe,
    )


class AuditRows(list[AuditRow]):
    """Rows newest first, and what could not be shown: ``skipped`` lines of the file
    (not UTF-8, not JSON), or ``error``, why the file could not be read at all."""

    def __init__(self, rows: list[AuditRow], skipped: int = 0, error: str | None = None) -> None:
        super().__init__(rows)
        self.skipped = skipped
        self.error = error

    def note(self) -> str | None:
        """One line about what is missing, if anything is."""
        if self.error:
            return one_line(self.error)
        if self.skipped:
            s = "s" if self.skipped != 1 else ""
            return f"{self.skipped} unreadable line{s} skipped (not UTF-8 or not a JSON entry)"
        return None


def audit_rows(log: AuditLog | Path, limit: int = 50) -> AuditRows:
    """The newest ``limit`` entries as rows, newest first (empty when there is no log);
    unreadable lines are skipped and counted, never an exception."""
    audit = log if isinstance(log, AuditLog) else AuditLog(Path(log))
    scan = audit.scan(max(0, int(limit)))
    rows = [to_row(e) for e in reversed(scan.entries)]
    return AuditRows(rows, scan.skipped, scan.error)


def format_table(rows: AuditRows, width: int = 160) -> list[str]:
    """Plain-text lines with aligned columns; params and detail share the rest of ``width``;
    then what could not be shown (``AuditRows.note``)."""
    note = rows.note()
    tail = [f"({note})"] if note else []
    if not rows:
        return ["(no audit entries)", *tail]
    head = COLUMNS[:5]
    widths = [max(len(h), *(len(r.cells()[i]) for r in rows)) for i, h in enumerate(head)]
    out = ["  ".join(h.upper().ljust(w) for h, w in zip(head, widths, strict=True)) + "  DETAIL"]
    rest = max(20, width - sum(widths) - 2 * len(widths))
    for r in rows:
        cells = r.cells()
        left = "  ".join(c.ljust(w) for c, w in zip(cells[:5], widths, strict=True))
        shown = r.detail + (f" [{r.params}]" if r.params else "")
        out.append(f"{left}  {shown[:rest]}")
    return [*out, *tail]
