"""Beat, judged by what it does (stack sheet §6.4, §11.2, §11.3).

- Beat is alive when its heartbeat is: every ``CELERY_HEARTBEAT_INTERVAL`` (60) seconds it
  sends ``maintenance.heartbeat``, which the worker runs; a fresh result proves beat, broker
  and worker together. ``beat_heartbeat_stale`` (critical) after 3 intervals without one,
  whatever Docker says (beat's healthcheck matches its own ``sh -c``);
  ``beat_heartbeat_delayed`` (warning) while a long task holds the solo worker and the
  heartbeats wait in the queue behind it.
- What beat's product-sync entry really does: ``account_type="both"``, which persists
  nothing, so an account with no successful product sync on a stack whose beat and worker
  are alive is ``product_sync_both_noop``, not a scheduling fault.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import re

from magflow_console.diagnose.celery_tasks import HEARTBEAT_STALE_INTERVALS, hhmm
from magflow_console.diagnose.worker import WorkerActivity, readable, running_phrase
from magflow_console.models import (
    CeleryResult,
    CelerySnapshot,
    ContainersSnapshot,
    Finding,
    RedisSnapshot,
    Severity,
    SyncSnapshot,
)
from magflow_console.render.fmt import span

#: results (heartbeats included) expire after this long in Redis
RESULTS_KEPT = dt.timedelta(hours=24)
BEAT_HEALTHCHECK = (
    "beat's container healthcheck cannot detect this: its `pgrep -f 'celery beat'` "
    "matches the healthcheck's own `sh -c`, so it passes with no beat process at all"
)


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


def redis_uptime(redis: RedisSnapshot | None) -> float | None:
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
    uptime = redis_uptime(redis)
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
                f"then: it runs {running_phrase(act, now)}, and beat's heartbeats ({every}) "
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
