"""Trigger an eMAG product sync and watch for its outcome (sheet §6, §7).

Strategies (``profile.sync.strategy``, overridable per request):
- ``celery``: ``celery -A app.worker:celery_app call emag.sync_products --kwargs {...}
  --queue default`` inside the worker container (Docker exec); its output streams to
  ``ctx.emit``;
- ``api``: JSON login, then ``POST /api/v1/emag/products/sync`` with the documented body;
  the token stays in memory, synchronous calls get a client timeout above 600 s.

``both`` is split into ``main`` then ``fbe`` (a Celery ``both`` run persists nothing).
Pre-flight refuses when a sync already appears to be running: a transaction from another
client open for a while and touching ``emag_products_v2``/``emag_sync_logs``, or a fresh
committed ``running`` row. The outcome comes from a new ``emag_sync_logs`` row for the
account (created after the trigger) or from the worker's log lines; "completed with
errors" and "completed with 0 items" are failures; nothing by the timeout is "no result
persisted".

Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.models import SyncRun
from magflow_console.sources import sync_stats
from magflow_console.sources.pg_activity import long_transactions
from magflow_console.sources.pg_conn import ReadOnlyConnection, SourceError, rows, scalar

ACCOUNTS = ("main", "fbe")
ACCOUNT_CHOICES = ("main", "fbe", "both")
MODES = ("full", "incremental", "selective")
CONFLICT_STRATEGIES = ("emag_priority", "local_priority", "newest_wins", "manual")
TASK_NAME = "emag.sync_products"
CELERY_APP = "app.worker:celery_app"
QUEUE = "default"
LOGIN_PATH = "/api/v1/auth/login"
SYNC_PATH = "/api/v1/emag/products/sync"
#: the product sync's own limit is 600 s: a synchronous call must wait longer than that
SYNC_CALL_TIMEOUT = 660.0
BUSY_MIN_AGE_SECONDS = 10.0
#: after the worker logs "Product sync completed", how long to wait for the row
ROW_GRACE_SECONDS = 15.0
#: rows created this long before the trigger still count (clock skew app vs database)
CLOCK_SLACK_SECONDS = 5.0

Strategy = Literal["celery", "api"]


@dataclass(frozen=True)
class SyncRequest:
    """What the user asked for; ``validate()`` lists what is wrong with it."""

    account: str  # main | fbe | both
    max_pages: int | None = 5  # None = all pages (api only)
    mode: str = "full"
    items_per_page: int = 100
    include_inactive: bool = False
    conflict_strategy: str = "emag_priority"
    run_async: bool = True
    strategy: str | None = None  # None: the profile's

    def validate(self, strategy: str) -> list[str]:
        errors = []
        if self.account not in ACCOUNT_CHOICES:
            errors.append(f"account must be one of {', '.join(ACCOUNT_CHOICES)}")
        if strategy not in ("celery", "api"):
            errors.append("strategy must be celery or api")
        if self.max_pages is None:
            if strategy == "celery":
                errors.append("max pages must be a number >= 1 with the celery strategy")
        elif type(self.max_pages) is not int or self.max_pages < 1:
            errors.append("max pages must be an integer >= 1 (or empty for all pages)")
        if self.mode not in MODES:
            errors.append(f"mode must be one of {', '.join(MODES)}")
        if type(self.items_per_page) is not int or not 1 <= self.items_per_page <= 100:
            errors.append("items per page must be an integer between 1 and 100")
        if self.conflict_strategy not in CONFLICT_STRATEGIES:
            errors.append(f"conflict strategy must be one of {', '.join(CONFLICT_STRATEGIES)}")
        for flag in ("include_inactive", "run_async"):
            if not isinstance(getattr(self, flag), bool):
                errors.append(f"{flag} must be true or false")
        return errors

    def accounts(self) -> tuple[str, ...]:
        return ACCOUNTS if self.account == "both" else (self.account,)


def celery_argv(account: str, max_pages: int) -> list[str]:
    kwargs = {"account_type": account, "max_pages_per_account": max_pages}
    return [
        "celery", "-A", CELERY_APP, "call", TASK_NAME,
        "--kwargs", json.dumps(kwargs), "--queue", QUEUE,
    ]  # fmt: skip


def api_body(req: SyncRequest, account: str) -> dict[str, Any]:
    return {
        "account_type": account,
        "mode": req.mode,
        "max_pages": req.max_pages,
        "items_per_page": req.items_per_page,
        "include_inactive": req.include_inactive,
        "conflict_strategy": req.conflict_strategy,
        "run_async": req.run_async,
    }


def strategy_of(ctx: ActionContext, req: SyncRequest) -> str:
    return req.strategy or ctx.profile.sync.strategy


def worker_name(ctx: ActionContext) -> str:
    return ctx.profile.docker.services.get("worker", "magflow_worker")


def docker_client(ctx: ActionContext) -> Any:
    import docker

    return docker.DockerClient(
        base_url=cfg.docker_host(ctx.profile), timeout=int(max(ctx.profile.docker.timeout, 60))
    )


# --------------------------------------------------------------------------- watch


@dataclass(frozen=True)
class Outcome:
    """How one account's triggered sync ended (or did not)."""

    ok: bool
    result: str  # success | partial | empty | failed | not_persisted | log_failed | api
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
        except cfg.ConfigError as exc:
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
) -> Outcome:
    """Poll for the outcome of one account's sync until ``timeout`` seconds have passed."""
    started = time.monotonic()
    deadline = started + timeout
    log_since = time.time() - CLOCK_SLACK_SECONDS
    grace_until: float | None = None
    last_error = ""
    seen_marker = ""
    emit(f"{account}: watching emag_sync_logs for a new row (timeout {timeout:.0f} s)")
    while True:
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
        time.sleep(max(0.05, min(poll, deadline - now)))


# --------------------------------------------------------------------------- plan


def _busy_reasons(db: SyncDb, min_age: float, running_minutes: int) -> list[str]:
    reasons = []
    for x in db.sync_transactions(min_age):
        who = x.application_name or "unnamed client"
        where = f" from {x.client_addr}" if x.client_addr else ""
        reasons.append(
            f"pid {x.pid} ({who}{where}) has had a transaction touching the sync tables "
            f"open for {x.xact_age_seconds:.0f} s"
        )
    for run_id, account, started in db.fresh_running_rows(running_minutes):
        reasons.append(f"sync-log row {run_id} ({account}) is 'running' since {started} UTC")
    return reasons


def plan_sync(
    ctx: ActionContext,
    req: SyncRequest,
    *,
    busy_min_age_seconds: float = BUSY_MIN_AGE_SECONDS,
    client: Any = None,
) -> ActionPlan:
    """Pre-flight: valid request, nothing running, the worker (celery) or credentials (api)."""
    strategy = strategy_of(ctx, req)
    params: dict[str, Any] = {**asdict(req), "strategy": strategy}
    plan = ActionPlan("sync.trigger", f"eMAG product sync of {req.account}", (), params)
    ctx.check_allowed(plan)
    errors = req.validate(strategy)
    if errors:
        raise ctx.refuse(plan, "Invalid sync request: " + "; ".join(errors) + ".")

    warnings: list[str] = []
    try:
        db = SyncDb(ctx)
        try:
            reasons = _busy_reasons(
                db, busy_min_age_seconds, ctx.profile.sync.running_timeout_minutes
            )
        finally:
            db.close()
    except SourceError as exc:
        raise ctx.refuse(plan, f"Cannot check whether a sync is running: {exc}") from None
    if reasons:
        raise ctx.refuse(plan, "A sync already appears to be running: " + "; ".join(reasons) + ".")

    accounts = req.accounts()
    if req.account == "both":
        warnings.append("'both' is split into 'main' then 'fbe' (a 'both' run persists nothing).")
    if strategy == "celery":
        name = worker_name(ctx)
        _check_worker(ctx, plan, name, client, warnings)
        changes = tuple(
            f"enqueue {TASK_NAME} on queue {QUEUE} in {name}: "
            f"account_type={a}, max_pages_per_account={req.max_pages}"
            for a in accounts
        )
        operation = f"docker exec {name} celery call {TASK_NAME} ({', '.join(accounts)})"
    else:
        if cfg.api_credentials(ctx.profile) is None:
            api = ctx.profile.api
            raise ctx.refuse(
                plan,
                f"No API credentials: set {api.username_env} and {api.password_env} "
                "(or api.password_file).",
            )
        base = ctx.profile.api.url or ""
        changes = tuple(
            f"POST {base}{SYNC_PATH}: account_type={a}, mode={req.mode}, "
            f"max_pages={req.max_pages}, run_async={req.run_async}"
            for a in accounts
        )
        operation = f"POST {SYNC_PATH} ({', '.join(accounts)})"
    changes += ("the sync writes emag_products_v2 / offers and one emag_sync_logs row per account",)
    return ActionPlan("sync.trigger", operation, changes, params, tuple(warnings))


def _check_worker(
    ctx: ActionContext, plan: ActionPlan, name: str, client: Any, warnings: list[str]
) -> None:
    try:
        c = client or docker_client(ctx)
        container = c.containers.get(name)
        state = container.attrs.get("State", {})
    except Exception as exc:
        raise ctx.refuse(
            plan, f"Cannot reach the worker container {name}: {type(exc).__name__}: {exc}"
        ) from None
    if state.get("Status") != "running":
        raise ctx.refuse(
            plan, f"The worker container {name} is {state.get('Status', 'unknown')}, not running."
        )
    health = (state.get("Health") or {}).get("Status")
    if health and health != "healthy":
        warnings.append(
            f"{name} is {health}: the task may wait in the queue until a worker consumes it."
        )


# --------------------------------------------------------------------------- run


def _trigger_celery(
    ctx: ActionContext, client: Any, req: SyncRequest, account: str
) -> tuple[bool, str]:
    name = worker_name(ctx)
    argv = celery_argv(account, int(req.max_pages or 0))
    ctx.emit(f"$ docker exec {name} {' '.join(argv[:5])} --kwargs '{argv[6]}' --queue {QUEUE}")
    container = client.containers.get(name)
    code, output = container.exec_run(argv, demux=False)
    lines = (output or b"").decode("utf-8", "replace").splitlines()
    for line in lines:
        ctx.emit(line)
    if code != 0:
        last = lines[-1] if lines else "no output"
        return False, f"celery call exited with {code} in {name}: {last}"
    task_id = lines[-1].strip() if lines else "?"
    return True, f"enqueued {TASK_NAME} for {account} (task id {task_id})"


def _api_error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title") or ""
        errs = body.get("errors") or []
        extra = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}"
            for e in errs
            if isinstance(e, dict)
        )
        return f"HTTP {resp.status_code}: {detail}" + (f" ({extra})" if extra else "")
    return f"HTTP {resp.status_code}"


class ApiSession:
    """JSON login once, bearer token in memory only; closed after the action."""

    def __init__(self, ctx: ActionContext, http: httpx.Client | None = None) -> None:
        self.base = (ctx.profile.api.url or "").rstrip("/")
        self.creds = cfg.api_credentials(ctx.profile)
        self.http = http or httpx.Client(timeout=httpx.Timeout(SYNC_CALL_TIMEOUT, connect=10.0))
        self._token: str | None = None

    def login(self) -> None:
        if self.creds is None:
            raise ActionRefused("No API credentials are configured.")
        user, password = self.creds
        resp = self.http.post(
            self.base + LOGIN_PATH,
            json={"username": user, "password": password, "remember_me": False},
            timeout=30.0,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"API login failed: {_api_error(resp)}")
        self._token = str(resp.json()["access_token"])

    def post_sync(self, body: dict[str, Any]) -> httpx.Response:
        if self._token is None:
            self.login()
        resp = self.http.post(
            self.base + SYNC_PATH, json=body, headers={"Authorization": f"Bearer {self._token}"}
        )
        if resp.status_code == 401:  # expired token: log in again once
            self.login()
            resp = self.http.post(
                self.base + SYNC_PATH,
                json=body,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        return resp

    def close(self) -> None:
        self._token = None
        self.http.close()


def _log_reader(ctx: ActionContext, client: Any) -> Callable[[float], list[str]]:
    name = worker_name(ctx)
    return lambda since: worker_logs(client, name, since)


def run_sync(
    ctx: ActionContext,
    plan: ActionPlan,
    req: SyncRequest,
    *,
    wait: bool = False,
    timeout: float | None = None,
    client: Any = None,
    poll_interval: float = 1.0,
    http: httpx.Client | None = None,
) -> ActionResult:
    """Trigger each account in turn (and watch its outcome when ``wait``)."""
    strategy = strategy_of(ctx, req)
    limit = float(timeout if timeout is not None else ctx.profile.sync.watch_timeout_seconds)
    db = SyncDb(ctx)
    session = ApiSession(ctx, http) if strategy == "api" else None
    client = client or (docker_client(ctx) if strategy == "celery" else None)
    details: list[str] = []
    outcomes: dict[str, Any] = {}
    ok = True
    try:
        for account in req.accounts():
            since, known = db.baseline(account)
            if session is not None:
                resp = session.post_sync(api_body(req, account))
                if resp.status_code != 200:
                    details.append(f"{account}: trigger failed: {_api_error(resp)}")
                    ok = False
                    break
                body = resp.json() if resp.content else {}
                ctx.emit(f"{account}: API answered {body.get('status', '?')}")
                immediate: Outcome | None = api_outcome(account, body)
                triggered = f"{account}: POST {SYNC_PATH} -> {body.get('status', '?')}"
            else:
                good, what = _trigger_celery(ctx, client, req, account)
                immediate, triggered = None, f"{account}: {what}"
                if not good:
                    details.append(triggered)
                    ok = False
                    break
            details.append(triggered)
            if immediate is not None:
                outcome = immediate
            elif wait:
                logs = _log_reader(ctx, client) if strategy == "celery" else None
                outcome = watch_outcome(
                    db, account, since, known, limit, logs=logs, emit=ctx.emit, poll=poll_interval
                )
            else:
                outcomes[account] = {"ok": None, "result": "enqueued"}
                continue
            outcomes[account] = outcome.as_dict()
            details.append(f"{account}: {outcome.message}")
            ok = ok and outcome.ok
    finally:
        db.close()
        if session is not None:
            session.close()
    accounts = " and ".join(req.accounts())
    if not ok:
        message = f"eMAG product sync of {accounts} failed."
    elif all(o.get("result") == "enqueued" for o in outcomes.values()):
        message = f"eMAG product sync of {accounts} triggered; not waiting for the outcome."
    else:
        message = f"eMAG product sync of {accounts} succeeded."
    return ActionResult(ok, message, tuple(details), {"outcomes": outcomes, "strategy": strategy})


def execute_sync(ctx: ActionContext, plan: ActionPlan, req: SyncRequest, **kw: Any) -> ActionResult:
    return ctx.execute(plan, lambda: run_sync(ctx, plan, req, **kw))


__all__ = [
    "ACCOUNTS",
    "ApiSession",
    "SyncRequest",
    "api_body",
    "celery_argv",
    "execute_sync",
    "plan_sync",
    "run_sync",
    "watch_outcome",
]
