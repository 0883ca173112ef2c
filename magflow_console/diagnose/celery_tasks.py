"""MagFlow's Celery tasks as the diagnosis needs them (stack sheet §6.4, §11.3, §11.4):
beat's intervals, each task's retry policy and time limit, and how a pending retry is
worded ("retrying at 12:40 UTC (attempt 2 of 3)").

Shared by the Celery rules (``diagnose.celery``, ``diagnose.orders``) and the sync watch
(``actions.sync_watch``), so a retry reads the same in ``status``, ``doctor`` and
``sync --wait``. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from magflow_console.models import CeleryMessage, ContainersSnapshot

HEARTBEAT = "maintenance.heartbeat"
SYNC_PRODUCTS = "emag.sync_products"
SYNC_ORDERS = "emag.sync_orders"
AUTO_ACK = "emag.auto_acknowledge_orders"

#: task name -> (max_retries, delay between attempts in s); auto-acknowledge keeps
#: Celery's default delay (sheet §11.3)
RETRY_POLICY: dict[str, tuple[int, float]] = {
    SYNC_PRODUCTS: (2, 600.0),
    SYNC_ORDERS: (3, 300.0),
    AUTO_ACK: (3, 180.0),
}
#: the product sync's own limit (sheet §9, §11.2): a task held longer than this is stuck
TASK_LIMIT_SECONDS = 600.0
#: how many heartbeat intervals without a heartbeat mean beat (or the worker) is dead
HEARTBEAT_STALE_INTERVALS = 3
#: how many order-sync intervals without a synced order make an account's orders stale
ORDER_SYNC_STALE_INTERVALS = 3

#: beat entry -> the environment variable that sets its interval (sheet §6.4)
INTERVAL_ENV: dict[str, str] = {
    HEARTBEAT: "CELERY_HEARTBEAT_INTERVAL",
    SYNC_ORDERS: "EMAG_SYNC_ORDERS_INTERVAL",
    AUTO_ACK: "EMAG_AUTO_ACK_INTERVAL",
    SYNC_PRODUCTS: "EMAG_SYNC_PRODUCTS_INTERVAL",
    "emag.cleanup_old_sync_logs": "EMAG_CLEANUP_INTERVAL",
    "emag.health_check": "EMAG_HEALTH_CHECK_INTERVAL",
}
DEFAULT_INTERVALS: dict[str, float] = {
    HEARTBEAT: 60.0,
    SYNC_ORDERS: 300.0,
    AUTO_ACK: 600.0,
    SYNC_PRODUCTS: 3600.0,
    "emag.cleanup_old_sync_logs": 86400.0,
    "emag.health_check": 900.0,
}


@dataclass(frozen=True, slots=True)
class Schedule:
    """Beat's intervals in seconds (task name -> interval)."""

    intervals: Mapping[str, float]

    def of(self, task: str | None, default: float | None = None) -> float | None:
        if task is not None and task in self.intervals:
            return self.intervals[task]
        return default

    @property
    def heartbeat(self) -> float:
        return self.intervals.get(HEARTBEAT, DEFAULT_INTERVALS[HEARTBEAT])

    @property
    def order_sync(self) -> float:
        return self.intervals.get(SYNC_ORDERS, DEFAULT_INTERVALS[SYNC_ORDERS])


DEFAULT_SCHEDULE = Schedule(DEFAULT_INTERVALS)


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def schedule_of(containers: ContainersSnapshot | None) -> Schedule:
    """The defaults, overridden by the beat container's interval variables when the Docker
    source shows their values (``ContainerInfo.env_public``)."""
    intervals = dict(DEFAULT_INTERVALS)
    beat = None
    if containers is not None and containers.state != "error":
        beat = next((c for c in containers.items if c.service == "beat"), None)
    if beat is not None:
        for task, name in INTERVAL_ENV.items():
            value = _seconds(beat.env_public.get(name))
            if value is not None:
                intervals[task] = value
    return Schedule(intervals)


def short_task(task: str | None) -> str:
    """``emag.sync_products`` -> ``sync_products`` (for the 30-character short forms)."""
    if not task:
        return "a task"
    return task.rsplit(".", 1)[-1]


def attempts_of(task: str | None) -> int | None:
    """How many attempts the task gets in all (its retries + the first), if known."""
    policy = RETRY_POLICY.get(task or "")
    return policy[0] + 1 if policy else None


def attempt_text(task: str | None, retries: int) -> str:
    """``attempt 2 of 3`` for a message with ``retries`` = 1 (``attempt 2`` when the
    task's policy is unknown)."""
    total = attempts_of(task)
    n = retries + 1
    return f"attempt {n} of {total}" if total is not None else f"attempt {n}"


def hhmm(value: dt.datetime | None) -> str:
    """``12:40`` in UTC (``--:--`` when unknown)."""
    if value is None:
        return "--:--"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%H:%M")


def retry_text(msg: CeleryMessage) -> str:
    """``retrying at 12:40 UTC (attempt 2 of 3)`` for a held retry."""
    return f"retrying at {hhmm(msg.eta)} UTC ({attempt_text(msg.task, msg.retries)})"


def is_last_attempt(msg: CeleryMessage) -> bool:
    total = attempts_of(msg.task)
    return total is not None and msg.retries + 1 >= total


#: a few characters per task, for the short forms
_LABELS = {
    HEARTBEAT: "heartbeat",
    SYNC_ORDERS: "order sync",
    AUTO_ACK: "auto-ack",
    SYNC_PRODUCTS: "product sync",
}


def label(task: str | None, account: str | None = None) -> str:
    """``main sync`` for a product sync of main, ``order sync``, ``auto-ack``, else the
    task's last name part (at most 20 characters)."""
    if task == SYNC_PRODUCTS and account:
        return f"{account[:8]} sync"
    return _LABELS.get(task or "", short_task(task))[:20]


def about(msg: CeleryMessage) -> str:
    """``emag.sync_products for main`` (the task and its account, when known)."""
    task = msg.task or "an unnamed task"
    return f"{task} for {msg.account}" if msg.account else task
