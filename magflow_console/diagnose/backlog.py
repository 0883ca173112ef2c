"""Is the Celery backlog draining? (stack sheet §11.3: queue ``default``, solo worker).

A queued kombu message carries no time of its own, so how long the oldest one has waited,
and whether the queue grows, can only be seen across refreshes: ``observe_backlog`` folds
each Celery snapshot into a small immutable history (``BacklogSeen``) that the caller keeps
between refreshes, and ``backlog_findings`` judges it:

- the message the worker takes next has been the same one for longer than its task's
  beat interval (a heartbeat waiting over 60 s, an order sync over 300 s: the next one is
  already due), or
- the queue has not shrunk once over the last order-sync interval and holds more than at
  its start: more arrives than the worker takes.

Both are ``celery_backlog``: info while a task within its limit holds the solo worker
(everything waits behind it, as designed), a warning otherwise. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace

from magflow_console.diagnose.celery_tasks import (
    TASK_LIMIT_SECONDS,
    Schedule,
    about,
    label,
)
from magflow_console.diagnose.worker import WorkerActivity
from magflow_console.models import CelerySnapshot, Finding, Severity
from magflow_console.render.fmt import span

#: samples older than this are dropped from the history
KEEP_SECONDS = 1800.0


@dataclass(frozen=True, slots=True)
class BacklogSeen:
    """What earlier refreshes saw of the queue."""

    #: the id of the message the worker takes next, and when it was first seen there
    oldest_id: str | None = None
    oldest_since: dt.datetime | None = None
    #: (fetched_at, messages queued), oldest first, within ``KEEP_SECONDS``
    samples: tuple[tuple[dt.datetime, int], ...] = ()


def observe_backlog(
    seen: BacklogSeen | None, celery: CelerySnapshot, *, keep: float = KEEP_SECONDS
) -> BacklogSeen:
    """The history with ``celery`` added (unchanged when Redis could not be read)."""
    seen = seen or BacklogSeen()
    if celery.state != "ok":
        return seen
    at = celery.fetched_at
    oldest = celery.oldest_queued
    oid = oldest.id if oldest is not None else None
    if oid is not None and oid == seen.oldest_id and seen.oldest_since is not None:
        since: dt.datetime | None = seen.oldest_since
    else:
        since = at if oid is not None else None
    samples = tuple(s for s in seen.samples if 0 <= (at - s[0]).total_seconds() <= keep)
    return replace(
        seen, oldest_id=oid, oldest_since=since, samples=(*samples, (at, celery.queued_total))
    )


def growth(seen: BacklogSeen, now: dt.datetime, window: float) -> tuple[int, int] | None:
    """(queued at the window's start, queued now) when the queue never shrank over the
    last ``window`` seconds and ended larger; ``None`` otherwise (or too short a history)."""
    base = None
    for i, (at, _n) in enumerate(seen.samples):
        if (now - at).total_seconds() >= window:
            base = i
    if base is None:
        return None
    values = [n for _at, n in seen.samples[base:]]
    if len(values) < 2 or values[-1] <= values[0]:
        return None
    if any(b < a for a, b in itertools.pairwise(values)):
        return None
    return values[0], values[-1]


def backlog_findings(
    celery: CelerySnapshot,
    seen: BacklogSeen | None,
    act: WorkerActivity | None,
    *,
    now: dt.datetime,
    schedule: Schedule,
    limit: float = TASK_LIMIT_SECONDS,
) -> list[Finding]:
    if seen is None or celery.state != "ok" or celery.queued_total == 0:
        return []
    facts: list[str] = []
    oldest = celery.oldest_queued
    waited = None
    if oldest is not None and oldest.id is not None and oldest.id == seen.oldest_id:
        if seen.oldest_since is not None:
            waited = (now - seen.oldest_since).total_seconds()
        interval = schedule.of(oldest.task, schedule.order_sync) or schedule.order_sync
        if waited is not None and waited > interval:
            facts.append(
                f"the message the worker takes next ({about(oldest)}) has waited at least "
                f"{span(waited)}, longer than its {interval:g} s interval"
            )
        else:
            waited = None
    grew = growth(seen, now, schedule.order_sync)
    if grew is not None:
        facts.append(
            f"the queue grew from {grew[0]} to {grew[1]} over the last "
            f"{schedule.order_sync:g} s without shrinking once"
        )
    if not facts:
        return []
    busy = act is not None and act.running is not None and not act.overrun(now, limit)
    severity: Severity = "info" if busy else "warning"
    if act is not None and act.running is not None:
        took = act.running_for(now)
        cause = (
            f" The solo worker is busy with {about(act.running)} ({span(took)}): everything "
            "waits behind it."
        )
    else:
        cause = (
            " The worker runs no task: is it consuming (its container, its log, the broker "
            "URL it uses)?"
        )
    short = (
        f"queue {celery.queued_total}, next waits {span(waited)}"
        if waited is not None
        else f"queue growing: {celery.queued_total} queued"
    )
    return [
        Finding(
            "celery_backlog",
            severity,
            f"{celery.queued_total} message(s) wait in the Celery queue: "
            + "; ".join(facts)
            + "."
            + cause,
            account=oldest.account if oldest is not None else None,
            subject=oldest.task if oldest is not None else "default",
            short=short
            if len(short) <= 32
            else f"backlog: {label(oldest.task if oldest else None)}",
        )
    ]
