"""Two consoles triggering a sync of the same account at once: exactly one triggers, the
other is refused with the reason (``actions.sync_guard``: a PostgreSQL advisory lock per
account, held from the checks to the end of the run).

The window is made deterministic, never timed: the winner's trigger is held where a
real one can be slow (the stand-in ``celery call`` waits while a hold file exists in the
worker container, the fake API holds the sync POST), so the other console always comes
while the winner is triggering, whichever starts first. Before the guard both
triggered: the celery case then sees two calls held and nobody refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from magflow_console.actions import sync, sync_request
from magflow_console.actions.guard import ActionRefused, ActionResult
from magflow_console.actions.sync_guard import SYNC_LOCK_CLASS
from magflow_console.reference.urls import to_libpq
from tests.actions.test_sync import api_ctx, celery_calls, insert_log
from tests.support.cli import ROOT
from tests.support.docker_engine import DockerEngine
from tests.support.fake_api import FakeMagflowApi
from tests.support.reliability import Recorder

pytestmark = pytest.mark.postgres

HOLD = "/tmp/standin-celery-call.hold"
SYNC_PATH = "/api/v1/emag/products/sync"


def _console(
    tmp_path: Path, name: str, db_url: str, engine: DockerEngine, worker: str
) -> subprocess.Popen[str]:
    """``magflow-console sync --account main --yes`` as a console of its own (own state dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= {
        "XDG_CONFIG_HOME": str(tmp_path / name / "cfg"),
        "XDG_STATE_HOME": str(tmp_path / name / "state"),
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps({"worker": worker}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "sync", "--account", "main", "--yes",
         "--db-url", db_url, "--docker-host", engine.base_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=ROOT,
    )  # fmt: skip


def _guard_locks(db_url: str) -> int:
    with psycopg.connect(to_libpq(db_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::oid",
            [SYNC_LOCK_CLASS],
        ).fetchone()
    return int(row[0]) if row else -1


@pytest.mark.docker
def test_two_console_processes_trigger_one_sync(
    tmp_path: Path,
    head_db_url: str,
    docker_engine: DockerEngine,
    make_container: Any,
    reliability: Recorder,
) -> None:
    worker = make_container()
    assert worker.exec_run(["touch", HOLD]).exit_code == 0
    consoles = {n: _console(tmp_path, n, head_db_url, docker_engine, worker.name) for n in "AB"}
    try:
        deadline = time.monotonic() + 120
        while all(p.poll() is None for p in consoles.values()):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"neither console was refused within 120 s; celery calls in the worker: "
                    f"{celery_calls(worker)}"
                )
            time.sleep(0.1)
        (loser,) = [n for n, p in consoles.items() if p.poll() is not None]
        (winner,) = [n for n in consoles if n != loser]
        out, err = consoles[loser].communicate(timeout=30)
        assert consoles[loser].returncode == 3, (out, err)
        assert len(celery_calls(worker)) == 1, "the winner is triggering, the loser did not"
    finally:
        worker.exec_run(["rm", "-f", HOLD])
    out_w, err_w = consoles[winner].communicate(timeout=120)
    assert consoles[winner].returncode == 0, (out_w, err_w)
    assert len(celery_calls(worker)) == 1
    told = " ".join(err.split())
    assert "another console is triggering a sync of main: pid " in told, told
    assert "(magflow-console-sync, from " in told, told
    assert _guard_locks(head_db_url) == 0  # released by the winner at its end
    audit = [
        json.loads(line)
        for n in "AB"
        for line in (tmp_path / n / "state" / "magflow-console" / "audit.jsonl")
        .read_text()
        .splitlines()
    ]
    assert sorted(e["outcome"] for e in audit) == ["ok", "refused"]
    reason = told.split("refused: ", 1)[-1][:160]
    reliability.race(
        "eMAG sync of one account from two console processes (celery strategy)",
        2,
        "one enqueued the task",
        f"refused: {reason}",
    )


def test_two_consoles_planned_the_same_sync_and_run_it_at_once(
    tmp_path: Path,
    head_db_url: str,
    fake_api: FakeMagflowApi,
    monkeypatch: pytest.MonkeyPatch,
    reliability: Recorder,
) -> None:
    insert_log(head_db_url)  # a sync-log with history, as a stack has
    ctxs = [api_ctx(tmp_path / n, head_db_url, fake_api, monkeypatch) for n in "AB"]
    req = sync_request.SyncRequest("main")  # run_async: the API answers "accepted"
    plans = [sync.plan_sync(c, req) for c in ctxs]  # both pre-flights see nothing running
    fake_api.set_mode("slow", seconds=120, paths=[SYNC_PATH])  # the winner's POST is held
    barrier = threading.Barrier(2)
    outcomes: dict[int, ActionResult | BaseException] = {}

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = sync.execute_sync(ctxs[i], plans[i], req)
        except BaseException as exc:  # ActionRefused expected for one of them
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in (0, 1)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 120
        while not outcomes:
            if time.monotonic() > deadline:
                posts = [r for r in fake_api.requests if r.path == SYNC_PATH]
                pytest.fail(f"neither console was refused within 120 s; {len(posts)} sync POSTs")
            time.sleep(0.05)
        (loser,) = outcomes
        refusal = outcomes[loser]
        assert isinstance(refusal, ActionRefused), refusal
        while not [r for r in fake_api.requests if r.path == SYNC_PATH]:  # the winner's POST
            if time.monotonic() > deadline:
                pytest.fail("the winner never posted the sync")
            time.sleep(0.05)
    finally:
        fake_api.set_mode("healthy")
        fake_api.wake()
    for t in threads:
        t.join(120)
    winner = 1 - loser
    result = outcomes[winner]
    assert isinstance(result, ActionResult) and result.ok, result
    assert len([r for r in fake_api.requests if r.path == SYNC_PATH]) == 1
    told = str(refusal)
    assert told.startswith("A sync of this account is being triggered elsewhere: ")
    assert "another console is triggering a sync of main: pid " in told
    assert [e["outcome"] for e in _audit(tmp_path / "AB"[loser])] == ["refused"]
    assert [e["outcome"] for e in _audit(tmp_path / "AB"[winner])] == ["ok"]
    assert _guard_locks(head_db_url) == 0
    reliability.race(
        "eMAG sync of one account from two consoles at once (API strategy, both planned)",
        2,
        "one posted the sync",
        f"refused: {told[:160]}",
    )


def _audit(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "audit.jsonl").read_text().splitlines()]


def test_a_running_sync_refuses_a_trigger_from_its_first_second(
    tmp_path: Path, head_db_url: str, fake_api: FakeMagflowApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync writing its (uncommitted) ``running`` row is seen at once, not after the long
    transaction threshold: its write lock on emag_sync_logs."""
    ctx = api_ctx(tmp_path, head_db_url, fake_api, monkeypatch)
    with psycopg.connect(to_libpq(head_db_url), application_name="magflow-worker") as conn:
        conn.execute(
            "INSERT INTO app.emag_sync_logs (id, sync_type, account_type, operation, status,"
            " total_items, processed_items, created_items, updated_items, failed_items,"
            " pages_processed, api_requests_made, rate_limit_hits, started_at, created_at,"
            " updated_at) VALUES (gen_random_uuid(), 'products', 'main', 'full_sync',"
            " 'running', 0, 0, 0, 0, 0, 0, 0, 0, now(), now(), now())"
        )
        pid = conn.info.backend_pid
        with pytest.raises(ActionRefused) as info:
            sync.plan_sync(ctx, sync_request.SyncRequest("main"))
        conn.rollback()
    assert f"pid {pid} (magflow-worker" in str(info.value)
    assert "is writing app.emag_sync_logs (a running sync's uncommitted row)" in str(info.value)
    assert fake_api.sync_requests == []
