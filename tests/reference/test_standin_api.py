"""The stand-in of MagFlow's API (``reference.standin_api``) against the stack sheet §8:
paths, status codes and body shapes, for the demo's stand-in over a real PostgreSQL (and a
real redis-server) and for the tests' fake API, which is built on it (one copy of the
bodies, checked here against the same table).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from magflow_console.reference import DEMO_TARGET
from magflow_console.reference.demo_facts import NO_REDIS, DemoFacts
from magflow_console.reference.standin_api import ApiServer, HealthApi, problem
from magflow_console.reference.urls import to_libpq
from tests.support.fake_api import ENV_SECRET, FakeMagflowApi
from tests.support.redis_server import RedisServer

PROBLEM = frozenset(problem(500, "t", "d", "/p"))
STATIC = {"ok": {"status", "timestamp"}}
LIVE = {"alive": {"status", "services", "timestamp", "uptime_seconds"}}
READY = {"ready": {"status", "services", "timestamp", "duration_seconds"}}
DATABASE = {
    s: {"status", "dsn_host", "resolved_ips", "error"} for s in ("ok", "degraded", "unhealthy")
}
FULL = {
    s: {"status", "timestamp", "db", "jwks", "circuit_breakers", "version", "environment"}
    for s in ("ok", "unhealthy")
}
#: sheet §8: path -> {body status -> the body's keys}; every one answers HTTP 200
SHAPES: dict[str, dict[str, set[str]]] = {
    "/health": STATIC,
    "/health/health": STATIC,
    "/api/v1/health": STATIC,
    "/health/live": LIVE,
    "/api/v1/health/live": LIVE,
    "/health/ready": READY,
    "/api/v1/health/ready": READY,
    "/health/startup": {
        s: {
            "status", "ready", "uptime_seconds", "required_seconds", "start_time",
            "current_time", "services", "details", "timestamp",
        }
        for s in ("starting", "started")
    },
    "/health/database": DATABASE,
    "/health/redis": {
        "ok": {"status", "message", "response_time_ms"},
        "unhealthy": {"status", "error"},
    },
    "/health/migrations": {
        "ok": {"status", "migrations_up_to_date", "current_version"},
        "warning": {"status", "message"},
        "error": {"status", "error"},
    },
    "/health/full": FULL,
    "/api/v1/health/full": FULL,
    "/api/v1/database/health": {
        "healthy": {"status", "postgres_version", "schema_accessible", "last_check"},
        "unhealthy": {"status", "error", "last_check"},
    },
    "/api/v1/emag/health": {
        s: {"status", "service", "timestamp", "error", "error_type", "version"}
        for s in ("healthy", "unhealthy")
    },
}  # fmt: skip
TASKS_READY = {"status", "message", "test_result", "task_id", "timestamp"}


def check_shape(path: str, response: httpx.Response) -> dict[str, Any]:
    """The body of ``path`` has the sheet's shape for its status; returns it."""
    body = response.json()
    if path == "/api/v1/tasks/ready":
        if response.status_code == 503:
            assert set(body) == PROBLEM and body["status"] == "unready", body
        else:
            assert response.status_code == 200 and set(body) == TASKS_READY, body
        return body
    assert response.status_code == 200, (path, response.status_code, body)
    assert response.headers["content-type"] == "application/json"
    shapes = SHAPES[path]
    assert body["status"] in shapes, (path, body)
    assert set(body) == shapes[body["status"]], (path, sorted(body))
    if path in ("/health/live", "/api/v1/health/live", "/health/ready"):
        assert body["services"] == {"database": "ready", "jwks": "ready", "opentelemetry": "ready"}
    if path.endswith("/health/full"):
        assert set(body["db"]) == DATABASE["ok"]
        assert set(body["jwks"]) == {"ok", "url", "error", "response_time_ms"}
        assert body["circuit_breakers"] == {} and body["version"] == "1.0.0"
    if path == "/health/startup":
        assert body["required_seconds"] == 30
        assert set(body["details"]) == {
            "warmup_remaining_seconds", "ready_state", "raw_services", "readiness_probe",
        }  # fmt: skip
        assert set(body["details"]["ready_state"]) == {
            "db_ready", "jwks_ready", "otel_ready", "last_checked",
        }  # fmt: skip
    if path == "/api/v1/emag/health":
        assert body["service"] == "emag_integration"
    return body


def get_all(client: httpx.Client) -> dict[str, dict[str, Any]]:
    paths = [*SHAPES, "/api/v1/tasks/ready"]
    return {p: check_shape(p, client.get(p)) for p in paths}


@pytest.fixture
def standin(demo_db_url: str) -> Iterator[tuple[DemoFacts, httpx.Client]]:
    facts = DemoFacts(demo_db_url)
    with ApiServer(HealthApi(facts)) as server, httpx.Client(base_url=server.base_url) as client:
        yield facts, client


def test_demo_standin_answers_the_sheets_shapes_from_the_demo_database(
    standin: tuple[DemoFacts, httpx.Client],
) -> None:
    _facts, client = standin
    bodies = get_all(client)
    db = bodies["/health/database"]
    assert db["status"] == "ok" and db["error"] is None and db["dsn_host"] == "localhost"
    assert "127.0.0.1" in db["resolved_ips"]
    assert bodies["/health/full"]["status"] == "ok"
    assert bodies["/health/migrations"]["current_version"] == DEMO_TARGET
    assert bodies["/api/v1/database/health"]["postgres_version"].startswith("PostgreSQL ")
    # what is true in the demo: no Redis, no Celery worker
    assert bodies["/health/redis"] == {"status": "unhealthy", "error": NO_REDIS}
    assert client.get("/api/v1/tasks/ready").status_code == 503
    assert bodies["/api/v1/emag/health"]["status"] == "healthy"  # it checks MAIN only


def test_demo_standin_routing_is_fastapis(standin: tuple[DemoFacts, httpx.Client]) -> None:
    _facts, client = standin
    slash = client.get("/health/database/?x=1")
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/health/database?x=1")
    for path in ("/health/detailed", "/api/v1/health/detailed", "/nope"):
        missing = client.get(path)
        assert missing.status_code == 404 and set(missing.json()) == PROBLEM, path
    assert client.post("/health/live").status_code == 405
    # the real /env returns the URLs with their passwords: the stand-in has none
    assert client.get("/env").status_code == 404
    assert client.get("/health/live").headers["server"] == "uvicorn"


def test_demo_standin_follows_the_database(
    standin: tuple[DemoFacts, httpx.Client], demo_db_url: str
) -> None:
    facts, client = standin
    with psycopg.connect(to_libpq(demo_db_url), autocommit=True) as conn:
        conn.execute("DROP TABLE app.audit_logs CASCADE")
        conn.execute("DROP TABLE app.alembic_version")
    db = check_shape("/health/database", client.get("/health/database"))
    assert db["status"] == "degraded" and "audit_logs" in db["error"]
    migrations = check_shape("/health/migrations", client.get("/health/migrations"))
    assert migrations == {"status": "warning", "message": "Alembic version table not found"}

    facts.db_url = "postgresql+psycopg://app@/magflow?host=/nonexistent-socket-dir"
    bodies = get_all(client)
    assert bodies["/health/database"]["status"] == "unhealthy"
    assert bodies["/health/database"]["error"]
    assert bodies["/health/migrations"]["status"] == "error"
    assert bodies["/api/v1/database/health"]["status"] == "unhealthy"
    assert bodies["/health/live"]["status"] == "alive"  # static, as in the real app


def test_demo_standin_pings_the_redis_it_is_given(
    standin: tuple[DemoFacts, httpx.Client], redis_db: RedisServer
) -> None:
    facts, client = standin
    facts.redis_url = redis_db.url
    ok = check_shape("/health/redis", client.get("/health/redis"))
    assert ok["status"] == "ok" and isinstance(ok["response_time_ms"], float)
    facts.redis_url = redis_db.url_with_password("wrong-password")
    refused = check_shape("/health/redis", client.get("/health/redis"))
    assert refused["status"] == "unhealthy"
    assert "wrong-password" not in refused["error"] and redis_db.password not in refused["error"]


@pytest.mark.parametrize(
    "mode",
    ["healthy", "db_down", "redis_down", "migrations_table_missing", "emag_unconfigured", "worker_busy"],
)  # fmt: skip
def test_fake_api_answers_the_same_shapes(fake_api: FakeMagflowApi, mode: str) -> None:
    fake_api.set_mode(mode)
    with httpx.Client(base_url=fake_api.base_url) as client:
        bodies = get_all(client)
        env = client.get("/env")  # only the fake serves it: proof the console never calls it
    assert ENV_SECRET in env.text
    expected = {
        "healthy": ("/health/database", "ok"),
        "db_down": ("/health/database", "unhealthy"),
        "redis_down": ("/health/redis", "unhealthy"),
        "migrations_table_missing": ("/health/migrations", "warning"),
        "emag_unconfigured": ("/api/v1/emag/health", "unhealthy"),
        "worker_busy": ("/api/v1/tasks/ready", "unready"),
    }[mode]
    assert bodies[expected[0]]["status"] == expected[1]
