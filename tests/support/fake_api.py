"""A local fake of the MagFlow HTTP API (pytest plugin).

A real HTTP server on 127.0.0.1 (free port, background thread): the package's stand-in of
the API (``magflow_console.reference.standin_api``, which the demo serves: the health
endpoints of the stack sheet §8 with their exact body shapes), with its facts set by the
mode, plus the auth and product-sync endpoints of §6 that actions need and ``/env``. Behaviour is switched per test with
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

import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from magflow_console.reference.standin_api import (
    Answer,
    DatabaseFacts,
    HealthApi,
    RedisFacts,
    Request,
    problem,
)
from magflow_console.reference.standin_api import ApiServer as StandinServer

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


#: what the fake's handlers receive (the stand-in's request)
RecordedRequest = Request


@dataclass(frozen=True)
class Credentials:
    email: str = "admin@magflow.local"
    password: str = "fake-admin-pass-1"


@dataclass
class Override:
    status: int
    body: Any  # dict/list -> JSON, str/bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)


class FakeMagflowApi(HealthApi):
    """The package's stand-in (``HealthApi``: the health endpoints and their bodies) with
    its facts set by the mode, plus modes that break whole answers, overrides, the
    request log, ``/env`` and the auth and product-sync endpoints."""

    def __init__(self) -> None:
        super().__init__(self, db_host="db", resolved_ips=["172.18.0.2"], full_cache_seconds=0.0)
        self.credentials = Credentials()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.sync_requests: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.mode = "healthy"
        self.opts: dict[str, Any] = {}
        self.overrides: dict[str, Override] = {}
        self._release = threading.Event()  # wakes sleeping "slow" handlers on reset
        self.routes.update(
            {
                ("GET", "/env"): self._env,
                ("POST", "/api/v1/auth/login"): self._login,
                ("GET", "/api/v1/emag/products/status"): self._products_status,
                ("POST", "/api/v1/emag/products/sync"): self._products_sync,
            }
        )

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

    # ------------------------------------------------------------------ facts (HealthFacts)
    def _db_error(self) -> str:
        return str(self.opts.get("error", "connection refused"))

    def database(self) -> DatabaseFacts:
        if self.mode == "db_down":
            return DatabaseFacts(reachable=False, error=self._db_error())
        return DatabaseFacts(
            reachable=True,
            server_version="PostgreSQL 16.4",
            version_table=self.mode != "migrations_table_missing",
            current_revision=HEAD_REVISION,
        )

    def redis(self) -> RedisFacts:
        if self.mode == "redis_down":
            error = self.opts.get(
                "error", "Error 111 connecting to redis:6379. Connection refused."
            )
            return RedisFacts(ok=False, error=str(error))
        return RedisFacts(ok=True, response_time_ms=0.42)

    def emag_main_error(self) -> str | None:
        if self.mode == "emag_unconfigured":
            return "eMAG MAIN username is not configured"
        return None

    def worker_answers(self) -> bool:
        return self.mode != "worker_busy"

    # ------------------------------------------------------------------ dispatch
    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _affects(self, path: str) -> bool:
        paths: Iterable[str] | None = self.opts.get("paths")
        return paths is None or path in set(paths)

    def answer(self, req: RecordedRequest) -> Answer:
        """(status, body, extra headers) for one request; body str/bytes is sent raw."""
        self.record(req)
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
        return super().answer(req)

    def bearer_ok(self, req: RecordedRequest) -> bool:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and token in self.tokens

    # ------------------------------------------------------------------ more routes
    def _env(self, req: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "DATABASE_URL": ENV_DATABASE_URL,
            "REDIS_URL": f"redis://:{ENV_SECRET}@redis:6379/0",
        }

    def _login(self, req: RecordedRequest) -> tuple[int, Any]:
        body = _json_body(req)
        if not isinstance(body, dict):
            return _unprocessable(req.path, [{"loc": ["body"], "msg": "JSON object expected"}])
        username = body.get("username", body.get("email"))
        password = body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return _unprocessable(
                req.path, [{"loc": ["body", "username"], "msg": "field required"}]
            )
        if (username, password) != (self.credentials.email, self.credentials.password):
            return 401, problem(401, "Unauthorized", "Incorrect email or password", req.path)
        return 200, {
            "access_token": self.issue_token(),
            "refresh_token": secrets.token_urlsafe(24),
            "token_type": "bearer",
            "expires_in": 1440 * 60,
        }

    def _products_status(self, req: RecordedRequest) -> tuple[int, Any]:
        if not self.bearer_ok(req):
            return _unauthorized(req.path)
        return 200, {"is_running": False, "current_sync": None, "recent_syncs": []}

    def _products_sync(self, req: RecordedRequest) -> tuple[int, Any]:
        if not self.bearer_ok(req):
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
        with self._lock:
            self.sync_requests.append(body)
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


def _unauthorized(path: str) -> tuple[int, Any]:
    return 401, problem(401, "Unauthorized", "Could not validate credentials", path)


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


class ApiServer(StandinServer):
    """The stand-in's server around one ``FakeMagflowApi``: ``stop()`` first answers the
    requests ``slow`` holds, then closes (connections are refused); ``start()`` listens
    again on the same port."""

    def __init__(self, api: FakeMagflowApi) -> None:
        super().__init__(api, name="fake-magflow-api")
        self.api = api

    def stop(self) -> None:
        self.api.wake()
        super().stop()


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
