"""The triggered Celery task as Redis shows it (sheet §11.3): the message a worker holds
for it (running, or a retry waiting for its eta) and its result. The sync watch reads it
every ``BROKER_EVERY_SECONDS`` so a failed attempt with a retry scheduled is reported as
"retrying at HH:MM (attempt n of m)", not as a failure. Read-only; never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

from magflow_console.actions.guard import ActionContext
from magflow_console.diagnose.celery_tasks import retry_text
from magflow_console.models import CeleryMessage, CeleryResult
from magflow_console.sources.broker import BrokerSource
from magflow_console.sources.broker_url import redis_target_for

#: how often the watch reads Celery's state in Redis
BROKER_EVERY_SECONDS = 2.0
#: results a read keeps (the task's own must not fall out behind the heartbeats)
BROKER_RESULTS = 2000


def broker_for(ctx: ActionContext) -> BrokerSource | None:
    """The profile's Redis as Celery's broker (its URL, else the worker's broker URL), or
    ``None`` when there is none to read."""
    url = redis_target_for(ctx.profile).url
    return BrokerSource(url, results_limit=BROKER_RESULTS) if url else None


@dataclass(frozen=True)
class TaskState:
    """One Celery task as Redis shows it: the message a worker holds for it (the newest
    attempt) and its result, if any."""

    readable: bool
    held: CeleryMessage | None = None
    result: CeleryResult | None = None
    error: str | None = None

    @property
    def retry(self) -> CeleryMessage | None:
        """The held retry waiting for its eta, if that is where the task stands."""
        return self.held if self.held is not None and self.held.scheduled_retry else None


def task_state(broker: BrokerSource, task_id: str) -> TaskState:
    """Read once (never raises: an unreadable Redis is ``readable=False``)."""
    _redis, celery = broker.fetch()
    if celery.state != "ok":
        return TaskState(False, error=celery.error)
    held = [m for m in celery.executing if m.id == task_id]
    newest = max(held, key=lambda m: m.retries) if held else None
    result = next((r for r in celery.results if r.task_id == task_id), None)
    return TaskState(True, newest, result)


class TaskWatch:
    """What the watch has learnt of the task so far."""

    def __init__(self, broker: BrokerSource | None, task_id: str | None, every: float) -> None:
        self.broker = broker if task_id else None
        self.task_id = task_id or ""
        self.every = every
        self.next_read = 0.0
        self.seen = False  # Redis was readable at least once
        self.retrying: CeleryMessage | None = None
        self.retry_why = ""  # the failed attempt's exception, from the RETRY result
        self.retry_result = False  # a RETRY result without its held message (yet)
        self.running: CeleryMessage | None = None
        self.done: CeleryResult | None = None  # SUCCESS
        self.failed: CeleryResult | None = None  # FAILURE, final

    def read(self, now: float) -> TaskState | None:
        if self.broker is None or now < self.next_read:
            return None
        self.next_read = now + self.every
        st = task_state(self.broker, self.task_id)
        if not st.readable:
            return st
        self.seen = True
        if st.result is not None and st.result.status == "RETRY":
            self.retry_result = True
            self.retry_why = st.result.summary or self.retry_why
        if st.retry is not None:
            self.retrying, self.running = st.retry, None
        elif st.held is not None:
            self.running, self.retrying, self.retry_result = st.held, None, False
        if st.result is not None and st.result.status == "SUCCESS":
            self.done, self.retrying, self.retry_result = st.result, None, False
        elif st.result is not None and st.result.status == "FAILURE" and st.retry is None:
            self.failed = st.result
        return st

    @property
    def pending_retry(self) -> bool:
        return self.retrying is not None or self.retry_result

    def pending(self) -> str:
        """``retrying at 12:40 UTC (attempt 2 of 3)`` (the retry's time once known)."""
        return retry_text(self.retrying) if self.retrying is not None else "retrying"

    def retry_message(self) -> str:
        why = f" ({self.retry_why})" if self.retry_why else ""
        if self.retrying is None:
            return f"an attempt failed{why}; Celery is scheduling its retry"
        failed = self.retrying.retries  # the attempt that failed is the one before
        return f"attempt {failed} failed{why}; {retry_text(self.retrying)}"
