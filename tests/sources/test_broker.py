"""BrokerSource against a real redis-server and a real Celery solo worker (and beat).

Nothing here mocks Redis or Celery: the worker is ``celery -A tests.support.celery_app
worker --pool=solo --concurrency=1 -Q default``, the tasks behave as the control file says
(``tests/support/celery_app/control.py``), and what the source reads is checked against
what the rig reads from the same Redis with its own client.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from magflow_console.models import CelerySnapshot, RedisSnapshot
from magflow_console.sources.broker import BrokerSource
from tests.support.celery_app.control import Control
from tests.support.celery_rig import CeleryClient, CeleryProcess, wait_until
from tests.support.redis_server import RedisServer
from tests.support.tcp_recorder import RespRecorder

LISTS = ("default", "default\x06\x163", "default\x06\x166", "default\x06\x169")
SECRET_IN_ERROR = "hunter2-in-the-message"
#: every command the source may send (sheet: read-only); AUTH/SELECT belong to the handshake
READ_ONLY = {
    "INFO", "LLEN", "LRANGE", "HLEN", "HSCAN", "HGET", "ZRANGE", "ZCARD",
    "SCAN", "GET", "MGET", "TYPE", "AUTH", "SELECT", "PING",
}  # fmt: skip


@pytest.fixture
def source(redis_db: RedisServer) -> Iterator[BrokerSource]:
    src = BrokerSource(redis_db.url, timeout=3.0)
    try:
        yield src
    finally:
        src.close()


def fetch(src: BrokerSource) -> tuple[RedisSnapshot, CelerySnapshot]:
    redis_snap, celery = src.fetch()
    assert redis_snap.state == "ok", redis_snap.error
    assert celery.state == "ok", celery.error
    return redis_snap, celery


def held_ids(server: RedisServer) -> set[str]:
    values = server.client().hvals("unacked")
    return {json.loads(v)[0]["headers"]["id"] for v in values}


def wait_retry_held(server: RedisServer, task_id: str) -> None:
    """Wait until the worker holds the re-published message (retries 1) of ``task_id``;
    the first attempt is held too while it runs, so the id alone is not enough."""

    def held() -> bool:
        values = server.client().hvals("unacked")
        headers = [json.loads(v)[0]["headers"] for v in values]
        return any(h["id"] == task_id and h["retries"] == 1 for h in headers)

    wait_until(held, f"the retried message of {task_id} to be held")


def wait_executing(server: RedisServer, task_id: str, worker: CeleryProcess) -> float:
    """Wait until the worker holds ``task_id`` (in ``unacked``); its index score."""
    wait_until(lambda: task_id in held_ids(server), f"the worker to take {task_id}")
    worker.wait_for_log(f"[{task_id}] received", timeout=10)
    for tag, value in server.client().hgetall("unacked").items():
        if json.loads(value)[0]["headers"]["id"] == task_id:
            score = server.client().zscore("unacked_index", tag)
            assert score is not None
            return float(score)
    raise AssertionError("unreachable")


def result_meta(server: RedisServer, task_id: str) -> dict[str, Any] | None:
    raw = server.client().get(f"celery-task-meta-{task_id}")
    return json.loads(raw) if raw else None


def start_long_sync(
    server: RedisServer,
    control: Control,
    client: CeleryClient,
    worker: CeleryProcess,
    account: str = "main",
) -> tuple[str, float, float, float]:
    """A product sync that holds the solo worker: (id, sent, seen, index score)."""
    control.set("emag.sync_products", "sleep", seconds=600)
    sent = time.time()
    task_id = client.send(
        "emag.sync_products", kwargs={"account_type": account, "max_pages_per_account": 3}
    )
    score = wait_executing(server, task_id, worker)
    return task_id, sent, time.time(), score


# --------------------------------------------------------------------------- executing


def test_a_long_task_is_seen_executing_with_its_delivery_time_and_account(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    task_id, sent, seen, score = start_long_sync(
        redis_db, celery_control, celery_client, celery_worker, account="fbe"
    )
    _, celery = fetch(source)

    assert len(celery.executing) == 1
    msg = celery.executing[0]
    assert msg.task == "emag.sync_products"
    assert msg.id == task_id
    assert msg.account == "fbe"
    assert msg.queue == "default"
    assert msg.retries == 0
    assert msg.eta is None
    assert msg.scheduled_retry is False
    assert celery.running == (msg,)
    assert celery.scheduled == ()
    # the delivery time is the unacked_index score, read right (not the fetch time)
    assert msg.delivered_at is not None
    assert msg.delivered_at == dt.datetime.fromtimestamp(score, dt.UTC)
    assert sent - 0.01 <= msg.delivered_at.timestamp() <= seen
    assert celery.queued_total == 0
    assert celery.oldest_queued is None


def test_tasks_queued_behind_it_are_counted_and_the_oldest_is_the_one_run_next(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    start_long_sync(redis_db, celery_control, celery_client, celery_worker)
    first = celery_client.send("sample.echo", args=["first"])
    second = celery_client.send(
        "emag.sync_products", kwargs={"account_type": "fbe", "max_pages_per_account": 5}
    )
    third = celery_client.send("emag.sync_orders")
    wait_until(lambda: redis_db.client().llen("default") == 3, "three queued messages")

    _, celery = fetch(source)
    assert celery.queues["default"] == 3
    assert celery.queued_total == 3
    assert celery.oldest_queued is not None
    assert celery.oldest_queued.task == "sample.echo"
    assert celery.oldest_queued.id == first
    assert celery.oldest_queued.delivered_at is None
    assert len(celery.executing) == 1  # queued messages are not held

    # the real worker agrees: released, it runs them oldest first
    celery_control.release()
    wait_until(lambda: result_meta(redis_db, third), "the last queued task to finish")
    done = [result_meta(redis_db, i) for i in (first, second, third)]
    times = [dt.datetime.fromisoformat(m["date_done"]) for m in done if m]
    assert len(times) == 3
    assert times == sorted(times)


def test_a_priority_sub_list_is_counted_and_the_plain_list_goes_first(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    start_long_sync(redis_db, celery_control, celery_client, celery_worker)
    low = celery_client.send("sample.echo", args=["priority 6"], priority=6)
    wait_until(lambda: redis_db.client().llen("default\x06\x166") == 1, "the priority-6 list")
    _, celery = fetch(source)
    assert celery.queues == {"default": 0, "default:3": 0, "default:6": 1, "default:9": 0}
    assert celery.oldest_queued is not None and celery.oldest_queued.id == low

    plain = celery_client.send("sample.echo", args=["no priority"])
    wait_until(lambda: redis_db.client().llen("default") == 1, "the plain list")
    _, celery = fetch(source)
    assert celery.queued_total == 2
    assert celery.oldest_queued is not None and celery.oldest_queued.id == plain

    celery_control.release()
    wait_until(lambda: result_meta(redis_db, low), "the priority-6 task to finish")
    plain_done = result_meta(redis_db, plain)
    low_done = result_meta(redis_db, low)
    assert plain_done and low_done
    assert plain_done["date_done"] < low_done["date_done"]


# --------------------------------------------------------------------------- retries


def test_a_task_waiting_for_its_retry_is_a_scheduled_retry_with_eta_and_retries(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    celery_control.set(
        "emag.sync_orders", "retry", exc="ConnectionError", message="eMAG answered 503"
    )
    sent = dt.datetime.now(dt.UTC)
    task_id = celery_client.send("emag.sync_orders")
    wait_until(lambda: (result_meta(redis_db, task_id) or {}).get("status") == "RETRY", "RETRY")
    wait_retry_held(redis_db, task_id)

    _, celery = fetch(source)
    assert celery.queued_total == 0
    assert len(celery.executing) == 1
    msg = celery.executing[0]
    assert msg.id == task_id
    assert msg.task == "emag.sync_orders"
    assert msg.retries == 1
    assert msg.scheduled_retry is True
    assert celery.scheduled == (msg,) and celery.running == ()
    # MagFlow's order sync retries 300 s later
    assert msg.eta is not None
    assert abs((msg.eta - sent).total_seconds() - 300) < 15
    assert msg.delivered_at is not None and msg.delivered_at < msg.eta

    # the RETRY result has no shape; its kind comes from the held message with its id
    (result,) = [r for r in celery.results if r.task_id == task_id]
    assert result.status == "RETRY"
    assert result.kind == "order_sync"
    assert result.task == "emag.sync_orders"
    assert result.date_done is None
    assert result.summary == "ConnectionError: eMAG answered 503"


def test_auto_acknowledge_waits_celerys_default_retry_delay(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    celery_control.set("emag.auto_acknowledge_orders", "retry", exc="TimeoutError", message="x")
    sent = dt.datetime.now(dt.UTC)
    task_id = celery_client.send("emag.auto_acknowledge_orders")
    wait_retry_held(redis_db, task_id)
    _, celery = fetch(source)
    (msg,) = celery.scheduled
    assert msg.eta is not None
    assert abs((msg.eta - sent).total_seconds() - 180) < 15


# --------------------------------------------------------------------------- results


def test_a_heartbeat_from_a_real_beat_gives_a_fresh_last_heartbeat(
    redis_db: RedisServer,
    celery_worker: CeleryProcess,
    make_celery_beat: Any,
    source: BrokerSource,
) -> None:
    _, before = fetch(source)
    assert before.last_heartbeat_at is None

    make_celery_beat(interval=1.0)

    def heartbeats() -> list[bytes]:
        keys = redis_db.client().keys("celery-task-meta-*")
        values = [redis_db.client().get(k) for k in keys]
        return [v for v in values if v and b'"celery-beat"' in v]

    wait_until(heartbeats, "a heartbeat result from beat", timeout=30)
    _, celery = fetch(source)
    now = dt.datetime.now(dt.UTC)
    assert celery.last_heartbeat_at is not None
    assert (now - celery.last_heartbeat_at).total_seconds() < 10
    beats = [r for r in celery.results if r.kind == "heartbeat"]
    assert beats and all(r.status == "SUCCESS" for r in beats)
    assert beats[0].summary.startswith("heartbeat from ")
    newest = max(dt.datetime.fromisoformat(json.loads(v)["date_done"]) for v in heartbeats())
    assert celery.last_heartbeat_at == newest

    # it keeps moving while beat runs
    first_seen = celery.last_heartbeat_at
    wait_until(
        lambda: (fetch(source)[1].last_heartbeat_at or first_seen) > first_seen,
        "a newer heartbeat",
        timeout=15,
    )


def test_a_failed_task_shows_exception_type_and_masked_message_only(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    message = (
        "eMAG API 503 for main via redis://:" + SECRET_IN_ERROR + "@cache:6379/0 "
        "password=" + SECRET_IN_ERROR
    )
    celery_control.set("emag.sync_products", "fail", exc="ConnectionError", message=message)
    task_id = celery_client.send(
        "emag.sync_products", kwargs={"account_type": "main", "max_pages_per_account": 1}
    )
    wait_until(lambda: result_meta(redis_db, task_id), "the failure result")
    meta = result_meta(redis_db, task_id)
    assert meta and meta["status"] == "FAILURE" and SECRET_IN_ERROR in meta["traceback"]

    _, celery = fetch(source)
    (result,) = [r for r in celery.results if r.task_id == task_id]
    assert result.status == "FAILURE"
    assert result.summary.startswith("ConnectionError: eMAG API 503 for main")
    assert SECRET_IN_ERROR not in result.summary
    assert "Traceback" not in result.summary and "\n" not in result.summary
    assert len(result.summary) <= 160
    # the message was acked: nothing names the task any more
    assert result.kind == "unknown" and result.task is None
    assert result.date_done is not None
    assert celery.executing == () and celery.queued_total == 0


def test_success_results_are_recognised_by_shape_and_summarised(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
    source: BrokerSource,
) -> None:
    celery_control.set(
        "emag.sync_products", result={"products_synced": 120, "failed": 3, "errors": ["p7"]}
    )
    ids = {
        "product_sync": celery_client.send(
            "emag.sync_products", kwargs={"account_type": "main", "max_pages_per_account": 2}
        ),
        "order_sync": celery_client.send("emag.sync_orders"),
        "auto_acknowledge": celery_client.send("emag.auto_acknowledge_orders"),
        "heartbeat": celery_client.send("maintenance.heartbeat"),
        "other": celery_client.send("emag.health_check"),
    }
    wait_until(lambda: all(result_meta(redis_db, i) for i in ids.values()), "five results")
    _, celery = fetch(source)
    by_id = {r.task_id: r for r in celery.results}
    assert {kind: by_id[i].kind for kind, i in ids.items()} == {k: k for k in ids}
    assert by_id[ids["product_sync"]].summary == "main: 120 synced, 3 failed, 1 error"
    assert by_id[ids["order_sync"]].summary == "main: 0 synced (0 new); fbe: 0 synced (0 new)"
    assert by_id[ids["auto_acknowledge"]].summary == "0 acknowledged"
    assert by_id[ids["other"]].summary == "status healthy"
    # newest first, by date_done
    dates = [r.date_done for r in celery.results]
    assert all(d is not None for d in dates)
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert celery.results[0].task_id == ids["other"]


def test_results_are_bounded_to_the_newest(
    redis_db: RedisServer, celery_client: CeleryClient, celery_worker: CeleryProcess
) -> None:
    ids = [celery_client.send("sample.echo", args=[str(i)]) for i in range(8)]
    wait_until(lambda: result_meta(redis_db, ids[-1]), "eight results")
    src = BrokerSource(redis_db.url, results_limit=3)
    try:
        _, celery = fetch(src)
    finally:
        src.close()
    assert [r.task_id for r in celery.results] == ids[-1:-4:-1]
    assert celery.results_complete is True


# --------------------------------------------------------------------------- read-only


def _state(server: RedisServer) -> dict[str, Any]:
    """Everything in the db, as the rig sees it (the rig may use any command)."""
    client = server.client()
    keys = sorted(client.keys("*"))
    return {
        "dbsize": client.dbsize(),
        "lists": {name: client.lrange(name, 0, -1) for name in LISTS},
        "unacked": client.hgetall("unacked"),
        "unacked_index": client.zrange("unacked_index", 0, -1, withscores=True),
        "dumps": {k: client.dump(k) for k in keys},
    }


def test_the_console_changes_nothing_and_sends_only_read_commands(
    redis_db: RedisServer,
    celery_control: Control,
    celery_client: CeleryClient,
    celery_worker: CeleryProcess,
) -> None:
    # a busy worker, a waiting retry, queued work and stored results
    celery_control.set("emag.sync_orders", "retry", exc="ConnectionError", message="503")
    retried = celery_client.send("emag.sync_orders")
    wait_retry_held(redis_db, retried)
    beat = celery_client.send("maintenance.heartbeat")
    wait_until(lambda: result_meta(redis_db, beat), "the heartbeat result")
    start_long_sync(redis_db, celery_control, celery_client, celery_worker)
    celery_client.send("sample.echo", args=["queued"])
    celery_client.send("sample.echo", args=["low"], priority=9)
    wait_until(lambda: redis_db.client().llen("default") == 1, "a queued message")
    wait_until(lambda: redis_db.client().llen("default\x06\x169") == 1, "a priority-9 message")

    before = _state(redis_db)
    recorder = RespRecorder(redis_db.port)
    src = BrokerSource(f"redis://:{redis_db.password}@127.0.0.1:{recorder.port}/0")
    try:
        _, celery = fetch(src)
        fetch(src)
    finally:
        src.close()
        recorder.close()
    after = _state(redis_db)

    assert after == before
    assert celery.queued_total == 2 and len(celery.executing) == 2  # it did read them
    assert celery.queues["default:9"] == 1

    commands = recorder.commands()
    verbs = [cmd[0].decode().upper() for cmd in commands]
    assert set(verbs) <= READ_ONLY, f"non-read commands sent: {sorted(set(verbs) - READ_ONLY)}"
    assert {"INFO", "LLEN", "LRANGE", "HSCAN", "ZRANGE", "SCAN", "MGET"} <= set(verbs)
    assert "CLIENT" not in verbs and "KEYS" not in verbs
    scans = [[a.decode().upper() for a in cmd] for cmd in commands if cmd[0].upper() == b"SCAN"]
    assert scans and all("MATCH" in s and "COUNT" in s for s in scans)
    assert recorder.connections == 1  # one connection for both snapshots, reused


# --------------------------------------------------------------------------- redis itself


def test_redis_info_is_read_as_the_rig_sees_it(redis_db: RedisServer, source: BrokerSource) -> None:
    redis_db.client().set("users:user:someone@example.com", "cached")
    snap, _ = fetch(source)
    info = redis_db.client().info()
    assert snap.url == f"redis://:***@127.0.0.1:{redis_db.port}/0"
    assert redis_db.password and redis_db.password not in repr(snap)
    assert snap.maxmemory == 256 * 1024 * 1024
    assert snap.maxmemory_policy == "allkeys-lru"
    assert snap.aof_enabled is False
    assert snap.rdb_last_bgsave_status == "ok"
    assert snap.evicted_keys == 0
    assert snap.db_keys == 1
    assert snap.used_memory is not None and snap.used_memory > 0
    assert snap.connected_clients is not None and snap.connected_clients >= 2
    assert snap.uptime_seconds is not None
    assert abs(snap.uptime_seconds - int(info["uptime_in_seconds"])) <= 1


def test_a_wrong_or_missing_password_gives_error_snapshots_without_the_password(
    make_redis_server: Any,
) -> None:
    server = make_redis_server()
    good = BrokerSource(server.url)
    wrong_password = "not-the-" + "pass-7f3a"
    bad = BrokerSource(server.url_with_password(wrong_password))
    none = BrokerSource(f"redis://127.0.0.1:{server.port}/0")
    try:
        snap, celery = good.fetch()
        assert snap.state == "ok" and celery.state == "ok"

        snap, celery = bad.fetch()
        assert snap.state == "error" and celery.state == "error"
        assert snap.error == celery.error
        assert snap.error is not None
        assert f"127.0.0.1:{server.port}" in snap.error
        assert "rejected the password" in snap.error
        assert wrong_password not in repr((snap, celery))
        assert server.password not in repr((snap, celery))
        assert snap.url is not None and wrong_password not in snap.url and "***" in snap.url

        snap, celery = none.fetch()
        assert snap.state == "error" and celery.state == "error"
        assert snap.error is not None and "requires a password" in snap.error
    finally:
        for src in (good, bad, none):
            src.close()


def test_a_password_for_a_redis_without_one_is_said_plainly(make_redis_server: Any) -> None:
    server = make_redis_server(password=None)
    src = BrokerSource(server.url_with_password("pw-for-nothing-1"))
    try:
        snap, celery = src.fetch()
    finally:
        src.close()
    assert snap.state == celery.state == "error"
    assert (
        snap.error
        == f"Redis at 127.0.0.1:{server.port} has no password set, but the URL gives one."
    )
    assert "pw-for-nothing-1" not in repr((snap, celery))


def test_a_low_maxmemory_redis_that_evicts_reports_evicted_keys(make_redis_server: Any) -> None:
    server = make_redis_server(maxmemory="4mb")
    src = BrokerSource(server.url)
    try:
        snap, _ = src.fetch()
        assert snap.state == "ok" and snap.evicted_keys == 0
        assert snap.maxmemory == 4 * 1024 * 1024
        client = server.client()
        blob = b"x" * 100_000
        for i in range(200):  # 20 MB into 4 MB
            client.set(f"celery-task-meta-fill-{i}", blob)
        evicted = int(client.info("stats")["evicted_keys"])
        assert evicted > 0
        snap, celery = src.fetch()
        assert snap.state == "ok"
        assert snap.evicted_keys == evicted
        assert celery.state == "ok"  # non-JSON results are shown as unreadable, not a crash
        assert all(r.status == "UNREADABLE" for r in celery.results)
    finally:
        src.close()


def test_redis_stopped_gives_error_snapshots(make_redis_server: Any) -> None:
    server = make_redis_server()
    src = BrokerSource(server.url, timeout=2.0)
    try:
        assert src.fetch()[0].state == "ok"
        server.stop()
        snap, celery = src.fetch()
    finally:
        src.close()
    assert snap.state == "error" and celery.state == "error"
    assert (
        snap.error == f"Redis at 127.0.0.1:{server.port} refused the connection (is it running?)."
    )
    assert celery.error == snap.error
    assert server.password and server.password not in repr((snap, celery))


def test_a_dropped_connection_is_not_retried() -> None:
    """One connection per fetch: redis-py's default retries with back-off would make a
    dead Redis cost the refresh seconds (counted, not timed)."""
    import contextlib
    import socket
    import threading

    accepted: list[int] = []
    # accepts, reads the first command, then hangs up (hanging up before the command came
    # would let redis-py's pool see a closed socket and reconnect once on its own)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                accepted.append(1)
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        src = BrokerSource(f"redis://127.0.0.1:{port}/0", timeout=2.0)
        snap, celery = src.fetch()
        src.close()
    assert snap.state == celery.state == "error", snap
    assert len(accepted) == 1, f"{len(accepted)} connections for one fetch"


def test_no_url_and_a_bad_url_are_error_snapshots() -> None:
    snap, celery = BrokerSource(None).fetch()
    assert snap.state == celery.state == "error"
    assert snap.error == "No Redis URL configured for this profile."
    snap, celery = BrokerSource("http://:pw-1234567@example.invalid/0").fetch()
    assert snap.state == celery.state == "error"
    assert snap.error is not None and "not redis://" in snap.error
    assert "pw-1234567" not in repr((snap, celery))


def test_an_unanswering_port_times_out_within_the_timeout() -> None:
    import socket

    with socket.socket() as listener:  # accepts nothing: the handshake never completes
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        src = BrokerSource(f"redis://:pw-abcdefgh@127.0.0.1:{port}/0", timeout=0.5)
        snap, celery = src.fetch()  # without the timeout, this would never return
        src.close()
    assert snap.state == celery.state == "error"
    assert snap.error == f"Redis at 127.0.0.1:{port} did not answer within 0.5 s."


def test_a_key_of_the_wrong_type_spoils_only_the_celery_snapshot(
    redis_db: RedisServer, source: BrokerSource
) -> None:
    redis_db.client().set("unacked", "not a hash")
    snap, celery = source.fetch()
    assert snap.state == "ok"
    assert celery.state == "error"
    assert celery.error is not None and "'unacked' is not a hash" in celery.error
