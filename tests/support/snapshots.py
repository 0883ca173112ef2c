"""Snapshots built by hand for the pure-logic tests (rules, doctor, remedies)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from magflow_console.diagnose.report import build_report
from magflow_console.models import (
    ApiSnapshot,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    OrdersSnapshot,
    RedisSnapshot,
    StatusReport,
    SyncSnapshot,
)

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def container(service: str, **kw: object) -> ContainerInfo:
    base = ContainerInfo(
        id=service, name=f"magflow_{service}", service=service, project="magflow", state="running",
        health="healthy", restart_count=0, started_at=NOW - dt.timedelta(hours=3), finished_at=None,
        exit_code=None, image="magflow-app:dev",
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def containers_snapshot(*items: ContainerInfo, missing: tuple[str, ...] = ()) -> ContainersSnapshot:
    return ContainersSnapshot("ok", None, NOW, 1.0, items=items, missing=missing)


def report_of(
    *findings: Finding,
    containers: ContainersSnapshot | None = None,
    database: DatabaseSnapshot | None = None,
    migrations: MigrationsSnapshot | None = None,
    sync: SyncSnapshot | None = None,
    api: ApiSnapshot | None = None,
    celery: CelerySnapshot | None = None,
    redis: RedisSnapshot | None = None,
    orders: OrdersSnapshot | None = None,
) -> StatusReport:
    report = build_report(
        "local",
        containers
        or containers_snapshot(container("app"), container("redis", name="stack-redis-1")),
        database or DatabaseSnapshot("ok", None, NOW, 1.0, tables=("users",), schema_empty=False),
        migrations or MigrationsSnapshot("ok", None, NOW, 1.0, heads=("a",), current=("a",)),
        sync or SyncSnapshot("ok", None, NOW, 1.0),
        api or ApiSnapshot("ok", None, NOW, 1.0, base_url="http://x", checks=()),
        celery=celery or CelerySnapshot("ok", None, NOW, 1.0, last_heartbeat_at=NOW),
        redis=redis or RedisSnapshot("ok", None, NOW, 1.0, url="redis://:***@redis:6379/0"),
        orders=orders or OrdersSnapshot("ok", None, NOW, 1.0),
        now=NOW,
    )
    return replace(report, findings=report.findings + findings)
