"""A local fake of the MagFlow HTTP API (pytest plugin).

A real HTTP server on 127.0.0.1 (free port, background thread) that serves the health
endpoints of the stack sheet §8 with their exact body shapes, plus the auth and
product-sync endpoints of §6 that actions need. Behaviour is switched per test with
``fake_api.set_mode(name, **opts)``; every request is recorded in ``fake_api.requests``.

Modes: ``healthy``, ``db_down`` (opt ``error``), ``redis_down`` (opt ``error``),
``migrations_table_missing``, ``emag_unconfigured``, ``worker_busy``, ``slow`` (opt
``seconds``), ``http_500``, ``garbage`` (HTTP 200, a small HTML body), ``html`` (HTTP 502
with a proxy's HTML error page, as nginx answers when uvicorn is gone) and ``not_json``
(HTTP 200 labelled JSON, holding a truncated body and bytes that are not UTF-8). ``slow``,
``http_500``, ``garbage``, ``html`` and ``not_json`` accept ``paths=[...]`` to affect only
those paths (default: every path). ``override(path, ...)`` serves a fixed answer for one
path (for shapes the modes do not cover).

``fake_api`` is one server for the session; ``own_fake_api`` is a server of the test's own
(``own_fake_api.server.stop()`` / ``.start()``: refused connections, then the same port
answering again).

Like FastAPI's ``redirect_slashes``, a known path requested with a trailing slash answers
307 to the path without it. ``/env`` answers a body holding a fake ``DATABASE_URL`` with
a password, so tests can prove the console never calls it.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MODES = (
    "healthy",
    "db_down",
    "redis_down",
    "migrations_table_missing",
    "emag_unconfigured",
    "worker_busy",
    "slow",
    "http_500",
    "garbage",
    "html",
    "not_json",
)
#: what a proxy answers when the app behind it is gone (``html``)
PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)
#: a body cut short, with bytes that are not UTF-8 (``not_json``)
BROKEN_JSON = b'{"status": "ok", "dsn_host": "db", "resol\xff\xfe\x00\x1b[31m'
ENV_SECRET = "fake-env-s3cret-pw"
ENV_DATABASE_URL = f"postgresql+asyncpg://app:{ENV_SECRET}@db:5432/magflow"
HEAD_REVISION = "20251021_eliminated_suggest"
ACCOUNT_TYPES = ("main", "fbe", "both")
SYNC_MODES = ("full", "incremental", "selective")
CONFLICT_STRATEGIES = ("emag_priority", "local_priority", "newest_wins", "manual")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Credentials:
    email: str = "admin@magflow.local"
    password: str = "fake-admin-pass-1"


@dataclass
class Override:
    status: int
    body: Any  # dict/list -> JSON, str/bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def problem(status: int, title: str, detail: str, path: str, **extra: Any) -> dict[str, Any]:
    """An RFC-7807-style body as the MagFlow API writes it (§6.1)."""
    body: dict[str, Any] = {
        "type": f"https://httpstatuses.com/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
        "errors": [],
        "timestamp": _now(),
        "traceId": uuid.uuid4().hex,
        "correlation_id": str(uuid.uuid4()),
    }
    body.update(extra)
    return body


class FakeMagflowApi:
    """State and behaviour of the fake; the HTTP handler asks it for every answer."""

    def __init__(self) -> None:
        self.credentials = Credentials()
        self.base_url = ""
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.sync_requests: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.mode = "healthy"
        self.opts: dict[str, Any] = {}
        self.overrides: dict[str, Override] = {}
        self._release = threading.Event()  # wakes sleeping "slow" handlers on reset

    # ------------------------------------------------------------------ control
    def wake(self) -> None:
        """Answer the requests held by ``slow`` now (the mode stays)."""
        self._release.set()
        with self._lock:
            self._release = threading.Event()

    def reset(self) -> None:
        self.wake()
        with self._lock:
            self.requests.clear()
            self.sync_requests.clear()
            self.tokens.clear()
            self.overrides.clear()
            self.mode = "healthy"
            self.opts = {}

    def set_mode(self, name: str, **opts: Any) -> None:
        if name not in MODES:
            raise ValueError(f"unknown fake API mode {name!r}; choose from {MODES}")
        self.mode = name
        self.opts = dict(opts)

    def override(
        self, path: str, status: int = 200, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.overrides[path] = Override(status, body if body is not None else {}, headers or {})

    def paths_requested(self) -> list[str]:
        return [r.path for r in self.requests]

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # ------------------------------------------------------------------ dispatch
    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _affects(self, path: str) -> bool:
        paths: Iterable[str] | None = self.opts.get("paths")
        return paths is None or path in set(paths)

    def answer(self, req: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        """(status, body, extra headers) for one request; body str/bytes is sent raw."""
        path = req.path
        if path in self.overrides:
            o = self.overrides[path]
            return o.status, o.body, o.headers
        if self.mode == "slow" and self._affects(path):
            self._release.wait(float(self.opts.get("seconds", 5.0)))
        if self.mode == "http_500" and self._affects(path):
            return 500, problem(500, "Internal Server Error", "Unexpected server error", path), {}
        if self.mode == "garbage" and self._affects(path):
            return 200, "<html><body>Bad Gateway?</body></html>", {"Content-Type": "text/html"}
        if self.mode == "html" and self._affects(path):
            return 502, PROXY_PAGE, {"Content-Type": "text/html"}
        if self.mode == "not_json" and self._affects(path):
            return 200, BROKEN_JSON, {"Content-Type": "application/json"}
        route = ROUTES.get((req.method, path))
        if route is None:
            stripped = path.rstrip("/")
            if path != "/" and path.endswith("/") and (req.method, stripped) in ROUTES:
                location = self.base_url + stripped + (f"?{req.query}" if req.query else "")
                return 307, "", {"Location": location}
            if any(p == path for _, p in ROUTES):
                return 405, problem(405, "Method Not Allowed", "Method Not Allowed", path), {}
            return 404, problem(404, "Not Found", "Not Found", path), {}
        status, body = route(self, req)
        return status, body, {}

    # ------------------------------------------------------------------ bodies
    def _db_error(self) -> str:
        return str(self.opts.get("error", "connection refused"))

    def database_body(self) -> dict[str, Any]:
        if self.mode == "db_down":
            return {
                "status": "unhealthy",
                "dsn_host": "db",
                "resolved_ips": ["172.18.0.2"],
                "error": self._db_error(),
            }
        return {"status": "ok", "dsn_host": "db", "resolved_ips": ["172.18.0.2"], "error": None}

    def bearer_ok(self, req: RecordedRequest) -> bool:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and token in self.tokens


Route = Any  # Callable[[FakeMagflowApi, RecordedRequest], tuple[int, Any]]


def _static_ok(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    return 200, {"status": "ok", "timestamp": _now()}


def _live(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    # Static in the real app: "ready" even with the database down (the blind-health trap).
    services = {"database": "ready", "jwks": "ready", "opentelemetry": "ready"}
    return 200, {
        "status": "alive",
        "services": services,
        "timestamp": _now(),
        "uptime_seconds": 1234.5,
    }


def _ready(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    services = {"database": "ready", "jwks": "ready", "opentelemetry": "ready"}
    return 200, {
        "status": "ready",
        "services": services,
        "timestamp": _now(),
        "duration_seconds": 0.001,
    }


def _full(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    db = api.database_body()
    return 200, {
        "status": "ok" if db["status"] == "ok" else "unhealthy",
        "timestamp": _now(),
        "db": db,
        "jwks": {"ok": True, "url": "stub", "error": None, "response_time_ms": 0.1},
        "circuit_breakers": {},
        "version": "1.0.0",
        "environment": "development",
    }


def _database(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    return 200, api.database_body()


def _redis(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if api.mode == "redis_down":
        error = api.opts.get("error", "Error 111 connecting to redis:6379. Connection refused.")
        return 200, {"status": "unhealthy", "error": str(error)}
    return 200, {"status": "ok", "message": "Redis connection successful", "response_time_ms": 0.42}


def _migrations(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if api.mode == "migrations_table_missing":
        return 200, {"status": "warning", "message": "Alembic version table not found"}
    if api.mode == "db_down":
        return 200, {"status": "error", "error": api._db_error()}
    return 200, {"status": "ok", "migrations_up_to_date": True, "current_version": HEAD_REVISION}


def _v1_database(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if api.mode == "db_down":
        return 200, {"status": "unhealthy", "error": api._db_error(), "last_check": _now()}
    return 200, {
        "status": "healthy",
        "postgres_version": "PostgreSQL 16.4",
        "schema_accessible": True,
        "last_check": _now(),
    }


def _emag(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    body: dict[str, Any] = {
        "status": "healthy",
        "service": "emag_integration",
        "timestamp": _now(),
        "error": None,
        "error_type": None,
        "version": "4.4.9",
    }
    if api.mode == "emag_unconfigured":
        body.update(
            status="unhealthy",
            error="eMAG MAIN username is not configured",
            error_type="ConfigurationError",
        )
    return 200, body


def _tasks_ready(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if api.mode == "worker_busy":
        detail = "Celery worker did not answer within 1 second"
        body = problem(503, "Service Unavailable", detail, req.path)
        body["status"] = "unready"  # the real endpoint overwrites the problem's status
        return 503, body
    return 200, {
        "status": "ready",
        "message": "Celery worker is ready",
        "test_result": "ping",
        "task_id": str(uuid.uuid4()),
        "timestamp": _now(),
    }


def _env(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    return 200, {
        "DATABASE_URL": ENV_DATABASE_URL,
        "REDIS_URL": f"redis://:{ENV_SECRET}@redis:6379/0",
    }


def _json_body(req: RecordedRequest) -> Any:
    if "application/json" not in req.headers.get("content-type", ""):
        return None
    try:
        return req.json()
    except ValueError:
        return None


def _unprocessable(path: str, errors: list[dict[str, Any]]) -> tuple[int, Any]:
    return 422, problem(
        422, "Unprocessable Entity", "Request validation failed", path, errors=errors
    )


def _login(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    body = _json_body(req)
    if not isinstance(body, dict):
        return _unprocessable(req.path, [{"loc": ["body"], "msg": "JSON object expected"}])
    username = body.get("username", body.get("email"))
    password = body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return _unprocessable(req.path, [{"loc": ["body", "username"], "msg": "field required"}])
    if (username, password) != (api.credentials.email, api.credentials.password):
        return 401, problem(401, "Unauthorized", "Incorrect email or password", req.path)
    return 200, {
        "access_token": api.issue_token(),
        "refresh_token": secrets.token_urlsafe(24),
        "token_type": "bearer",
        "expires_in": 1440 * 60,
    }


def _unauthorized(path: str) -> tuple[int, Any]:
    return 401, problem(401, "Unauthorized", "Could not validate credentials", path)


def _products_status(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if not api.bearer_ok(req):
        return _unauthorized(req.path)
    return 200, {"is_running": False, "current_sync": None, "recent_syncs": []}


def _validate_sync(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []

    def bad(name: str, msg: str) -> None:
        errors.append({"loc": ["body", name], "msg": msg})

    if body.get("mode", "incremental") not in SYNC_MODES:
        bad("mode", f"must be one of {SYNC_MODES}")
    max_pages = body.get("max_pages")
    if max_pages is not None and (type(max_pages) is not int or max_pages < 1):
        bad("max_pages", "must be an integer >= 1 or null")
    per_page = body.get("items_per_page", 100)
    if type(per_page) is not int or not 1 <= per_page <= 100:
        bad("items_per_page", "must be an integer between 1 and 100")
    for flag in ("include_inactive", "run_async"):
        if not isinstance(body.get(flag, False), bool):
            bad(flag, "must be a boolean")
    if body.get("conflict_strategy", "emag_priority") not in CONFLICT_STRATEGIES:
        bad("conflict_strategy", f"must be one of {CONFLICT_STRATEGIES}")
    return errors


def _products_sync(api: FakeMagflowApi, req: RecordedRequest) -> tuple[int, Any]:
    if not api.bearer_ok(req):
        return _unauthorized(req.path)
    body = _json_body(req)
    if not isinstance(body, dict):
        return _unprocessable(req.path, [{"loc": ["body"], "msg": "JSON object expected"}])
    errors = _validate_sync(body)
    if errors:
        return _unprocessable(req.path, errors)
    if body.get("account_type", "both") not in ACCOUNT_TYPES:
        # The real API does not validate it: the CHECK constraint rejects the insert (§6.2).
        detail = 'new row violates check constraint "ck_emag_sync_logs_account_type"'
        return 500, problem(500, "Internal Server Error", detail, req.path)
    with api._lock:
        api.sync_requests.append(body)
    if body.get("run_async", False):
        return 200, {"status": "accepted", "sync_id": None}
    data = {
        "total_processed": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
    }
    return 200, {"status": "completed", "data": data}


ROUTES: dict[tuple[str, str], Route] = {
    **{("GET", p): _static_ok for p in ("/health", "/health/health", "/api/v1/health")},
    ("GET", "/health/live"): _live,
    ("GET", "/api/v1/health/live"): _live,
    ("GET", "/health/ready"): _ready,
    ("GET", "/api/v1/health/ready"): _ready,
    ("GET", "/health/full"): _full,
    ("GET", "/api/v1/health/full"): _full,
    ("GET", "/health/database"): _database,
    ("GET", "/health/redis"): _redis,
    ("GET", "/health/migrations"): _migrations,
    ("GET", "/api/v1/database/health"): _v1_database,
    ("GET", "/api/v1/emag/health"): _emag,
    ("GET", "/api/v1/tasks/ready"): _tasks_ready,
    ("GET", "/env"): _env,
    ("POST", "/api/v1/auth/login"): _login,
    ("GET", "/api/v1/emag/products/status"): _products_status,
    ("POST", "/api/v1/emag/products/sync"): _products_sync,
}


def _handler_for(api: FakeMagflowApi) -> type[BaseHTTPRequestHandler]:
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
            req = RecordedRequest(self.command, path, query, headers, body)
            api.record(req)
            status, payload, answer_headers = api.answer(req)
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
            except OSError:  # the client gave up (timeout tests)
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
    """The HTTP server around one ``FakeMagflowApi``, on 127.0.0.1: ``stop()`` closes the
    listening socket (connections are refused), ``start()`` listens again on the same
    port."""

    def __init__(self, api: FakeMagflowApi) -> None:
        self.api = api
        self.port = 0
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            return
        server = _QuietServer(("127.0.0.1", self.port), _handler_for(self.api))
        self.port = server.server_address[1]
        self.api.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, name="fake-magflow-api", daemon=True
        )
        self._thread.start()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self.api.wake()
            server.shutdown()
            server.server_close()
            server.close_connections()


@pytest.fixture(scope="session")
def fake_api_server() -> Iterator[FakeMagflowApi]:
    """One fake API server for the whole session (use ``fake_api`` in tests)."""
    api = FakeMagflowApi()
    server = ApiServer(api)
    server.start()
    try:
        yield api
    finally:
        api.reset()
        server.stop()


@dataclass
class OwnApi:
    """A fake API of one test's own: ``api`` answers, ``server`` can stop and start."""

    api: FakeMagflowApi
    server: ApiServer


@pytest.fixture
def own_fake_api() -> Iterator[OwnApi]:
    """A fake API server only this test uses (healthy), stopped at its end."""
    api = FakeMagflowApi()
    server = ApiServer(api)
    server.start()
    try:
        yield OwnApi(api, server)
    finally:
        api.reset()
        server.stop()


@pytest.fixture
def fake_api(fake_api_server: FakeMagflowApi) -> Iterator[FakeMagflowApi]:
    """The fake MagFlow API, reset to ``healthy`` with an empty request log."""
    fake_api_server.reset()
    yield fake_api_server
    fake_api_server.reset()


@pytest.fixture
def closed_api_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
