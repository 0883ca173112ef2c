"""The status report: every section read, every finding the rules draw from them, and
the verdict (monitoring-plugin convention). Both faces build it the same way: the
headless ``status`` once (``Backend.status``), the TUI at every refresh (``Store``).
Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt

from magflow_console.diagnose import app_settings, emag_env, redis_state, rules
from magflow_console.diagnose import celery as celery_rules
from magflow_console.diagnose.backlog import BacklogSeen
from magflow_console.models import (
    ApiSnapshot,
    CelerySnapshot,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    OrdersSnapshot,
    RedisSnapshot,
    StatusReport,
    SyncSnapshot,
    utcnow,
)


def build_report(
    profile: str,
    containers: ContainersSnapshot,
    database: DatabaseSnapshot,
    migrations: MigrationsSnapshot,
    sync: SyncSnapshot,
    api: ApiSnapshot,
    *,
    celery: CelerySnapshot,
    redis: RedisSnapshot,
    orders: OrdersSnapshot,
    backlog: BacklogSeen | None = None,
    no_success_hours: float = 24.0,
    now: dt.datetime | None = None,
) -> StatusReport:
    """Every section and every finding over them. ``backlog`` is what earlier refreshes
    saw of Celery's queue (``diagnose.backlog.observe_backlog``; ``None``: one look, so
    no growth can be told); ``now`` is the time the rules judge ages against."""
    now = now or utcnow()
    findings: list[Finding] = []
    findings += rules.database_findings(database)
    findings += rules.container_findings(containers, now, celery)
    findings += emag_env.env_findings(containers)
    findings += app_settings.app_findings(containers)
    findings += rules.migration_findings(migrations)
    findings += rules.sync_findings(sync)
    findings += rules.api_findings(api, containers, redis_absent=redis.absent)
    findings += rules.absent_findings(containers, redis)
    findings += redis_state.unreachable_findings(redis)
    findings += celery_rules.celery_findings(
        containers,
        sync,
        celery,
        redis,
        orders,
        now=now,
        backlog=backlog,
        no_success_hours=no_success_hours,
    )
    # a section that could not be read makes the verdict "unknown", unless the outage
    # is itself a critical finding (database, API or Redis unreachable); a Redis nobody
    # configured and none could be found is said by doctor (UNKNOWN), not counted here;
    # a part the demo does not have (``absent``) is an info finding, not counted either
    states = [migrations.state] if containers.absent else [containers.state, migrations.state]
    if database.state != "error":
        states += [database.state, sync.state, orders.state]
    if not (api.state == "error" and api.base_url is not None):
        states.append(api.state)
    if redis.state != "error":
        states.append(celery.state)
    return StatusReport(
        profile=profile,
        verdict=rules.verdict(findings, states),
        generated_at=now,
        containers=containers,
        database=database,
        migrations=migrations,
        sync=sync,
        api=api,
        celery=celery,
        redis=redis,
        orders=orders,
        findings=tuple(findings),
    )
