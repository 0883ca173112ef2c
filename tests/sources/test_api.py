"""ApiSource against the local fake MagFlow API (a real HTTP server), plus pure judging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from magflow_console.diagnose import rules
from magflow_console.models import ApiCheck, ApiSnapshot, to_jsonable
from magflow_console.sources.api import DEFAULT_CHECKS, ApiSource, judge, what_it_was
from tests.support.fake_api import ENV_SECRET, HEAD_REVISION, FakeMagflowApi

SECRET_DSN = "postgresql://app:s3cret@db/magflow"


@pytest.fixture
def make_source() -> Iterator[Any]:
    sources: list[ApiSource] = []

    def make(base_url: str | None, **kw: Any) -> ApiSource:
        source = ApiSource(base_url, **kw)
        sources.append(source)
        return source

    yield make
    for source in sources:
        source.close()


def by_path(snap: ApiSnapshot) -> dict[str, ApiCheck]:
    return {c.path: c for c in snap.checks}


def dump(snap: ApiSnapshot) -> str:
    return json.dumps(to_jsonable(snap))


def test_healthy_stack_all_checks_pass(fake_api: FakeMagflowApi, make_source: Any) -> None:
    snap = make_source(fake_api.base_url).fetch()
    assert snap.state == "ok", snap.error
    assert snap.error is None
    assert snap.base_url == fake_api.base_url
    assert [c.path for c in snap.checks] == list(DEFAULT_CHECKS)
    checks = by_path(snap)
    for check in snap.checks:
        assert check.healthy, check
        assert check.status_code == 200
        assert check.latency_ms is not None and check.latency_ms >= 0
    assert checks["/health/live"].status == "alive"
    assert checks["/api/v1/emag/health"].status == "healthy"
    assert HEAD_REVISION in (checks["/health/migrations"].detail or "")
    assert sorted(fake_api.paths_requested()) == sorted(DEFAULT_CHECKS)
    # /health/full is never polled: each uncached call logs a traceback in the app (§11.6)
    assert "/health/full" not in fake_api.paths_requested()
    # dsn_host is the app's DB_HOST setting, not where its URL connects
    assert "DB_HOST setting" in (checks["/health/database"].detail or "")


def test_the_full_check_is_probed_on_demand(fake_api: FakeMagflowApi, make_source: Any) -> None:
    check = make_source(fake_api.base_url).probe("/health/full")
    assert check is not None and check.healthy and check.status == "ok"
    assert fake_api.paths_requested() == ["/health/full"]
    assert make_source(fake_api.base_url).probe("/env") is None  # never, even on demand


def test_429_is_rate_limited_not_unhealthy(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.override("/health/database", 429, {"detail": "Rate limit exceeded: 100 per 1 minute"})
    fake_api.override("/health/redis", 429, "Too Many Requests")  # not even JSON
    snap = make_source(fake_api.base_url).fetch()
    checks = by_path(snap)
    for path in ("/health/database", "/health/redis"):
        assert checks[path].rate_limited and checks[path].status == "rate-limited"
        assert "rate-limited" in (checks[path].detail or "")
    assert snap.rate_limited
    findings = rules.api_findings(snap)
    assert [f.code for f in findings] == ["api_rate_limited"]
    assert findings[0].severity == "warning"  # not the critical api_check_unhealthy


def test_db_down_is_judged_by_body_while_live_stays_green(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("db_down")
    snap = make_source(fake_api.base_url).fetch()
    assert snap.state == "ok"  # the API answered; the checks carry the fault
    checks = by_path(snap)
    database = checks["/health/database"]
    assert database.status_code == 200 and not database.healthy and database.critical
    assert database.detail == "database unhealthy: connection refused"
    assert not checks["/health/migrations"].healthy
    live = checks["/health/live"]
    assert live.healthy and live.status == "alive"
    assert live.critical is False
    assert "static" in (live.detail or "")


def test_v1_database_health_reads_the_unhealthy_body(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("db_down", error="could not connect to server")
    paths = ["/api/v1/database/health", "/api/v1/health/full"]
    snap = make_source(fake_api.base_url, checks=paths).fetch()
    checks = by_path(snap)
    assert checks["/api/v1/database/health"].status == "unhealthy"
    assert checks["/api/v1/database/health"].detail == (
        "database unhealthy: could not connect to server"
    )
    assert not checks["/api/v1/health/full"].healthy


def test_redis_down(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("redis_down")
    checks = by_path(make_source(fake_api.base_url).fetch())
    redis = checks["/health/redis"]
    assert not redis.healthy and redis.critical
    assert redis.status == "unhealthy"
    assert (redis.detail or "").startswith("redis unhealthy: Error 111")
    assert checks["/health/database"].healthy


def test_migrations_table_missing_is_a_warning_and_unhealthy(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("migrations_table_missing")
    check = by_path(make_source(fake_api.base_url).fetch())["/health/migrations"]
    assert check.status_code == 200
    assert check.status == "warning"
    assert not check.healthy
    assert check.detail == "migrations warning: Alembic version table not found"


def test_emag_unconfigured(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("emag_unconfigured")
    check = by_path(make_source(fake_api.base_url).fetch())["/api/v1/emag/health"]
    assert not check.healthy and check.status == "unhealthy"
    assert "not configured" in (check.detail or "")


def test_non_json_body_is_unhealthy(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("garbage", paths=["/health/database"])
    snap = make_source(fake_api.base_url).fetch()
    assert snap.state == "ok"
    check = by_path(snap)["/health/database"]
    assert check.status_code == 200 and not check.healthy
    assert check.status is None
    assert "non-JSON body (text/html)" in (check.detail or "")
    assert by_path(snap)["/health/redis"].healthy


def test_a_proxy_page_says_it_is_html_and_its_title(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("html", paths=["/health/database"])
    check = by_path(make_source(fake_api.base_url).fetch())["/health/database"]
    assert check.status_code == 502 and not check.healthy
    assert check.detail == (
        "database answered HTTP 502 with a non-JSON body (text/html): "
        "an HTML page titled «502 Bad Gateway»"
    )


def test_a_body_that_is_not_json_is_quoted_short_and_clean(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("not_json", paths=["/health/redis"])
    check = by_path(make_source(fake_api.base_url).fetch())["/health/redis"]
    assert check.status_code == 200 and not check.healthy and check.status is None
    detail = check.detail or ""
    assert detail.startswith(
        'redis answered HTTP 200 with a non-JSON body (application/json): starting «{"status"'
    ), detail
    assert "\x1b" not in detail and "\x00" not in detail and "[31m" not in detail


def test_what_a_body_that_is_not_json_was() -> None:
    assert what_it_was("", "text/html") == ""
    assert what_it_was("<!doctype html><p>Maintenance</p>", "") == "an HTML page"
    assert what_it_was("<h1>\n Sign in </h1>", "text/html; charset=utf-8") == (
        "an HTML page titled «Sign in»"
    )
    assert what_it_was("token=abc123 " + "x" * 100, "text/plain") == (
        "starting «token=*** " + "x" * 49 + "…»"
    )


def test_http_500_everywhere(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("http_500")
    snap = make_source(fake_api.base_url).fetch()
    assert snap.state == "ok"  # the API answered, badly
    for check in snap.checks:
        assert check.status_code == 500
        assert not check.healthy
        assert "HTTP 500" in (check.detail or "")
        assert "Unexpected server error" in (check.detail or "")


def test_connection_refused_names_the_url(closed_api_url: str, make_source: Any) -> None:
    snap = make_source(closed_api_url).fetch()
    assert snap.state == "error"
    assert snap.error == f"API at {closed_api_url} refused the connection."
    assert len(snap.checks) == len(DEFAULT_CHECKS)
    assert all(not c.healthy and c.status_code is None for c in snap.checks)


def test_no_base_url(make_source: Any) -> None:
    snap = make_source(None).fetch()
    assert snap.state == "error"
    assert snap.error == "No API URL configured for this profile."
    assert snap.checks == ()


def test_invalid_base_url_does_not_raise(make_source: Any) -> None:
    snap = make_source("not a url").fetch()
    assert snap.state == "error"
    assert "not a valid http(s) URL" in (snap.error or "")


def test_one_slow_check_times_out_alone(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("slow", seconds=5, paths=["/health/database"])
    snap = make_source(fake_api.base_url, timeout=0.5).fetch()
    assert snap.state == "ok"
    checks = by_path(snap)
    slow = checks["/health/database"]
    assert not slow.healthy and slow.status_code is None
    assert slow.detail == "/health/database: timed out after 0.5 s without an answer"
    assert all(c.healthy for p, c in checks.items() if p != "/health/database")


def test_everything_slow_gives_an_error_snapshot(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    fake_api.set_mode("slow", seconds=5)
    snap = make_source(fake_api.base_url, timeout=0.5).fetch()
    assert snap.state == "error"
    assert snap.error == (
        f"API at {fake_api.base_url} accepted connections but answered nothing within 0.5 s."
    )
    assert all("timed out" in (c.detail or "") for c in snap.checks)


def test_missing_endpoint_is_one_unhealthy_check(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    snap = make_source(fake_api.base_url, checks=["/health/live", "/health/detailed"]).fetch()
    assert snap.state == "ok"
    detailed = by_path(snap)["/health/detailed"]
    assert detailed.status_code == 404 and not detailed.healthy
    assert detailed.detail == "/health/detailed answered HTTP 404: Not Found"


def test_redirect_is_reported_not_followed(fake_api: FakeMagflowApi, make_source: Any) -> None:
    snap = make_source(fake_api.base_url, checks=["/health/full/"]).fetch()
    check = by_path(snap)["/health/full/"]
    assert check.status_code == 307 and not check.healthy
    assert "redirects are not followed" in (check.detail or "")
    assert fake_api.paths_requested() == ["/health/full/"]


def test_env_is_never_requested(fake_api: FakeMagflowApi, make_source: Any) -> None:
    source = make_source(fake_api.base_url, checks=[*DEFAULT_CHECKS, "/env", "/env/"])
    for mode in ("healthy", "db_down", "http_500"):
        fake_api.set_mode(mode)
        snap = source.fetch()
        assert ENV_SECRET not in dump(snap)
    assert "/env" not in source.checks
    assert fake_api.requests, "the fake saw no request at all"
    assert not [r for r in fake_api.requests if r.path.startswith("/env")]


def test_secrets_in_error_bodies_are_scrubbed(fake_api: FakeMagflowApi, make_source: Any) -> None:
    fake_api.set_mode("db_down", error=f"could not connect to {SECRET_DSN}: timeout")
    paths = [*DEFAULT_CHECKS, "/api/v1/database/health"]
    snap = make_source(fake_api.base_url, checks=paths).fetch()
    assert not by_path(snap)["/health/database"].healthy
    assert "s3cret" not in dump(snap)
    assert "postgresql://app:***@db/magflow" in (by_path(snap)["/health/database"].detail or "")


def test_secret_in_500_problem_detail_is_scrubbed(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    body = {"status": 500, "title": "Internal Server Error", "detail": f"boom {SECRET_DSN}"}
    fake_api.override("/health/redis", status=500, body=body)
    snap = make_source(fake_api.base_url).fetch()
    assert not by_path(snap)["/health/redis"].healthy
    assert "s3cret" not in dump(snap)


def test_credentials_in_base_url_never_shown(
    fake_api: FakeMagflowApi, closed_api_url: str, make_source: Any
) -> None:
    url = closed_api_url.replace("http://", "http://ops:hunter2@")
    snap = make_source(url).fetch()
    assert snap.state == "error"
    assert "hunter2" not in dump(snap)
    assert "127.0.0.1" in (snap.error or "")


def test_client_is_reused_across_refreshes(fake_api: FakeMagflowApi, make_source: Any) -> None:
    source = make_source(fake_api.base_url, checks=["/health/live"])
    assert source.fetch().state == "ok"
    fake_api.set_mode("http_500")
    second = source.fetch()
    assert second.checks[0].status_code == 500
    source.close()
    fake_api.set_mode("healthy")
    assert source.fetch().checks[0].healthy  # usable again after close


def test_tasks_ready_worker_busy_is_non_critical(
    fake_api: FakeMagflowApi, make_source: Any
) -> None:
    assert "/api/v1/tasks/ready" not in DEFAULT_CHECKS
    fake_api.set_mode("worker_busy")
    check = make_source(fake_api.base_url, checks=["/api/v1/tasks/ready"]).fetch().checks[0]
    assert check.status_code == 503 and check.status == "unready"
    assert not check.healthy and check.critical is False


# ------------------------------------------------------------------ pure logic


@pytest.mark.parametrize("status", ["unhealthy", "degraded", "error", "warning", "Unready"])
def test_judge_200_with_bad_status_is_unhealthy(status: str) -> None:
    healthy, body_status, detail = judge("/health/redis", 200, {"status": status, "error": "x"})
    assert not healthy
    assert body_status == status.lower()
    assert detail == f"redis {status.lower()}: x"


def test_judge_missing_status_and_non_object() -> None:
    assert judge("/health/redis", 200, {"message": "hi"})[0] is False
    assert judge("/health/redis", 200, ["ok"])[0] is False
    assert judge("/health/redis", 200, None, "text/plain")[2] == (
        "redis answered HTTP 200 with a non-JSON body (text/plain)"
    )


def test_judge_full_with_ok_top_but_bad_db_is_unhealthy() -> None:
    body = {"status": "ok", "db": {"status": "degraded", "error": "users table missing"}}
    assert judge("/health/full", 200, body) == (
        False,
        "ok",
        "database degraded: users table missing",
    )


def test_judge_detail_is_one_bounded_line() -> None:
    _, _, detail = judge("/health/redis", 200, {"status": "error", "error": "a\nb " * 500})
    assert "\n" not in detail
    assert len(detail) <= 200


def test_fake_rejects_unknown_mode(fake_api: FakeMagflowApi) -> None:
    with pytest.raises(ValueError, match="unknown fake API mode"):
        fake_api.set_mode("on_fire")


def test_fake_login_and_sync_contract(fake_api: FakeMagflowApi) -> None:
    """The fake's action endpoints behave like the sheet (§6), for later action tests."""
    base = fake_api.base_url
    creds = fake_api.credentials
    with httpx.Client(base_url=base) as c:
        form = c.post("/api/v1/auth/login", data={"username": creds.email, "password": "x"})
        assert form.status_code == 422
        bad = c.post("/api/v1/auth/login", json={"username": creds.email, "password": "nope"})
        assert bad.status_code == 401 and bad.json()["title"] == "Unauthorized"
        good = c.post(
            "/api/v1/auth/login",
            json={"username": creds.email, "password": creds.password, "remember_me": False},
        )
        assert good.status_code == 200
        token = good.json()["access_token"]
        assert good.json()["token_type"] == "bearer"
        auth = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/emag/products/status").status_code == 401
        status = c.get("/api/v1/emag/products/status", headers=auth)
        assert status.json()["is_running"] is False
        sync = "/api/v1/emag/products/sync"
        assert c.post(sync, json={"items_per_page": 101}, headers=auth).status_code == 422
        assert c.post(sync, json={"max_pages": 0}, headers=auth).status_code == 422
        assert c.post(sync, json={"account_type": "x"}, headers=auth).status_code == 500
        ok = c.post(sync, json={"account_type": "main", "run_async": True}, headers=auth)
        assert ok.json() == {"status": "accepted", "sync_id": None}
    assert fake_api.sync_requests == [{"account_type": "main", "run_async": True}]
    assert fake_api.requests[-1].headers["authorization"] == f"Bearer {token}"
