"""A stand-in of MagFlow's HTTP API: the health endpoints of the stack sheet §8 with their
real paths, status codes and body shapes, over a stdlib HTTP server on 127.0.0.1.

``HealthApi`` answers; what it says comes from a ``HealthFacts`` (the demo reads them from
its real database and Redis, ``reference.demo_facts``; the tests' fake API sets them per
mode). Like the real API, every health endpoint answers HTTP 200 even when unhealthy
(``/api/v1/tasks/ready`` answers 503 when no worker answers), ``/health/live`` and
``/health/ready`` are static, ``/health/migrations`` only says that the version table
exists and which revision it holds (never compared with head), a known path asked with a
trailing slash answers 307 to the path without it (FastAPI's ``redirect_slashes``), and an
unknown path or method answers 404 / 405 with a problem-JSON body.

Deliberate differences from the real API: no ``/env`` (the real one returns the database
and Redis URLs with their passwords: here it is a 404), no rate limit (the real one
answers 429 past 100 requests a minute per path), no traceback in a log for each uncached
``/health/full``. ``ApiServer`` serves any object with an ``answer(request)`` method.

Never imports textual; stdlib only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

#: the app's ``DB_HOST`` setting when unset: ``/health/database`` reports it as
#: ``dsn_host`` (sheet §11.6), not the host of the URL the app connects with
DEFAULT_DB_HOST = "localhost"
#: the tables ``/health/database`` checks (schema ``app``)
CHECKED_TABLES = ("users", "audit_logs", "products")
#: ``/health/full`` caches its answer for about this long (sheet §11.6)
FULL_CACHE_SECONDS = 30.0
#: ``/health/startup`` says "started" after this many seconds
STARTUP_SECONDS = 30
API_VERSION = "1.0.0"
EMAG_API_VERSION = "4.4.9"
STATIC_SERVICES = {"database": "ready", "jwks": "ready", "opentelemetry": "ready"}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class DatabaseFacts:
    """What the API finds of its database: reachable (``SELECT 1``), the checked tables
    that are missing, the server's version string, and the Alembic version table."""

    reachable: bool
    error: str | None = None
    missing_tables: tuple[str, ...] = ()
    server_version: str | None = None  # e.g. "PostgreSQL 16.4"
    version_table: bool = True
    current_revision: str | None = None


@dataclass(frozen=True)
class RedisFacts:
    ok: bool
    error: str | None = None
    response_time_ms: float | None = None


class HealthFacts(Protocol):
    """Where the stand-in's answers come from (read at each request)."""

    def database(self) -> DatabaseFacts: ...

    def redis(self) -> RedisFacts: ...

    def emag_main_error(self) -> str | None:
        """Why the eMAG MAIN settings are unusable, or None when they are configured."""
        ...

    def worker_answers(self) -> bool:
        """Whether a Celery worker runs ``sample.echo`` within a second."""
        ...


# --------------------------------------------------------------------------- bodies


def problem(status: int, title: str, detail: str, path: str, **extra: Any) -> dict[str, Any]:
    """An RFC-7807-style body as the MagFlow API writes it (§6.1)."""
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.com/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
        "errors": [],
        "timestamp": now_iso(),
        "traceId": uuid.uuid4().hex,
        "correlation_id": str(uuid.uuid4()),
    }
    body.update(extra)
    return body


def database_body(facts: DatabaseFacts, dsn_host: str, resolved_ips: list[str]) -> dict[str, Any]:
    """``/health/database``: ``ok``, ``degraded`` (reachable, a checked table missing) or
    ``unhealthy`` (not reachable)."""
    if not facts.reachable:
        status, error = "unhealthy", facts.error or "connection failed"
    elif facts.missing_tables:
        status, error = "degraded", "Missing tables: " + ", ".join(facts.missing_tables)
    else:
        status, error = "ok", None
    return {"status": status, "dsn_host": dsn_host, "resolved_ips": resolved_ips, "error": error}


def full_body(db: dict[str, Any], environment: str) -> dict[str, Any]:
    return {
        "status": "ok" if db["status"] == "ok" else "unhealthy",
        "timestamp": now_iso(),
        "db": db,
        "jwks": {"ok": True, "url": "stub", "error": None, "response_time_ms": 0.1},
        "circuit_breakers": {},
        "version": API_VERSION,
        "environment": environment,
    }


def migrations_body(facts: DatabaseFacts) -> dict[str, Any]:
    if not facts.reachable:
        return {"status": "error", "error": facts.error or "connection failed"}
    if not facts.version_table:
        return {"status": "warning", "message": "Alembic version table not found"}
    return {
        "status": "ok",
        "migrations_up_to_date": True,
        "current_version": facts.current_revision,
    }


def v1_database_body(facts: DatabaseFacts) -> dict[str, Any]:
    """``/api/v1/database/health``."""
    if not facts.reachable:
        error = facts.error or "connection failed"
        return {"status": "unhealthy", "error": error, "last_check": now_iso()}
    return {
        "status": "healthy",
        "postgres_version": facts.server_version,
        "schema_accessible": True,
        "last_check": now_iso(),
    }


def redis_body(facts: RedisFacts) -> dict[str, Any]:
    if not facts.ok:
        return {"status": "unhealthy", "error": facts.error or "Redis connection failed"}
    return {
        "status": "ok",
        "message": "Redis connection successful",
        "response_time_ms": facts.response_time_ms,
    }


def emag_body(error: str | None) -> dict[str, Any]:
    return {
        "status": "unhealthy" if error else "healthy",
        "service": "emag_integration",
        "timestamp": now_iso(),
        "error": error,
        "error_type": "ConfigurationError" if error else None,
        "version": EMAG_API_VERSION,
    }


def tasks_ready(answers: bool, path: str) -> tuple[int, dict[str, Any]]:
    """``/api/v1/tasks/ready``: 200, or 503 with a problem body whose ``status`` the
    endpoint overwrites with "unready"."""
    if not answers:
        detail = "Celery worker did not answer within 1 second"
        body = problem(503, "Service Unavailable", detail, path)
        body["status"] = "unready"
        return 503, body
    return 200, {
        "status": "ready",
        "message": "Celery worker is ready",
        "test_result": "ping",
        "task_id": str(uuid.uuid4()),
        "timestamp": now_iso(),
    }


def resolve(host: str) -> list[str]:
    """The addresses ``host`` resolves to (what ``/health/database`` lists), [] if none."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


#: (HTTP status, body, extra headers); a str or bytes body is sent as it is
Answer = tuple[int, Any, dict[str, str]]
Route = Callable[[Request], tuple[int, Any]]


class HealthApi:
    """The health endpoints over ``facts``. Subclasses add routes (``routes``)."""

    def __init__(
        self,
        facts: HealthFacts,
        *,
        environment: str = "development",
        db_host: str = DEFAULT_DB_HOST,
        resolved_ips: list[str] | None = None,
        full_cache_seconds: float = FULL_CACHE_SECONDS,
    ) -> None:
        self.facts = facts
        self.environment = environment
        self.db_host = db_host
        self._resolved_ips = resolved_ips
        self.full_cache_seconds = full_cache_seconds
        self.base_url = ""
        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.UTC)
        self._full: tuple[float, dict[str, Any]] | None = None
        self._full_lock = threading.Lock()
        self.routes: dict[tuple[str, str], Route] = {
            **{
                ("GET", p): self._static_ok for p in ("/health", "/health/health", "/api/v1/health")
            },
            ("GET", "/health/live"): self._live,
            ("GET", "/api/v1/health/live"): self._live,
            ("GET", "/health/ready"): self._ready,
            ("GET", "/api/v1/health/ready"): self._ready,
            ("GET", "/health/startup"): self._startup,
            ("GET", "/health/full"): self._full_check,
            ("GET", "/api/v1/health/full"): self._full_check,
            ("GET", "/health/database"): lambda req: (200, self.database_body()),
            ("GET", "/health/redis"): lambda req: (200, redis_body(self.facts.redis())),
            ("GET", "/health/migrations"): lambda req: (
                200,
                migrations_body(self.facts.database()),
            ),
            ("GET", "/api/v1/database/health"): lambda req: (
                200,
                v1_database_body(self.facts.database()),
            ),
            ("GET", "/api/v1/emag/health"): lambda req: (
                200,
                emag_body(self.facts.emag_main_error()),
            ),
            ("GET", "/api/v1/tasks/ready"): lambda req: tasks_ready(
                self.facts.worker_answers(), req.path
            ),
        }

    # ------------------------------------------------------------------ dispatch
    def answer(self, req: Request) -> Answer:
        path = req.path
        route = self.routes.get((req.method, path))
        if route is None:
            stripped = path.rstrip("/")
            if path != "/" and path.endswith("/") and (req.method, stripped) in self.routes:
                location = self.base_url + stripped + (f"?{req.query}" if req.query else "")
                return 307, "", {"Location": location}
            if any(p == path for _, p in self.routes):
                return 405, problem(405, "Method Not Allowed", "Method Not Allowed", path), {}
            return 404, problem(404, "Not Found", "Not Found", path), {}
        status, body = route(req)
        return status, body, {}

    # ------------------------------------------------------------------ bodies
    def uptime_seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def database_body(self) -> dict[str, Any]:
        ips = self._resolved_ips if self._resolved_ips is not None else resolve(self.db_host)
        return database_body(self.facts.database(), self.db_host, ips)

    def _static_ok(self, req: Request) -> tuple[int, Any]:
        return 200, {"status": "ok", "timestamp": now_iso()}

    def _live(self, req: Request) -> tuple[int, Any]:
        # static in the real app: "ready" even with the database down (the blind health)
        return 200, {
            "status": "alive",
            "services": dict(STATIC_SERVICES),
            "timestamp": now_iso(),
            "uptime_seconds": self.uptime_seconds(),
        }

    def _ready(self, req: Request) -> tuple[int, Any]:
        return 200, {
            "status": "ready",
            "services": dict(STATIC_SERVICES),
            "timestamp": now_iso(),
            "duration_seconds": 0.001,
        }

    def _startup(self, req: Request) -> tuple[int, Any]:
        # a timer only: "started" STARTUP_SECONDS after the start, whatever the services
        up = self.uptime_seconds()
        ready = up >= STARTUP_SECONDS
        current = now_iso()
        services = dict(STATIC_SERVICES)
        return 200, {
            "status": "started" if ready else "starting",
            "ready": ready,
            "uptime_seconds": up,
            "required_seconds": STARTUP_SECONDS,
            "start_time": self.started_at.isoformat(),
            "current_time": current,
            "services": services,
            "details": {
                "warmup_remaining_seconds": max(0.0, round(STARTUP_SECONDS - up, 3)),
                "ready_state": {
                    "db_ready": ready,
                    "jwks_ready": ready,
                    "otel_ready": ready,
                    "last_checked": current,
                },
                "raw_services": services,
                "readiness_probe": "ready" if ready else "starting",
            },
            "timestamp": current,
        }

    def _full_check(self, req: Request) -> tuple[int, Any]:
        with self._full_lock:
            cached = self._full
            if cached is not None and time.monotonic() - cached[0] < self.full_cache_seconds:
                return 200, cached[1]
            body = full_body(self.database_body(), self.environment)
            self._full = (time.monotonic(), body)
            return 200, body


# --------------------------------------------------------------------------- server


class Answering(Protocol):
    base_url: str

    def answer(self, req: Request) -> Answer: ...


def _handler_for(app: Answering) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes; with Nagle on, a kept-alive connection
        # waits for the client's delayed ACK (~40 ms) before the body. uvicorn sets
        # TCP_NODELAY too, so this is what the real API does.
        disable_nagle_algorithm = True
        server_version = "uvicorn"
        sys_version = ""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, payload, answer_headers = app.answer(
                    Request(self.command, path, query, headers, body)
                )
            except Exception as exc:  # a defect of the stand-in: a 500, as FastAPI does
                detail = f"{type(exc).__name__}: {exc}"
                status, answer_headers = 500, {}
                payload = problem(500, "Internal Server Error", detail, path)
            extra = dict(answer_headers)
            if isinstance(payload, bytes | str):
                raw = payload.encode() if isinstance(payload, str) else payload
                ctype = "text/plain; charset=utf-8"
            else:
                raw = json.dumps(payload).encode()
                ctype = "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("Content-Type", ctype))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:  # the client gave up
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        self.connections.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End the kept-alive connections too: a stopped API answers nothing at all."""
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connection resets from clients that timed out are expected


class ApiServer:
    """An HTTP server on 127.0.0.1 (a free port) around ``app``, in a daemon thread:
    ``start()`` sets ``app.base_url``; ``stop()`` closes the listening socket and the open
    connections (connections are then refused); ``start()`` again listens on the same
    port. A context manager too."""

    def __init__(self, app: Answering, *, name: str = "magflow-api-standin") -> None:
        self.app = app
        self.name = name
        self.port = 0
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        if self._server is not None:
            return self
        server = _QuietServer(("127.0.0.1", self.port), _handler_for(self.app))
        self.port = server.server_address[1]
        self.app.base_url = self.base_url
        self._thread = threading.Thread(target=server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
