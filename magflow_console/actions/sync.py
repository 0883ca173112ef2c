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
account (created after the trigger), from the Celery task in Redis (celery strategy, when
the profile has a Redis URL: a failed attempt with a retry scheduled is "retrying", not a
failure) or from the worker's log lines; "completed with errors" and "completed with 0
items" are failures; nothing by the timeout is "no result persisted".

Modules: ``sync_request`` (the request and its checks), ``sync_trigger`` (Celery and API
triggers, the worker container), ``sync_watch`` (sync-log rows, worker logs, outcomes);
this module plans and runs the action.

Blocking work runs in the caller's thread. No Textual import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import httpx

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.actions.sync_guard import SyncGuard
from magflow_console.actions.sync_request import ACCOUNTS, SyncRequest, strategy_of
from magflow_console.actions.sync_task import broker_for
from magflow_console.actions.sync_trigger import (
    QUEUE,
    SYNC_PATH,
    TASK_NAME,
    ApiSession,
    api_body,
    api_error,
    celery_argv,
    check_worker,
    docker_client,
    log_reader,
    trigger_celery,
    worker_name,
)
from magflow_console.actions.sync_watch import Outcome, SyncDb, api_outcome, watch_outcome
from magflow_console.sources.pg_conn import SourceError

BUSY_MIN_AGE_SECONDS = 10.0


# --------------------------------------------------------------------------- plan


def _busy_reasons(
    db: SyncDb,
    min_age: float,
    running_minutes: int,
    accounts: Sequence[str],
    own_pid: int | None = None,
) -> list[str]:
    """Why a sync of ``accounts`` must not be triggered now: another console triggering
    one (``sync_guard``), a sync writing the log, a long transaction on the sync tables, a
    fresh committed ``running`` row. ``own_pid``: this console's guard session."""
    reasons = db.guard_holders(accounts, own_pid) + db.log_writers()
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
                db, busy_min_age_seconds, ctx.profile.sync.running_timeout_minutes, req.accounts()
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
        check_worker(ctx, plan, name, client, warnings)
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
    return ActionPlan("sync.trigger", operation, changes, params, tuple(warnings), stoppable=True)


# --------------------------------------------------------------------------- run


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
    """Trigger each account in turn (and watch its outcome when ``wait``), holding the
    accounts' sync locks (``sync_guard``) from the checks to the end of the run."""
    guard = SyncGuard(ctx)
    try:
        guard.acquire(req.accounts())
    except SourceError as exc:
        raise ActionRefused(f"Cannot take the sync lock: {exc}") from None
    try:
        return _run_guarded(ctx, plan, req, guard, wait=wait, timeout=timeout, client=client,
                            poll_interval=poll_interval, http=http)  # fmt: skip
    finally:
        guard.release()


def _run_guarded(
    ctx: ActionContext,
    plan: ActionPlan,
    req: SyncRequest,
    guard: SyncGuard,
    *,
    wait: bool,
    timeout: float | None,
    client: Any,
    poll_interval: float,
    http: httpx.Client | None,
) -> ActionResult:
    """``run_sync`` holding the accounts' sync locks: checks again, then triggers."""
    strategy = strategy_of(ctx, req)
    limit = float(timeout if timeout is not None else ctx.profile.sync.watch_timeout_seconds)
    db = SyncDb(ctx)
    try:
        reasons = _busy_reasons(
            db, BUSY_MIN_AGE_SECONDS, ctx.profile.sync.running_timeout_minutes,
            req.accounts(), guard.pid,
        )  # fmt: skip
    except SourceError as exc:
        db.close()
        raise ActionRefused(f"Cannot check whether a sync is running: {exc}") from None
    if reasons:
        db.close()
        raise ActionRefused("A sync already appears to be running: " + "; ".join(reasons) + ".")
    session = ApiSession(ctx, http) if strategy == "api" else None
    client = client or (docker_client(ctx) if strategy == "celery" else None)
    broker = broker_for(ctx) if strategy == "celery" and wait else None
    details: list[str] = []
    outcomes: dict[str, Any] = {}
    triggered_accounts: list[str] = []
    pending: dict[str, str] = {}  # account -> "retrying at ..." (not final, not failed)
    ok = True
    try:
        for account in req.accounts():
            if ctx.stop.is_set():  # stopped while watching the previous account
                details.append(f"{account}: not triggered (stopped by the operator)")
                outcomes[account] = {"ok": None, "result": "not_triggered"}
                ok = False
                continue
            since, known = db.baseline(account)
            task_id = None
            if session is not None:
                resp = session.post_sync(api_body(req, account))
                if resp.status_code != 200:
                    details.append(f"{account}: trigger failed: {api_error(resp)}")
                    ok = False
                    break
                body = resp.json() if resp.content else {}
                ctx.emit(f"{account}: API answered {body.get('status', '?')}")
                immediate: Outcome | None = api_outcome(account, body)
                triggered = f"{account}: POST {SYNC_PATH} -> {body.get('status', '?')}"
            else:
                good, what, task_id = trigger_celery(ctx, client, req, account)
                immediate, triggered = None, f"{account}: {what}"
                if not good:
                    details.append(triggered)
                    ok = False
                    break
            details.append(triggered)
            triggered_accounts.append(account)
            if immediate is not None:
                outcome = immediate
            elif wait:
                logs = log_reader(ctx, client) if strategy == "celery" else None
                outcome = watch_outcome(
                    db, account, since, known, limit,
                    logs=logs, emit=ctx.emit, poll=poll_interval, stop=ctx.stop,
                    broker=broker, task_id=task_id,
                )  # fmt: skip
            else:
                outcomes[account] = {"ok": None, "result": "enqueued"}
                continue
            outcomes[account] = outcome.as_dict()
            details.append(f"{account}: {outcome.message}")
            if outcome.pending:
                pending[account] = outcome.pending
            ok = ok and outcome.ok
    finally:
        db.close()
        if session is not None:
            session.close()
        if broker is not None:
            broker.close()
    accounts = " and ".join(req.accounts())
    if ctx.stop.is_set():
        done = " and ".join(triggered_accounts) or "no account"
        message = f"Stopped waiting: eMAG product sync triggered for {done}; outcome unknown."
    elif (
        not ok
        and pending
        and all(o.get("ok") is not False or a in pending for a, o in outcomes.items())
    ):
        what = "; ".join(f"{a} {p}" for a, p in pending.items())
        message = f"eMAG product sync of {accounts} is not finished: {what}."
    elif not ok:
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
