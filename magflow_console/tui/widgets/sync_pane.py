"""eMAG sync pane: per-account stats and anomalies, then the most recent runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget

from magflow_console.models import AccountStats, Finding, SyncRun, SyncSnapshot, worst_first
from magflow_console.render import fmt, styles
from magflow_console.render.text import one_line
from magflow_console.tui.widgets.pane import Pane, Summary
from magflow_console.tui.widgets.table import LiveTable, Row

#: the table has no cell padding: a right-aligned number gets one character less than its
#: column (``fmt.short_count``), so two numbers never run together ("10" and "40000" were
#: shown as "1040000")
RUN_COLUMNS: list[tuple[str, int | None]] = [
    ("started", 12),
    ("acct", 5),
    ("outcome", 9),
    ("items", 6),
    ("fail", 5),
    ("  type", 11),
    ("operation", 17),
]


def outcome_style(run: SyncRun) -> str:
    return styles.style_for(run.outcome or run.status)


def run_row(run: SyncRun, now: dt.datetime | None = None) -> Row:
    """One run; with ``now``, a start far ahead of it shows its year (a bad row)."""
    failed = run.failed_items or run.error_count
    return (
        run.id,
        [
            Text(fmt.stamp(run.started_at, now)),
            Text(one_line(run.account_type, 5), style="bold"),
            Text(one_line(run.outcome or run.status, 9), style=outcome_style(run)),
            Text(fmt.short_count(run.processed_items, 5), justify="right"),
            Text(fmt.short_count(failed, 4) if failed else "", style="red", justify="right"),
            Text("  " + one_line(run.sync_type, 8), style="dim"),
            Text(one_line(run.operation, 17), style="dim"),
        ],
    )


ACCOUNT_COLUMNS: list[tuple[str, int | None]] = [
    ("acct", 5),
    ("prod", 7),
    ("act", 7),
    ("last", 5),
    ("ok", 5),
    ("24h", 4),
    ("7d", 4),
]


def account_row(stats: AccountStats, now: dt.datetime) -> Row:
    """Products, last run (coloured by its status), last success, success rates."""
    return (
        stats.account,
        [
            Text(one_line(stats.account, 5), style="bold"),
            Text(fmt.short_count(stats.products_total, 6)),
            Text(fmt.short_count(stats.products_active, 6), style="dim"),
            Text(fmt.short_age(stats.last_run, now), style=styles.style_for(stats.last_run_status)),
            Text(
                fmt.short_age(stats.last_success, now),
                style="bold red" if stats.last_success is None else "",
            ),
            Text(
                fmt.percent(stats.success_rate_24h), style=styles.rate_style(stats.success_rate_24h)
            ),
            Text(
                fmt.percent(stats.success_rate_7d), style=styles.rate_style(stats.success_rate_7d)
            ),
        ],
    )


#: product counts older than this are named in the pane's subtitle (they are re-read every
#: minute: older means the re-read failed or is slow)
COUNTS_NOTED_AFTER = 120.0


def counts_read(snap: SyncSnapshot) -> str:
    """`` · counts 12:40``: the minute the product counts were read, once they are older
    than ``COUNTS_NOTED_AFTER``. Fresh counts are not named: naming the minute changed the
    subtitle every minute, and a border change repaints the whole pane (4 KB a minute at
    80x24, 19 KB at 200x50, measured by bench_tui). Their age is always in
    ``counts_age_seconds``, ``sync-logs`` and the sync runs screen."""
    age = snap.counts_age_seconds
    if age is None or age <= COUNTS_NOTED_AFTER:
        return ""
    read = snap.fetched_at - dt.timedelta(seconds=age)
    return f" · counts {fmt.hm(read)}"


#: lines the anomalies get in the pane (app.tcss: #sync-anomalies max-height)
ANOMALY_LINES = 3


def anomalies_text(snap: SyncSnapshot, extra: Sequence[Finding] = ()) -> Text:
    """Worst first; when they do not fit, the last line says how many more there are.
    ``extra``: findings about the accounts from elsewhere (their eMAG credentials and
    targets, from the containers' environment), listed with the anomalies."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not snap.accounts:
        text.append("no accounts (no products, no sync runs)", style="dim")
    ordered = worst_first([*extra, *snap.anomalies])
    shown = ordered if len(ordered) <= ANOMALY_LINES else ordered[: ANOMALY_LINES - 1]
    for finding in shown:
        if text.plain:
            text.append("\n")
        text.append("▲ ", style=styles.style_for(finding.severity))
        if finding.account:
            text.append(f"{one_line(finding.account)}: ", style="bold")
        text.append(
            one_line(finding.short or finding.message), style=styles.style_for(finding.severity)
        )
    if len(shown) < len(ordered):
        rest = ordered[len(shown) :]
        worst = rest[0].severity  # worst first
        text.append("\n▲ ", style=styles.style_for(worst))
        text.append(f"+{len(rest)} more (d: all findings)", style="dim")
    return text


class SyncPane(Pane):
    source = "sync"
    title = "eMAG sync"
    hotkey = "3"

    #: findings about the accounts that come from the containers (dashboard sets them)
    account_findings: tuple[Finding, ...] = ()
    #: what the runs table shows (``show_snapshot``)
    _runs_key: object = None

    def compose_body(self) -> ComposeResult:
        yield LiveTable(ACCOUNT_COLUMNS, id="sync-accounts", cursor=False)
        yield Summary(id="sync-anomalies")
        yield LiveTable(RUN_COLUMNS, id="sync-runs")

    @property
    def table(self) -> LiveTable:
        return self.query_one("#sync-runs", LiveTable)

    @property
    def focus_target(self) -> Widget:
        return self.table

    def show_snapshot(self, snapshot: SyncSnapshot, now: dt.datetime) -> None:
        accounts = self.query_one("#sync-accounts", LiveTable)
        accounts.set_rows([account_row(a, now) for a in snapshot.accounts.values()])
        anomalies = self.query_one(Summary)
        anomalies.set_text(anomalies_text(snapshot, self.account_findings))
        anomalies.display = bool(anomalies.plain)
        # the runs' rows are rebuilt only when a run changed, or a start moved from ahead
        # of the clock to behind it (``fmt.stamp``): 50 runs are 350 cells of cleaning and
        # formatting, the most of an idle refresh's work on the UI thread (bench/)
        runs_key = (
            snapshot.recent,
            tuple(fmt.far_ahead(r.started_at, now) for r in snapshot.recent),
        )
        if runs_key != self._runs_key:
            self._runs_key = runs_key
            self.table.set_rows([run_row(r, now) for r in snapshot.recent])
        self.set_subtitle(f"{len(snapshot.recent)} recent runs{counts_read(snapshot)}")

    def selected_run(self) -> str | None:
        return self.table.selected_key

    def selected_text(self) -> str:
        return self.table.selected_text()
