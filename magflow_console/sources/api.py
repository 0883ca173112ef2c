"""API health source: probes the MagFlow health endpoints and judges them by their body.

Facts (stack sheet §8): every health endpoint answers HTTP 200 even when unhealthy, and
``/health/live`` is static (it says "ready" with the database down), so a check is judged
by the body's ``status`` (and, for ``/health/full``, the nested ``db.status``), never by
the status code alone.

Critical checks: every endpoint that really tests something (full, database, redis,
migrations, eMAG configuration) is ``critical=True``. The static endpoints (``/health``,
``/health/live``, ``/health/ready`` and their ``/api/v1`` twins) prove only that uvicorn
answers, so they are ``critical=False``. ``/api/v1/tasks/ready`` is not in the default set
because every call enqueues a ``sample.echo`` Celery task and waits for it, and it answers
503 whenever the solo worker is busy with a sync; when configured it is non-critical.

``/env`` is never called (it returns the database and Redis URLs with passwords): it is
dropped from any configured check list. Redirects are not followed: a 3xx is reported as
an unhealthy check. Anything that looks like ``scheme://user:password@`` or
``password=...`` is scrubbed from every detail and error.

Never imports textual; ``fetch`` never raises.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from magflow_console.models import ApiCheck, ApiSnapshot, error_snapshot, utcnow
from magflow_console.render.text import one_line, scrub

#: polled at every refresh: the real checks, and the static liveness for comparison.
#: ``/health/full`` is not among them (sheet §11.6): it repeats /health/database, caches
#: its answer for about 30 s, and every uncached call logs an ERROR with a traceback in the
#: app's log; it is probed on demand (``FULL_CHECK``: the TUI's ``F``).
DEFAULT_CHECKS: tuple[str, ...] = (
    "/health/live",
    "/health/database",
    "/health/redis",
    "/health/migrations",
    "/api/v1/emag/health",
)
FULL_CHECK = "/health/full"
#: HTTP status of MagFlow's rate limiter (100 requests per minute per path per API process)
RATE_LIMITED = 429
# Static endpoints (liveness only) and the task probe: a failure here is not critical.
NON_CRITICAL: frozenset[str] = frozenset(
    {
        "/health",
        "/health/health",
        "/api/v1/health",
        "/health/live",
        "/api/v1/health/live",
        "/health/ready",
        "/api/v1/health/ready",
        "/health/startup",
        "/api/v1/tasks/ready",
    }
)
FORBIDDEN: frozenset[str] = frozenset({"/env"})
HEALTHY_STATUSES: frozenset[str] = frozenset({"ok", "healthy", "alive", "ready", "started"})
SUBJECTS: dict[str, str] = {
    "/health/full": "full health check",
    "/api/v1/health/full": "full health check",
    "/health/database": "database",
    "/api/v1/database/health": "database",
    "/health/redis": "redis",
    "/health/migrations": "migrations",
    "/api/v1/emag/health": "eMAG integration",
    "/api/v1/tasks/ready": "Celery worker",
}
MAX_DETAIL = 200


def _sentence(text: Any) -> str:
    """One scrubbed line, cut to a readable length."""
    line = " ".join(scrub(str(text)).split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"


def _status_of(body: dict[str, Any]) -> str | None:
    value = body.get("status")
    return value.lower() if isinstance(value, str) else None


def _reason(body: dict[str, Any]) -> str | None:
    for key in ("error", "message", "detail", "title"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _healthy_detail(path: str, body: dict[str, Any]) -> str | None:
    if path in NON_CRITICAL and path != "/api/v1/tasks/ready":
        return "static liveness: proves only that the API process answers, not the database"
    if path.endswith("/health/full"):
        return f"database ok (version {body.get('version')}, {body.get('environment')})"
    if path == "/health/database":
        # dsn_host is the app's DB_HOST setting, not the host of the URL it connects with
        return f"database ok (DB_HOST setting: {body.get('dsn_host')})"
    if path == "/api/v1/database/health":
        return f"{body.get('postgres_version') or 'PostgreSQL'} reachable, schema accessible"
    if path == "/health/redis":
        return f"redis answered in {body.get('response_time_ms')} ms"
    if path == "/health/migrations":
        current = body.get("current_version")
        return f"version table at {current} (the API does not compare it with head)"
    if path == "/api/v1/emag/health":
        return "eMAG integration configured"
    reason = _reason(body)
    return _sentence(reason) if reason else None


_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
#: how much of a body that is not JSON a check quotes (a proxy's page title, a cut body)
QUOTED = 60


def what_it_was(raw: str, content_type: str) -> str:
    """Which kind of body that is not JSON: an HTML page (with its title: a proxy's
    "502 Bad Gateway", a login or maintenance page) or the start of something else,
    quoted short, scrubbed and on one line. Empty when there was no body."""
    text = raw.strip()
    if not text:
        return ""
    if "html" in content_type.lower() or text.startswith("<"):
        found = _TITLE.search(text)
        title = " ".join(found.group(2).split()) if found else ""
        return (
            f"an HTML page titled «{one_line(scrub(title), QUOTED)}»" if title else "an HTML page"
        )
    return f"starting «{one_line(scrub(text), QUOTED)}»"


def judge(
    path: str, status_code: int, body: Any, content_type: str = "", raw: str = ""
) -> tuple[bool, str | None, str]:
    """(healthy, body status, detail) for one answer. Pure logic, no I/O. ``raw``: the
    body as text when it is not JSON (the detail says what it was)."""
    subject = SUBJECTS.get(path, path)
    if status_code == RATE_LIMITED:  # says nothing of health, whatever the body holds
        return (
            False,
            "rate-limited",
            (
                f"{subject}: rate-limited (HTTP 429: more than 100 requests a minute reach this "
                "path of one API process, from all consoles and probes together)"
            ),
        )
    if not isinstance(body, dict):
        kind = "a non-JSON body" if body is None else "JSON that is not an object"
        ctype = content_type.split(";")[0].strip() or "no content type"
        seen = what_it_was(raw, content_type) if body is None else ""
        return (
            False,
            None,
            (
                f"{subject} answered HTTP {status_code} with {kind} ({ctype})"
                + (f": {seen}" if seen else "")
            ),
        )
    status = _status_of(body)
    reason = _reason(body)
    if not 200 <= status_code < 300:
        why = f": {_sentence(reason)}" if reason else ""
        return False, status, f"{subject} answered HTTP {status_code}{why}"
    if status is None:
        return False, None, f"{subject} answered without a status in its body"
    db = body.get("db")
    if isinstance(db, dict) and _status_of(db) not in HEALTHY_STATUSES:
        why = _reason(db) or _reason(body) or "no reason given"
        return False, status, _sentence(f"database {_status_of(db)}: {why}")
    if status not in HEALTHY_STATUSES:
        why = reason or "no reason given"
        return False, status, _sentence(f"{subject} {status}: {why}")
    return True, status, _healthy_detail(path, body) or f"{subject} {status}"


class ApiSource:
    """Probes the configured health endpoints concurrently with one reused httpx client."""

    def __init__(
        self, base_url: str | None, *, timeout: float = 3.0, checks: Sequence[str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        wanted = DEFAULT_CHECKS if checks is None else tuple(checks)
        self.checks: tuple[str, ...] = tuple(
            p if p.startswith("/") else "/" + p for p in wanted if p.rstrip("/") not in FORBIDDEN
        )
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def display_url(self) -> str | None:
        return scrub(self.base_url) if self.base_url else None

    def fetch(self) -> ApiSnapshot:
        """Probe every check; never raises."""
        started = time.perf_counter()
        try:
            with self._lock:
                return self._fetch(started)
        except Exception as exc:  # pragma: no cover - last-resort guard
            msg = _sentence(f"API check failed unexpectedly: {type(exc).__name__}: {exc}")
            return error_snapshot(ApiSnapshot, msg, started, base_url=self.display_url)

    def probe(self, path: str) -> ApiCheck | None:
        """One check on demand (``FULL_CHECK``), judged like the others; None without a
        valid base URL. Never raises."""
        if not self.base_url or path.rstrip("/") in FORBIDDEN:
            return None
        try:
            with self._lock:
                client, _ = self._ensure_client()
                return self._probe(client, path)[0]
        except Exception as exc:  # pragma: no cover - last-resort guard
            return ApiCheck(
                path, None, False, None, None, _sentence(f"{type(exc).__name__}: {exc}")
            )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    # ------------------------------------------------------------------ internals
    def _fetch(self, started: float) -> ApiSnapshot:
        if not self.base_url:
            return error_snapshot(ApiSnapshot, "No API URL configured for this profile.", started)
        url = self.display_url
        try:
            parsed = httpx.URL(self.base_url)
            valid = parsed.scheme in ("http", "https") and bool(parsed.host)
        except (httpx.InvalidURL, TypeError, ValueError):
            valid = False
        if not valid:
            msg = f"API URL {url!r} is not a valid http(s) URL."
            return error_snapshot(ApiSnapshot, msg, started, base_url=url)
        if not self.checks:
            msg = "No API health checks are configured for this profile."
            return error_snapshot(ApiSnapshot, msg, started, base_url=url)
        client, pool = self._ensure_client()
        futures = [pool.submit(self._probe, client, path) for path in self.checks]
        results = [f.result() for f in futures]
        checks = tuple(check for check, _ in results)
        failures = [failure for _, failure in results]
        if all(f is not None for f in failures):
            # Nothing answered over HTTP: the API itself is down or unreachable.
            msg = str(failures[0])
            return error_snapshot(ApiSnapshot, msg, started, base_url=url, checks=checks)
        return ApiSnapshot(
            state="ok",
            error=None,
            fetched_at=utcnow(),
            duration_ms=(time.perf_counter() - started) * 1000,
            base_url=url,
            checks=checks,
        )

    def _ensure_client(self) -> tuple[httpx.Client, ThreadPoolExecutor]:
        if self._client is None:
            # A plain-http base URL never leads to a TLS connection (relative paths only,
            # redirects are not followed), so no CA bundle is loaded for it: that costs
            # 35-70 ms of a cold `status` (bench/bench_status.py). https verifies fully.
            plain_http = (self.base_url or "").lower().startswith("http://")
            self._client = httpx.Client(
                base_url=self.base_url or "",
                timeout=httpx.Timeout(self.timeout),
                verify=not plain_http,
                follow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "magflow-console"},
                trust_env=False,
            )
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="api-check")
        return self._client, self._pool

    def _probe(self, client: httpx.Client, path: str) -> tuple[ApiCheck, str | None]:
        """One check, plus the transport failure sentence when no HTTP answer came."""
        critical = path not in NON_CRITICAL
        t0 = time.perf_counter()
        try:
            response = client.get(path)
        except httpx.HTTPError as exc:
            latency = (time.perf_counter() - t0) * 1000
            detail, whole = self._transport_failure(path, exc)
            return ApiCheck(path, None, False, latency, None, detail, critical), whole
        latency = (time.perf_counter() - t0) * 1000
        code = response.status_code
        if response.is_redirect:
            target = _sentence(response.headers.get("location", "?"))
            detail = f"{path} redirected (HTTP {code}) to {target}; redirects are not followed"
            return ApiCheck(path, code, False, latency, None, detail, critical), None
        raw = ""
        try:
            body: Any = response.json()
        except ValueError:
            body = None
            raw = response.content[:4096].decode("utf-8", "replace")
        ctype = response.headers.get("content-type", "")
        healthy, status, detail = judge(path, code, body, ctype, raw)
        return ApiCheck(path, code, healthy, latency, status, detail, critical), None

    def _transport_failure(self, path: str, exc: httpx.HTTPError) -> tuple[str, str]:
        """(check detail, whole-API sentence) for a request that got no HTTP answer."""
        url = self.display_url
        secs = f"{self.timeout:g} s"
        text = str(exc).lower()
        if isinstance(exc, httpx.ConnectTimeout):
            return f"{path}: no connection within {secs}", (
                f"API at {url} did not accept a connection within {secs}."
            )
        if isinstance(exc, httpx.TimeoutException):
            return f"{path}: timed out after {secs} without an answer", (
                f"API at {url} accepted connections but answered nothing within {secs}."
            )
        if isinstance(exc, httpx.ConnectError) and "refused" in text:
            return f"{path}: connection refused", f"API at {url} refused the connection."
        if isinstance(exc, httpx.ConnectError):
            why = _sentence(exc) or type(exc).__name__
            return (
                f"{path}: could not connect ({why})",
                f"API at {url} could not be reached: {why}.",
            )
        why = _sentence(exc) or type(exc).__name__
        return f"{path}: {why}", f"API at {url} failed: {why}."
