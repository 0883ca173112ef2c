"""The human output of the headless commands: compact rich tables that fit 80 columns.

Text that comes from the stack (names, errors, log lines) is always wrapped in
``rich.text.Text`` (``render.styles.literal``: never markup, escape sequences removed),
styled with the states' one style each (``render.styles``), worded with ``render.fmt``.
Piped output carries no trailing spaces (tickets, diffs).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from magflow_console import config as cfg
from magflow_console.models import (
    ApiSnapshot,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    StatusReport,
    SyncRun,
    SyncSnapshot,
    Verdict,
    utcnow,
    worst_first,
)
from magflow_console.render import fmt
from magflow_console.render.styles import literal, style_for, verdict_style
from magflow_console.render.text import clean

#: below this many columns the tables drop their less telling columns
NARROW_WIDTH = 100
#: runs shown by `status` (all of them: `sync-logs`)
STATUS_RUNS = 5
TEXT_COLS = frozenset({"id", "started", "account", "type", "operation", "status", "outcome"})
#: run-id characters the tables show (enough for `sync-logs --id`, which takes a prefix)
ID_CHARS = 8
#: where the details of a folded info finding are
INFO_DETAIL = {"docstring_mismatch": "magflow-console migrations"}


def lit(value: object, style: str = "") -> Text:
    return literal(value, style)


class _NoTrailingSpaces(io.StringIO):
    """A pipe's writer: each line without the spaces rich pads table rows with."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self.target.write(line.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.target.write(self._pending.rstrip())
            self._pending = ""
        self.target.flush()


def console() -> Console:
    """A TTY gets its real width; a pipe gets $COLUMNS or 160 (no wrapping into mush) and
    lines without trailing spaces."""
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False)
    width = int(os.environ.get("COLUMNS", "0") or 0) or 160
    return Console(
        highlight=False, soft_wrap=False, width=width, file=_NoTrailingSpaces(sys.stdout)
    )


# --------------------------------------------------------------------------- info


def print_info(loaded: cfg.LoadedConfig) -> None:
    con = console()
    con.print(Text("Config files searched:", style="bold"))
    for how, path, exists in loaded.searched:
        con.print(Text(f"  {path}  ({how}, {'found' if exists else 'not found'})"))
    con.print(Text.assemble(("Active profile: ", "bold"), loaded.profile_name))
    profiles = ", ".join(sorted(loaded.settings.profiles)) or "(none defined: built-in defaults)"
    con.print(Text.assemble(("Profiles: ", "bold"), profiles))
    con.print(Text.assemble(("Audit log: ", "bold"), str(loaded.audit_log)))
    table = Table(title="Effective settings", title_justify="left", expand=False)
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")
    for key, value, source in cfg.effective_items(loaded):
        table.add_row(key, lit(value), source)
    con.print(table)


# --------------------------------------------------------------------------- sections


def print_section_error(con: Console, title: str, snap: Any) -> bool:
    if getattr(snap, "absent", False):  # a part the demo does not have: information
        con.print(Text.assemble((f"{title}: ", "bold"), ("INFO ", "dim"), lit(snap.error)))
        return True
    if snap.state == "error":
        con.print(
            Text.assemble((f"{title}: ", "bold"), ("ERROR ", style_for("error")), lit(snap.error))
        )
        return True
    if snap.state == "stale":
        con.print(
            Text.assemble((f"{title}: ", "bold"), ("STALE ", style_for("stale")), lit(snap.error))
        )
    return False


def _narrow(con: Console) -> bool:
    """An 80-column terminal (SSH at 3 a.m.): fewer, shorter columns rather than mush."""
    return con.width < NARROW_WIDTH


def print_containers(snap: ContainersSnapshot, con: Console | None = None) -> None:
    con = con or console()
    if print_section_error(con, "Containers", snap):
        return
    now = utcnow()
    wide = not _narrow(con)
    table = Table(title=f"Containers ({clean(snap.docker_host)})", title_justify="left")
    cols = ["service", "container", "state", "health", "restarts", "up since", "image"]
    if not wide:  # the service names the container; `containers --json` has the rest
        cols = [c for c in cols if c not in ("container", "image")]
    for col in cols:
        table.add_column(col, no_wrap=col != "image")
    for c in snap.items:
        health_style = style_for(c.health) or "dim"
        state_style = style_for(c.state)
        cells: dict[str, Text | str] = {
            "service": lit(c.service or c.name),
            "container": lit(c.name),
            "state": lit(c.state, state_style),
            "health": lit(c.health or "-", health_style),
            "restarts": lit(c.restart_count, "red" if c.restart_count else ""),
            "up since": fmt.ago(c.started_at, now) if c.state == "running" else "-",
            "image": lit(c.image),
        }
        table.add_row(*(cells[col] for col in cols))
    for svc in snap.missing:
        gone: dict[str, Text | str] = {"service": lit(svc), "state": Text("missing", "red")}
        table.add_row(*(gone.get(col, Text("-")) for col in cols))
    con.print(table)


def print_emag_accounts(snap: ContainersSnapshot, con: Console | None = None) -> None:
    """Per eMAG account, as the app and worker settings configure it (the environment,
    then /app/.env, sheet §11.5): credentials set or which names are unset, and where
    product and order syncs go; the health endpoint, and each path, where they differ.
    Names only, never a value. One row per account when app and worker agree, one per
    container otherwise."""
    from magflow_console.diagnose import emag_paths

    con = con or console()
    rows = emag_paths.accounts(snap) if snap.state != "error" else []
    if not rows:
        return
    # an environment an unread /app/.env may override is said on the account rows
    reasons = sorted({emag_paths.environment_words(r, unknown_too=False) for r in rows})
    # whether /app/.env was read, per container ("" for a hand-made container)
    file_words = {"read": "/app/.env read", "absent": "no /app/.env"}
    not_read = ("unreadable", "not_read")
    dotenv: dict[str, list[str]] = {}
    for r in rows:
        state = (
            "/app/.env not read"
            if r.dotenv_state in not_read
            else file_words.get(r.dotenv_state or "", "")
        )
        if state and r.container not in dotenv.setdefault(state, []):
            dotenv[state].append(r.container)
    files = [s if len(dotenv) == 1 else f"{s} in {', '.join(c)}" for s, c in dotenv.items()]
    names = ", ".join(dict.fromkeys(r.container for r in rows))
    head = "; ".join([names, *reasons, *files])
    con.print(Text.assemble(("eMAG settings", "bold"), lit(f" ({head})")))
    shown: dict[tuple[str, str, str, bool, tuple[str, ...]], list[str]] = {}
    for r in rows:
        where = f"products {r.products_target}, orders {r.orders_target}"
        differ = r.products_target != r.orders_target
        words = emag_paths.credentials_word(r)
        key = (r.account, words, where, differ, tuple(emag_paths.account_notes(r)))
        shown.setdefault(key, []).append(r.container)
    split = len(shown) > len({k[0] for k in shown})
    width = max(len(k[1]) for k in shown)
    for key, containers in shown.items():
        account, words, where, differ, notes = key
        creds = lit(words.ljust(width), "green" if words == "credentials set" else "red")
        shown_where = lit(f"  {where}", "yellow" if differ else "")
        who = lit(f" ({', '.join(containers)})", "dim") if split else Text("")
        con.print(Text.assemble(lit(f"  {account:<5} "), creds, shown_where, who))
        for note in notes:
            con.print(lit(f"        {note}", "dim"))
    unread = {r.container: r.unread() for r in rows if r.dotenv_state in not_read}
    for container, why in unread.items():
        con.print(lit(f"  {container}: {why}", "dim"))


def print_database(snap: DatabaseSnapshot, con: Console | None = None) -> None:
    con = con or console()
    if print_section_error(con, "Database", snap):
        return
    con.print(
        Text.assemble(
            ("Database: ", "bold"),
            lit(f"PostgreSQL {snap.server_version}, {snap.latency_ms or 0:.1f} ms, "),
            lit(f"schema {snap.schema}: {len(snap.tables)} tables, {len(snap.enums)} enum types"),
        )
    )
    for tx in snap.long_transactions:
        con.print(
            Text.assemble(
                ("  long transaction: ", "yellow"),
                lit(f"pid {tx.pid} {tx.application_name} {tx.client_addr or ''} "),
                lit(f"open {tx.xact_age_seconds:.0f}s"),
                (" (sync tables)" if tx.touches_sync_tables else "", "yellow"),
            )
        )


def print_migrations(
    snap: MigrationsSnapshot, con: Console | None = None, *, findings: bool = True
) -> None:
    con = con or console()
    if print_section_error(con, "Migrations", snap) and not snap.revisions:
        return
    current = ", ".join(snap.current) or ("(not checked)" if not snap.db_checked else "(none)")
    con.print(
        Text.assemble(
            ("Migrations: ", "bold"),
            lit(f"current {current}; heads {', '.join(snap.heads) or '-'}; "),
            lit(f"{len(snap.pending)} pending; version table "),
            lit(", ".join(snap.version_tables) or ("-" if snap.db_checked else "(not checked)")),
        )
    )
    con.print(lit(f"  scripts: {snap.scripts_location} ({len(snap.revisions)} revisions)", "dim"))
    if snap.pending:
        con.print(lit("  pending (apply order): " + " -> ".join(snap.pending)))
    for h in snap.lock_holders:
        who = f"pid {h.pid} {h.application_name} {h.client_addr or ''}".strip()
        con.print(lit(f"  migration lock {'held' if h.granted else 'awaited'} by {who}", "yellow"))
    if findings:
        print_findings(con, snap.problems)


def _run_state(r: SyncRun) -> Text:
    extra = f" ({r.outcome})" if r.outcome and r.outcome not in ("success", r.status) else ""
    return lit(f"{r.status}{extra}", style_for(r.outcome or r.status))


def _secs(value: float | None) -> str:
    """Whole seconds; ``-`` unknown (also NaN, ±Infinity); an absurd one in short."""
    seconds = fmt.number(value)
    if seconds is None:
        return "-"
    return f"{seconds:.0f}" if abs(seconds) < 1e9 else f"{seconds:.1e}"


def print_sync(
    snap: SyncSnapshot,
    con: Console | None = None,
    *,
    findings: bool = True,
    max_runs: int | None = None,
) -> None:
    """Accounts, then the recent runs (all of them, or the newest ``max_runs``)."""
    con = con or console()
    if print_section_error(con, "eMAG sync", snap):
        return
    now = utcnow()
    narrow = _narrow(con)
    title = "eMAG accounts"
    if snap.counts_age_seconds:
        title += f" (product counts read {fmt.span(snap.counts_age_seconds)} ago)"
    table = Table(title=title, title_justify="left")
    acols = ["account", "products", "active", "inactive", "offers", "last run", "last ok",
             "24h", "7d"]  # fmt: skip
    if narrow:  # inactive = products - active
        acols.remove("inactive")
    for col in acols:
        table.add_column(col, justify="left" if col == "account" else "right", no_wrap=True)
    for acct in snap.accounts.values():
        last_style = style_for(acct.last_run_status)
        acells: dict[str, Text | str] = {
            "account": lit(acct.account),
            "products": f"{acct.products_total:,}",
            "active": f"{acct.products_active:,}",
            "inactive": f"{acct.products_inactive:,}",
            "offers": f"{acct.offers:,}",
            "last run": Text(fmt.ago(acct.last_run, now), last_style),
            "last ok": fmt.ago(acct.last_success, now),
            "24h": fmt.percent(acct.success_rate_24h),
            "7d": fmt.percent(acct.success_rate_7d),
        }
        table.add_row(*(acells[col] for col in acols))
    con.print(table)
    shown = snap.recent if max_runs is None else snap.recent[:max_runs]
    title = "Recent runs"
    if len(shown) < len(snap.recent):
        title += f" (newest {len(shown)} of {len(snap.recent)}; all: magflow-console sync-logs)"
    runs = Table(title=title, title_justify="left")
    cols = ["id", "started", "account", "type", "operation", "status", "items", "created",
            "updated", "failed", "errors", "secs"]  # fmt: skip
    if narrow:  # the columns that say whether a run worked; `sync-logs --json` has all
        cols = ["id", "started", "account", "outcome", "items", "failed", "errors"]
    for col in cols:
        runs.add_column(col, no_wrap=True, justify="left" if col in TEXT_COLS else "right")
    for r in shown:
        cells: dict[str, Text | str] = {
            "id": lit(r.id[:ID_CHARS], "dim"),
            "started": r.started_at.strftime("%m-%d %H:%M") if r.started_at else "-",
            "account": lit(r.account_type),
            "type": lit(r.sync_type),
            "operation": lit(r.operation),
            "status": _run_state(r),
            "outcome": lit(r.outcome or r.status, style_for(r.outcome or r.status)),
            "items": str(r.total_items),
            "created": str(r.created_items),
            "updated": str(r.updated_items),
            "failed": str(r.failed_items),
            "errors": str(r.error_count),
            "secs": _secs(r.duration_seconds),
        }
        runs.add_row(*(cells[col] for col in cols))
    con.print(runs)
    con.print(
        Text(
            "Order syncs write no sync-log rows: their health per account is in "
            "magflow-console celery.",
            style="dim",
        )
    )
    if findings:
        print_findings(con, snap.anomalies)


def print_celery(report: StatusReport, con: Console) -> None:
    """The Celery pane's four lines (worker, backlog, beat, Redis); the orders per
    account; all of it: ``magflow-console celery``."""
    from magflow_console.render.celery import orders_text, pane_text

    if print_section_error(con, "Celery", report.celery):
        return
    con.print(Text("Celery (all of it: magflow-console celery)", style="bold"))
    con.print(pane_text(report.celery, report.redis, utcnow()))
    if report.orders.state != "error":
        con.print(Text("Order syncs", style="bold"))
        con.print(orders_text(report.orders, utcnow()))


def print_api(snap: ApiSnapshot, con: Console | None = None) -> None:
    con = con or console()
    if print_section_error(con, "API", snap):
        return
    table = Table(title=f"API ({clean(snap.base_url)})", title_justify="left")
    for col in ("check", "http", "healthy", "latency", "detail"):
        table.add_column(col)
    for c in snap.checks:
        table.add_row(
            lit(c.path),
            str(c.status_code or "-"),
            Text("yes", "green") if c.healthy else Text("no", "red" if c.critical else "yellow"),
            f"{c.latency_ms:.0f} ms" if c.latency_ms is not None else "-",
            lit(c.detail or c.status or ""),
        )
    con.print(table)


def print_findings(
    con: Console, findings: tuple[Finding, ...] | list[Finding], *, fold_info: bool = False
) -> None:
    """Most severe first; wrapped lines stay under their message (hanging indent).

    ``fold_info``: info findings that repeat a code become one line per code (the overview
    of ``status``; ``migrations`` and ``sync-logs`` show each one); a lone one is shown."""
    ordered = worst_first(findings)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    per_code: dict[str, int] = {}
    for f in ordered:
        per_code[f.code] = per_code.get(f.code, 0) + 1
    folded: dict[str, int] = {}
    for f in ordered:
        if fold_info and f.severity == "info" and per_code[f.code] > 1:
            folded[f.code] = folded.get(f.code, 0) + 1  # one line for the lot
            continue
        grid.add_row(
            Text(f"{f.severity.upper():8}", style_for(f.severity)),
            Text.assemble((f"{f.code}: ", "bold"), lit(f.message)),
        )
    for code, count in folded.items():
        where = INFO_DETAIL.get(code, "magflow-console status --json")
        grid.add_row(
            Text(f"{'INFO':8}", style_for("info")),
            Text.assemble((f"{code}: ", "bold"), lit(f"{count} finding(s); details: {where}")),
        )
    if grid.row_count:
        con.print(grid)


def _verdict_line(con: Console, report: StatusReport, verdict: Verdict) -> None:
    con.print(
        Text.assemble(
            ("MagFlow ", "bold"),
            (f"[{report.profile}] ", "bold"),
            (verdict.label.upper(), verdict_style(verdict.label)),
            (f"  {report.generated_at:%Y-%m-%d %H:%M:%S} UTC", "dim"),
        )
    )


def print_advice(report: StatusReport, extra: Sequence[Finding] = ()) -> None:
    """``doctor``: the verdict, then each finding worst first with its next steps."""
    from magflow_console.diagnose.doctor import advise, doctor_verdict

    con = console()
    advice = advise(report, extra)
    _verdict_line(con, report, doctor_verdict(report, extra))
    if not advice:
        con.print("Nothing to do: every check the console makes passed.")
        return
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for i, a in enumerate(advice):
        body = Text.assemble((f"{a.finding.code}: ", "bold"), lit(a.finding.message))
        following = advice[i + 1] if i + 1 < len(advice) else None
        same_advice_next = (
            following is not None
            and following.finding.code == a.finding.code
            and following.steps == a.steps
        )
        for step in () if same_advice_next else a.steps:  # said once, after the last alike
            body.append("\n→ ", style="cyan")
            body.append(clean(step))
        style = style_for(a.level)
        grid.add_row(Text(f"{a.level:8}", style), body)
    con.print(grid)


def print_status(report: StatusReport) -> None:
    con = console()
    _verdict_line(con, report, report.verdict)
    print_containers(report.containers, con)
    print_database(report.database, con)
    print_migrations(report.migrations, con, findings=False)
    print_sync(report.sync, con, findings=False, max_runs=STATUS_RUNS)
    print_celery(report, con)
    print_api(report.api, con)
    if report.findings:
        con.print(Text("Findings:", style="bold"))
        print_findings(con, report.findings, fold_info=True)
        con.print(Text("What to do about each: magflow-console doctor", style="dim"))
