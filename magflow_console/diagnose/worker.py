"""The Celery worker as Redis shows it (stack sheet §11.2, §11.3).

The worker runs a solo pool: while it executes a task it cannot answer ``celery inspect
ping``, its healthcheck, so Docker calls it ``unhealthy`` when it is only busy.
``worker_activity`` reads what it holds (``unacked``): the task it runs and since when, the
retries waiting for their time, and messages taken by a worker that has since restarted.
``worker_health_finding`` (used by ``rules.container_findings``) turns an unhealthy worker
into ``worker_busy`` (info), ``worker_task_overrun`` (critical, past the 600 s limit), or
keeps ``container_unhealthy`` (critical: nothing executing); ``beat_gate_finding`` says
whether the worker beat waits for is only busy. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from magflow_console.diagnose.celery_tasks import TASK_LIMIT_SECONDS, about, hhmm, label
from magflow_console.models import (
    CeleryMessage,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    Finding,
)
from magflow_console.render.fmt import span

#: a held message delivered this long before the worker's start is from an earlier worker
#: (clocks of the Docker host and of Redis may differ by a little)
ORPHAN_SLACK_SECONDS = 5.0


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
    down = worker is not None and worker.state != "running"
    for msg in celery.running:
        if down or (
            started is not None
            and msg.delivered_at is not None
            and (started - msg.delivered_at).total_seconds() > ORPHAN_SLACK_SECONDS
        ):  # a worker that is down, or has restarted since, runs none of them
            orphaned.append(msg)
        else:
            running.append(msg)
    return WorkerActivity(
        running=running[0] if running else None,
        orphaned=tuple(orphaned),
        scheduled=celery.scheduled,
    )


def running_phrase(act: WorkerActivity, now: dt.datetime) -> str:
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
            f"{running_phrase(act, now)}, and its solo pool cannot answer the healthcheck's "
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
        f"{name} is {health}: it runs {running_phrase(act, now)}, past the {limit:.0f} s limit "
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
            f"{base} The worker is stuck on {running_phrase(act, now)}, past the {limit:.0f} s "
            "limit.",
            subject="beat",
            account=act.running.account,
            short="beat waits: worker stuck",
        )
    return Finding(
        "beat_gated_by_worker",
        "warning",
        f"{base} The worker is only busy: it runs {running_phrase(act, now)} and cannot "
        "answer its ping meanwhile; once the task ends and a ping succeeds, beat can start.",
        subject="beat",
        account=act.running.account,
        short="beat waits: worker busy",
    )


def worker_unhealthy(containers: ContainersSnapshot | None) -> bool:
    w = worker_of(containers)
    return w is not None and w.state == "running" and w.health == "unhealthy"
