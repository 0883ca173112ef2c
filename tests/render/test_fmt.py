"""Pure formatting helpers of the panes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magflow_console.models import Finding, MigrationsSnapshot
from magflow_console.render import fmt
from magflow_console.tui.widgets.migrations_pane import migrations_text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"), (0, "0s"), (59.9, "59s"), (60, "1m"), (99 * 60 + 59, "99m"),
        (100 * 60, "1.6h"), (9.99 * 3600, "9.9h"), (10 * 3600, "10h"), (86399, "23h"),
        (86400, "1.0d"), (9.99 * 86400, "9.9d"), (10 * 86400, "10d"), (1e9, "999d"),
    ],
)  # fmt: skip
def test_short_span_examples(seconds: float | None, shown: str) -> None:
    assert fmt.short_span(seconds) == shown


@given(st.floats(min_value=-1e3, max_value=1e12, allow_nan=False))
def test_short_span_fits_four_columns_and_never_rounds_up(seconds: float) -> None:
    shown = fmt.short_span(seconds)
    assert len(shown) <= 4
    value, unit = float(shown[:-1]), shown[-1]
    size = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert value * size <= max(seconds, 0.0) + 1e-6 or shown == "999d"


def test_short_age_of_a_missing_time_is_never() -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    assert fmt.short_age(None, now) == "never"
    assert fmt.short_age(now - dt.timedelta(hours=1, minutes=1), now) == "61m"


def test_migrations_pane_folds_repeated_info_problems_and_uses_short_forms() -> None:
    docstrings = [
        Finding("docstring_mismatch", "info", f"long sentence {i}", short=f"doc {i}")
        for i in range(3)
    ]
    pending = Finding("pending_migrations", "warning", "a long sentence", short="1 pending")
    lone = Finding("multiple_roots", "info", "the whole sentence")
    snap = MigrationsSnapshot(
        state="ok", error=None, fetched_at=dt.datetime.now(dt.UTC), duration_ms=1.0,
        problems=(pending, *docstrings, lone),
    )  # fmt: skip
    lines = migrations_text(snap).plain.splitlines()
    problems = [line for line in lines if line.startswith("● ")]
    assert problems == ["● 1 pending", "● docstring mismatch ×3", "● the whole sentence"]


def test_sync_anomalies_worst_first_and_the_overflow_is_counted() -> None:
    from magflow_console.models import AccountStats, SyncSnapshot
    from magflow_console.tui.widgets.sync_pane import ANOMALY_LINES, anomalies_text

    found = (
        Finding("sync_failed", "warning", "x", account="main", short="1 run(s) failed"),
        Finding("sync_in_progress", "info", "y", short="sync probably running"),
        Finding("sync_completed_empty", "critical", "z", account="fbe", short="15 with 0 items"),
        Finding("sync_no_recent_success", "warning", "w", account="fbe", short="no success"),
    )
    snap = SyncSnapshot(
        state="ok", error=None, fetched_at=dt.datetime.now(dt.UTC), duration_ms=1.0,
        accounts={"main": AccountStats("main")}, anomalies=found,
    )  # fmt: skip
    lines = anomalies_text(snap).plain.splitlines()
    assert len(lines) == ANOMALY_LINES == 3
    assert lines[0] == "▲ fbe: 15 with 0 items"  # the critical one first
    assert lines[1].startswith("▲ main: 1 run(s) failed") or lines[1] == "▲ fbe: no success"
    assert lines[2] == "▲ +2 more (d: all findings)"
    three = anomalies_text(dataclasses.replace(snap, anomalies=found[:3])).plain
    assert "more" not in three and len(three.splitlines()) == 3  # all fit: no overflow line


def test_sync_pane_lists_the_accounts_environment_findings_first_when_worse() -> None:
    from magflow_console.models import AccountStats, SyncSnapshot
    from magflow_console.tui.widgets.sync_pane import anomalies_text

    empty = Finding("sync_completed_empty", "critical", "z", account="fbe", short="15 with 0 items")
    split = Finding("emag_target_split", "warning", "s", account="main", short="orders sandbox")
    creds = Finding(
        "emag_credentials_missing", "critical", "c", account="fbe", short="eMAG credentials not set"
    )
    snap = SyncSnapshot(
        state="ok", error=None, fetched_at=dt.datetime.now(dt.UTC), duration_ms=1.0,
        accounts={"fbe": AccountStats("fbe")}, anomalies=(empty,),
    )  # fmt: skip
    lines = anomalies_text(snap, (split, creds)).plain.splitlines()
    # the cause (credentials) and the symptom (0 items) side by side, worst first
    assert lines == [
        "▲ fbe: eMAG credentials not set",
        "▲ fbe: 15 with 0 items",
        "▲ main: orders sandbox",
    ]


def test_header_says_when_the_data_was_read_not_that_the_stack_was_good() -> None:
    from magflow_console.models import Verdict
    from magflow_console.tui.widgets.header import header_text

    at = dt.datetime(2026, 11, 22, 2, 7, 32, tzinfo=dt.UTC)

    def header(last: dt.datetime | None, all_read: bool) -> str:
        return header_text(
            profile="prod", protected=False, read_only=False, verdict=Verdict.CRITICAL,
            last_good=last, paused=False, findings=11, all_read=all_read,
        ).plain  # fmt: skip

    assert header(at, True).endswith("│ read 02:07 UTC")
    assert header(at, False).endswith("│ partly stale since 02:07 UTC")
    assert header(None, False).endswith("│ not every source readable")
    assert "last good" not in header(at, True)  # read next to CRITICAL, it misled
    assert len(header(at, False)) <= 80


def test_cached_product_counts_say_when_they_were_read() -> None:
    """Figure 5 of the speed issue: counts cached for a minute show their age in seconds
    in ``sync-logs``, and in the pane (to the minute) once they are older than two minutes:
    fresh, they would repaint the whole pane every minute for nothing."""
    import io

    from rich.console import Console

    from magflow_console.cli.tables import print_sync
    from magflow_console.models import SyncSnapshot
    from magflow_console.tui.widgets.sync_pane import counts_read

    at = dt.datetime(2026, 12, 4, 12, 40, 30, tzinfo=dt.UTC)
    snap = SyncSnapshot("ok", None, at, 1.0, counts_age_seconds=45.0)
    assert counts_read(snap) == ""  # fresh: re-read every minute
    assert counts_read(SyncSnapshot("ok", None, at, 1.0, counts_age_seconds=0.0)) == ""
    assert counts_read(SyncSnapshot("ok", None, at, 1.0, counts_age_seconds=125.0)) == (
        " · counts 12:38"
    )
    assert counts_read(SyncSnapshot("error", "down", at, 1.0)) == ""
    out = io.StringIO()
    print_sync(snap, Console(file=out, width=120))
    assert "eMAG accounts (product counts read 45s ago)" in out.getvalue()
