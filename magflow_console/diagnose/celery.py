"""Findings about Celery from what Redis holds (stack sheet §11.2, §11.3), and the one
entry point for a status report, ``celery_findings``, which gathers them with the worker,
beat, Redis and order rules:

- ``worker_task_overrun`` (``diagnose.worker``), when Docker does not already show it;
- ``beat_heartbeat_stale`` / ``beat_heartbeat_delayed`` / ``product_sync_both_noop``
  (``diagnose.beat``);
- ``celery_retry_scheduled``: a failed attempt with a retry pending is not a failure
  ("retrying at 12:40 UTC (attempt 2 of 3)"); info, or warning for the last attempt;
- ``celery_task_failures``: several FAILURE results of one task (or kind, or exception)
  among the results Redis keeps;
- ``celery_backlog`` (``diagnose.backlog``), ``redis_*`` (``diagnose.redis_state``),
  ``orders_*`` (``diagnose.orders``).

Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt

from magflow_console.diagnose import orders as order_rules
from magflow_console.diagnose.backlog import BacklogSeen, backlog_findings
from magflow_console.diagnose.beat import (
    RESULTS_KEPT,
    both_noop_findings,
    heartbeat_findings,
)
from magflow_console.diagnose.celery_tasks import (
    TASK_LIMIT_SECONDS,
    Schedule,
    about,
    attempts_of,
    hhmm,
    is_last_attempt,
    label,
    retry_text,
    schedule_of,
)
from magflow_console.diagnose.redis_state import redis_findings
from magflow_console.diagnose.worker import (
    overrun_finding,
    readable,
    worker_activity,
    worker_of,
    worker_unhealthy,
)
from magflow_console.models import (
    CeleryMessage,
    CeleryResult,
    CelerySnapshot,
    ContainersSnapshot,
    Finding,
    OrdersSnapshot,
    RedisSnapshot,
    SyncSnapshot,
)

#: FAILURE results of one kind, in the results Redis keeps, that make a pattern
FAILURES_THRESHOLD = 3
#: every code ``celery_findings`` can give (``magflow-console celery`` lists these), plus
#: the worker's and Redis's own findings from the other rules
CODES = frozenset(
    {
        "worker_busy",
        "worker_task_overrun",
        "beat_heartbeat_stale",
        "beat_heartbeat_delayed",
        "product_sync_both_noop",
        "celery_retry_scheduled",
        "celery_backlog",
        "celery_task_failures",
        "redis_evicting",
        "redis_memory_high",
        "redis_restarted",
        "orders_sync_stale",
        "orders_unacknowledged",
    }
)
ABOUT_CELERY = CODES | {"redis_unreachable", "beat_gated_by_worker"}


def retry_findings(celery: CelerySnapshot) -> list[Finding]:
    """Each retry waiting for its time: info, or warning when it is the last attempt."""
    why_by_id = {r.task_id: r.summary for r in celery.results if r.status == "RETRY" and r.summary}
    out = []
    for msg in celery.scheduled:
        why = why_by_id.get(msg.id or "")
        failed = f" ({why})" if why else ""
        last = is_last_attempt(msg)
        out.append(
            Finding(
                "celery_retry_scheduled",
                "warning" if last else "info",
                f"{about(msg)} failed{failed} and is {retry_text(msg)}: a failed attempt is not "
                "final, the same work runs again then (and holds the solo worker while it "
                "runs)" + (". It is the last attempt." if last else "."),
                account=msg.account,
                subject=msg.task,
                short=f"{label(msg.task, msg.account)} retry {hhmm(msg.eta)} "
                f"({msg.retries + 1}/{_total(msg)})",
            )
        )
    return out


def _total(msg: CeleryMessage) -> str:
    total = attempts_of(msg.task)
    return str(total) if total is not None else "?"


def _exc_type(summary: str) -> str:
    head = summary.split(":", 1)[0].strip()
    return head if head and " " not in head else "an exception"


def failure_findings(
    celery: CelerySnapshot, *, now: dt.datetime, threshold: int = FAILURES_THRESHOLD
) -> list[Finding]:
    """Several FAILURE results of one task (or kind, or exception when the task is not
    known) among the results Redis keeps."""
    groups: dict[str, list[CeleryResult]] = {}
    for r in celery.results:
        if r.status != "FAILURE":
            continue
        if r.date_done is not None and now - r.date_done > RESULTS_KEPT:
            continue
        if r.task:
            key = r.task
        elif r.kind not in ("unknown", "other"):
            key = f"kind:{r.kind}"
        else:
            key = f"exc:{_exc_type(r.summary)}"
        groups.setdefault(key, []).append(r)
    out = []
    for key, found in groups.items():
        if len(found) < threshold:
            continue
        newest = found[0]  # results are newest first
        if key.startswith("exc:"):
            what = f"tasks failed with {key[4:]} (their names are not stored)"
            tag = key[4:]
        elif key.startswith("kind:"):
            what = f"{key[5:].replace('_', ' ')} tasks failed"
            tag = key[5:].replace("_", " ")
        else:
            what = f"{key} runs failed for good (retries included)"
            tag = label(key)
        when = f", newest at {hhmm(newest.date_done)} UTC" if newest.date_done else ""
        out.append(
            Finding(
                "celery_task_failures",
                "warning",
                f"{len(found)} {what} among the results Redis keeps (24 h{when}): "
                f"{newest.summary or 'no exception stored'}.",
                subject=newest.task or key.split(":", 1)[-1],
                short=f"{len(found)} failures: {tag}"[:32],
            )
        )
    return out


def celery_findings(
    containers: ContainersSnapshot | None,
    sync: SyncSnapshot | None,
    celery: CelerySnapshot | None,
    redis: RedisSnapshot | None,
    orders: OrdersSnapshot | None = None,
    *,
    now: dt.datetime,
    schedule: Schedule | None = None,
    backlog: BacklogSeen | None = None,
    no_success_hours: float = 24.0,
    task_limit: float = TASK_LIMIT_SECONDS,
    failures_threshold: int = FAILURES_THRESHOLD,
) -> list[Finding]:
    """Every Celery, Redis and order finding. ``schedule`` defaults to beat's intervals
    (its container's variables when shown, else MagFlow's defaults); ``backlog`` is the
    history ``backlog.observe_backlog`` keeps between refreshes (``None``: one look only).

    The worker's Docker health is judged by ``rules.container_findings`` (pass it the same
    ``celery``); an overrun task is reported here only when Docker does not show the worker
    unhealthy, so it is never reported twice."""
    schedule = schedule or schedule_of(containers)
    out: list[Finding] = []
    if celery is not None and readable(celery):
        act = worker_activity(celery, worker_of(containers))
        if (
            act is not None
            and act.running is not None
            and act.overrun(now, task_limit)
            and not worker_unhealthy(containers)
        ):
            w = worker_of(containers)
            out.append(
                overrun_finding(
                    w.name if w else "the worker", act, now, task_limit, unhealthy=False
                )
            )
        out += heartbeat_findings(
            containers, celery, redis, act, now=now, interval=schedule.heartbeat
        )
        out += both_noop_findings(
            sync, celery, now=now, interval=schedule.heartbeat, no_success_hours=no_success_hours
        )
        out += retry_findings(celery)
        out += backlog_findings(celery, backlog, act, now=now, schedule=schedule, limit=task_limit)
        out += failure_findings(celery, now=now, threshold=failures_threshold)
    out += redis_findings(redis, celery, now=now, interval=schedule.heartbeat)
    if orders is not None:
        out += order_rules.order_findings(orders, celery, now=now, schedule=schedule)
    return out
