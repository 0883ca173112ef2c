"""The demo's missing parts (``absent`` snapshots: no Docker engine, no Redis) are
information, not faults: pure logic over hand-made snapshots, each case set against the
same snapshots without the mark (a real profile), where they do count."""

from __future__ import annotations

from magflow_console.diagnose.doctor import advise, doctor_verdict
from magflow_console.models import (
    ApiCheck,
    ApiSnapshot,
    CelerySnapshot,
    ContainersSnapshot,
    RedisSnapshot,
    Verdict,
    error_snapshot,
)
from tests.support.snapshots import NOW, report_of

NO_ENGINE = "no Docker engine (demo): Docker engine at unix:///x.sock is not reachable"
NO_REDIS = "no Redis (demo): none is configured"
REDIS_CHECK = ApiCheck("/health/redis", 200, False, 1.0, "unhealthy", "redis unhealthy: none")
API = ApiSnapshot("ok", None, NOW, 1.0, base_url="http://127.0.0.1:1", checks=(REDIS_CHECK,))


def test_the_demos_missing_parts_are_information() -> None:
    report = report_of(
        containers=error_snapshot(ContainersSnapshot, NO_ENGINE, absent=True),
        redis=error_snapshot(RedisSnapshot, NO_REDIS, absent=True),
        celery=error_snapshot(CelerySnapshot, NO_REDIS, absent=True),
        api=API,
    )
    by_code = {f.code: f for f in report.findings}
    assert by_code["containers_absent"].severity == "info"
    assert by_code["containers_absent"].short == "no Docker engine (demo)"
    assert by_code["redis_absent"].short == "no Redis (demo)"
    assert by_code["api_check_unhealthy"].severity == "info"  # the API's /health/redis
    assert report.verdict == Verdict.OK
    advice = advise(report)
    assert {a.level for a in advice} == {"INFO"}, [(a.level, a.finding.code) for a in advice]
    assert doctor_verdict(report) == Verdict.OK


def test_the_same_parts_count_in_a_real_profile() -> None:
    report = report_of(
        containers=error_snapshot(ContainersSnapshot, NO_ENGINE),
        redis=error_snapshot(RedisSnapshot, NO_REDIS),
        celery=error_snapshot(CelerySnapshot, NO_REDIS),
        api=API,
    )
    codes = {f.code: f.severity for f in report.findings}
    assert "containers_absent" not in codes and "redis_absent" not in codes
    assert codes["api_check_unhealthy"] == "critical"
    assert report.verdict == Verdict.CRITICAL
    levels = {a.finding.code: a.level for a in advise(report)}
    assert levels["containers_unreadable"] == "UNKNOWN"
