"""`doctor`: next steps for every finding code, in the right order, naming real commands.

Pure logic over hand-made snapshots, plus `doctor` end to end against the demo stack.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from magflow_console.cli import build_parser
from magflow_console.diagnose import remedies
from magflow_console.diagnose.doctor import advice_json, advise
from magflow_console.models import (
    ApiSnapshot,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    SyncSnapshot,
    error_snapshot,
)
from tests.diagnose.test_logs import LOG_CODES
from tests.sources.test_alembic_graph import TRIGGERS
from tests.sources.test_database_sync import CODES as SYNC_CODES
from tests.support.cli import run_cli, stack_args
from tests.support.snapshots import NOW, report_of

#: every code diagnose/rules.py can raise (alembic and sync codes come from their fixtures)
RULE_CODES = {
    "container_missing", "container_crash_loop", "container_down", "container_paused",
    "container_unhealthy", "container_restarted", "beat_gated_by_worker",
    "database_unreachable", "schema_empty", "migration_in_progress",
    "api_unreachable", "api_check_unhealthy", "app_blind_healthcheck", "redis_unreachable",
    "api_rate_limited", "containers_absent", "redis_absent",
    "admin_none_usable", "admin_bad_hash", "admin_without_role", "admin_failed_logins",
    "admin_unreadable",
    "secret_file_readable",  # doctor.secret_file_findings: tests/cli/test_secret_files.py
    "logs_unreadable",  # backend.log_findings: tests/sources/test_log_diagnosis.py
}  # fmt: skip


def test_every_finding_code_has_its_own_steps() -> None:
    from tests.diagnose.test_celery_rules import CELERY_CODES
    from tests.diagnose.test_emag_env import ENV_CODES

    known = RULE_CODES | set(TRIGGERS) | SYNC_CODES | ENV_CODES | LOG_CODES | CELERY_CODES
    assert set(remedies.REMEDIES) == known, (
        f"no steps for {sorted(known - set(remedies.REMEDIES))}; "
        f"steps for unknown codes {sorted(set(remedies.REMEDIES) - known)}"
    )
    for code in sorted(known):
        steps = remedies.next_steps(Finding(code, "warning", "m", subject="x"), report_of())
        assert steps and all(s.strip() for s in steps), code
        assert "No specific advice" not in steps[0], code


def test_steps_name_only_commands_the_console_has() -> None:
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for code in remedies.REMEDIES:
        for severity in ("critical", "warning"):
            finding = Finding(code, severity, "m", subject="x", account="fbe", revisions=("r",))
            for step in remedies.next_steps(finding, report_of()):
                for used in re.findall(r"`magflow-console ([a-z-]+)", step):
                    assert used in commands, (code, step)


def test_steps_use_the_finding_and_the_report() -> None:
    loop = Finding("container_crash_loop", "critical", "m", subject="stack-redis-1")
    steps = remedies.next_steps(loop, report_of())
    assert steps[-1] == "Once the cause is fixed: `magflow-console restart redis`."  # service
    run_id = str(uuid.uuid4())
    failed = Finding("sync_failed", "warning", "m", account="fbe", subject=run_id)
    assert remedies.next_steps(failed, None) == (
        f"The error is in the run: `magflow-console sync-logs --id {run_id[:8]}`.",
        "Then run it again and watch it: `magflow-console sync --account fbe --wait`.",
    )
    stale = Finding("sync_stale_running", "warning", "m", account="main", subject=run_id)
    assert f"WHERE id = '{run_id}';" in remedies.next_steps(stale, None)[-1]
    heads = Finding("multiple_heads", "critical", "m", revisions=("h1", "h2"))
    assert "`magflow-console migrate --to h2`" in remedies.next_steps(heads, None)[-1]
    unknown = Finding("brand_new_code", "warning", "m")
    assert remedies.next_steps(unknown, None)[0].startswith("No specific advice")


def test_advice_is_worst_first_and_names_unreadable_sections_once() -> None:
    docker_down = error_snapshot(ContainersSnapshot, "Docker engine at unix:///x is not reachable.")
    db_down = error_snapshot(DatabaseSnapshot, "PostgreSQL at h:5432/m refused the connection")
    sync_down = error_snapshot(SyncSnapshot, "PostgreSQL at h:5432/m refused the connection")
    no_api = ApiSnapshot("ok", None, NOW, 1.0, base_url=None)
    info = Finding("docstring_mismatch", "info", "doc")
    warn = Finding("pending_migrations", "warning", "1 pending")
    report = report_of(
        info, warn, containers=docker_down, database=db_down, sync=sync_down, api=no_api
    )
    advice = advise(report)
    assert [(a.level, a.finding.code) for a in advice] == [
        ("CRITICAL", "database_unreachable"),
        ("UNKNOWN", "containers_unreadable"),  # no finding explains it: said here
        ("WARNING", "pending_migrations"),
        ("INFO", "docstring_mismatch"),
    ]  # the sync section's error is the database's: not repeated; no API configured: quiet
    doc = advice_json(report)
    assert doc["exit_code"] == 2 and doc["verdict"] == "critical"
    first: Any = doc["findings"]
    assert first[0]["next"] and first[0]["code"] == "database_unreachable"
    # the key status --json uses; the old key keeps the same list for one release
    assert doc["advice"] == doc["findings"]
    assert advise(report_of()) == []
    # an admin finding counts in doctor's verdict (status does not read the admins)
    nobody = Finding("admin_none_usable", "critical", "No admin can log in.")
    ok_report = report_of()
    assert advice_json(ok_report)["exit_code"] == 0
    assert advice_json(ok_report, [nobody])["exit_code"] == 2


def test_doctor_end_to_end_on_the_demo_stack(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Any
) -> None:
    fake_api.set_mode("healthy")
    args = stack_args(demo_db_url, docker_engine, fake_api.base_url)
    proc = run_cli(["doctor", "--json", *args], stack_env, tmp_path)
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    levels = [a["level"] for a in doc["findings"]]
    order = {"CRITICAL": 0, "UNKNOWN": 1, "WARNING": 2, "INFO": 3}
    assert levels == sorted(levels, key=order.__getitem__) and levels[0] == "CRITICAL"
    codes = {a["code"] for a in doc["findings"]}
    assert {"container_unhealthy", "pending_migrations", "sync_stale_running"} <= codes
    # admin logins too: the demo's admin@magflow.com is a superuser without the admin role
    assert "admin_without_role" in codes
    assert all(a["next"] for a in doc["findings"])
    human = run_cli(["doctor", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    assert human.returncode == 2
    lines = human.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, human.stdout
    assert not [line for line in lines if line != line.rstrip()], "trailing spaces in a pipe"
    assert "→ `magflow-console migrate`" in human.stdout
    # five docstring findings share one piece of advice: it is said once, after the last
    assert human.stdout.count("Cosmetic: correct the docstring") == 1


def test_what_is_about_the_same_container_stays_together() -> None:
    loop = Finding("container_crash_loop", "critical", "loops", subject="magflow_redis")
    worker = Finding("container_unhealthy", "critical", "unhealthy", subject="magflow_worker")
    why = Finding("redis_rdb_format", "critical", "RDB 12", subject="magflow_redis")
    pending = Finding("pending_migrations", "warning", "1 pending")
    report = report_of(loop, worker, pending)
    order = [a.finding.code for a in advise(report, [why])]
    assert order == [
        "container_crash_loop", "redis_rdb_format", "container_unhealthy", "pending_migrations"
    ]  # fmt: skip
