"""eMAG sync trigger: pure request logic, busy refusal and outcome watching on a real
PostgreSQL, the celery strategy through the real Docker engine (stand-in ``celery`` in the
test image), and the api strategy against the fake MagFlow API."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from magflow_console.actions import sync, sync_request, sync_trigger, sync_watch
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused
from magflow_console.models import SyncRun
from magflow_console.reference.urls import to_libpq
from tests.actions.test_admins import audit_entries, make_ctx
from tests.support.docker_engine import DockerEngine, StackContainers
from tests.support.fake_api import FakeMagflowApi

pytestmark = pytest.mark.postgres

API_USER_ENV = "MFC_TEST_SYNC_API_USER"
API_PASS_ENV = "MFC_TEST_SYNC_API_PASSWORD"
KWARGS_MAIN = '{"account_type": "main", "max_pages_per_account": 7}'


# --------------------------------------------------------------------------- helpers


@contextmanager
def connect(db_url: str, autocommit: bool = True, app: str = "pytest") -> Iterator[Any]:
    conn = psycopg.connect(to_libpq(db_url), autocommit=autocommit, application_name=app)
    try:
        yield conn
    finally:
        conn.close()


def insert_log(db_url: str, account: str = "main", **kw: Any) -> str:
    """A products sync-log row started "now" (database clock, naive UTC)."""
    row_id = str(uuid.uuid4())
    items = kw.pop("items", 10)
    values: dict[str, Any] = {
        "status": "completed",
        "errors": [],
        "items": items,
        "minutes_ago": 0.0,
    }
    values.update(kw)
    with connect(db_url) as conn:
        conn.execute(
            """INSERT INTO app.emag_sync_logs (id, sync_type, account_type, operation, status,
                 total_items, processed_items, created_items, updated_items, failed_items,
                 errors, duration_seconds, pages_processed, api_requests_made, rate_limit_hits,
                 started_at, completed_at, created_at, updated_at)
               SELECT %(id)s, 'products', %(account)s, 'full_sync', %(status)s, %(items)s,
                 %(items)s, 0, %(items)s, 0, %(errors)s, 12.0, 0, 0, 0, t, t, t, t
               FROM (SELECT (now() AT TIME ZONE 'utc') - make_interval(mins => %(mins)s) AS t) n
            """,
            {
                "id": row_id,
                "account": account,
                "status": values["status"],
                "items": values["items"],
                "errors": Jsonb(values["errors"]),
                "mins": int(values["minutes_ago"]),
            },
        )
    return row_id


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def run(**kw: Any) -> SyncRun:
    base: dict[str, Any] = dict(
        id="r1", sync_type="products", account_type="main", operation="full_sync",
        status="completed", started_at=None, completed_at=None, duration_seconds=3.0,
        total_items=5, processed_items=5, created_items=1, updated_items=4, failed_items=0,
        error_count=0, errors=[],
    )  # fmt: skip
    base.update(kw)
    return SyncRun(**base)


def docker_ctx(
    tmp_path: Path, db_url: str, engine: DockerEngine, worker: str, **kw: Any
) -> ActionContext:
    return make_ctx(
        tmp_path,
        db_url,
        docker={"host": engine.base_url, "services": {"worker": worker}},
        **kw,
    )


def celery_calls(container: Any) -> list[str]:
    _code, out = container.exec_run(["sh", "-c", "cat /tmp/standin-celery.log 2>/dev/null"])
    return [ln for ln in out.decode().splitlines() if " call " in f" {ln} "]


# --------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("req", "strategy", "fragment"),
    [
        (sync_request.SyncRequest("all"), "celery", "account must be one of"),
        (sync_request.SyncRequest("main", max_pages=0), "api", "max pages must be an integer >= 1"),
        (sync_request.SyncRequest("main", max_pages=None), "celery", "with the celery strategy"),
        (sync_request.SyncRequest("main", items_per_page=101), "api", "items per page"),
        (sync_request.SyncRequest("main", items_per_page=0), "api", "items per page"),
        (sync_request.SyncRequest("main", mode="fast"), "api", "mode must be one of"),
        (sync_request.SyncRequest("main", conflict_strategy="x"), "api", "conflict strategy"),
        (sync_request.SyncRequest("main"), "rabbit", "strategy must be"),
    ],
)
def test_invalid_requests_are_listed(
    req: sync_request.SyncRequest, strategy: str, fragment: str
) -> None:
    assert any(fragment in e for e in req.validate(strategy))


def test_valid_requests_and_both_is_split() -> None:
    assert sync_request.SyncRequest("main", max_pages=None).validate("api") == []
    assert sync_request.SyncRequest("fbe").validate("celery") == []
    assert sync_request.SyncRequest("both").accounts() == ("main", "fbe")
    assert sync_request.SyncRequest("fbe").accounts() == ("fbe",)


def test_celery_argv_and_api_body() -> None:
    assert sync_trigger.celery_argv("main", 7) == [
        "celery", "-A", "app.worker:celery_app", "call", "emag.sync_products",
        "--kwargs", KWARGS_MAIN, "--queue", "default",
    ]  # fmt: skip
    req = sync_request.SyncRequest("both", max_pages=None, mode="incremental", items_per_page=50)
    assert sync_trigger.api_body(req, "fbe") == {
        "account_type": "fbe", "mode": "incremental", "max_pages": None, "items_per_page": 50,
        "include_inactive": False, "conflict_strategy": "emag_priority", "run_async": True,
    }  # fmt: skip


def test_classify_run_treats_errors_and_zero_items_as_failures() -> None:
    ok = sync_watch.classify_run(run())
    assert ok.ok and ok.result == "success" and "5 items" in ok.message
    partial = sync_watch.classify_run(
        run(error_count=2, errors=[{"error": "page 3: HTTP 502", "timestamp": "t"}])
    )
    assert not partial.ok and partial.result == "partial"
    assert "completed with 2 errors" in partial.message and "HTTP 502" in partial.message
    empty = sync_watch.classify_run(run(total_items=0, processed_items=0))
    assert not empty.ok and empty.result == "empty" and "0 items" in empty.message
    failed = sync_watch.classify_run(
        run(status="failed", errors=[{"error": "timeout after 600 s"}])
    )
    assert not failed.ok and failed.result == "failed" and "timeout" in failed.message


def test_api_outcome_of_a_synchronous_answer() -> None:
    assert sync_watch.api_outcome("main", {"status": "accepted", "sync_id": None}) is None
    data = {"total_processed": 3, "created": 1, "updated": 2, "failed": 0, "errors": []}
    good = sync_watch.api_outcome("main", {"status": "completed", "data": data})
    assert good is not None and good.ok
    bad = sync_watch.api_outcome("main", {"status": "completed", "data": {**data, "errors": ["x"]}})
    assert bad is not None and not bad.ok and bad.result == "partial"
    zero = sync_watch.api_outcome("main", {"status": "completed", "data": {"total_processed": 0}})
    assert zero is not None and not zero.ok and zero.result == "empty"


def test_worker_lines_are_attributed_to_the_account() -> None:
    lines = [
        "2025-10-21 20:46:52,720 - app.services - INFO - Starting product sync: mode=full, account=fbe",
        "2025-10-21 20:46:53,720 - app.services - ERROR - Product sync failed: boom",
        "2025-10-21 20:47:52,720 - app.services - INFO - Starting product sync: mode=full, account=main",
        "2025-10-21 20:48:52,720 - app.services - INFO - Product sync completed: {'total': 3}",
    ]
    assert sync_watch.scan_worker_lines(lines, "main")[0] == "completed"
    assert sync_watch.scan_worker_lines(lines, "fbe")[0] == "failed"
    assert sync_watch.scan_worker_lines(["Product sync failed: x"], "main")[0] == "failed"
    missing = ["WARNING - Missing credentials for fbe account, skipping"]
    assert sync_watch.scan_worker_lines(missing, "fbe")[0] == "missing"
    assert sync_watch.scan_worker_lines(missing, "main")[0] is None


# --------------------------------------------------------------------------- busy refusal


def test_refused_while_a_long_transaction_touches_the_sync_log(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    req = sync_request.SyncRequest("main")
    with connect(head_db_url, autocommit=False, app="magflow_worker") as holder:
        holder.execute("SELECT count(*) FROM app.emag_sync_logs").fetchone()
        pid = holder.info.backend_pid
        time.sleep(0.3)  # let the transaction age past the threshold below
        with pytest.raises(ActionRefused, match="already appears to be running") as exc:
            sync.plan_sync(ctx, req, busy_min_age_seconds=0.2)
        assert f"pid {pid} (magflow_worker)" in str(exc.value)
        holder.rollback()
    entry = audit_entries(tmp_path)[-1]
    assert entry["outcome"] == "refused" and entry["action"] == "sync.trigger"
    assert entry["params"]["account"] == "main"


def test_unrelated_long_transaction_does_not_refuse(
    tmp_path: Path, head_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_USER_ENV, "ops@magflow.example")
    monkeypatch.setenv(API_PASS_ENV, "api-password-123")
    ctx = make_ctx(
        tmp_path,
        head_db_url,
        sync={"strategy": "api"},
        api={
            "url": "http://127.0.0.1:9",
            "username_env": API_USER_ENV,
            "password_env": API_PASS_ENV,
        },
    )
    with connect(head_db_url, autocommit=False) as holder:
        holder.execute("SELECT count(*) FROM app.users").fetchone()
        time.sleep(0.3)
        plan = sync.plan_sync(ctx, sync_request.SyncRequest("main"), busy_min_age_seconds=0.2)
        holder.rollback()
    assert plan.operation == "POST /api/v1/emag/products/sync (main)"


def test_refused_on_a_fresh_running_row_but_not_on_a_stale_one(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url, sync={"running_timeout_minutes": 60})
    stale = insert_log(head_db_url, "fbe", status="running", items=0, minutes_ago=180)
    db = sync_watch.SyncDb(ctx)
    try:
        assert db.fresh_running_rows(60) == []
    finally:
        db.close()
    fresh = insert_log(head_db_url, "main", status="running", items=0)
    with pytest.raises(ActionRefused, match=f"sync-log row {fresh} \\(main\\) is 'running'") as e:
        sync.plan_sync(ctx, sync_request.SyncRequest("fbe"))
    assert stale not in str(e.value)


def test_read_only_refuses_sync(tmp_path: Path, head_db_url: str) -> None:
    ro = make_ctx(tmp_path, head_db_url, read_only=True)
    with pytest.raises(ActionRefused, match="read-only"):
        sync.plan_sync(ro, sync_request.SyncRequest("main"))
    plan = ActionPlan("sync.trigger", "x", (), {"account": "main"})
    with pytest.raises(ActionRefused, match="read-only"):
        sync.execute_sync(ro, plan, sync_request.SyncRequest("main"))
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["refused", "refused"]


# --------------------------------------------------------------------------- outcome watching


def _watch_with_row(
    tmp_path: Path, db_url: str, timeout: float = 30.0, **row: Any
) -> sync_watch.Outcome:
    ctx = make_ctx(tmp_path, db_url)
    old = insert_log(db_url, "main")  # already there before the trigger: ignored
    db = sync_watch.SyncDb(ctx)
    try:
        since, known = db.baseline("main")
        assert old in known
        inserted: list[str] = []
        if row:
            timer = threading.Timer(0.3, lambda: inserted.append(insert_log(db_url, **row)))
            timer.start()
        outcome = sync_watch.watch_outcome(db, "main", since, known, timeout, poll=0.1)
        if row:
            timer.join()
            assert outcome.run is not None and outcome.run.id == inserted[0]
        return outcome
    finally:
        db.close()


def test_watch_sees_a_successful_row(tmp_path: Path, head_db_url: str) -> None:
    outcome = _watch_with_row(tmp_path, head_db_url, account="main", items=12)
    assert outcome.ok and outcome.result == "success" and "12 items" in outcome.message


def test_watch_completed_with_errors_is_a_failure(tmp_path: Path, head_db_url: str) -> None:
    errors = [{"error": "Unhandled API error on page 2", "timestamp": "2025-10-21T20:46:52"}]
    outcome = _watch_with_row(tmp_path, head_db_url, account="main", errors=errors)
    assert not outcome.ok and outcome.result == "partial"
    assert "Unhandled API error" in outcome.message


def test_watch_zero_items_is_a_failure(tmp_path: Path, head_db_url: str) -> None:
    outcome = _watch_with_row(tmp_path, head_db_url, account="main", items=0)
    assert not outcome.ok and outcome.result == "empty" and "0 items" in outcome.message


def test_watch_ignores_other_accounts_and_times_out_as_not_persisted(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    db = sync_watch.SyncDb(ctx)
    try:
        since, known = db.baseline("main")
        insert_log(head_db_url, "fbe")  # another account's row must not count
        outcome = sync_watch.watch_outcome(db, "main", since, known, 1.0, poll=0.1)
    finally:
        db.close()
    assert not outcome.ok and outcome.result == "not_persisted"
    assert outcome.message.startswith("no result persisted")


# --------------------------------------------------------------------------- celery (Docker)


@pytest.mark.docker
def test_celery_strategy_runs_the_call_in_the_worker_container(
    tmp_path: Path,
    head_db_url: str,
    docker_engine: DockerEngine,
    stack_containers: StackContainers,
) -> None:
    worker = stack_containers.containers["worker"]
    before = celery_calls(worker)
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, stack_containers.names["worker"])
    req = sync_request.SyncRequest("both", max_pages=7)
    plan = sync.plan_sync(ctx, req)
    assert any("unhealthy" in w for w in plan.warnings)  # the stack's worker is unhealthy
    assert any("split into 'main' then 'fbe'" in w for w in plan.warnings)
    result = sync.execute_sync(ctx, plan, req)
    assert result.ok, result
    assert "not waiting" in result.message
    new = celery_calls(worker)[len(before) :]
    expected = "-A app.worker:celery_app call emag.sync_products --kwargs {} --queue default"
    assert new == [
        expected.format(KWARGS_MAIN),
        expected.format(KWARGS_MAIN.replace('"main"', '"fbe"')),
    ]
    lines = ctx.lines  # type: ignore[attr-defined]
    assert any(ln.startswith("$ docker exec") and "emag.sync_products" in ln for ln in lines)
    assert result.data["outcomes"] == {
        "main": {"ok": None, "result": "enqueued"},
        "fbe": {"ok": None, "result": "enqueued"},
    }
    assert audit_entries(tmp_path)[-1]["outcome"] == "ok"


@pytest.mark.docker
def test_celery_call_failure_is_reported(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    worker = make_container(environment={"STANDIN_CELERY_EXIT": "1"})
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    req = sync_request.SyncRequest("main")
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req)
    assert not result.ok and result.exit_code == 2
    assert any("celery call exited with 1" in d and "OperationalError" in d for d in result.details)
    assert audit_entries(tmp_path)[-1]["outcome"] == "failed"


@pytest.mark.docker
def test_stopped_worker_is_refused(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    worker = make_container()
    worker.stop(timeout=1)
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    with pytest.raises(ActionRefused, match="exited, not running"):
        sync.plan_sync(ctx, sync_request.SyncRequest("main"))


def _marker_worker(make_container: Any, *lines: str) -> Any:
    """A worker that logs ``lines`` once the stand-in celery recorded a call."""
    echo = "; ".join(f"echo {json.dumps(line)}" for line in lines)
    script = (
        f"while [ ! -s /tmp/standin-celery.log ]; do sleep 0.1; done; {echo}; exec sleep 2147483647"
    )
    return make_container(command=["sh", "-c", script])


@pytest.mark.docker
def test_wait_reports_a_failure_logged_by_the_worker(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    worker = _marker_worker(
        make_container,
        "2025-10-21 20:46:52,720 - app.services.emag - INFO - Starting product sync: mode=full, account=main",
        "2025-10-21 20:46:53,100 - app.services.emag - ERROR - Product sync failed: eMAG API 503",
    )
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    req = sync_request.SyncRequest("main")
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req, wait=True, timeout=60)
    assert not result.ok
    assert result.data["outcomes"]["main"]["result"] == "log_failed"
    assert any("Product sync failed: eMAG API 503" in d for d in result.details)


@pytest.mark.docker
def test_wait_reports_missing_credentials_as_zero_items(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    worker = _marker_worker(
        make_container, "WARNING - Missing credentials for fbe account, skipping"
    )
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    req = sync_request.SyncRequest("fbe")
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req, wait=True, timeout=60)
    assert not result.ok and result.data["outcomes"]["fbe"]["result"] == "empty"


@pytest.mark.docker
def test_wait_sees_the_row_after_the_worker_logs_completion(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    worker = _marker_worker(make_container, "INFO - Product sync completed: {'total_processed': 9}")
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    req = sync_request.SyncRequest("main")
    plan = sync.plan_sync(ctx, req)
    lines = ctx.lines  # type: ignore[attr-defined]

    def insert_when_triggered() -> None:
        wait_for(lambda: any("enqueued" in ln or "watching" in ln for ln in lines), "trigger")
        insert_log(head_db_url, "main", items=9)

    t = threading.Thread(target=insert_when_triggered)
    t.start()
    result = sync.execute_sync(ctx, plan, req, wait=True, timeout=60, poll_interval=0.2)
    t.join()
    assert result.ok, result
    assert result.data["outcomes"]["main"]["result"] == "success"
    assert "succeeded" in result.message


@pytest.mark.docker
def test_stop_waiting_ends_the_watch_and_triggers_no_further_account(
    tmp_path: Path, head_db_url: str, docker_engine: DockerEngine, make_container: Any
) -> None:
    """`both` with --wait: the operator stops while main is being watched (no row, no
    marker ever comes): the watch ends at its next check, fbe is not triggered, and the
    result and the audit say that main was triggered and its outcome is unknown."""
    worker = make_container()
    ctx = docker_ctx(tmp_path, head_db_url, docker_engine, worker.name)
    req = sync_request.SyncRequest("both", max_pages=3)
    plan = sync.plan_sync(ctx, req)
    assert plan.stoppable
    lines = ctx.lines  # type: ignore[attr-defined]

    def stop_once_watching() -> None:
        wait_for(lambda: any("main: watching" in ln for ln in lines), "the main watch")
        ctx.stop.set()

    t = threading.Thread(target=stop_once_watching)
    t.start()
    result = sync.execute_sync(ctx, plan, req, wait=True, timeout=600, poll_interval=0.2)
    t.join()
    assert not result.ok  # "stopped" below, not the 600 s watch timeout's "timed out"
    assert result.message.startswith("Stopped waiting: eMAG product sync triggered for main;")
    assert result.data["outcomes"]["main"]["result"] == "stopped"
    assert result.data["outcomes"]["fbe"] == {"ok": None, "result": "not_triggered"}
    assert "fbe: not triggered (stopped by the operator)" in result.details
    calls = celery_calls(worker)
    assert len(calls) == 1 and '"account_type": "main"' in calls[0], calls
    entry = audit_entries(tmp_path)[-1]
    assert (entry["action"], entry["outcome"]) == ("sync.trigger", "failed")
    assert entry["detail"].startswith("Stopped waiting")


def test_watch_returns_promptly_when_stopped(tmp_path: Path, head_db_url: str) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    db = sync_watch.SyncDb(ctx)
    lines: list[str] = []
    outcomes: list[sync_watch.Outcome] = []
    finished = threading.Event()
    stop = threading.Event()

    def watch() -> None:
        try:
            since, known = db.baseline("main")
            # an hour between polls and a day of timeout: only the stop can end it
            outcomes.append(
                sync_watch.watch_outcome(
                    db, "main", since, known, 86400.0, poll=3600.0, stop=stop, emit=lines.append
                )
            )
        finally:
            finished.set()

    try:
        threading.Thread(target=watch, daemon=True).start()
        wait_for(lambda: any("watching" in line for line in lines), "the watch to start")
        stop.set()
        # a guard against a hang only: a watch that slept out its poll would take an hour
        assert finished.wait(timeout=120), "the watch did not wake up when stopped"
    finally:
        stop.set()
        finished.wait(timeout=120)
        db.close()
    outcome = outcomes[0]
    assert (outcome.ok, outcome.result) == (False, "stopped")
    assert "outcome is not known yet" in outcome.message


# --------------------------------------------------------------------------- api (fake API)


def api_ctx(
    tmp_path: Path, db_url: str, fake: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch,
    password: str | None = None,
) -> ActionContext:  # fmt: skip
    monkeypatch.setenv(API_USER_ENV, fake.credentials.email)
    monkeypatch.setenv(API_PASS_ENV, password or fake.credentials.password)
    return make_ctx(
        tmp_path,
        db_url,
        sync={"strategy": "api"},
        api={"url": fake.base_url, "username_env": API_USER_ENV, "password_env": API_PASS_ENV},
    )


def test_api_strategy_logs_in_with_json_and_posts_the_body(
    tmp_path: Path, head_db_url: str, fake_api: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = api_ctx(tmp_path, head_db_url, fake_api, monkeypatch)
    req = sync_request.SyncRequest("both", max_pages=3, mode="incremental", include_inactive=True)
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req)
    assert result.ok, result
    logins = [r for r in fake_api.requests if r.path == "/api/v1/auth/login"]
    assert len(logins) == 1
    assert logins[0].headers["content-type"].startswith("application/json")
    assert logins[0].json() == {
        "username": fake_api.credentials.email,
        "password": fake_api.credentials.password,
        "remember_me": False,
    }
    assert fake_api.sync_requests == [
        sync_trigger.api_body(req, "main"),
        sync_trigger.api_body(req, "fbe"),
    ]
    posts = [r for r in fake_api.requests if r.path == "/api/v1/emag/products/sync"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in posts)
    token = posts[0].headers["authorization"].split()[1]
    text = (tmp_path / "audit.jsonl").read_text() + repr(result) + "\n".join(ctx.lines)  # type: ignore[attr-defined]
    assert token not in text and fake_api.credentials.password not in text


def test_api_synchronous_answer_with_zero_items_fails(
    tmp_path: Path, head_db_url: str, fake_api: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = api_ctx(tmp_path, head_db_url, fake_api, monkeypatch)
    req = sync_request.SyncRequest("main", run_async=False)
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req)
    assert not result.ok and result.data["outcomes"]["main"]["result"] == "empty"
    assert fake_api.sync_requests[0]["run_async"] is False


def test_api_login_failure_and_missing_credentials(
    tmp_path: Path, head_db_url: str, fake_api: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-password-xyz"
    ctx = api_ctx(tmp_path, head_db_url, fake_api, monkeypatch, password=wrong)
    req = sync_request.SyncRequest("main")
    result = sync.execute_sync(ctx, sync.plan_sync(ctx, req), req)
    assert not result.ok and "API login failed: HTTP 401" in result.message
    assert fake_api.sync_requests == []
    assert wrong not in (tmp_path / "audit.jsonl").read_text() + repr(result)
    monkeypatch.delenv(API_PASS_ENV)
    with pytest.raises(ActionRefused, match="No API credentials"):
        sync.plan_sync(ctx, req)


def test_api_client_timeout_is_above_the_600_s_sync_limit(
    tmp_path: Path, head_db_url: str, fake_api: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = sync_trigger.ApiSession(api_ctx(tmp_path, head_db_url, fake_api, monkeypatch))
    try:
        assert session.http.timeout.read is not None and session.http.timeout.read > 600
    finally:
        session.close()
