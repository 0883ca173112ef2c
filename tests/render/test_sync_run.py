"""One sync run in full: what is shown of its ``errors`` is bounded whatever the database
holds (6.5 MB of entries, a 5 MB string, nesting thousands deep, markup, escapes), and
says what was left out and where all of it is. The dashboard's run columns never run
together."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from magflow_console.models import SyncRun
from magflow_console.render import sync_run
from magflow_console.render.sync_run import run_text
from magflow_console.tui.widgets.sync_pane import RUN_COLUMNS, run_row

RUN_ID = "0b6f3c2e-5a1d-4c8e-9f00-1234567890ab"
#: what a detail may show of one JSON value (render.sync_run.TEXT_MAX, with room)
SHOWN_MAX = 18_000


def page_errors(n: int) -> list[dict[str, str]]:
    """What MagFlow writes: one {"error", "timestamp"} per failed page."""
    return [
        {"error": f"eMAG API error 503 on page {i}: Service Unavailable " + "x" * 110,
         "timestamp": "2025-10-21T10:00:00.123456"}
        for i in range(n)
    ]  # fmt: skip


def run(errors: Any = None, **kw: Any) -> SyncRun:
    values: dict[str, Any] = {
        "id": RUN_ID, "sync_type": "products", "account_type": "main",
        "operation": "full_sync", "status": "completed",
        "started_at": dt.datetime(2025, 10, 21, 10, tzinfo=dt.UTC), "completed_at": None,
        "duration_seconds": 12.5, "total_items": 10, "processed_items": 10,
        "created_items": 0, "updated_items": 10, "failed_items": 0, "error_count": 1,
        "errors": errors, "outcome": "partial",
    }  # fmt: skip
    values.update(kw)
    return SyncRun(**values)


#: the note ``run_text`` ends a cut value with
MORE = f"; all of it: magflow-console sync-logs --id {RUN_ID} --json"


def test_six_and_a_half_megabytes_of_errors_show_fifty_and_say_the_rest() -> None:
    errors = page_errors(40_000)
    assert len(json.dumps(errors)) > 6_500_000
    text = run_text(run(errors)).plain
    assert len(text) < SHOWN_MAX
    assert "page 0:" in text and "page 49:" in text and "page 50:" not in text
    assert f"… 39,950 of 40,000 entries not shown{MORE}" in text


def test_a_long_entry_is_cut_by_characters_and_counted() -> None:
    errors = [{"error": "y" * 1500} for _ in range(40)]
    shown = sync_run.shown_json(errors)
    assert len(shown.text) <= sync_run.TEXT_MAX + 10
    assert shown.omitted.startswith("30 of 40 entries not shown in full") or "of 40" in (
        shown.omitted
    )


@pytest.mark.parametrize(
    ("errors", "note"),
    [
        ("e" * 5_000_000, "long texts cut"),
        ({"error": "z" * 3_000_000}, "long texts cut"),
        ({f"k{i}": i for i in range(100_000)}, "cut at 16,000 characters"),
        (None, ""),
        ([], ""),
        ("boom", ""),
        ({"error": "boom"}, ""),
    ],
)
def test_every_shape_of_errors_is_bounded(errors: Any, note: str) -> None:
    shown = sync_run.shown_json(errors)
    assert len(shown.text) <= sync_run.TEXT_MAX + sync_run.VALUE_MAX + 100
    assert shown.omitted == note
    text = run_text(run(errors)).plain
    assert (MORE in text) == bool(note)


def test_nesting_thousands_deep_is_cut_at_the_depth_shown() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    shown = sync_run.shown_json(deep)
    assert shown.text.count("[") == sync_run.DEPTH_MAX  # the levels shown, then a note
    assert "nested deeper" in shown.text and "nesting below" in shown.omitted
    assert "nested deeper" in run_text(run({"errors": deep})).plain


def test_a_string_holding_json_is_shown_as_json() -> None:
    assert (
        sync_run.shown_json(json.dumps([{"error": "x"}])).text == '[\n  {\n    "error": "x"\n  }\n]'
    )
    assert sync_run.shown_json("[not json").text == '"[not json"'
    deep = "[" * 5000 + "]" * 5000  # too deep for Python's parser: shown as the text
    assert sync_run.shown_json(deep).text.startswith('"[[[[')


def test_markup_escapes_and_bidi_controls_stay_inert() -> None:
    hostile = [{"error": "[bold red]boom[/] \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202eevil"}]
    text = run_text(run(hostile, triggered_by="[link=x]t[/link]\x1b[5m"))
    assert isinstance(text, Text) and "[bold red]boom[/]" in text.plain
    assert "[link=x]t[/link]" in text.plain
    assert not any("link" in str(span.style) for span in text.spans)
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in text.plain


# --------------------------------------------------------------------------- dashboard


NUMBER_COLUMNS = {"items": 3, "fail": 4}  # column -> index in run_row's cells


@given(
    processed=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    failed=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_number_cells_leave_a_space_in_their_column(processed: int, failed: int) -> None:
    _, cells = run_row(run(processed_items=processed, failed_items=failed))
    widths = dict(RUN_COLUMNS)
    for column, index in NUMBER_COLUMNS.items():
        width = widths[column]
        assert width is not None and len(cells[index].plain) < width, (column, cells[index])


def test_ten_items_and_forty_thousand_failed_do_not_run_together() -> None:
    _, cells = run_row(run(processed_items=10, failed_items=40_000))
    widths = [w for _, w in RUN_COLUMNS]
    line = "".join(
        c.plain.rjust(w or 0) if c.justify == "right" else c.plain.ljust(w or 0)
        for c, w in zip(cells, widths, strict=True)
    )
    assert "    10  40k" in line and "104000" not in line
