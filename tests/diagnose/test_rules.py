"""Diagnosis rules and the verdict: pure logic over hand-made snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from magflow_console.diagnose import redis_state, rules
from magflow_console.models import (
    AdminsSnapshot,
    AdminUser,
    ApiCheck,
    ApiSnapshot,
    CelerySnapshot,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    HealthProbe,
    MigrationsSnapshot,
    RedisSnapshot,
    SyncSnapshot,
    Verdict,
    error_snapshot,
)
from tests.support.snapshots import NOW, container, containers_snapshot, report_of


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def test_healthy_stack_has_no_findings() -> None:
    snap = containers_snapshot(*(container(s) for s in ("app", "worker", "beat", "db", "redis")))
    assert rules.container_findings(snap, NOW) == []


def test_crash_loop_from_state_or_recent_restarts() -> None:
    restarting = container("redis", state="restarting", restart_count=1, exit_code=1)
    assert "container_crash_loop" in codes(
        rules.container_findings(containers_snapshot(restarting), NOW)
    )
    just_up = container("redis", restart_count=5, started_at=NOW - dt.timedelta(seconds=5))
    assert "container_crash_loop" in codes(
        rules.container_findings(containers_snapshot(just_up), NOW)
    )
    long_up = container("redis", restart_count=5, started_at=NOW - dt.timedelta(hours=2))
    found = rules.container_findings(containers_snapshot(long_up), NOW)
    assert codes(found) == {"container_restarted"} and found[0].severity == "info"


def test_unhealthy_names_the_last_probe_output_and_beat_gate() -> None:
    probe = HealthProbe(NOW, NOW, 1, "Error: No nodes replied within time constraint\n")
    worker = container("worker", health="unhealthy", health_log=(probe,))
    beat = container("beat", state="created", health=None)
    found = rules.container_findings(containers_snapshot(worker, beat), NOW)
    unhealthy = next(f for f in found if f.code == "container_unhealthy")
    assert "No nodes replied" in unhealthy.message and unhealthy.severity == "critical"
    assert "beat_gated_by_worker" in codes(found)
    assert "container_down" in codes(found)


def test_missing_services_essential_or_not() -> None:
    found = rules.container_findings(
        containers_snapshot(container("app"), missing=("db", "beat")), NOW
    )
    sev = {f.subject: f.severity for f in found}
    assert sev == {"db": "critical", "beat": "warning"}


def test_blind_app_healthcheck_needs_a_healthy_app_and_a_failing_real_check() -> None:
    api = ApiSnapshot(
        "ok", None, NOW, 5.0, base_url="http://x",
        checks=(
            ApiCheck("/health/live", 200, True, 1.0, "alive", critical=False),
            ApiCheck("/health/full", 200, False, 2.0, "unhealthy", "database unhealthy: refused"),
        ),
    )  # fmt: skip
    found = rules.api_findings(api, containers_snapshot(container("app")))
    assert {"api_check_unhealthy", "app_blind_healthcheck"} == codes(found)
    assert "app_blind_healthcheck" not in codes(
        rules.api_findings(api, containers_snapshot(container("app", health="unhealthy")))
    )


def test_api_unreachable_is_critical_unless_not_configured() -> None:
    down = error_snapshot(
        ApiSnapshot, "API at http://x refused the connection.", base_url="http://x"
    )
    assert codes(rules.api_findings(down)) == {"api_unreachable"}
    unset = error_snapshot(ApiSnapshot, "No API URL configured for this profile.")
    assert rules.api_findings(unset) == []


def test_verdict_order_and_unknown() -> None:
    warn = Finding("x", "warning", "w")
    crit = Finding("y", "critical", "c")
    info = Finding("z", "info", "i")
    assert rules.verdict([info], ["ok"]) is Verdict.OK
    assert rules.verdict([warn, info], ["ok"]) is Verdict.WARNING
    assert rules.verdict([warn, crit], ["error"]) is Verdict.CRITICAL
    assert rules.verdict([], ["ok", "error"]) is Verdict.UNKNOWN
    assert rules.verdict([warn], ["error"]) is Verdict.WARNING


def test_report_database_down_is_critical_not_unknown() -> None:
    db = error_snapshot(DatabaseSnapshot, "PostgreSQL at h:5433/magflow refused the connection.")
    sync = error_snapshot(SyncSnapshot, "PostgreSQL at h:5433/magflow refused the connection.")
    mig = MigrationsSnapshot("ok", None, NOW, 1.0, heads=("a",), db_checked=False)
    api = ApiSnapshot("ok", None, NOW, 1.0, base_url="http://x", checks=())
    report = report_of(
        containers=containers_snapshot(container("app")),
        database=db,
        migrations=mig,
        sync=sync,
        api=api,
    )
    assert report.verdict is Verdict.CRITICAL
    assert "database_unreachable" in codes(list(report.findings))


def test_report_docker_unreachable_alone_is_unknown() -> None:
    containers = error_snapshot(ContainersSnapshot, "Docker engine at unix:///x is not reachable.")
    db = DatabaseSnapshot("ok", None, NOW, 1.0, tables=("users",), schema_empty=False)
    mig = MigrationsSnapshot("ok", None, NOW, 1.0, heads=("a",), current=("a",))
    sync = SyncSnapshot("ok", None, NOW, 1.0)
    api = ApiSnapshot("ok", None, NOW, 1.0, base_url="http://x", checks=())
    report = report_of(containers=containers, database=db, migrations=mig, sync=sync, api=api)
    assert report.verdict is Verdict.UNKNOWN


def test_redis_down_is_critical_and_a_redis_nobody_named_is_unread() -> None:
    down = error_snapshot(
        RedisSnapshot,
        "Redis at 127.0.0.1:6379 refused the connection.",
        url="redis://:***@127.0.0.1:6379/0",
    )
    celery = error_snapshot(CelerySnapshot, "Redis at 127.0.0.1:6379 refused the connection.")
    report = report_of(redis=down, celery=celery)
    assert codes(list(report.findings)) == {"redis_unreachable"}
    assert report.verdict is Verdict.CRITICAL
    unknown = error_snapshot(RedisSnapshot, "No Redis URL: set redis.url ...")
    quiet = report_of(redis=unknown, celery=error_snapshot(CelerySnapshot, "No Redis URL"))
    assert "redis_unreachable" not in codes(list(quiet.findings))
    assert quiet.verdict is Verdict.OK  # not counted; doctor lists it as UNKNOWN
    ok = RedisSnapshot("ok", None, NOW, 1.0, url="redis://x")
    assert redis_state.unreachable_findings(ok) == []


def test_empty_schema_is_critical() -> None:
    db = DatabaseSnapshot("ok", None, NOW, 1.0, tables=(), schema_empty=True)
    assert codes(rules.database_findings(db)) == {"schema_empty"}


def _admin(email: str, **kw: object) -> AdminUser:
    base = AdminUser(
        id=1, email=email, full_name=None, is_active=True, is_superuser=True,
        has_admin_role=True, email_verified=True, last_login=None, failed_login_attempts=0,
        created_at=None,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _admins(*users: AdminUser) -> AdminsSnapshot:
    return AdminsSnapshot("ok", None, NOW, 1.0, items=users)


def test_admin_logins_that_would_fail() -> None:
    assert rules.admin_findings(_admins(_admin("ok@x"))) == []
    bad = rules.admin_findings(_admins(_admin("sha@x", password_hash_ok=False)))
    assert [(f.code, f.severity) for f in bad] == [
        ("admin_none_usable", "critical"),  # the only admin cannot log in
        ("admin_bad_hash", "critical"),
    ]
    assert bad[1].subject == "sha@x" and "every login of this user fails" in bad[1].message
    mixed = rules.admin_findings(
        _admins(
            _admin("ok@x"),
            _admin("gone@x", is_active=False, password_hash_ok=False),  # inactive: only noted
            _admin("root@x", has_admin_role=False, failed_login_attempts=5),
            _admin("typo@x", failed_login_attempts=1),
        )
    )
    assert [(f.code, f.severity, f.subject) for f in mixed] == [
        ("admin_bad_hash", "info", "gone@x"),
        ("admin_without_role", "info", "root@x"),
        ("admin_failed_logins", "warning", "root@x"),
        ("admin_failed_logins", "info", "typo@x"),
    ]
    unread = rules.admin_findings(error_snapshot(AdminsSnapshot, "db down"))
    assert [f.code for f in unread] == ["admin_unreadable"]  # never silence (issue 13, #5)
    nobody = rules.admin_findings(
        _admins(_admin("role-only@x", is_superuser=False, is_active=False))
    )
    assert [f.code for f in nobody] == ["admin_none_usable"]
