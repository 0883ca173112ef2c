"""Frozen snapshots and results shared by the sources, the diagnosis rules, the
headless CLI and the TUI.

Rules:
- never import Textual here (the headless path must start without it);
- every snapshot carries ``state`` (``ok`` | ``error`` | ``stale``), ``error`` (one
  human sentence or ``None``), ``fetched_at`` (aware UTC) and ``duration_ms``; the
  containers, Redis and Celery ones also ``absent`` (the demo's missing parts: the error
  state, said as information);
- everything is immutable (frozen dataclasses, tuples, mappings built once);
- ``to_jsonable`` turns any of them into plain JSON types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")

SourceState = Literal["ok", "error", "stale"]
Severity = Literal["critical", "warning", "info"]
#: most severe first: the order findings are listed in everywhere
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """Findings sorted most severe first (stable: same-severity ones keep their order)."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


class Verdict(enum.IntEnum):
    """Monitoring-plugin convention; the value is the process exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @staticmethod
    def worst(*verdicts: Verdict) -> Verdict:
        """CRITICAL > WARNING > UNKNOWN > OK (unknown must not hide a real fault)."""
        order = [Verdict.CRITICAL, Verdict.WARNING, Verdict.UNKNOWN, Verdict.OK]
        for v in order:
            if v in verdicts:
                return v
        return Verdict.OK


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem worth showing: a migration problem, a sync anomaly, a container fault."""

    code: str
    severity: Severity
    message: str
    revisions: tuple[str, ...] = ()
    account: str | None = None
    subject: str | None = None
    #: a few words for narrow places (a dashboard pane at 80 columns); ``message`` is the
    #: full sentence
    short: str | None = None
    #: for a finding read in a log: the text that raised it, as the log shows it (masked),
    #: so a viewer can search for the line
    evidence: str | None = None


# --------------------------------------------------------------------------- containers


@dataclass(frozen=True, slots=True)
class HealthProbe:
    start: dt.datetime | None
    end: dt.datetime | None
    exit_code: int | None
    output: str


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    id: str
    name: str
    service: str | None  # compose service label, or the configured map key
    project: str | None
    state: str  # created | running | restarting | exited | paused | dead | removing
    health: str | None  # healthy | unhealthy | starting | None (no healthcheck)
    restart_count: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    exit_code: int | None
    image: str
    ports: tuple[str, ...] = ()  # "8000->8000/tcp" (host:container)
    health_log: tuple[HealthProbe, ...] = ()
    health_failing_streak: int = 0
    status_text: str = ""  # docker's "Up 5 minutes (healthy)"
    restart_policy: str | None = None
    #: the watched environment names that are set and not empty (``EMAG_*`` and the few in
    #: ``docker_parse.ENV_WATCHED``): names only, never a value
    env_set: tuple[str, ...] = ()
    #: (name, value) of the non-secret settings in ``docker_parse.ENV_PUBLIC``; URLs are
    #: cut to scheme://host/path (no user, password or query)
    env_public: Mapping[str, str] = field(default_factory=dict)
    #: the watched names present in the environment with an empty value: ``os.getenv`` gives
    #: "" (unset), and pydantic settings take the "" over a value in /app/.env
    env_empty: tuple[str, ...] = ()
    #: the checkout's /app/.env, which MagFlow's pydantic settings read after the environment
    #: (sheet §11.5): "read"; "absent" (no such file: nothing comes from it); "unreadable"
    #: (it could not be read: nothing is concluded from it); "not_read" (only the app
    #: container's file is read, and this container does not share the app's /app); None for
    #: a ContainerInfo not made by the Docker source (judged on its environment alone)
    dotenv_state: str | None = None
    #: why /app/.env was not read ("unreadable" / "not_read"), one line
    dotenv_error: str | None = None
    #: the watched names /app/.env sets (not empty): names only, never a value
    dotenv_set: tuple[str, ...] = ()
    #: (name, value) of the ``ENV_PUBLIC`` settings /app/.env sets, cut as ``env_public``
    dotenv_public: Mapping[str, str] = field(default_factory=dict)
    #: app and worker: per eMAG account ("main", "fbe") and path ("products": the product
    #: sync, environment only; "orders": the order sync; "health": /api/v1/emag/health, app
    #: only; sheet §11.5): {"credentials": "set" | "missing" | "unknown", "names": {NAME:
    #: "environment" | "/app/.env" | "unset" | "unknown"}, "target": "production" |
    #: "sandbox" | host | "unknown", "target_from": what decided it}. Names, never values
    emag_paths: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContainersSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    items: tuple[ContainerInfo, ...] = ()
    docker_host: str = ""
    engine_version: str | None = None
    stack_variant: str | None = None  # "main" | "simple" | None (unknown)
    missing: tuple[str, ...] = ()  # configured services with no container
    #: not part of this setup by design (the demo without a Docker engine or Redis):
    #: ``error`` says so as information, not a fault, and the verdict does not count it
    absent: bool = False


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: dt.datetime | None
    #: literal (escape sequences untouched; the TUI sanitises), except that credentials are
    #: masked (``render.text.scrub``): MagFlow's request log carries the Authorization header,
    #: and no reader of a log (screen, ``logs``, ``doctor``) may get a secret from it
    text: str
    stream: str | None = None  # "stdout" | "stderr" | None (tty container)


# --------------------------------------------------------------------------- database


@dataclass(frozen=True, slots=True)
class LockHolder:
    """A backend in pg_locks for the migration advisory lock (id 123456789)."""

    pid: int
    granted: bool
    application_name: str
    client_addr: str | None
    state: str | None
    waiting_seconds: float | None  # since xact/query start (how long)
    query: str | None = None


@dataclass(frozen=True, slots=True)
class LongTransaction:
    pid: int
    application_name: str
    client_addr: str | None
    state: str | None
    xact_age_seconds: float
    query: str | None
    touches_sync_tables: bool


@dataclass(frozen=True, slots=True)
class DatabaseSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    server_version: str | None = None
    latency_ms: float | None = None
    schema: str = "app"
    tables: tuple[str, ...] = ()
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version_tables: tuple[str, ...] = ()  # e.g. ("app.alembic_version",)
    current_revisions: tuple[str, ...] = ()  # rows of the version table(s), app first
    version_rows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    lock_holders: tuple[LockHolder, ...] = ()
    long_transactions: tuple[LongTransaction, ...] = ()
    schema_empty: bool | None = None  # no tables besides the version table


# --------------------------------------------------------------------------- sync


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: str
    sync_type: str
    account_type: str
    operation: str
    status: str
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    duration_seconds: float | None
    total_items: int
    processed_items: int
    created_items: int
    updated_items: int
    failed_items: int
    error_count: int
    errors: Any = None  # the raw jsonb (list of {"error", "timestamp"}), only in detail fetches
    sync_params: Any = None
    triggered_by: str | None = None
    sync_version: str | None = None
    outcome: str = ""  # success | partial | empty | failed | running | stale_running


@dataclass(frozen=True, slots=True)
class AccountStats:
    account: str
    products_total: int = 0
    products_active: int = 0
    products_inactive: int = 0
    offers: int = 0
    last_synced_at: dt.datetime | None = None
    last_run: dt.datetime | None = None
    last_run_status: str | None = None
    last_success: dt.datetime | None = None
    success_rate_24h: float | None = None  # 0..1, None when no runs in the window
    success_rate_7d: float | None = None
    runs_24h: int = 0
    runs_7d: int = 0


@dataclass(frozen=True, slots=True)
class SyncSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    accounts: Mapping[str, AccountStats] = field(default_factory=dict)
    recent: tuple[SyncRun, ...] = ()
    anomalies: tuple[Finding, ...] = ()
    #: the product and offer counts cover whole tables and are cached briefly
    #: (``DatabaseSource.counts_max_age_seconds``): how old the ones shown are
    counts_age_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class AdminUser:
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    has_admin_role: bool
    email_verified: bool
    last_login: dt.datetime | None
    failed_login_attempts: int
    created_at: dt.datetime | None
    #: the stored hash looks like bcrypt (``$2a$``/``$2b$``/``$2y$``, 60 characters), which
    #: is all MagFlow's passlib context verifies; the hash itself is never read
    password_hash_ok: bool = True


@dataclass(frozen=True, slots=True)
class AdminsSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    items: tuple[AdminUser, ...] = ()


# --------------------------------------------------------------------------- alembic


@dataclass(frozen=True, slots=True)
class Revision:
    revision: str
    down_revisions: tuple[str, ...]  # () for a root
    path: str  # file the revision was parsed from (relative to the versions folder)
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    message: str | None = None  # first docstring line
    doc_revision_id: str | None = None  # "Revision ID:" line of the docstring
    doc_revises: str | None = None  # "Revises:" line of the docstring


@dataclass(frozen=True, slots=True)
class MigrationsSnapshot:
    """The script graph, set against the database's current revision(s)."""

    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    scripts_location: str | None = None  # folder or "container:path"
    revisions: tuple[Revision, ...] = ()
    heads: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    merges: tuple[str, ...] = ()
    current: tuple[str, ...] = ()
    version_tables: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # apply order of `alembic upgrade heads`
    problems: tuple[Finding, ...] = ()
    db_checked: bool = True  # False with --no-db
    lock_holders: tuple[LockHolder, ...] = ()


# --------------------------------------------------------------------------- api


@dataclass(frozen=True, slots=True)
class ApiCheck:
    path: str
    status_code: int | None
    healthy: bool
    latency_ms: float | None
    status: str | None = None  # the body's "status" value
    detail: str | None = None  # one sentence: why unhealthy / what was read
    critical: bool = True  # a real check (db, redis, migrations) vs static liveness

    @property
    def rate_limited(self) -> bool:
        """HTTP 429 (MagFlow's limiter): the check says nothing of the API's health."""
        return self.status_code == 429


@dataclass(frozen=True, slots=True)
class ApiSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    base_url: str | None = None
    checks: tuple[ApiCheck, ...] = ()

    @property
    def rate_limited(self) -> bool:
        return any(c.rate_limited for c in self.checks)


# --------------------------------------------------------------------------- whole status


@dataclass(frozen=True, slots=True)
class StatusReport:
    profile: str
    verdict: Verdict
    generated_at: dt.datetime
    containers: ContainersSnapshot
    database: DatabaseSnapshot
    migrations: MigrationsSnapshot
    sync: SyncSnapshot
    api: ApiSnapshot
    celery: CelerySnapshot
    redis: RedisSnapshot
    orders: OrdersSnapshot
    findings: tuple[Finding, ...] = ()


def error_snapshot(cls: type[T], message: str, started: float | None = None, **kw: Any) -> T:
    """Build a snapshot of ``cls`` in the error state (``started`` from time.perf_counter)."""
    import time

    duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    return cls(state="error", error=message, fetched_at=utcnow(), duration_ms=duration, **kw)  # type: ignore[call-arg]


def mark_stale(snapshot: T, error: str) -> T:
    """A previous good snapshot kept on screen after a failed refresh."""
    return dataclasses.replace(snapshot, state="stale", error=error)  # type: ignore[type-var]


#: nesting kept by ``to_jsonable``; deeper values (a hostile jsonb) become a note
JSON_DEPTH_MAX = 64
#: types ``to_jsonable`` returns as they are (exact types: a subclass takes the long way)
_JSON_SCALARS = frozenset({str, int, bool, type(None)})
#: a dataclass's field names by its type (None: not a dataclass), filled as they are met
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}
_UNSEEN: Any = object()


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Plain JSON types for any snapshot (datetimes as ISO 8601, enums by label). Strict
    JSON: NaN and ±Infinity become ``None``; values nested deeper than ``JSON_DEPTH_MAX``
    become a note (a string) instead of overflowing the stack."""
    if _depth > JSON_DEPTH_MAX:
        return f"(nested deeper than {JSON_DEPTH_MAX} levels: not shown)"
    kind = type(value)
    if kind in _JSON_SCALARS:  # most values: nothing to look up
        return value
    deeper = _depth + 1
    if isinstance(value, Verdict):
        return value.label
    names = _FIELD_NAMES.get(kind, _UNSEEN)
    if names is _UNSEEN:
        is_instance = dataclasses.is_dataclass(value) and not isinstance(value, type)
        names = tuple(f.name for f in dataclasses.fields(value)) if is_instance else None
        _FIELD_NAMES[kind] = names
    if names is not None:
        return {name: to_jsonable(getattr(value, name), deeper) for name in names}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, deeper) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, deeper) for v in value]
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True)
class OrderAccountStats:
    """One account's orders (``app.emag_orders``), as the order sync and the auto-acknowledge
    leave them (sheet §11.4: they write only this table, never ``emag_sync_logs``).

    ``new`` and ``new_unacknowledged_stale`` are read on every refresh; ``orders_total``,
    ``with_sync_error``, ``last_synced_at`` and ``last_acknowledged_at`` need a pass over the
    whole table and may come from a cache (``OrdersSnapshot.counts_age_seconds``).
    """

    account: str
    orders_total: int = 0
    new: int = 0  # status 1
    #: status 1, ``acknowledged_at`` null and ``created_at`` older than the stale threshold
    new_unacknowledged_stale: int = 0
    last_synced_at: dt.datetime | None = None  # newest, aware UTC
    with_sync_error: int = 0  # rows whose ``sync_error`` holds text
    last_acknowledged_at: dt.datetime | None = None  # newest, aware UTC


@dataclass(frozen=True, slots=True)
class OrdersSnapshot:
    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    accounts: Mapping[str, OrderAccountStats] = field(default_factory=dict)
    #: how old the whole-table figures are (0.0 when read by this fetch); ``None`` on error
    counts_age_seconds: float | None = None


# --------------------------------------------------------------------------- celery and redis

#: what a Celery result is, recognised by its shape (stack sheet §11.3); ``unknown`` for a
#: FAILURE/RETRY (no shape) whose task no held or queued message names, or unreadable JSON
ResultKind = Literal[
    "heartbeat", "product_sync", "order_sync", "auto_acknowledge", "other", "unknown"
]


@dataclass(frozen=True, slots=True)
class RedisSnapshot:
    """Redis itself, from ``INFO`` (db 0 holds the broker, the results and the caches)."""

    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    url: str | None = None  # password masked
    used_memory: int | None = None  # bytes
    maxmemory: int | None = None  # bytes; 0 = no limit
    evicted_keys: int | None = None  # since start: may be queued tasks or results
    uptime_seconds: int | None = None  # a restart lost the queue and the login cache
    connected_clients: int | None = None
    rdb_last_bgsave_status: str | None = None
    aof_enabled: bool | None = None
    maxmemory_policy: str | None = None
    redis_version: str | None = None
    db_keys: int | None = None  # keys in the URL's db (INFO keyspace)
    #: not part of this setup by design (the demo without a Docker engine or Redis):
    #: ``error`` says so as information, not a fault, and the verdict does not count it
    absent: bool = False


@dataclass(frozen=True, slots=True)
class CeleryMessage:
    """A task message read from a queue list or from ``unacked``."""

    task: str | None  # headers.task
    id: str | None  # headers.id (a retry keeps the task id)
    account: str | None  # account_type from kwargsrepr/argsrepr (or the body)
    delivered_at: dt.datetime | None  # the unacked_index score; None for a queued message
    retries: int
    eta: dt.datetime | None
    queue: str | None
    #: held until an eta in the future (a retry waiting its delay), not executing
    scheduled_retry: bool = False


@dataclass(frozen=True, slots=True)
class CeleryResult:
    """One ``celery-task-meta-*`` value, reduced to what can be shown (never the raw
    result or the traceback)."""

    kind: ResultKind
    status: str  # SUCCESS | FAILURE | RETRY | ...
    date_done: dt.datetime | None  # None for RETRY (Celery stores none)
    task_id: str
    summary: str  # one line, masked
    task: str | None = None  # known only from a held or queued message with the same id


@dataclass(frozen=True, slots=True)
class CelerySnapshot:
    """Celery's state as kept in Redis by kombu and the result backend."""

    state: SourceState
    error: str | None
    fetched_at: dt.datetime
    duration_ms: float
    #: list name -> length: ``default`` and its priority sub-lists (``default:3`` ...)
    queues: Mapping[str, int] = field(default_factory=dict)
    #: the message the worker takes next (the tail of the first non-empty list)
    oldest_queued: CeleryMessage | None = None
    #: every message a worker holds (``unacked``), oldest delivery first: executing, or
    #: waiting for its eta (``scheduled_retry``)
    executing: tuple[CeleryMessage, ...] = ()
    last_heartbeat_at: dt.datetime | None = None
    results: tuple[CeleryResult, ...] = ()  # newest first
    #: False when the bounded SCAN of the results stopped before the end of the keyspace
    results_complete: bool = True
    #: not part of this setup by design (the demo without a Docker engine or Redis):
    #: ``error`` says so as information, not a fault, and the verdict does not count it
    absent: bool = False

    @property
    def queued_total(self) -> int:
        return sum(self.queues.values())

    @property
    def running(self) -> tuple[CeleryMessage, ...]:
        return tuple(m for m in self.executing if not m.scheduled_retry)

    @property
    def scheduled(self) -> tuple[CeleryMessage, ...]:
        return tuple(m for m in self.executing if m.scheduled_retry)
