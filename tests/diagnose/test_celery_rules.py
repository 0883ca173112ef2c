"""The Celery, Redis and order rules (issue "Where the syncs really live"): pure logic over
hand-made snapshots, one triggering and one non-triggering case per conclusion."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from magflow_console.diagnose import remedies, rules
from magflow_console.diagnose.backlog import BacklogSeen, observe_backlog
from magflow_console.diagnose.celery import celery_findings
from magflow_console.diagnose.celery_tasks import retry_text, schedule_of
from magflow_console.models import (
    CeleryMessage,
    CeleryResult,
    CelerySnapshot,
    ContainersSnapshot,
    Finding,
    OrderAccountStats,
    OrdersSnapshot,
    RedisSnapshot,
    SyncSnapshot,
    error_snapshot,
)
from tests.support.snapshots import NOW, container, containers_snapshot, report_of

#: every code the Celery, Redis and order rules can raise (test_doctor checks their steps)
CELERY_CODES = {
    "worker_busy", "worker_task_overrun", "beat_heartbeat_stale", "beat_heartbeat_delayed",
    "product_sync_both_noop", "celery_retry_scheduled", "celery_backlog",
    "celery_task_failures", "redis_evicting", "redis_memory_high", "redis_restarted",
    "orders_sync_stale", "orders_unacknowledged",
}  # fmt: skip
MIB = 1024 * 1024


def test_the_codes_the_celery_command_lists_are_the_rules_codes() -> None:
    from magflow_console.diagnose.celery import CODES

    assert CODES == CELERY_CODES


SHORT_MAX = 32


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def msg(
    task: str = "emag.sync_products",
    account: str | None = "main",
    *,
    running_for: float | None = 240.0,
    retries: int = 0,
    eta: dt.datetime | None = None,
    id: str = "task-1",
) -> CeleryMessage:
    return CeleryMessage(
        task=task,
        id=id,
        account=account,
        delivered_at=ago(running_for) if running_for is not None else None,
        retries=retries,
        eta=eta,
        queue="default",
        scheduled_retry=eta is not None and eta > NOW,
    )


def celery(fetched_at: dt.datetime = NOW, **kw: Any) -> CelerySnapshot:
    base: dict[str, Any] = {"last_heartbeat_at": ago(20), "queues": {"default": 0}}
    base.update(kw)
    return CelerySnapshot("ok", None, fetched_at, 1.0, **base)


def redis(**kw: Any) -> RedisSnapshot:
    base: dict[str, Any] = {
        "uptime_seconds": 3 * 86400,
        "evicted_keys": 0,
        "used_memory": 20 * MIB,
        "maxmemory": 256 * MIB,
        "maxmemory_policy": "allkeys-lru",
        "aof_enabled": False,
    }
    base.update(kw)
    return RedisSnapshot("ok", None, NOW, 1.0, url="redis://:***@redis:6379/0", **base)


def result(
    kind: str = "product_sync",
    status: str = "SUCCESS",
    seconds_ago: float = 600,
    summary: str = "main: 10 synced, 0 failed",
    task_id: str = "r-1",
    task: str | None = None,
) -> CeleryResult:
    return CeleryResult(
        kind=kind,  # type: ignore[arg-type]
        status=status,
        date_done=ago(seconds_ago) if status != "RETRY" else None,
        task_id=task_id,
        summary=summary,
        task=task,
    )


def stack(
    worker_health: str = "healthy", beat_state: str = "running", **worker: Any
) -> ContainersSnapshot:
    return containers_snapshot(
        container("worker", health=worker_health, **worker),
        container("beat", state=beat_state, health="healthy" if beat_state == "running" else None),
    )


def find(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, (code, [f.code for f in findings])
    return matching[0]


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def all_of(
    containers: ContainersSnapshot | None = None,
    sync: SyncSnapshot | None = None,
    cel: CelerySnapshot | None = None,
    red: RedisSnapshot | None = None,
    orders: OrdersSnapshot | None = None,
    **kw: Any,
) -> list[Finding]:
    found = celery_findings(
        containers if containers is not None else stack(),
        sync,
        cel if cel is not None else celery(),
        red if red is not None else redis(),
        orders,
        now=NOW,
        **kw,
    )
    for f in found:  # every finding fits a dashboard pane and names no secret
        assert f.short and len(f.short) <= SHORT_MAX, (f.code, f.short)
        assert "redis://" not in f.message and "***" not in f.message, f.message
    return found


# --------------------------------------------------------------------------- worker health


def test_an_unhealthy_worker_running_a_task_is_only_busy() -> None:
    snap = stack("unhealthy", beat_state="created")
    cel = celery(executing=(msg(running_for=240),))
    found = rules.container_findings(snap, NOW, cel)
    busy = find(found, "worker_busy")
    assert busy.severity == "info"
    assert "emag.sync_products for main" in busy.message and "4m" in busy.message
    assert busy.account == "main" and busy.short == "busy: main sync 4m"
    assert "container_unhealthy" not in codes(found)
    gate = find(found, "beat_gated_by_worker")
    assert gate.severity == "warning" and "only busy" in gate.message


def test_an_unhealthy_worker_holding_nothing_stays_critical() -> None:
    snap = stack("unhealthy", beat_state="created")
    for held in ((), (msg(eta=NOW + dt.timedelta(minutes=5), retries=1),)):
        found = rules.container_findings(snap, NOW, celery(executing=held))
        unhealthy = find(found, "container_unhealthy")
        assert unhealthy.severity == "critical"
        assert "executes no task" in unhealthy.message
        assert "worker_busy" not in codes(found)
        gate = find(found, "beat_gated_by_worker")
        assert gate.severity == "critical" and "only busy" not in gate.message


def test_a_message_taken_before_the_worker_restarted_is_not_executing() -> None:
    snap = stack("unhealthy", started_at=NOW - dt.timedelta(seconds=120))
    found = rules.container_findings(snap, NOW, celery(executing=(msg(running_for=900),)))
    unhealthy = find(found, "container_unhealthy")
    assert unhealthy.severity == "critical"
    assert "before its last restart" in unhealthy.message
    assert "worker_task_overrun" not in codes(found)


def test_a_stopped_worker_runs_nothing_it_still_holds() -> None:
    snap = containers_snapshot(container("worker", state="exited", exit_code=137))
    cel = celery(executing=(msg(running_for=900),))
    assert "container_down" in codes(rules.container_findings(snap, NOW, cel))
    assert "worker_task_overrun" not in codes(all_of(snap, cel=cel))
    assert "worker_task_overrun" in codes(all_of(containers_snapshot(), cel=cel))


def test_a_task_past_the_limit_is_critical_and_reported_once() -> None:
    snap = stack("unhealthy", beat_state="created")
    cel = celery(executing=(msg(account="fbe", running_for=15 * 60),))
    found = rules.container_findings(snap, NOW, cel)
    overrun = find(found, "worker_task_overrun")
    assert overrun.severity == "critical" and overrun.account == "fbe"
    assert "15m" in overrun.message and "600 s" in overrun.message
    assert find(found, "beat_gated_by_worker").severity == "critical"
    # the Celery rules do not report it a second time while Docker shows it unhealthy
    assert "worker_task_overrun" not in codes(all_of(snap, cel=cel))
    # a healthy-looking worker (or no Docker view) gets it from Redis alone
    assert find(all_of(stack(), cel=cel), "worker_task_overrun").severity == "critical"
    within = celery(executing=(msg(running_for=500),))
    assert "worker_task_overrun" not in codes(all_of(stack(), cel=within))


@pytest.mark.parametrize("cel", [None, error_snapshot(CelerySnapshot, "Redis down")])
def test_without_a_readable_celery_snapshot_an_unhealthy_worker_is_critical(
    cel: CelerySnapshot | None,
) -> None:
    snap = stack("unhealthy", beat_state="created")
    found = rules.container_findings(snap, NOW, cel)
    assert find(found, "container_unhealthy").message == "magflow_worker is unhealthy."
    gate = find(found, "beat_gated_by_worker")
    assert gate.severity == "critical"
    assert gate.message == (
        "beat waits for a healthy worker: no scheduled sync will run until the worker is healthy."
    )


# --------------------------------------------------------------------------- beat


def test_a_stale_heartbeat_is_critical_whatever_docker_says() -> None:
    found = all_of(cel=celery(last_heartbeat_at=ago(300)))
    stale = find(found, "beat_heartbeat_stale")
    assert stale.severity == "critical"
    assert "5m" in stale.message and "maintenance.heartbeat" in stale.message
    assert "magflow_beat healthy" in stale.message
    assert "cannot detect" in stale.message and "sh -c" in stale.message
    assert "beat_heartbeat_stale" not in codes(all_of(cel=celery(last_heartbeat_at=ago(170))))


def test_no_heartbeat_result_at_all_is_the_same_finding() -> None:
    stale = find(all_of(cel=celery(last_heartbeat_at=None)), "beat_heartbeat_stale")
    assert stale.severity == "critical"
    assert stale.message.startswith("No heartbeat result in Redis (they are kept 24 h)")
    assert stale.short == "no beat heartbeat in Redis"


def test_an_unreadable_redis_gives_no_heartbeat_conclusion() -> None:
    down = error_snapshot(CelerySnapshot, "Redis at redis:6379 refused the connection.")
    red = error_snapshot(RedisSnapshot, "Redis at redis:6379 refused the connection.")
    assert all_of(cel=down, red=red) == []
    stale_view = replace(celery(last_heartbeat_at=ago(3600)), state="stale")
    assert "beat_heartbeat_stale" not in codes(all_of(cel=stale_view))


def test_the_heartbeat_interval_comes_from_beats_environment() -> None:
    beat = container("beat", env_public={"CELERY_HEARTBEAT_INTERVAL": "300"})
    snap = containers_snapshot(container("worker"), beat)
    assert schedule_of(snap).heartbeat == 300.0
    assert "beat_heartbeat_stale" not in codes(all_of(snap, cel=celery(last_heartbeat_at=ago(600))))
    assert "beat_heartbeat_stale" in codes(all_of(snap, cel=celery(last_heartbeat_at=ago(1000))))


def test_a_long_task_delays_the_heartbeat_without_killing_beat() -> None:
    busy = celery(
        last_heartbeat_at=ago(480),
        executing=(msg(running_for=450),),
        queues={"default": 7},
        oldest_queued=msg("maintenance.heartbeat", None, running_for=None, id="hb"),
    )
    found = all_of(cel=busy)
    delayed = find(found, "beat_heartbeat_delayed")
    assert delayed.severity == "warning" and "emag.sync_products for main" in delayed.message
    assert "beat_heartbeat_stale" not in codes(found)
    # nothing queued behind the task: beat is not sending
    empty = replace(busy, queues={"default": 0}, oldest_queued=None)
    assert find(all_of(cel=empty), "beat_heartbeat_stale").severity == "critical"


def test_a_partial_scan_of_the_results_softens_the_stale_heartbeat() -> None:
    found = all_of(cel=celery(last_heartbeat_at=None, results_complete=False))
    stale = find(found, "beat_heartbeat_stale")
    assert stale.severity == "warning" and "scanned only in part" in stale.message


# --------------------------------------------------------------------------- both


def no_success(account: str) -> Finding:
    return Finding(
        "sync_no_recent_success",
        "warning",
        f"no successful products sync for {account} in the last 24 h (none in the retained history)",
        account=account,
        short="no successful sync in 24 h",
    )


def sync_with(*anomalies: Finding) -> SyncSnapshot:
    return SyncSnapshot("ok", None, NOW, 1.0, anomalies=anomalies)


def test_no_success_with_beat_alive_is_the_both_default() -> None:
    both = result(summary="both: 0 synced, 0 failed", task_id="b1", seconds_ago=1800)
    cel = celery(results=(both, result(task_id="m1", summary="main: 5 synced, 0 failed")))
    found = all_of(sync=sync_with(no_success("main")), cel=cel)
    noop = find(found, "product_sync_both_noop")
    assert noop.account == "main" and noop.severity == "warning"
    assert 'account_type="both"' in noop.message and "persists nothing" in noop.message
    assert "`magflow-console sync --account main`" in noop.message
    assert "1 result(s) of such 'both' runs" in noop.message
    # beat dead, or no anomaly: not this cause
    stale = replace(cel, last_heartbeat_at=ago(900))
    assert "product_sync_both_noop" not in codes(
        all_of(sync=sync_with(no_success("main")), cel=stale)
    )
    assert "product_sync_both_noop" not in codes(all_of(sync=sync_with(), cel=cel))


def test_the_no_success_steps_name_the_both_cause_when_it_applies() -> None:
    finding = no_success("fbe")
    found = all_of(sync=sync_with(finding), cel=celery())
    report = report_of(finding, *found)
    steps = " ".join(remedies.next_steps(finding, report))
    assert "account_type='both'" in steps and "`magflow-console sync --account fbe --wait`" in steps
    plain = " ".join(remedies.next_steps(finding, report_of(finding)))
    assert "both" not in plain and "beat" in plain


# --------------------------------------------------------------------------- retries


def test_a_scheduled_retry_is_retrying_not_a_failure() -> None:
    eta = NOW + dt.timedelta(minutes=10)
    retry = msg(retries=1, eta=eta, id="t-r")
    why = result(status="RETRY", task_id="t-r", summary="ConnectionError: eMAG answered 503")
    found = all_of(cel=celery(executing=(retry,), results=(why,)))
    f = find(found, "celery_retry_scheduled")
    assert f.severity == "info" and f.account == "main"
    assert retry_text(retry) == "retrying at 12:10 UTC (attempt 2 of 3)"
    assert "retrying at 12:10 UTC (attempt 2 of 3)" in f.message
    assert "ConnectionError: eMAG answered 503" in f.message
    assert f.short == "main sync retry 12:10 (2/3)"
    assert not any(g.severity == "critical" for g in found)
    assert "celery_retry_scheduled" not in codes(all_of(cel=celery(executing=(msg(),))))


def test_the_last_retry_of_an_order_sync_is_a_warning() -> None:
    last = msg("emag.sync_orders", None, retries=3, eta=NOW + dt.timedelta(minutes=5))
    f = find(all_of(cel=celery(executing=(last,))), "celery_retry_scheduled")
    assert f.severity == "warning" and "(attempt 4 of 4)" in f.message
    assert "last attempt" in f.message


# --------------------------------------------------------------------------- backlog


def seen_over(*points: tuple[float, int, str | None]) -> tuple[BacklogSeen, CelerySnapshot]:
    """Refreshes (seconds ago, queued, id of the oldest message), oldest first."""
    seen: BacklogSeen | None = None
    snap = celery()
    for seconds, queued, oldest in points:
        head = msg("maintenance.heartbeat", None, running_for=None, id=oldest) if oldest else None
        snap = celery(fetched_at=ago(seconds), queues={"default": queued}, oldest_queued=head)
        seen = observe_backlog(seen, snap)
    assert seen is not None
    return seen, snap


def test_the_same_oldest_message_past_its_interval_is_a_backlog() -> None:
    seen, snap = seen_over((100, 2, "hb-1"), (50, 2, "hb-1"), (0, 3, "hb-1"))
    f = find(all_of(cel=snap, backlog=seen), "celery_backlog")
    assert f.severity == "warning" and "maintenance.heartbeat" in f.message
    assert "waited at least 1m" in f.message and "60 s interval" in f.message
    moving, snap = seen_over((100, 2, "hb-1"), (50, 2, "hb-2"), (0, 3, "hb-3"))
    assert "celery_backlog" not in codes(all_of(cel=snap, backlog=moving))


def test_a_queue_that_never_shrinks_is_growing() -> None:
    seen, snap = seen_over((400, 2, "a"), (300, 3, "b"), (150, 5, "c"), (0, 7, "d"))
    f = find(all_of(cel=snap, backlog=seen), "celery_backlog")
    assert "grew from 3 to 7" in f.message and f.severity == "warning"
    assert "runs no task" in f.message
    busy = replace(snap, executing=(msg(running_for=200),))
    assert find(all_of(cel=busy, backlog=seen), "celery_backlog").severity == "info"
    shrank, snap = seen_over((400, 2, "a"), (300, 5, "b"), (150, 3, "c"), (0, 7, "d"))
    assert "celery_backlog" not in codes(all_of(cel=snap, backlog=shrank))


# --------------------------------------------------------------------------- failures


def test_repeated_failures_of_one_task_are_a_pattern() -> None:
    fails = tuple(
        result(
            "order_sync",
            "FAILURE",
            600 * i,
            "ConnectionError: eMAG 503",
            f"f{i}",
            "emag.sync_orders",
        )
        for i in range(1, 4)
    )
    f = find(all_of(cel=celery(results=fails)), "celery_task_failures")
    assert f.message.startswith("3 emag.sync_orders runs failed for good")
    assert "ConnectionError: eMAG 503" in f.message and f.short == "3 failures: order sync"
    assert "celery_task_failures" not in codes(all_of(cel=celery(results=fails[:2])))
    mixed = tuple(
        result("unknown", "FAILURE", 60 * i, f"{exc}: x", f"u{i}")
        for i, exc in enumerate(("KeyError", "ValueError", "TypeError"), 1)
    )
    assert "celery_task_failures" not in codes(all_of(cel=celery(results=mixed)))
    same = tuple(replace(r, summary="OperationalError: lost") for r in mixed)
    assert (
        "OperationalError" in find(all_of(cel=celery(results=same)), "celery_task_failures").message
    )


# --------------------------------------------------------------------------- redis


def test_redis_evicting_and_memory_high() -> None:
    found = all_of(red=redis(evicted_keys=12, used_memory=240 * MIB))
    assert "12 key(s)" in find(found, "redis_evicting").message
    assert "94%" in find(found, "redis_memory_high").message
    calm = all_of(red=redis(used_memory=200 * MIB))
    assert not codes(calm) & {"redis_evicting", "redis_memory_high"}
    assert "redis_memory_high" not in codes(all_of(red=redis(maxmemory=0, used_memory=900 * MIB)))


def test_redis_restarted_since_the_last_heartbeat() -> None:
    found = all_of(red=redis(uptime_seconds=600), cel=celery(last_heartbeat_at=ago(1200)))
    f = find(found, "redis_restarted")
    assert "10m ago" in f.message and "login cache" in f.message and "queued" in f.message
    just = all_of(red=redis(uptime_seconds=90), cel=celery(last_heartbeat_at=None))
    assert "redis_restarted" in codes(just) and "beat_heartbeat_stale" not in codes(just)
    assert "redis_restarted" not in codes(all_of(red=redis(uptime_seconds=600)))


# --------------------------------------------------------------------------- orders


def orders_of(**accounts: OrderAccountStats) -> OrdersSnapshot:
    return OrdersSnapshot("ok", None, NOW, 1.0, accounts=accounts, counts_age_seconds=0.0)


def test_order_sync_stale_per_account() -> None:
    snap = orders_of(
        main=OrderAccountStats("main", orders_total=40, last_synced_at=ago(1800)),
        fbe=OrderAccountStats("fbe", orders_total=9, last_synced_at=ago(200)),
    )
    f = find(all_of(orders=snap), "orders_sync_stale")
    assert f.account == "main" and "emag.sync_orders" in f.message and "30m" in f.message
    failed = result("order_sync", summary="main failed: 401 Unauthorized; fbe: 0 synced (0 new)")
    why = find(all_of(orders=snap, cel=celery(results=(failed,))), "orders_sync_stale")
    assert "main failed: 401 Unauthorized" in why.message
    # a recent successful run with nothing new for main: the sync works
    quiet = result("order_sync", summary="main: 0 synced (0 new); fbe: 0 synced (0 new)")
    assert "orders_sync_stale" not in codes(all_of(orders=snap, cel=celery(results=(quiet,))))
    # figures read 20 minutes ago from the cache: judged at the time they were read
    cached = replace(snap, counts_age_seconds=1200.0)
    assert "orders_sync_stale" not in codes(all_of(orders=cached))


def test_new_orders_left_unacknowledged() -> None:
    snap = orders_of(
        fbe=OrderAccountStats("fbe", new=6, new_unacknowledged_stale=4, last_synced_at=ago(60))
    )
    f = find(all_of(orders=snap), "orders_unacknowledged")
    assert f.account == "fbe" and f.message.startswith("4 new order(s) of fbe")
    assert "emag.auto_acknowledge_orders is not working for fbe" in f.message
    fine = orders_of(fbe=OrderAccountStats("fbe", new=6, last_synced_at=ago(60)))
    assert "orders_unacknowledged" not in codes(all_of(orders=fine))


# --------------------------------------------------------------------------- all together


def test_a_healthy_stack_gives_no_celery_finding() -> None:
    snap = orders_of(main=OrderAccountStats("main", last_synced_at=ago(100)))
    seen, cel = seen_over((120, 0, None), (0, 0, None))
    assert all_of(cel=cel, orders=snap, backlog=seen, sync=sync_with()) == []


def test_every_new_code_has_its_own_steps() -> None:
    for code in sorted(CELERY_CODES):
        for severity in ("critical", "warning", "info"):
            steps = remedies.next_steps(Finding(code, severity, "m", account="fbe"), None)  # type: ignore[arg-type]
            assert steps and "No specific advice" not in steps[0], code
