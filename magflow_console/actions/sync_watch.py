"""Watch for the outcome of a triggered eMAG product sync (sheet §7).

The outcome comes from a new ``emag_sync_logs`` row for the account (created after the
trigger) or from the worker's log lines; "completed with errors" and "completed with 0
items" are failures; nothing by the timeout is "no result persisted". ``SyncDb`` also holds
the read-only queries of the pre-flight (running syncs).

Part of the sync action (``magflow_console.actions.sync``). Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext
from magflow_console.config_sources import ConfigError
from magflow_console.models import SyncRun
from magflow_console.sources import sync_stats
from magflow_console.sources.pg_activity import long_transactions
from magflow_console.sources.pg_conn import ReadOnlyConnection, SourceError, rows, scalar

#: after the worker logs "Product sync completed", how long to wait for the row
ROW_GRACE_SECONDS = 15.0
#: rows created this long before the trigger still count (clock skew app vs database)
CLOCK_SLACK_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    """How one account's triggered sync ended (or did not)."""

    ok: bool
    result: str  # success | partial | empty | failed | not_persisted | log_failed | api | stopped
    message: str
    run: SyncRun | None = None
    log_lines: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": self.result,
            "message": self.message,
            "run_id": self.run.id if self.run else None,
        }


def _first_error(run: SyncRun) -> str:
    errs = run.errors
    if isinstance(errs, list) and errs:
        first = errs[0]
        text_ = first.get("error") if isinstance(first, dict) else first
        return str(text_)[:200]
    return ""


def classify_run(run: SyncRun) -> Outcome:
    """A finished sync-log row -> Outcome; completed with errors or 0 items is a failure."""
    items = max(run.total_items, run.processed_items)
    counts = (
        f"{items} items ({run.created_items} created, {run.updated_items} updated, "
        f"{run.failed_items} failed)"
    )
    took = f" in {run.duration_seconds:.0f} s" if run.duration_seconds is not None else ""
    first = _first_error(run)
    why = f": {first}" if first else ""
    if run.status == "completed" and items == 0:
        return Outcome(
            False,
            "empty",
            f"completed with 0 items{took} (missing eMAG credentials for {run.account_type}, "
            f"or every page failed){why} [row {run.id}]",
            run,
        )
    if run.status == "completed" and run.error_count > 0:
        return Outcome(
            False,
            "partial",
            f"completed with {run.error_count} errors: {counts}{took}{why} [row {run.id}]",
            run,
        )
    if run.status == "completed":
        return Outcome(True, "success", f"completed: {counts}{took} [row {run.id}]", run)
    return Outcome(False, run.status, f"{run.status}{took}{why} [row {run.id}]", run)


def api_outcome(account: str, body: Any) -> Outcome | None:
    """The answer of a synchronous API call; None when it only accepted the work."""
    if not isinstance(body, dict) or body.get("status") != "completed":
        return None
    data = body.get("data") or {}
    total = int(data.get("total_processed") or 0)
    errors = data.get("errors") or []
    counts = (
        f"{total} items ({data.get('created', 0)} created, {data.get('updated', 0)} updated, "
        f"{data.get('failed', 0)} failed)"
    )
    if total == 0:
        return Outcome(False, "empty", f"completed with 0 items for {account} (API answer)")
    if errors:
        return Outcome(
            False, "partial", f"completed with {len(errors)} errors: {counts} (API answer)"
        )
    return Outcome(True, "success", f"completed: {counts} (API answer)")


class SyncDb:
    """Read-only queries of the action: running syncs, baselines and new sync-log rows."""

    def __init__(self, ctx: ActionContext) -> None:
        p = ctx.profile
        self.schema = p.database.db_schema
        self.running_timeout = p.sync.running_timeout_minutes
        try:
            url = cfg.database_url(p)
        except ConfigError as exc:
            raise SourceError(str(exc)) from None
        if not url:
            raise SourceError("No database URL is configured for this profile.")
        self._db = ReadOnlyConnection(
            url,
            connect_timeout=p.database.connect_timeout,
            statement_timeout_ms=p.database.statement_timeout_ms,
        )

    @property
    def _table(self) -> str:
        return f"{sync_stats.qident(self.schema)}.emag_sync_logs"

    def sync_transactions(self, min_age: float) -> list[Any]:
        with self._db.transaction() as conn:
            xacts = long_transactions(conn, self.schema, min_age)
        return [x for x in xacts if x.touches_sync_tables]

    def fresh_running_rows(self, minutes: int) -> list[tuple[str, str, Any]]:
        with self._db.transaction() as conn:
            found = rows(
                conn,
                f"SELECT id::text AS id, account_type, started_at FROM {self._table} "
                f"WHERE status = 'running' AND started_at >= {sync_stats.NOW_UTC} "
                "- make_interval(mins => CAST(%(m)s AS int)) ORDER BY started_at",
                {"m": int(minutes)},
            )
        return [(r["id"], r["account_type"], r["started_at"]) for r in found]

    def baseline(self, account: str) -> tuple[dt.datetime, frozenset[str]]:
        """(database UTC now minus the slack, ids of rows already in that window)."""
        with self._db.transaction() as conn:
            now = scalar(conn, f"SELECT {sync_stats.NOW_UTC}")
            since = now - dt.timedelta(seconds=CLOCK_SLACK_SECONDS)
            ids = rows(
                conn,
                f"SELECT id::text AS id FROM {self._table} WHERE account_type = %(a)s "
                "AND greatest(created_at, started_at) >= %(since)s",
                {"a": account, "since": since},
            )
            return since, frozenset(r["id"] for r in ids)

    def new_row(self, account: str, since: dt.datetime, known: frozenset[str]) -> SyncRun | None:
        """The newest products row for ``account`` created after ``since`` and not known."""
        with self._db.transaction() as conn:
            found = rows(
                conn,
                f"SELECT {sync_stats.DETAIL_COLUMNS} FROM {self._table} "
                "WHERE account_type = %(a)s AND sync_type = 'products' "
                "AND greatest(created_at, started_at) >= %(since)s "
                "AND NOT (id::text = ANY(CAST(%(known)s AS text[]))) "
                "ORDER BY (status = 'running'), created_at DESC LIMIT 1",
                {
                    "a": account,
                    "since": since,
                    "known": list(known),
                    "running_timeout": self.running_timeout,
                },
            )
        return sync_stats.row_to_run(found[0], detail=True) if found else None

    def close(self) -> None:
        self._db.close()


_STARTING = re.compile(r"Starting product sync:.*account=(\w+)")
_COMPLETED = "Product sync completed"
_FAILED = "Product sync failed:"


def worker_logs(client: Any, name: str, since: float) -> list[str]:
    """The worker container's log lines (stdout and stderr) since ``since`` (epoch s)."""
    raw = client.containers.get(name).logs(stdout=True, stderr=True, since=int(since))
    return [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]


def scan_worker_lines(lines: list[str], account: str) -> tuple[str | None, str]:
    """('failed' | 'missing' | 'completed' | None, the marker line) for ``account``.

    Completed/failed lines count when they follow a "Starting product sync ... account=X"
    line for this account, or when no such line was logged at all.
    """
    current: str | None = None
    found: tuple[str | None, str] = (None, "")
    for line in lines:
        if m := _STARTING.search(line):
            current = m.group(1)
            continue
        if f"Missing credentials for {account} account, skipping" in line:
            return "missing", line
        if current not in (None, account):
            continue
        if _FAILED in line:
            return "failed", line
        if _COMPLETED in line:
            found = ("completed", line)
    return found


def watch_outcome(
    db: SyncDb,
    account: str,
    since: dt.datetime,
    known: frozenset[str],
    timeout: float,
    *,
    logs: Callable[[float], list[str]] | None = None,
    emit: Callable[[str], None] = lambda line: None,
    poll: float = 1.0,
    stop: threading.Event | None = None,
) -> Outcome:
    """Poll for the outcome of one account's sync until ``timeout`` seconds have passed,
    or until ``stop`` is set (the operator stopped waiting: the outcome is then unknown)."""
    stop = stop or threading.Event()
    started = time.monotonic()
    deadline = started + timeout
    log_since = time.time() - CLOCK_SLACK_SECONDS
    grace_until: float | None = None
    last_error = ""
    seen_marker = ""
    emit(f"{account}: watching emag_sync_logs for a new row (timeout {timeout:.0f} s)")
    while True:
        if stop.is_set():
            return Outcome(
                False,
                "stopped",
                f"stopped waiting after {time.monotonic() - started:.0f} s: the sync was "
                "triggered and may still be running; its outcome is not known yet",
            )
        try:
            run = db.new_row(account, since, known)
        except SourceError as exc:
            run, last_error = None, str(exc)
        if run is not None and run.status != "running":
            outcome = classify_run(run)
            emit(f"{account}: sync-log row {run.id}: {run.status}")
            return outcome
        if logs is not None:
            try:
                kind, line = scan_worker_lines(logs(log_since), account)
            except Exception as exc:
                kind, line, last_error = None, "", f"worker logs: {type(exc).__name__}: {exc}"
            if line and line != seen_marker:
                seen_marker = line
                emit(f"{account}: worker: {line}")
            if kind == "failed":
                return Outcome(False, "log_failed", f"the worker logged: {line[-300:]}")
            if kind == "missing":
                return Outcome(
                    False,
                    "empty",
                    f"0 items: the worker logged missing credentials ({line[-200:]})",
                )
            if kind == "completed" and grace_until is None:
                grace_until = time.monotonic() + ROW_GRACE_SECONDS
        now = time.monotonic()
        if now >= deadline or (grace_until is not None and now >= grace_until):
            why = (
                "the worker logged completion but wrote no sync-log row"
                if grace_until is not None
                else f"no new emag_sync_logs row for {account} within {timeout:.0f} s"
            )
            extra = f" (last error: {last_error})" if last_error else ""
            return Outcome(
                False,
                "not_persisted",
                f"no result persisted: {why}; check the worker and app logs{extra}",
            )
        stop.wait(max(0.05, min(poll, deadline - now)))
