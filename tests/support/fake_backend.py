"""Fixed snapshots in the shape of the demo data, for deterministic snapshot pictures.

This is pure rendering input (allowed by the project rules): the pilot tests use the real
backends (PostgreSQL, Docker engine, fake HTTP API); the picture tests use ``FakeBackend``
so that the SVGs do not change from run to run.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from magflow_console.backend import Backend
from magflow_console.config import LoadedConfig, load_config
from magflow_console.models import (
    AccountStats,
    AdminsSnapshot,
    AdminUser,
    ApiCheck,
    ApiSnapshot,
    CeleryMessage,
    CeleryResult,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    HealthProbe,
    LockHolder,
    LogLine,
    MigrationsSnapshot,
    OrderAccountStats,
    OrdersSnapshot,
    RedisSnapshot,
    Revision,
    SyncRun,
    SyncSnapshot,
    error_snapshot,
)
from magflow_console.reference import REVISIONS

NOW = dt.datetime(2025, 10, 22, 12, 0, 0, tzinfo=dt.UTC)
DB_DOWN = "Cannot connect to PostgreSQL at localhost:5433 (connection refused)."


def frozen_clock() -> dt.datetime:
    return NOW


def ago(**kw: float) -> dt.datetime:
    return NOW - dt.timedelta(**kw)


def fake_config(
    *, protected: bool = False, profile_keys: dict[str, str] | None = None
) -> LoadedConfig:
    overrides: dict[str, Any] = {
        "database.url": "postgresql+psycopg://app@localhost:5433/magflow",
        "api.url": "http://localhost:8000",
        "protected": protected,
    }
    for key, value in (profile_keys or {}).items():
        overrides[f"keys.{key}"] = value
    return load_config(environ={"XDG_CONFIG_HOME": "/nonexistent"}, overrides=overrides)


def _container(
    service: str, state: str, health: str | None, restarts: int = 0, **kw: Any
) -> ContainerInfo:
    return ContainerInfo(
        id=f"{service}0123456789ab",
        name=f"magflow_{service}",
        service=service,
        project="magflow",
        state=state,
        health=health,
        restart_count=restarts,
        started_at=kw.pop("started_at", ago(hours=3, minutes=12)),
        finished_at=kw.pop("finished_at", None),
        exit_code=kw.pop("exit_code", 0),
        image=kw.pop("image", "magflow-app:development"),
        **kw,
    )


CONTAINERS = ContainersSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=12.0,
    docker_host="unix:///var/run/docker.sock",
    engine_version="20.10.24",
    stack_variant="main",
    items=(
        _container("app", "running", "healthy", ports=("8000->8000/tcp",)),
        _container("db", "running", "healthy", image="postgres:16", ports=("5433->5432/tcp",)),
        _container(
            "redis",
            "restarting",
            None,
            7,
            image="redis:7",
            exit_code=1,
            finished_at=ago(seconds=20),
            ports=("6379->6379/tcp",),
        ),
        _container(
            "worker",
            "running",
            "unhealthy",
            health_failing_streak=4,
            health_log=tuple(
                HealthProbe(
                    ago(seconds=60 * i + 5),
                    ago(seconds=60 * i),
                    1,
                    "Error: No nodes replied within time constraint.",
                )
                for i in range(3, 0, -1)
            ),
        ),
        _container("beat", "running", "starting", started_at=ago(seconds=30)),
    ),
)

DATABASE = DatabaseSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=8.0,
    server_version="16.4",
    latency_ms=1.2,
    version_tables=("app.alembic_version",),
    current_revisions=("20251021_add_price_fields",),
)


def _revisions() -> tuple[Revision, ...]:
    out = []
    for i, rid in enumerate(REVISIONS):
        down = (REVISIONS[i - 1],) if i else ()
        out.append(Revision(rid, down, f"{rid}.py", message=f"step {i + 1} of the chain"))
    return tuple(out)


MIGRATIONS = MigrationsSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=30.0,
    scripts_location="magflow_console/reference/alembic",
    revisions=_revisions(),
    heads=(REVISIONS[-1],),
    roots=(REVISIONS[0],),
    merges=(),
    current=("20251021_add_price_fields",),
    version_tables=("app.alembic_version",),
    pending=(REVISIONS[-1],),
    problems=(
        Finding(
            "pending_migrations",
            "warning",
            "The database is 1 revision behind head 20251021_eliminated_suggest.",
            (REVISIONS[-1],),
            short="1 migration(s) not applied",
        ),
    ),
    lock_holders=(LockHolder(4242, True, "alembic (magflow_app)", "172.18.0.4", "active", 12.0),),
)


def _run(
    i: int, account: str, status: str, outcome: str, items: int, failed: int = 0, **kw: Any
) -> SyncRun:
    started = ago(hours=i * 3 + 1)
    return SyncRun(
        id=f"00000000-0000-4000-8000-{i:012d}",
        sync_type="products",
        account_type=account,
        operation="incremental_sync",
        status=status,
        started_at=started,
        completed_at=started + dt.timedelta(seconds=95),
        duration_seconds=95.0,
        total_items=items,
        processed_items=items,
        created_items=items // 20,
        updated_items=items - items // 20 - failed,
        failed_items=failed,
        error_count=kw.pop("error_count", 0),
        outcome=outcome,
        **kw,
    )


RUNS = (
    _run(0, "main", "completed", "success", 1204),
    _run(1, "fbe", "completed", "empty", 0, error_count=1),
    _run(2, "main", "completed", "partial", 1100, 104, error_count=2),
    _run(3, "fbe", "failed", "failed", 0, error_count=1),
    _run(4, "main", "completed", "success", 1203),
    _run(5, "fbe", "completed", "success", 311),
    _run(6, "main", "completed", "success", 1199),
    _run(7, "fbe", "completed", "empty", 0, error_count=1),
)

SYNC = SyncSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=20.0,
    accounts={
        "main": AccountStats(
            "main",
            1204,
            1180,
            24,
            1204,
            ago(hours=1),
            ago(hours=1),
            "completed",
            ago(hours=1),
            0.67,
            0.9,
            3,
            24,
        ),
        "fbe": AccountStats(
            "fbe",
            311,
            300,
            11,
            311,
            ago(hours=16),
            ago(hours=4),
            "completed",
            ago(hours=16),
            0.0,
            0.45,
            2,
            14,
        ),
    },
    recent=RUNS,
    anomalies=(
        Finding(
            "sync_no_recent_success",
            "critical",
            "No successful products sync for fbe in 16h (threshold 12h).",
            account="fbe",
            short="no successful sync in 12 h",
        ),
        Finding(
            "sync_completed_empty",
            "warning",
            "2 runs completed with 0 items: credentials missing or every page failed.",
            account="fbe",
            short="2 run(s) with 0 items in 24 h",
        ),
    ),
)

API = ApiSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=40.0,
    base_url="http://localhost:8000",
    checks=(
        ApiCheck("/health/live", 200, True, 3.0, "alive", critical=False),
        ApiCheck("/health/database", 200, True, 9.0, "ok"),
        ApiCheck("/health/redis", 200, False, 2.0, "unhealthy", "redis: Connection refused."),
        ApiCheck("/health/migrations", 200, True, 6.0, "ok"),
        ApiCheck("/api/v1/emag/health", 200, True, 4.0, "healthy"),
    ),
)

ADMINS = AdminsSnapshot(
    state="ok",
    error=None,
    fetched_at=NOW,
    duration_ms=5.0,
    items=(
        AdminUser(
            1,
            "admin@magflow.local",
            "Dev Admin",
            True,
            True,
            True,
            True,
            ago(hours=2),
            0,
            ago(days=30),
        ),
        AdminUser(2, "admin@example.com", None, False, False, True, False, None, 3, ago(days=12)),
    ),
)

REDIS = RedisSnapshot(
    "ok", None, NOW, 3.0, url="redis://:***@127.0.0.1:6379/0", used_memory=118_000_000,
    maxmemory=268_435_456, evicted_keys=0, uptime_seconds=11_520, connected_clients=6,
    rdb_last_bgsave_status="ok", aof_enabled=False, maxmemory_policy="allkeys-lru",
    redis_version="7.0.15", db_keys=214,
)  # fmt: skip
_SYNC_TASK = CeleryMessage(
    "emag.sync_products", "5b1c0e4e-9f7d-4a53-a0f4-1d9c1c6a2f11", "main", ago(minutes=4, seconds=12),
    0, None, "default",
)  # fmt: skip
_RETRY = CeleryMessage(
    "emag.sync_orders", "0c2e7f5a-1b44-4e4b-9a21-6f8e5d3c2b10", None, ago(minutes=3),
    1, ago(minutes=-2), "default", scheduled_retry=True,
)  # fmt: skip
CELERY = CelerySnapshot(
    "ok", None, NOW, 4.0,
    queues={"default": 2, "default:3": 0, "default:6": 0, "default:9": 0},
    oldest_queued=CeleryMessage(
        "emag.auto_acknowledge_orders", "a1", None, None, 0, None, "default"
    ),
    executing=(_SYNC_TASK, _RETRY),
    last_heartbeat_at=ago(seconds=38),
    results=(
        CeleryResult("heartbeat", "SUCCESS", ago(seconds=38), "h1", "celery-beat on beat-1"),
        CeleryResult(
            "unknown", "RETRY", None, _RETRY.id or "", "ConnectionError: eMAG 503 on page 2",
            task="emag.sync_orders",
        ),
        CeleryResult("product_sync", "SUCCESS", ago(minutes=48), "r2", "both: 0 synced"),
        CeleryResult(
            "unknown", "FAILURE", ago(hours=2), "r3",
            "RuntimeError: Event loop is closed",
        ),
    ),
)  # fmt: skip
ORDERS = OrdersSnapshot(
    "ok", None, NOW, 2.0,
    accounts={
        "main": OrderAccountStats("main", 8_412, 3, 0, ago(minutes=2), 2, ago(minutes=7)),
        "fbe": OrderAccountStats("fbe", 1_904, 6, 4, ago(minutes=2), 4, ago(hours=3, minutes=20)),
    },
    counts_age_seconds=12.0,
)  # fmt: skip

LOG_LINES = [
    "MagFlow ERP - Starting application...",
    "Waiting for database to be ready...",
    "Database is ready!",
    "Running database migrations...",
    "Migrations completed by another container!",
    "Application ready to start!",
    "[2025-10-22 11:59:01,120: INFO/MainProcess] celery@worker ready.",
    "\x1b[2J\x1b[31m[bold red]not markup[/bold red]\x1b]0;pwned\x07 after",
    "[2025-10-22 11:59:41,554: ERROR/MainProcess] consumer: Cannot connect to redis://redis:6379/0",
]


class FakeBackend(Backend):
    """A Backend whose sources are fixed snapshots (``db_down`` switches the DB off)."""

    def __init__(self, loaded: LoadedConfig | None = None, *, db_down: bool = False) -> None:
        super().__init__(loaded or fake_config())
        self.db_down = db_down

    def containers(self) -> ContainersSnapshot:
        return CONTAINERS

    def database(self) -> DatabaseSnapshot:
        return error_snapshot(DatabaseSnapshot, DB_DOWN) if self.db_down else DATABASE

    def migrations(
        self, db: DatabaseSnapshot | None = None, *, check_db: bool = True
    ) -> MigrationsSnapshot:
        if self.db_down:
            return error_snapshot(MigrationsSnapshot, DB_DOWN)
        return MIGRATIONS

    def sync(
        self, *, account: str | None = None, status: str | None = None, limit: int | None = None
    ) -> SyncSnapshot:
        if self.db_down:
            return error_snapshot(SyncSnapshot, DB_DOWN)
        runs = tuple(
            r for r in RUNS if account in (None, r.account_type) and status in (None, r.status)
        )
        return SyncSnapshot(SYNC.state, None, NOW, 1.0, SYNC.accounts, runs, SYNC.anomalies)

    def sync_run(self, run_id: str) -> SyncRun | None:
        for run in RUNS:
            if run.id == run_id:
                errors = [
                    {
                        "error": "eMAG API 503 on page 4 (retries exhausted)",
                        "timestamp": "2025-10-22T08:59:12",
                    }
                ]
                return SyncRun(
                    **{
                        **{f: getattr(run, f) for f in run.__slots__},
                        "errors": errors if run.error_count else [],
                        "sync_params": None,
                    }
                )  # type: ignore[attr-defined]
        return None

    def api(self) -> ApiSnapshot:
        return API

    def broker(self) -> tuple[RedisSnapshot, CelerySnapshot]:
        return REDIS, CELERY

    def orders(self) -> OrdersSnapshot:
        return error_snapshot(OrdersSnapshot, DB_DOWN) if self.db_down else ORDERS

    def admins(self) -> AdminsSnapshot:
        return ADMINS

    def log_findings(self, containers: ContainersSnapshot | None = None) -> list[Finding]:
        return []  # the sample containers have no engine behind them to read logs from

    def container_detail(self, name: str) -> ContainerInfo | None:
        return next((c for c in CONTAINERS.items if c.name == name), None)

    def follow(self, name: str, stop: threading.Event, **kw: Any) -> Iterator[LogLine]:
        for i, text in enumerate(LOG_LINES):
            yield LogLine(ago(seconds=60 - i), text, "stderr" if "ERROR" in text else "stdout")
        stop.wait()

    def events(self, stop: threading.Event, **kw: Any) -> Iterator[Any]:
        stop.wait()
        return iter(())
