"""One eMAG sync run in full (counts, timing, params and its ``errors`` JSON), as rich
text: the sync detail screen of the TUI and ``sync-logs --id`` print the same thing.

What is shown of the JSON is bounded, whatever the database holds (a 6.5 MB ``errors``
array, a string of megabytes, nesting thousands deep): the first ``ERRORS_SHOWN``
entries, ``TEXT_MAX`` characters in all, ``VALUE_MAX`` per string and ``DEPTH_MAX``
levels, then one line saying what was left out and that ``sync-logs --id X --json`` has
all of it. Building it costs what is shown, not what is stored.

Rich only, no Textual.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from magflow_console.models import SyncRun
from magflow_console.render import fmt
from magflow_console.render.styles import style_for
from magflow_console.render.text import clean, one_line

#: entries of an ``errors`` array shown
ERRORS_SHOWN = 50
#: characters of one JSON value (errors, params) shown in all
TEXT_MAX = 16_000
#: characters of one string inside it
VALUE_MAX = 2_000
#: levels of nesting shown
DEPTH_MAX = 12
#: a string holding JSON is shown as that JSON when it is no longer than this
PARSE_MAX = 1 << 20


@dataclass(frozen=True)
class Shown:
    """What is shown of a JSON value: the text and, when some was left out, what."""

    text: str
    omitted: str = ""  # "39,950 of 40,000 entries not shown", "cut at ..."; "": all shown


class _Cuts:
    """What the pretty-printer left out besides whole entries."""

    def __init__(self) -> None:
        self.text = False  # a string was cut
        self.depth = False  # nesting was not followed

    def words(self) -> list[str]:
        return [
            *(["long texts cut"] if self.text else []),
            *([f"nesting below {DEPTH_MAX} levels not shown"] if self.depth else []),
        ]


def _string(value: str, cuts: _Cuts) -> str:
    if len(value) > VALUE_MAX:
        cuts.text = True
        cut = len(value) - VALUE_MAX
        value = f"{value[:VALUE_MAX]}… ({cut:,} more characters)"
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: Any, cuts: _Cuts) -> str:
    if isinstance(value, str):
        return _string(value, cuts)
    if value is None or isinstance(value, bool | int | float):
        text = json.dumps(value)  # NaN / Infinity as the words: this is for the eye
        return text if len(text) <= VALUE_MAX else _string(text, cuts)
    return _string(str(value), cuts)


def _pieces(value: Any, depth: int, cuts: _Cuts) -> Iterator[str]:
    """Pretty JSON (indent 2) as pieces, lazily: the caller stops when it has enough."""
    pad = "  " * (depth + 1)
    if isinstance(value, dict | list | tuple):
        if not value:
            yield "{}" if isinstance(value, dict) else "[]"
            return
        if depth >= DEPTH_MAX:
            cuts.depth = True
            yield '"… (nested deeper: not shown)"'
            return
        is_dict = isinstance(value, dict)
        yield "{\n" if is_dict else "[\n"
        items: Iterator[tuple[Any, Any]] = (
            iter(value.items()) if isinstance(value, dict) else ((None, v) for v in value)
        )
        for index, (key, item) in enumerate(items):
            yield ",\n" if index else ""
            yield pad
            if is_dict:
                yield _string(str(key), cuts) + ": "
            yield from _pieces(item, depth + 1, cuts)
        yield "\n" + "  " * depth + ("}" if is_dict else "]")
        return
    yield _scalar(value, cuts)


def _parsed(value: Any) -> Any:
    """A string that holds JSON (some writers store the error text JSON-encoded) as JSON."""
    if isinstance(value, str) and len(value) <= PARSE_MAX and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _take(pieces: Iterator[str], limit: int) -> tuple[str, bool]:
    """Up to ``limit`` characters of the pieces; whether something was left."""
    out: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit:
            out.append(piece[: limit - size] + "…")
            return "".join(out), True
        out.append(piece)
        size += len(piece)
    return "".join(out), False


def shown_json(value: Any, *, limit: int = TEXT_MAX) -> Shown:
    """What is shown of a JSON value (``errors``, ``sync_params``): pretty-printed (indent
    2), at most ``ERRORS_SHOWN`` entries of an array and ``limit`` characters."""
    value = _parsed(value)
    cuts = _Cuts()
    if not isinstance(value, list | tuple) or not value:
        text, cut = _take(_pieces(value, 0, cuts), limit)
        notes = [*([f"cut at {limit:,} characters"] if cut else []), *cuts.words()]
        return Shown(text, "; ".join(notes))
    out = ["["]
    budget = limit
    shown = 0
    cut = False
    for item in value[:ERRORS_SHOWN]:
        text, cut = _take(_pieces(item, 1, cuts), max(budget, 1))
        out.append(("," if shown else "") + "\n  " + text)
        budget -= len(text) + 4
        if cut:
            break
        shown += 1
        if budget <= 0:
            break
    rest = len(value) - shown
    notes = cuts.words()
    if rest:
        entries = f"{rest:,} of {len(value):,} entries not shown" + (" in full" if cut else "")
        notes.insert(0, entries)
    end = "\n]" if not rest else ("" if cut else ",\n  …")
    return Shown("".join(out) + end, "; ".join(notes))


def pretty_json(value: Any) -> str:
    """The whole value, pretty-printed (bounded like ``shown_json``; no note)."""
    return shown_json(value).text


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
    row("errors", f"{run.error_count:,}", "red" if run.error_count else "")
    for label, value, style in (
        ("params", run.sync_params, ""),
        ("errors", run.errors, "red" if run.errors else ""),
    ):
        shown = shown_json(value)
        t.append(f"{label}\n", style="dim")
        t.append(clean(shown.text), style=style)
        if shown.omitted:
            t.append(
                f"\n… {shown.omitted}; all of it: "
                f"magflow-console sync-logs --id {one_line(run.id)} --json",
                style="dim",
            )
        t.append("\n")
    t.rstrip()
    return t
