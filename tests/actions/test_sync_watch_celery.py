"""The sync watch following its Celery task in Redis (sheet §11.3), against the real
redis-server and the real solo worker of ``tests/support`` (the stand-in of MagFlow's
Celery app) and a real PostgreSQL for the sync-log rows.

What the watch reads of the worker's log is given by the test (the stand-in tasks log
only Celery's own lines); everything about the task (held messages, retries, results)
comes from the real worker through the real Redis.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from magflow_console.actions import sync, sync_request, sync_task, sync_watch
from magflow_console.actions.guard import ActionContext
from magflow_console.sources.broker import BrokerSource
from tests.actions.test_admins import make_ctx
from tests.actions.test_sync import insert_log
from tests.support.celery_app.control import Control
from tests.support.celery_rig import CeleryClient, CeleryProcess
from tests.support.docker_engine import DockerEngine
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.postgres

FAILED_LINE = (
    "2025-10-21 20:46:53,100 - app.services.enhanced_emag_service - ERROR - "
    "Product sync failed: eMAG answered 503"
)
#: the service's own line, logged before the inventory step (which makes the only commit)
SERVICE_DONE = (
    "2025-10-21 20:46:53,100 - app.services.enhanced_emag_service - INFO - Product sync completed"
)
WATCH_TIMEOUT = 240.0  # never reached: every test ends the watch by an event


class Watch:
    """One account's watch of one task, run in a thread so the test can act meanwhile."""

    def __init__(
        self,
        ctx: ActionContext,
        task_id: str,
        *,
        logs: Callable[[float], list[str]] | None = None,
        row_grace: float = 2.0,
        confirm: float = 15.0,
    ) -> None:
        self.lines: list[str] = []
        self.stop = threading.Event()
        self.db = sync_watch.SyncDb(ctx)
        self.since, self.known = self.db.baseline("main")
        broker = sync_task.broker_for(ctx)
        assert isinstance(broker, BrokerSource)
        self.broker = broker
        self.outcome: sync_watch.Outcome | None = None
        self._thread = threading.Thread(
            target=self._run,
            kwargs={
                "task_id": task_id,
                "logs": logs,
                "row_grace": row_grace,
                "confirm": confirm,
            },
        )

    def _run(self, **kw: Any) -> None:
        self.outcome = sync_watch.watch_outcome(
            self.db, "main", self.since, self.known, WATCH_TIMEOUT,
            emit=self.lines.append, poll=0.1, stop=self.stop, broker=self.broker,
            broker_every=0.1, **kw,
        )  # fmt: skip

    def start(self) -> Watch:
        self._thread.start()
        return self

    def wait_line(self, fragment: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            found = [ln for ln in self.lines if fragment in ln]
            if found:
                return found[0]
            if self.outcome is not None:
                pytest.fail(f"the watch ended ({self.outcome}) before emitting {fragment!r}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {fragment!r} in {self.lines}")
            time.sleep(0.05)

    def result(self, timeout: float = 60.0) -> sync_watch.Outcome:
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stop.set()
            self._thread.join(10)
            pytest.fail(f"the watch did not end by itself: {self.lines}")
        assert self.outcome is not None
        return self.outcome

    def close(self) -> None:
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.db.close()
        self.broker.close()


@pytest.fixture
def ctx(tmp_path: Path, head_db_url: str, redis_db: RedisServer) -> ActionContext:
    return make_ctx(tmp_path, head_db_url, redis_url=redis_db.url)


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    made: list[Watch] = []
    yield made
    for w in made:
        w.close()


def send_sync(client: CeleryClient, account: str = "main", **options: Any) -> str:
    return client.send(
        "emag.sync_products",
        kwargs={"account_type": account, "max_pages_per_account": 3},
        **options,
    )


def result_meta(server: RedisServer, task_id: str) -> dict[str, Any] | None:
    raw = server.client().get(f"celery-task-meta-{task_id}")
    return json.loads(raw) if raw else None


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def held_retry_eta(server: RedisServer, task_id: str) -> dt.datetime | None:
    """The eta of the re-published message (retries >= 1) the worker holds, read by the rig."""
    for value in server.client().hvals("unacked"):
        headers = json.loads(value)[0]["headers"]
        if headers["id"] == task_id and headers["retries"] >= 1 and headers.get("eta"):
            return dt.datetime.fromisoformat(headers["eta"]).astimezone(dt.UTC)
    return None


# --------------------------------------------------------------------------- retries


def test_a_failed_attempt_with_a_retry_scheduled_is_retrying_not_a_failure(
    ctx: ActionContext,
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    watches: list[Watch],
) -> None:
    """MagFlow's product sync retries 600 s later: the failure the worker logs first (the
    service's line comes before Celery re-publishes the task) is not the outcome."""
    celery_control.set(
        "emag.sync_products", "retry", exc="ConnectionError", message="eMAG answered 503"
    )
    task_id = str(uuid.uuid4())
    logged_at = time.time()

    def logs(since: float) -> list[str]:  # the attempt's failure, logged before the retry
        return [FAILED_LINE] if since <= logged_at else []

    watch = Watch(ctx, task_id, logs=logs, confirm=60.0).start()
    watches.append(watch)
    watch.wait_line("main: worker: " + FAILED_LINE)
    assert watch.outcome is None  # not taken as final while Redis may still show a retry
    assert send_sync(celery_client, task_id=task_id) == task_id

    eta = wait_until(lambda: held_retry_eta(redis_db, task_id), "the held retry")
    expected = f"retrying at {eta:%H:%M} UTC (attempt 2 of 3)"
    line = watch.wait_line("(ConnectionError: eMAG answered 503); retrying at ")
    assert line == f"main: attempt 1 failed (ConnectionError: eMAG answered 503); {expected}"
    watch.stop.set()  # the operator stops waiting: 10 minutes before the retry
    outcome = watch.result()
    assert (outcome.ok, outcome.result) == (False, "retrying")
    assert outcome.pending == expected
    assert expected in outcome.message


def test_the_last_attempt_failing_is_final(
    ctx: ActionContext,
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    watches: list[Watch],
) -> None:
    celery_control.set_attempts(
        "emag.sync_products",
        {
            "action": "retry",
            "exc": "ConnectionError",
            "message": "eMAG answered 503",
            "countdown": 5,
        },
        {"action": "fail", "exc": "TimeoutError", "message": "eMAG did not answer"},
    )
    task_id = send_sync(celery_client)
    watch = Watch(ctx, task_id).start()
    watches.append(watch)
    assert "(attempt 2 of 3)" in watch.wait_line("retrying at ")
    outcome = watch.result()
    assert (outcome.ok, outcome.result) == (False, "task_failed")
    assert "TimeoutError: eMAG did not answer" in outcome.message
    meta = result_meta(redis_db, task_id)
    assert meta is not None and meta["status"] == "FAILURE"


@pytest.mark.docker
def test_sync_wait_reports_a_pending_retry_as_not_finished(
    tmp_path: Path,
    head_db_url: str,
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    docker_engine: DockerEngine,
    make_container: Any,
) -> None:
    """The whole action (what `sync --wait` and the TUI run): the task id `celery call`
    prints in the worker container is followed in Redis. The container's stand-in `celery`
    only prints an id, so the test sends the task with that id to the real worker."""
    celery_control.set(
        "emag.sync_products", "retry", exc="ConnectionError", message="eMAG answered 503"
    )
    worker = make_container()
    ctx = make_ctx(
        tmp_path,
        head_db_url,
        redis_url=redis_db.url,
        docker={"host": docker_engine.base_url, "services": {"worker": worker.name}},
    )
    lines: list[str] = ctx.lines  # type: ignore[attr-defined]
    sent: list[str] = []

    def send_what_was_enqueued() -> None:
        prefix = "main: following Celery task "
        line = wait_until(lambda: next((ln for ln in lines if ln.startswith(prefix)), None), "it")
        task_id = line.removeprefix(prefix).removesuffix(" in Redis")
        sent.append(send_sync(celery_client, task_id=task_id))

    driver = threading.Thread(target=send_what_was_enqueued)
    driver.start()
    req = sync_request.SyncRequest("main", max_pages=3)
    result = sync.execute_sync(
        ctx, sync.plan_sync(ctx, req), req, wait=True, timeout=30, poll_interval=0.2
    )
    driver.join(10)
    assert sent, lines
    assert any(f"(task id {sent[0]})" in d for d in result.details), result.details
    eta = held_retry_eta(redis_db, sent[0])
    assert eta is not None
    expected = f"retrying at {eta:%H:%M} UTC (attempt 2 of 3)"
    assert not result.ok
    assert result.message == f"eMAG product sync of main is not finished: main {expected}."
    assert result.data["outcomes"]["main"]["result"] == "retrying"
    assert any(f"main: attempt 1 failed (ConnectionError: eMAG answered 503); {expected}" == ln
               for ln in lines), lines  # fmt: skip


# --------------------------------------------------------------------------- the row's grace


def test_the_grace_for_the_row_starts_at_the_tasks_result_not_the_first_log_line(
    ctx: ActionContext,
    head_db_url: str,
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    watches: list[Watch],
) -> None:
    """The service logs "Product sync completed" before the inventory step; the task (and
    its result) ends after it, and only then is the row committed."""
    celery_control.set("emag.sync_products", "sleep", seconds=600)  # the inventory step
    task_id = send_sync(celery_client)
    reads: list[float] = []

    def logs(since: float) -> list[str]:
        reads.append(since)
        return [SERVICE_DONE]

    grace, poll = 2.0, 0.1
    watch = Watch(ctx, task_id, logs=logs, row_grace=grace).start()
    watches.append(watch)
    watch.wait_line("worker: " + SERVICE_DONE)
    watch.wait_line("emag.sync_products for main is running (attempt 1 of 3)")
    # let the watch poll for well over the grace after the service's line
    seen = len(reads)
    wait_until(lambda: len(reads) >= seen + 2 * grace / poll, "more polls than the grace")
    assert watch.outcome is None, watch.outcome  # still waiting: the task has not ended

    celery_control.release("emag.sync_products")
    wait_until(
        lambda: (result_meta(redis_db, task_id) or {}).get("status") == "SUCCESS", "the result"
    )
    row = insert_log(head_db_url, "main", items=7)  # the inventory step's commit
    outcome = watch.result()
    assert (outcome.ok, outcome.result) == (True, "success"), outcome
    assert outcome.run is not None and outcome.run.id == row


def test_a_result_with_no_row_is_not_persisted_and_says_what_the_task_returned(
    ctx: ActionContext,
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    watches: list[Watch],
) -> None:
    celery_control.set("emag.sync_products", "succeed", result={"products_synced": 12})
    task_id = send_sync(celery_client)
    watch = Watch(ctx, task_id, row_grace=1.0).start()
    watches.append(watch)
    outcome = watch.result()
    assert (outcome.ok, outcome.result) == (False, "not_persisted")
    assert "the task finished (main: 12 synced, 0 failed) but wrote no sync-log row" in (
        outcome.message
    )
    assert (result_meta(redis_db, task_id) or {}).get("status") == "SUCCESS"


# --------------------------------------------------------------------------- pure parts


def test_the_tasks_completion_line_is_not_the_services() -> None:
    task_done = "INFO - Product sync completed: {'account_type': 'main', 'products_synced': 3}"
    assert sync_watch.scan_worker_lines([SERVICE_DONE], "main") == ("progress", SERVICE_DONE)
    assert sync_watch.scan_worker_lines([SERVICE_DONE, task_done], "main") == (
        "completed",
        task_done,
    )


def test_no_redis_url_means_no_broker(tmp_path: Path, head_db_url: str) -> None:
    assert sync_task.broker_for(make_ctx(tmp_path, head_db_url)) is None
