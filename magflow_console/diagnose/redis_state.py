"""Redis itself (stack sheet §1.1, §9, §11.3): db 0 holds the broker, the results and the
caches, with ``maxmemory 256mb``, ``allkeys-lru`` and no persistence in the main stack.

- ``redis_evicting``: ``evicted_keys`` > 0 (an evicted key may be a queued task);
- ``redis_memory_high``: above 90% of ``maxmemory``;
- ``redis_restarted``: up for less time than beat's last heartbeat is old (or so recently
  that no heartbeat is due yet): the queue, the held messages and the login cache are gone.

An unreadable Redis gives nothing here: its snapshot's own error is reported elsewhere.
Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt

from magflow_console.diagnose.beat import heartbeat_age, redis_uptime
from magflow_console.diagnose.celery_tasks import HEARTBEAT_STALE_INTERVALS
from magflow_console.diagnose.worker import readable
from magflow_console.models import CelerySnapshot, Finding, RedisSnapshot
from magflow_console.render.fmt import span

#: used memory above this share of ``maxmemory`` is a warning
MEMORY_HIGH = 0.9


UNREACHABLE = "redis_unreachable"


def unreachable_findings(snap: RedisSnapshot) -> list[Finding]:
    """Redis down (or refusing the password) stops Celery and the login cache; a Redis the
    console has no URL for (``url`` None) is unread, not down (doctor says so)."""
    if snap.state == "error" and snap.url is not None:
        return [
            Finding(
                UNREACHABLE,
                "critical",
                snap.error or "Redis unreachable.",
                subject="redis",
                short="Redis unreachable",
            )
        ]
    return []


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
    uptime = redis_uptime(redis)
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
