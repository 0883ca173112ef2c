"""Findings over snapshots, and the overall verdict.

Pure functions: no I/O, no Textual. Each finding has a stable code so scripts and
alerting can match on it. Severity maps to the verdict: critical -> CRITICAL,
warning -> WARNING; a section that could not be read gives UNKNOWN unless not
being able to read it is itself the fault (database unreachable is critical).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from magflow_console.diagnose.celery_tasks import TASK_LIMIT_SECONDS
from magflow_console.diagnose.worker import (
    beat_gate_finding,
    worker_activity,
    worker_health_finding,
)
from magflow_console.models import (
    AdminsSnapshot,
    ApiSnapshot,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    RedisSnapshot,
    Severity,
    SyncSnapshot,
    Verdict,
    utcnow,
)

#: services whose absence means the stack cannot work
ESSENTIAL_SERVICES = ("app", "db", "redis", "worker")
#: restarts at or above this with a non-running state are a crash loop
CRASH_LOOP_RESTARTS = 3
#: ... or running for less than this many seconds after that many policy restarts
CRASH_LOOP_UPTIME = 120.0


def crash_looping(c: ContainerInfo, now: dt.datetime | None = None) -> bool:
    """Restarted ``CRASH_LOOP_RESTARTS`` times or more and not up for long (or not up)."""
    now = now or utcnow()
    up = (now - c.started_at).total_seconds() if c.started_at else None
    return c.restart_count >= CRASH_LOOP_RESTARTS and (
        c.state != "running" or (up is not None and up < CRASH_LOOP_UPTIME)
    )


def is_down(c: ContainerInfo, now: dt.datetime | None = None) -> bool:
    """Not running, or crash-looping: its log says why, if anything does."""
    return c.state != "running" or crash_looping(c, now)


def container_findings(
    snap: ContainersSnapshot,
    now: dt.datetime | None = None,
    celery: CelerySnapshot | None = None,
    *,
    task_limit: float = TASK_LIMIT_SECONDS,
) -> list[Finding]:
    """Container faults. With a readable ``celery`` snapshot an unhealthy worker is judged
    by what it holds (sheet §11.2): busy with a task is ``worker_busy`` (info), past the
    task limit ``worker_task_overrun``, holding nothing ``container_unhealthy``; without
    one (``None`` or an error snapshot) every unhealthy container is critical."""
    now = now or utcnow()
    out: list[Finding] = []
    if snap.state == "error":
        return out
    by_service = {c.service: c for c in snap.items if c.service}
    activity = worker_activity(celery, by_service.get("worker"))
    for svc in snap.missing:
        sev: Severity = "critical" if svc in ESSENTIAL_SERVICES else "warning"
        out.append(
            Finding("container_missing", sev, f"No container for service '{svc}'.", subject=svc)
        )
    by_service = {c.service: c for c in snap.items if c.service}
    for c in snap.items:
        if c.state == "restarting" or crash_looping(c, now):
            out.append(
                Finding(
                    "container_crash_loop",
                    "critical",
                    f"{c.name} is crash-looping ({c.restart_count} restarts, state {c.state}).",
                    subject=c.name,
                )
            )
        elif c.state in ("exited", "dead", "created"):
            code = f", exit code {c.exit_code}" if c.exit_code is not None else ""
            out.append(
                Finding(
                    "container_down", "critical", f"{c.name} is {c.state}{code}.", subject=c.name
                )
            )
        elif c.state == "paused":
            out.append(
                Finding("container_paused", "warning", f"{c.name} is paused.", subject=c.name)
            )
        if c.state == "running" and c.health == "unhealthy":
            last = c.health_log[-1].output.strip().splitlines() if c.health_log else []
            probe = f": {last[-1][:120]}" if last else ""
            if c.service == "worker" and activity is not None:
                out.append(worker_health_finding(c, activity, now, limit=task_limit, probe=probe))
            else:
                out.append(
                    Finding(
                        "container_unhealthy",
                        "critical",
                        f"{c.name} is unhealthy{probe}.",
                        subject=c.name,
                    )
                )
        elif c.state == "running" and c.restart_count > 0:
            out.append(
                Finding(
                    "container_restarted",
                    "info",
                    f"{c.name} has restarted {c.restart_count} times.",
                    subject=c.name,
                )
            )
    worker = by_service.get("worker")
    beat = by_service.get("beat")
    if (
        worker is not None
        and worker.health in ("unhealthy", "starting")
        and (beat is None or beat.state != "running")
    ):
        out.append(beat_gate_finding(activity, now, task_limit))
    return out


def database_findings(snap: DatabaseSnapshot) -> list[Finding]:
    if snap.state == "error":
        return [Finding("database_unreachable", "critical", snap.error or "Database unreachable.")]
    out: list[Finding] = []
    if not snap.tables and snap.schema_empty is not False:
        out.append(
            Finding(
                "schema_empty",
                "critical",
                f"Schema '{snap.schema}' has no tables: the database was never initialised "
                "(a fresh `alembic upgrade head` cannot succeed on MagFlow).",
            )
        )
    return out


def migration_findings(snap: MigrationsSnapshot) -> list[Finding]:
    if snap.state == "error" and not snap.revisions:
        return []
    out = list(snap.problems)
    for holder in snap.lock_holders:
        if holder.granted:
            out.append(
                Finding(
                    "migration_in_progress",
                    "info",
                    f"Migration in progress: pid {holder.pid} ({holder.application_name or 'unknown client'}"
                    f"{' at ' + holder.client_addr if holder.client_addr else ''}) holds the migration lock.",
                )
            )
    return out


def absent_findings(containers: ContainersSnapshot, redis: RedisSnapshot) -> list[Finding]:
    """The parts the demo does not have (``absent``: no Docker engine, no Redis), said as
    information: they are not faults of MagFlow and do not count in the verdict."""
    out: list[Finding] = []
    for code, subject, snap in (
        ("containers_absent", "containers", containers),
        ("redis_absent", "redis", redis),
    ):
        if snap.absent and snap.error:
            short = snap.error.partition(": ")[0]
            out.append(Finding(code, "info", snap.error, subject=subject, short=short))
    return out


def api_findings(
    snap: ApiSnapshot,
    containers: ContainersSnapshot | None = None,
    *,
    redis_absent: bool = False,
) -> list[Finding]:
    """The API's checks. ``redis_absent``: the setup has no Redis by design (the demo), so
    the API's own ``/health/redis`` failing says that again, as information."""
    if snap.state == "error":
        if snap.base_url is None:
            return []
        return [Finding("api_unreachable", "critical", snap.error or "API unreachable.")]
    out: list[Finding] = []
    limited = [c.path for c in snap.checks if c.rate_limited]
    if limited:
        out.append(
            Finding(
                "api_rate_limited",
                "warning",
                f"{', '.join(limited)} answered 429 (rate-limited): more than 100 requests a "
                "minute reach each path of one API process, from every console and probe "
                "together; those checks say nothing of the API's health until the limit "
                "lifts.",
                subject=limited[0],
                short="API health checks rate-limited",
            )
        )
    for check in snap.checks:
        if not check.healthy and not check.rate_limited:
            sev: Severity = "critical" if check.critical else "warning"
            if redis_absent and check.path == "/health/redis":
                sev = "info"
            out.append(
                Finding(
                    "api_check_unhealthy",
                    sev,
                    f"{check.path}: {check.detail or check.status or 'unhealthy'}",
                    subject=check.path,
                )
            )
    real_bad = any(
        not c.healthy
        and c.critical
        and not c.rate_limited
        and not (redis_absent and c.path == "/health/redis")
        for c in snap.checks
    )
    if real_bad and containers is not None:
        app = next((c for c in containers.items if c.service == "app"), None)
        if app is not None and app.health == "healthy":
            out.append(
                Finding(
                    "app_blind_healthcheck",
                    "warning",
                    "magflow_app reports healthy, but its healthcheck is static: the real checks fail.",
                    subject=app.name,
                )
            )
    return out


def sync_findings(snap: SyncSnapshot) -> list[Finding]:
    return list(snap.anomalies) if snap.state != "error" else []


#: failed logins since the last success that make a warning (fewer are only noted)
FAILED_LOGINS_WARNING = 5


def admin_findings(snap: AdminsSnapshot) -> list[Finding]:
    """Why an admin login would fail (sheet §5): no usable admin, a hash that is not
    bcrypt, a superuser without the admin role, repeated failed logins. Admin users that
    could not be read (a lock on the table, a value the console cannot load) are a
    finding too, ``admin_unreadable``: not knowing is not the same as nothing wrong
    (``doctor`` lists it as UNKNOWN)."""
    if snap.state == "error":
        return [
            Finding(
                "admin_unreadable",
                "warning",
                f"The admin users could not be read: {snap.error or 'no reason given'}. "
                "Whether an admin can log in is unknown.",
                short="admin users unreadable",
            )
        ]
    out: list[Finding] = []
    usable = [
        u
        for u in snap.items
        if u.is_active and u.password_hash_ok and (u.is_superuser or u.has_admin_role)
    ]
    if not usable:
        out.append(
            Finding(
                "admin_none_usable",
                "critical",
                "No admin can log in: there is no active superuser or admin-role user with a "
                "bcrypt password hash.",
                short="no admin can log in",
            )
        )
    for u in snap.items:
        if not u.password_hash_ok:
            out.append(
                Finding(
                    "admin_bad_hash",
                    "critical" if u.is_active else "info",
                    f"The password hash of {u.email} is not a bcrypt hash ($2b$, 60 characters), "
                    "the only kind MagFlow verifies: every login of this user fails.",
                    subject=u.email,
                    short=f"{u.email}: hash is not bcrypt",
                )
            )
        if u.is_active and u.is_superuser and not u.has_admin_role:
            out.append(
                Finding(
                    "admin_without_role",
                    "info",
                    f"{u.email} is a superuser without the admin role (MagFlow's root "
                    "create_admin.py never links it); what checks the role refuses this user.",
                    subject=u.email,
                    short=f"{u.email}: no admin role",
                )
            )
        if u.is_active and u.failed_login_attempts > 0:
            many = u.failed_login_attempts >= FAILED_LOGINS_WARNING
            out.append(
                Finding(
                    "admin_failed_logins",
                    "warning" if many else "info",
                    f"{u.email} has {u.failed_login_attempts} failed login(s) since the last "
                    "successful one.",
                    subject=u.email,
                    short=f"{u.email}: {u.failed_login_attempts} failed logins",
                )
            )
    return out


def verdict(findings: Iterable[Finding], section_states: Iterable[str]) -> Verdict:
    levels = [Verdict.OK]
    for f in findings:
        if f.severity == "critical":
            levels.append(Verdict.CRITICAL)
        elif f.severity == "warning":
            levels.append(Verdict.WARNING)
    if any(s == "error" for s in section_states):
        levels.append(Verdict.UNKNOWN)
    return Verdict.worst(*levels)
