"""Findings about Celery and Redis, from what Redis holds (stack sheet §11.2, §11.3).

- **The worker:** a solo worker cannot answer ``celery inspect ping`` while it runs a task,
  so Docker calls it ``unhealthy`` when it is only busy. ``worker_activity`` says what it
  holds; ``worker_health_finding`` (used by ``rules.container_findings``) turns an
  unhealthy worker into ``worker_busy`` (info), ``worker_task_overrun`` (critical, past the
  600 s limit) or keeps ``container_unhealthy`` (critical: nothing executing).
- **Beat** is alive when its heartbeat is: ``beat_heartbeat_stale`` (critical) after
  3 intervals without one, whatever Docker says (beat's healthcheck matches its own
  ``sh -c``); ``beat_heartbeat_delayed`` (warning) when a long task holds the worker and
  the heartbeats wait in the queue behind it.
- ``product_sync_both_noop``: beat and worker alive, and still no successful product sync
  for an account: beat's hourly sync runs with ``account_type="both"``, which persists
  nothing.
- ``celery_retry_scheduled``: a failed attempt with a retry pending is not a failure.
- ``celery_backlog``, ``celery_task_failures``, ``redis_evicting``, ``redis_memory_high``,
  ``redis_restarted``; and the order rules (``diagnose.orders``).

``celery_findings`` is the one entry point for a status report. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from magflow_console.diagnose import orders as order_rules
from magflow_console.diagnose.backlog import BacklogSeen, backlog_findings
from magflow_console.diagnose.celery_tasks import (
    HEARTBEAT_STALE_INTERVALS,
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
from magflow_console.models import (
    CeleryMessage,
    CeleryResult,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    Finding,
    OrdersSnapshot,
    RedisSnapshot,
    Severity,
    SyncSnapshot,
)
from magflow_console.render.fmt import span

#: a held message delivered this long before the worker's start is from an earlier worker
#: (clocks of the Docker host and of Redis may differ by a little)
ORPHAN_SLACK_SECONDS = 5.0
#: FAILURE results of one kind, in the results Redis keeps, that make a pattern
FAILURES_THRESHOLD = 3
RESULTS_KEPT = dt.timedelta(hours=24)
#: used memory above this share of ``maxmemory`` is a warning
MEMORY_HIGH = 0.9
BEAT_HEALTHCHECK = (
    "beat's container healthcheck cannot detect this: its `pgrep -f 'celery beat'` "
    "matches the healthcheck's own `sh -c`, so it passes with no beat process at all"
)


# --------------------------------------------------------------------------- the worker


@dataclass(frozen=True, slots=True)
class WorkerActivity:
    """What the worker holds, from Redis (``unacked``)."""

    #: the task it executes now (the oldest held message that is not a retry waiting for
    #: its eta and was delivered since the worker last started)
    running: CeleryMessage | None
    #: held messages delivered before the worker's last start: a dead worker's, not running
    orphaned: tuple[CeleryMessage, ...] = ()
    #: retries waiting for their eta
    scheduled: tuple[CeleryMessage, ...] = ()

    def running_for(self, now: dt.datetime) -> float | None:
        if self.running is None or self.running.delivered_at is None:
            return None
        return max(0.0, (now - self.running.delivered_at).total_seconds())

    def overrun(self, now: dt.datetime, limit: float = TASK_LIMIT_SECONDS) -> bool:
        took = self.running_for(now)
        return took is not None and took > limit


def readable(celery: CelerySnapshot | None) -> bool:
    return celery is not None and celery.state == "ok"


def worker_of(containers: ContainersSnapshot | None) -> ContainerInfo | None:
    if containers is None or containers.state == "error":
        return None
    return next((c for c in containers.items if c.service == "worker"), None)


def worker_activity(
    celery: CelerySnapshot | None, worker: ContainerInfo | None = None
) -> WorkerActivity | None:
    """``None`` when Redis could not be read (nothing can be concluded)."""
    if celery is None or not readable(celery):
        return None
    started = worker.started_at if worker is not None else None
    running: list[CeleryMessage] = []
    orphaned: list[CeleryMessage] = []
    for msg in celery.running:
        if (
            started is not None
            and msg.delivered_at is not None
            and (started - msg.delivered_at).total_seconds() > ORPHAN_SLACK_SECONDS
        ):
            orphaned.append(msg)
        else:
            running.append(msg)
    return WorkerActivity(
        running=running[0] if running else None,
        orphaned=tuple(orphaned),
        scheduled=celery.scheduled,
    )


def _running_phrase(act: WorkerActivity, now: dt.datetime) -> str:
    """``emag.sync_products for main (running 4m, since 11:56 UTC)``."""
    assert act.running is not None
    took = act.running_for(now)
    if took is None:
        return about(act.running)
    return (
        f"{about(act.running)} (running {span(took)}, since {hhmm(act.running.delivered_at)} UTC)"
    )


def _held_note(act: WorkerActivity) -> str:
    notes = []
    if act.orphaned:
        tasks = ", ".join(about(m) for m in act.orphaned[:2])
        notes.append(
            f"it still holds {tasks}, taken by the worker before its last restart: kombu "
            "returns such a message to the queue after the 3600 s visibility timeout"
        )
    if act.scheduled:
        notes.append(f"{len(act.scheduled)} retry(ies) wait for their time")
    return ("; " + "; ".join(notes)) if notes else ""


def worker_health_finding(
    worker: ContainerInfo,
    act: WorkerActivity,
    now: dt.datetime,
    *,
    limit: float = TASK_LIMIT_SECONDS,
    probe: str = "",
) -> Finding:
    """What an unhealthy worker means, given what it holds."""
    if act.running is not None and not act.overrun(now, limit):
        return Finding(
            "worker_busy",
            "info",
            f"{worker.name} is unhealthy only because it is busy: it runs "
            f"{_running_phrase(act, now)}, and its solo pool cannot answer the healthcheck's "
            "`celery inspect ping` until the task ends (a product sync may take up to "
            f"{limit:.0f} s).",
            account=act.running.account,
            subject=worker.name,
            short=f"busy: {label(act.running.task, act.running.account)} "
            f"{span(act.running_for(now))}",
        )
    if act.running is not None:
        return overrun_finding(worker.name, act, now, limit, unhealthy=True)
    msg = f"{worker.name} is unhealthy{probe}, and it executes no task (Redis holds none for it)"
    return Finding(
        "container_unhealthy",
        "critical",
        msg + f", so it is not merely busy{_held_note(act)}.",
        subject=worker.name,
        short="worker unhealthy, not busy",
    )


def overrun_finding(
    name: str, act: WorkerActivity, now: dt.datetime, limit: float, *, unhealthy: bool
) -> Finding:
    assert act.running is not None
    health = "unhealthy" if unhealthy else "busy"
    return Finding(
        "worker_task_overrun",
        "critical",
        f"{name} is {health}: it runs {_running_phrase(act, now)}, past the {limit:.0f} s limit "
        "of a sync: the task hangs (an eMAG call or a database lock), or the worker that took "
        "it died and its message waits for the 3600 s visibility timeout. Nothing else runs "
        "meanwhile (solo pool): order syncs, auto-acknowledge and heartbeats wait.",
        account=act.running.account,
        subject=name,
        short=f"{label(act.running.task, act.running.account)} stuck {span(act.running_for(now))}",
    )


def beat_gate_finding(act: WorkerActivity | None, now: dt.datetime, limit: float) -> Finding:
    """``beat_gated_by_worker``, saying whether the worker is only busy."""
    base = (
        "beat waits for a healthy worker: no scheduled sync will run until the worker is healthy."
    )
    if act is None or act.running is None:
        return Finding("beat_gated_by_worker", "critical", base, subject="beat")
    if act.overrun(now, limit):
        return Finding(
            "beat_gated_by_worker",
            "critical",
            f"{base} The worker is stuck on {_running_phrase(act, now)}, past the {limit:.0f} s "
            "limit.",
            subject="beat",
            account=act.running.account,
            short="beat waits: worker stuck",
        )
    return Finding(
        "beat_gated_by_worker",
        "warning",
        f"{base} The worker is only busy: it runs {_running_phrase(act, now)} and cannot "
        "answer its ping meanwhile; once the task ends and a ping succeeds, beat can start.",
        subject="beat",
        account=act.running.account,
        short="beat waits: worker busy",
    )


def worker_unhealthy(containers: ContainersSnapshot | None) -> bool:
    w = worker_of(containers)
    return w is not None and w.state == "running" and w.health == "unhealthy"


# --------------------------------------------------------------------------- beat


def heartbeat_age(celery: CelerySnapshot, now: dt.datetime) -> float | None:
    if celery.last_heartbeat_at is None:
        return None
    return max(0.0, (now - celery.last_heartbeat_at).total_seconds())


def heartbeat_fresh(celery: CelerySnapshot | None, now: dt.datetime, interval: float) -> bool:
    """A heartbeat result younger than 3 intervals: beat, broker and worker work."""
    if celery is None or not readable(celery):
        return False
    age = heartbeat_age(celery, now)
    return age is not None and age <= HEARTBEAT_STALE_INTERVALS * interval


def _redis_uptime(redis: RedisSnapshot | None) -> float | None:
    if redis is None or redis.state != "ok" or redis.uptime_seconds is None:
        return None
    return float(redis.uptime_seconds)


def _beat_docker_note(containers: ContainersSnapshot | None) -> str:
    if containers is None or containers.state == "error":
        return ""
    beat = next((c for c in containers.items if c.service == "beat"), None)
    if beat is None:
        return " Docker shows no beat container."
    if beat.state != "running":
        return f" {beat.name} is {beat.state}."
    if beat.health == "healthy":
        return f" Docker reports {beat.name} healthy, but {BEAT_HEALTHCHECK}."
    return f" Docker reports {beat.name} {beat.health or 'running'}; {BEAT_HEALTHCHECK}."


def heartbeat_findings(
    containers: ContainersSnapshot | None,
    celery: CelerySnapshot,
    redis: RedisSnapshot | None,
    act: WorkerActivity | None,
    *,
    now: dt.datetime,
    interval: float,
) -> list[Finding]:
    stale_after = HEARTBEAT_STALE_INTERVALS * interval
    age = heartbeat_age(celery, now)
    if age is not None and age <= stale_after:
        return []
    uptime = _redis_uptime(redis)
    # Redis lost everything when it restarted: judge only the time since then
    if uptime is not None and uptime <= stale_after and (age is None or uptime < age):
        return []
    every = f"every {interval:g} s"
    if (
        act is not None
        and act.running is not None
        and act.running.delivered_at is not None
        and (
            celery.last_heartbeat_at is None
            or act.running.delivered_at
            <= celery.last_heartbeat_at + dt.timedelta(seconds=2 * interval)
        )
        and celery.queued_total > 0
    ):
        last = f"{span(age)} ago" if age is not None else "none in Redis"
        return [
            Finding(
                "beat_heartbeat_delayed",
                "warning",
                f"No fresh heartbeat (last: {last}), but the worker has been busy since about "
                f"then: it runs {_running_phrase(act, now)}, and beat's heartbeats ({every}) "
                f"wait in the queue behind it ({celery.queued_total} message(s) queued). Beat's "
                "liveness shows again when the task ends.",
                subject="beat",
                account=act.running.account,
                short="heartbeat waits: worker busy",
            )
        ]
    if age is not None:
        what = (
            f"No heartbeat from beat for {span(age)} (the newest at "
            f"{hhmm(celery.last_heartbeat_at)} UTC), more than {HEARTBEAT_STALE_INTERVALS} "
            f"intervals ({every}): beat is not sending maintenance.heartbeat, or the worker "
            "is not running it."
        )
        short = f"no beat heartbeat for {span(age)}"
    else:
        since = f" since Redis started {span(uptime)} ago" if uptime is not None else ""
        what = (
            f"No heartbeat result in Redis (they are kept 24 h){since}: beat has not sent "
            f"maintenance.heartbeat ({every}), or the worker has not run one."
        )
        short = "no beat heartbeat in Redis"
    if celery.queued_total > 0 and (act is None or act.running is None):
        oldest = celery.oldest_queued.task if celery.oldest_queued else None
        what += (
            f" {celery.queued_total} message(s) wait in the queue"
            + (f" (the oldest: {oldest})" if oldest else "")
            + " and the worker runs none: beat may be sending and the worker not consuming."
        )
    what += " No scheduled sync runs without them." + _beat_docker_note(containers)
    severity: Severity = "critical"
    if not celery.results_complete:
        severity = "warning"
        what += (
            " Redis's result keys were scanned only in part (a bounded SCAN), so a newer "
            "heartbeat may exist."
        )
    return [Finding("beat_heartbeat_stale", severity, what, subject="beat", short=short)]


# --------------------------------------------------------------------------- product syncs

_BOTH_PREFIX = re.compile(r"^both:")


def both_results(celery: CelerySnapshot, now: dt.datetime) -> list[CeleryResult]:
    """Product-sync results of a ``both`` run kept in Redis (newest first)."""
    return [
        r
        for r in celery.results
        if r.kind == "product_sync"
        and r.status == "SUCCESS"
        and _BOTH_PREFIX.match(r.summary)
        and (r.date_done is None or now - r.date_done <= RESULTS_KEPT)
    ]


def both_noop_findings(
    sync: SyncSnapshot | None,
    celery: CelerySnapshot,
    *,
    now: dt.datetime,
    interval: float,
    no_success_hours: float,
) -> list[Finding]:
    """Beat and worker alive, and an account with no successful product sync: the
    ``both`` default of beat's hourly sync (sheet §6.4, §11.3)."""
    if sync is None or sync.state == "error" or not heartbeat_fresh(celery, now, interval):
        return []
    accounts = [
        f.account
        for f in sync.anomalies
        if f.code == "sync_no_recent_success" and f.account and f.account != "both"
    ]
    if not accounts:
        return []
    evidence = both_results(celery, now)
    age = heartbeat_age(celery, now)
    if evidence:
        seen = (
            f" Redis holds {len(evidence)} result(s) of such 'both' runs (newest "
            f"{hhmm(evidence[0].date_done)} UTC), and none left a row."
        )
    else:
        seen = ""
    out = []
    for acct in dict.fromkeys(accounts):
        out.append(
            Finding(
                "product_sync_both_noop",
                "warning",
                f"No successful product sync for {acct} in the last {no_success_hours:g} h, "
                f"although beat and the worker are alive (heartbeat {span(age)} ago): beat's "
                'hourly emag.sync_products runs with account_type="both", which persists '
                f"nothing (no product upsert, no sync-log row).{seen} Beat is not at fault: "
                f"trigger the account on its own, `magflow-console sync --account {acct}` (and "
                "the other account separately).",
                account=acct,
                subject="emag.sync_products",
                short=f"{acct[:8]}: beat sync 'both' no-op",
            )
        )
    return out


# --------------------------------------------------------------------------- retries, failures


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
            what = f"{key} attempts failed for good"
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


# --------------------------------------------------------------------------- redis


def redis_findings(
    redis: RedisSnapshot | None, celery: CelerySnapshot | None, *, now: dt.datetime, interval: float
) -> list[Finding]:
    if redis is None or redis.state != "ok":
        return []  # its own error is reported with the snapshot
    out: list[Finding] = []
    lru = f", policy {redis.maxmemory_policy}" if redis.maxmemory_policy else ""
    if redis.evicted_keys:
        out.append(
            Finding(
                "redis_evicting",
                "warning",
                f"Redis has evicted {redis.evicted_keys} key(s) since it started (at maxmemory{lru}): an "
                "evicted key can be a queued or held Celery message or a result, lost without "
                "a trace, as well as the login cache.",
                subject="redis",
                short=f"Redis evicted {redis.evicted_keys} keys"[:32],
            )
        )
    if redis.maxmemory and redis.used_memory is not None:
        share = redis.used_memory / redis.maxmemory
        if share > MEMORY_HIGH:
            mib = 1024 * 1024
            out.append(
                Finding(
                    "redis_memory_high",
                    "warning",
                    f"Redis uses {redis.used_memory / mib:.0f} MiB of its "
                    f"{redis.maxmemory / mib:.0f} MiB maxmemory ({share:.0%}{lru}): at the "
                    "limit it evicts keys, queued Celery messages and results included.",
                    subject="redis",
                    short=f"Redis memory at {share:.0%}",
                )
            )
    uptime = _redis_uptime(redis)
    if uptime is not None and celery is not None and readable(celery):
        age = heartbeat_age(celery, now)
        stale_after = HEARTBEAT_STALE_INTERVALS * interval
        restarted = (age is not None and uptime < age) or (age is None and uptime <= stale_after)
        if restarted:
            after = (
                f"after beat's last heartbeat ({span(age)} ago)"
                if age is not None
                else "and no heartbeat has reached it since"
            )
            kept = (
                "it reloads only what its AOF kept"
                if redis.aof_enabled
                else "it keeps nothing on disk (the main stack has no volume and no AOF)"
            )
            out.append(
                Finding(
                    "redis_restarted",
                    "warning",
                    f"Redis restarted {span(uptime)} ago, {after}: {kept}, so the queued and "
                    "held Celery messages, the results and the API's login cache were lost; "
                    "the work they held does not run unless it is triggered again.",
                    subject="redis",
                    short=f"Redis restarted {span(uptime)} ago",
                )
            )
    return out


# --------------------------------------------------------------------------- entry point


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
