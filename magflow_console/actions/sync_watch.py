"""Watch for the outcome of a triggered eMAG product sync (sheet §7, §11.3).

The outcome comes from a new ``emag_sync_logs`` row for the account (created after the
trigger), from the Celery task's own state in Redis, or from the worker's log lines;
"completed with errors" and "completed with 0 items" are failures; nothing by the timeout
is "no result persisted". ``SyncDb`` also holds the read-only queries of the pre-flight
(running syncs).

With the task id and a Redis URL (``BrokerSource``), a failed attempt whose retry is
scheduled is "retrying at HH:MM UTC (attempt n of m)", not a failure, and a FAILURE result
is final. The row's grace period starts when the task's result appears (or, without Redis,
when the task logs ``Product sync completed: {...}`` after the whole task), never at the
service's own ``Product sync completed``: the inventory step after it makes the only
commit and can take long on a large catalogue.

Part of the sync action (``magflow_console.actions.sync``). Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from magflow_console.actions.guard import ActionContext
from magflow_console.actions.sync_guard import guard_holders, sync_log_writers
from magflow_console.actions.sync_task import BROKER_EVERY_SECONDS, TaskWatch
from magflow_console.diagnose.celery_tasks import about, attempt_text
from magflow_console.models import SyncRun
from magflow_console.sources import sync_stats
from magflow_console.sources.broker import BrokerSource
from magflow_console.sources.pg_activity import long_transactions
from magflow_console.sources.pg_conn import ReadOnlyConnection, SourceError, rows, scalar

#: after the task's result (or its completion line) appears, how long to wait for the row
ROW_GRACE_SECONDS = 15.0
#: after the worker logs a failure, how long Redis gets to show a retry or a FAILURE
FAILURE_CONFIRM_SECONDS = 15.0
#: rows created this long before the trigger still count (clock skew app vs database)
CLOCK_SLACK_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    """How one account's triggered sync ended (or did not)."""

    ok: bool
    #: success | partial | empty | failed | not_persisted | log_failed | task_failed |
    #: retrying | running | api | stopped
    result: str
    message: str
    run: SyncRun | None = None
    log_lines: tuple[str, ...] = field(default=())
    #: for an outcome that is not final yet: ``retrying at 12:40 UTC (attempt 2 of 3)``
    pending: str = ""

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
        url = ctx.database_url()
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

    def guard_holders(self, accounts: Sequence[str], own_pid: int | None = None) -> list[str]:
        """Other consoles triggering a sync of one of ``accounts`` (``sync_guard``)."""
        with self._db.transaction() as conn:
            return guard_holders(conn, accounts, own_pid)

    def log_writers(self) -> list[str]:
        """Sessions writing the sync log now: a running sync's uncommitted row."""
        with self._db.transaction() as conn:
            return sync_log_writers(conn, self.schema)

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
#: the Celery task's line, logged after the whole task (the inventory step included)
_TASK_COMPLETED = re.compile(r"Product sync completed: \{")
_FAILED = "Product sync failed:"


def worker_logs(client: Any, name: str, since: float) -> list[str]:
    """The worker container's log lines (stdout and stderr) since ``since`` (epoch s)."""
    raw = client.containers.get(name).logs(stdout=True, stderr=True, since=int(since))
    return [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]


def scan_worker_lines(lines: list[str], account: str) -> tuple[str | None, str]:
    """('failed' | 'missing' | 'completed' | 'progress' | None, the marker line) for
    ``account``: 'completed' is the task's ``Product sync completed: {...}`` (after the
    whole task), 'progress' the service's own ``Product sync completed`` (before the
    inventory step, which makes the only commit).

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
        if _TASK_COMPLETED.search(line):
            found = ("completed", line)
        elif _COMPLETED in line and found[0] != "completed":
            found = ("progress", line)
    return found


# --------------------------------------------------------------------------- the watch


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
    broker: BrokerSource | None = None,
    task_id: str | None = None,
    row_grace: float = ROW_GRACE_SECONDS,
    confirm: float = FAILURE_CONFIRM_SECONDS,
    broker_every: float = BROKER_EVERY_SECONDS,
) -> Outcome:
    """Poll for the outcome of one account's sync until ``timeout`` seconds have passed,
    or until ``stop`` is set (the operator stopped waiting: the outcome is then unknown).
    ``broker`` and ``task_id`` (the celery strategy) let it follow the task in Redis."""
    stop = stop or threading.Event()
    task = TaskWatch(broker, task_id, broker_every)
    started = time.monotonic()
    deadline = started + timeout
    log_since = time.time() - CLOCK_SLACK_SECONDS
    grace_until: float | None = None
    failed_line, failed_until = "", 0.0
    last_error = ""
    seen_marker = ""
    announced: tuple[Any, ...] = ()
    emit(f"{account}: watching emag_sync_logs for a new row (timeout {timeout:.0f} s)")
    if task.broker is not None:
        emit(f"{account}: following Celery task {task_id} in Redis")
    while True:
        if stop.is_set():
            took = f"stopped waiting after {time.monotonic() - started:.0f} s"
            if task.pending_retry:
                return Outcome(
                    False, "retrying", f"{took}: {task.retry_message()}", pending=task.pending()
                )
            return Outcome(
                False,
                "stopped",
                f"{took}: the sync was triggered and may still be running; its outcome is "
                "not known yet",
            )
        try:
            run = db.new_row(account, since, known)
        except SourceError as exc:
            run, last_error = None, str(exc)
        if run is not None and run.status != "running":
            outcome = classify_run(run)
            emit(f"{account}: sync-log row {run.id}: {run.status}")
            return outcome

        st = task.read(time.monotonic())
        if st is not None and not st.readable:
            last_error = f"Redis: {st.error}"
        state_now = (
            ("retry", task.retrying.retries, task.retrying.eta, task.retry_why)
            if task.retrying else
            ("running", task.running.retries) if task.running else
            ("done",) if task.done else ()
        )  # fmt: skip
        if state_now and state_now != announced:
            announced = state_now
            if task.retrying is not None:
                emit(f"{account}: {task.retry_message()}")
                failed_line = ""  # that failure was not final
                log_since = time.time() + 1  # the next attempt's lines only
            elif task.running is not None:
                emit(f"{account}: {about(task.running)} is running "
                     f"({attempt_text(task.running.task, task.running.retries)})")  # fmt: skip
            elif task.done is not None:
                emit(f"{account}: the task finished ({task.done.summary or 'SUCCESS'}); "
                     "waiting for its sync-log row")  # fmt: skip
        if task.failed is not None:
            why = f"; the worker logged: {failed_line[-300:]}" if failed_line else ""
            return Outcome(
                False,
                "task_failed",
                f"the Celery task failed for good: {task.failed.summary or 'FAILURE'}{why}",
            )
        if task.done is not None and grace_until is None:
            grace_until = time.monotonic() + row_grace

        if logs is not None:
            try:
                kind, line = scan_worker_lines(logs(log_since), account)
            except Exception as exc:
                kind, line, last_error = None, "", f"worker logs: {type(exc).__name__}: {exc}"
            if line and line != seen_marker:
                seen_marker = line
                emit(f"{account}: worker: {line}")
            if kind == "failed" and not task.pending_retry and not failed_line:
                failed_line, failed_until = line, time.monotonic() + confirm
            if kind == "missing":
                return Outcome(
                    False,
                    "empty",
                    f"0 items: the worker logged missing credentials ({line[-200:]})",
                )
            if kind == "completed" and grace_until is None:
                grace_until = time.monotonic() + row_grace
        # with Redis, a logged failure is final only when no retry follows it
        if (
            failed_line
            and not task.pending_retry
            and (task.broker is None or not task.seen or time.monotonic() >= failed_until)
        ):
            return Outcome(False, "log_failed", f"the worker logged: {failed_line[-300:]}")

        now = time.monotonic()
        if grace_until is not None and now >= grace_until:
            what = (
                f"the task finished ({task.done.summary or 'SUCCESS'})"
                if task.done is not None
                else "the worker logged completion"
            )
            return _not_persisted(f"{what} but wrote no sync-log row", last_error)
        if now >= deadline:
            if task.pending_retry:
                return Outcome(
                    False,
                    "retrying",
                    f"not finished within {timeout:.0f} s: {task.retry_message()}; a failed "
                    "attempt is not final",
                    pending=task.pending(),
                )
            if task.running is not None and task.done is None:
                return Outcome(
                    False,
                    "running",
                    f"still running after {timeout:.0f} s: {about(task.running)} "
                    f"({attempt_text(task.running.task, task.running.retries)}); its row "
                    "appears when it ends",
                    pending=f"still running ({attempt_text(task.running.task, task.running.retries)})",
                )
            return _not_persisted(
                f"no new emag_sync_logs row for {account} within {timeout:.0f} s", last_error
            )
        stop.wait(max(0.05, min(poll, deadline - now)))


def _not_persisted(why: str, last_error: str) -> Outcome:
    extra = f" (last error: {last_error})" if last_error else ""
    return Outcome(
        False,
        "not_persisted",
        f"no result persisted: {why}; check the worker and app logs{extra}",
    )
