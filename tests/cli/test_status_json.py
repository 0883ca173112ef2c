"""`status --json` end to end: the demo database, the real Docker test containers and the
fake MagFlow API, in a real process. Checks the JSON contract of the read-side issue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from magflow_console.reference import DEMO_TARGET, HEAD
from tests.support.cli import ROOT, run_cli, stack_args
from tests.support.pg_password import password_url
from tests.support.postgres import PgServer


def run_probe(
    args: list[str],
    stack_env: dict[str, str],
    tmp_path: Path,
    *,
    before: str = "",
    after: str = "",
) -> subprocess.CompletedProcess[str]:
    """The real program in a fresh interpreter, through runpy: ``before`` runs first and
    ``after`` once the program has returned (to look inside its process)."""
    probe = (
        "import os, sys, runpy\n"
        + before
        + f"sys.argv = ['magflow-console', *{args!r}]\n"
        + "try:\n    runpy.run_module('magflow_console', run_name='__main__')\n"
        + "except SystemExit:\n    pass\n"
        + after
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= stack_env | {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_status_json_contract_against_the_demo_stack(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Path
) -> None:
    fake_api.set_mode("healthy")
    proc = run_cli(
        ["status", "--json", *stack_args(demo_db_url, docker_engine, fake_api.base_url)],
        stack_env,
        tmp_path,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    for key in (
        "profile",
        "verdict",
        "generated_at",
        "containers",
        "database",
        "migrations",
        "sync",
        "api",
        "celery",
        "redis",
        "orders",
    ):
        assert key in doc, key
    for section in ("containers", "database", "migrations", "sync", "orders", "api"):
        assert doc[section]["state"] == "ok", (section, doc[section]["error"])
        assert "error" in doc[section]
    # the test stack's redis publishes no port, so there is no Redis to read: said, with
    # what to set, and not counted as a fault of the stack
    for section in ("celery", "redis"):
        assert doc[section]["state"] == "error" and "No Redis URL" in doc[section]["error"]
    assert "redis_unreachable" not in {f["code"] for f in doc["findings"]}
    orders = doc["orders"]["accounts"]
    for key in (
        "orders_total",
        "new",
        "new_unacknowledged_stale",
        "last_synced_at",
        "with_sync_error",
        "last_acknowledged_at",
    ):
        assert all(key in a for a in orders.values()), key
    assert orders["main"]["orders_total"] > 0

    # containers: the stack-like test containers, with their real states
    items = {c["service"]: c for c in doc["containers"]["items"]}
    for key in (
        "name",
        "service",
        "state",
        "health",
        "restart_count",
        "started_at",
        "image",
        "exit_code",
    ):
        assert all(key in c for c in items.values()), key
    assert items["app"]["health"] == "healthy"
    assert items["worker"]["health"] == "unhealthy"
    assert items["beat"]["health"] == "starting"
    assert items["redis"]["restart_count"] >= 1

    db = doc["database"]
    for key in ("server_version", "latency_ms", "schema", "tables", "enums"):
        assert key in db, key
    assert db["schema"] == "app"
    assert {"users", "emag_sync_logs", "emag_products_v2", "alembic_version"} <= set(db["tables"])
    assert "cancellationreason" in db["enums"]

    mig = doc["migrations"]
    assert mig["version_tables"] == ["app.alembic_version"]
    assert mig["current"] == [DEMO_TARGET]
    assert mig["heads"] == [HEAD]
    assert mig["pending"] == [HEAD]
    codes = {p["code"] for p in mig["problems"]}
    assert "pending_migrations" in codes
    assert all({"code", "severity", "message", "revisions"} <= set(p) for p in mig["problems"])

    accounts = doc["sync"]["accounts"]
    assert {"main", "fbe"} <= set(accounts)
    for acct in ("main", "fbe"):
        for key in (
            "products_total", "products_active", "products_inactive", "offers", "last_synced_at",
            "last_run", "last_success", "success_rate_24h", "success_rate_7d",
        ):  # fmt: skip
            assert key in accounts[acct], key
        a = accounts[acct]
        assert a["products_total"] == a["products_active"] + a["products_inactive"] > 0
    recent = doc["sync"]["recent"]
    assert 0 < len(recent) <= 50
    for key in (
        "id", "sync_type", "account_type", "operation", "status", "started_at", "completed_at",
        "duration_seconds", "total_items", "processed_items", "created_items", "updated_items",
        "failed_items", "error_count",
    ):  # fmt: skip
        assert key in recent[0], key

    checks = {c["path"]: c for c in doc["api"]["checks"]}
    assert all({"path", "status_code", "healthy", "latency_ms"} <= set(c) for c in checks.values())
    assert checks["/health/database"]["healthy"] is True

    # the demo's history and the unhealthy worker make it critical; the exit code says so
    assert doc["verdict"] == "critical"
    assert proc.returncode == 2
    finding_codes = {f["code"] for f in doc["findings"]}
    assert {"container_unhealthy", "container_crash_loop", "pending_migrations"} <= finding_codes
    assert "/env" not in fake_api.paths_requested()


def test_status_json_sees_the_blind_app_healthcheck(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Path
) -> None:
    fake_api.set_mode("db_down")
    proc = run_cli(
        ["status", "--json", *stack_args(demo_db_url, docker_engine, fake_api.base_url)],
        stack_env,
        tmp_path,
    )
    doc = json.loads(proc.stdout)
    checks = {c["path"]: c for c in doc["api"]["checks"]}
    assert checks["/health/live"]["healthy"] is True
    assert checks["/health/database"]["healthy"] is False
    codes = {f["code"] for f in doc["findings"]}
    assert "app_blind_healthcheck" in codes
    assert "api_check_unhealthy" in codes


def test_migrations_no_db_and_sync_logs_filters(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Path
) -> None:
    args = stack_args(demo_db_url, docker_engine, fake_api.base_url)
    proc = run_cli(["migrations", "--json", "--no-db", *args], stack_env, tmp_path)
    doc = json.loads(proc.stdout)
    assert doc["db_checked"] is False and doc["current"] == [] and doc["heads"] == [HEAD]
    assert proc.returncode == 0  # docstring mismatches are info only

    proc = run_cli(
        ["sync-logs", "--json", "--account", "fbe", "--limit", "5", *args], stack_env, tmp_path
    )
    doc = json.loads(proc.stdout)
    assert len(doc["recent"]) == 5
    assert {r["account_type"] for r in doc["recent"]} == {"fbe"}
    assert proc.returncode == 2  # fbe: completed with 0 items is the latest run

    proc = run_cli(["containers", "--json", *args], stack_env, tmp_path)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 2 and {c["service"] for c in doc["items"]} >= {"app", "worker"}


def test_human_status_is_readable_and_hides_the_password(
    demo_db_url: str,
    pg_server: PgServer,
    docker_engine: Any,
    stack_env: dict[str, str],
    fake_api: Any,
    tmp_path: Path,
) -> None:
    fake_api.set_mode("healthy")
    secret = "St4tus-pw-9d1c"
    # a role whose password the server checks: the database is read only through it
    with password_url(pg_server, demo_db_url, secret) as url:
        assert make_url(url).password == secret
        proc = run_cli(
            ["status", *stack_args(url, docker_engine, fake_api.base_url)],
            stack_env | {"COLUMNS": "160"},
            tmp_path,
        )
    assert proc.returncode == 2, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    out = proc.stdout
    assert "Database: ERROR" not in out, out  # the password-bearing URL worked
    assert "CRITICAL" in out and "magflow_worker" in out and "unhealthy" in out
    assert "pending (apply order): 20251021_eliminated_suggest" in out
    assert "fbe" in out and "Findings:" in out
    assert "Traceback" not in proc.stderr


def test_human_output_fits_80_columns_and_puts_the_worst_first(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Path
) -> None:
    """An on-call terminal over SSH: no line wider than 80 columns, the newest runs only
    (the rest is one command away), findings from critical down, info folded."""
    fake_api.set_mode("healthy")
    args = stack_args(demo_db_url, docker_engine, fake_api.base_url)
    proc = run_cli(["status", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, proc.stdout
    assert "…" not in proc.stdout.split("API (")[0], proc.stdout  # no cut-off header or cell
    assert any(line.startswith("Recent runs (newest 5 of 50;") for line in lines)
    assert lines[-1] == "What to do about each: magflow-console doctor"
    severities = [line.split()[0] for line in lines[lines.index("Findings:") + 1 : -1]
                  if line[:1].isupper()]  # fmt: skip
    order = {"CRITICAL": 0, "WARNING": 1, "INFO": 2}
    assert severities == sorted(severities, key=order.__getitem__), severities
    assert "INFO     docstring_mismatch: 5 finding(s); details: magflow-console migrations" in (
        proc.stdout
    )
    # a lone info finding is said in full, not as "1 finding(s)"
    assert "INFO     dev_admin_autoprovision: magflow_app resets the password" in proc.stdout
    assert "1 finding(s)" not in proc.stdout

    proc = run_cli(["containers", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    assert proc.returncode == 2
    assert max(len(line.rstrip()) for line in proc.stdout.splitlines()) <= 80, proc.stdout
    # the exit code comes with its reasons: the unhealthy worker's last probe output
    assert "CRITICAL container_unhealthy: " in proc.stdout, proc.stdout
    assert "No nodes replied" in " ".join(proc.stdout.split())

    proc = run_cli(["sync-logs", "--limit", "50", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    lines = proc.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, proc.stdout
    header = next(line for line in lines if "│ id" in line or "┃ id" in line)
    assert "outcome" in header and "…" not in header


def test_sync_logs_id_shows_one_run_in_full(
    demo_db_url: str, docker_engine: Any, stack_env: dict[str, str], fake_api: Any, tmp_path: Path
) -> None:
    args = stack_args(demo_db_url, docker_engine, fake_api.base_url)
    listed = json.loads(
        run_cli(["sync-logs", "--json", "--status", "partial", *args], stack_env, tmp_path).stdout
    )["recent"][0]
    proc = run_cli(["sync-logs", "--id", listed["id"][:8], *args], stack_env, tmp_path)
    assert proc.returncode == 1, proc.stderr  # completed with errors: a warning
    assert f"run          {listed['id']}" in proc.stdout
    assert "outcome      partial (status completed)" in proc.stdout
    assert '"error":' in proc.stdout  # the errors JSON, pretty-printed
    doc = json.loads(
        run_cli(["sync-logs", "--id", listed["id"], "--json", *args], stack_env, tmp_path).stdout
    )
    assert doc["id"] == listed["id"] and doc["outcome"] == "partial"
    assert isinstance(doc["errors"], list) and doc["errors"]
    missing = run_cli(["sync-logs", "--id", "ffffffff", *args], stack_env, tmp_path)
    assert missing.returncode == 3 and missing.stdout == ""
    assert "no sync run with id 'ffffffff'" in missing.stderr
    # the headless twin of the sync detail screen renders without importing Textual
    proc = run_probe(
        ["sync-logs", "--id", listed["id"][:8], *args],
        stack_env,
        tmp_path,
        after="print('TEXTUAL:', sorted(m for m in sys.modules if m.split('.')[0] == 'textual'),"
        " file=sys.stderr)\n",
    )
    assert "outcome      partial" in proc.stdout, proc.stderr
    assert "TEXTUAL: []" in proc.stderr, proc.stderr


def test_status_reads_docker_and_redis_in_a_forked_child_with_the_same_result(
    demo_db_url: str,
    docker_engine: Any,
    stack_env: dict[str, str],
    fake_api: Any,
    redis_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cold ``status --json`` (a process with one thread) reads Docker and Redis in a
    forked child (``forked_reads``): the fork happens, the child is gone afterwards, and
    the report is the one a single process reads (here, in pytest's process, with other
    threads running, ``Backend.status`` reads in threads)."""
    from magflow_console.backend import Backend
    from magflow_console.cli import build_parser
    from magflow_console.cli.common import load

    fake_api.set_mode("healthy")
    args = [
        "status", "--json", "--redis-url", redis_server.url,
        *stack_args(demo_db_url, docker_engine, fake_api.base_url),
    ]  # fmt: skip
    record = tmp_path / "forks"
    proc = run_probe(
        args,
        stack_env,
        tmp_path,
        before=(
            "from magflow_console import forked_reads\n"
            "real = forked_reads.start\n"
            "def start(jobs, **kw):\n"
            "    reads = real(jobs, **kw)\n"
            f"    with open({str(record)!r}, 'a') as f:\n"
            '        f.write(f"{sorted(jobs)} {reads.pid if reads else None}\\n")\n'
            "    return reads\n"
            "forked_reads.start = start\n"
        ),
        after=(
            "try:\n    os.waitpid(-1, os.WNOHANG)\n    print('UNREAPED', file=sys.stderr)\n"
            "except ChildProcessError:\n    print('NO CHILD LEFT', file=sys.stderr)\n"
        ),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    forks = record.read_text().split("\n")[0].split(" ", 2)
    assert forks[0] + " " + forks[1] == "['broker', 'containers']" and forks[2] != "None", forks
    assert "NO CHILD LEFT" in proc.stderr, proc.stderr
    forked = json.loads(proc.stdout)

    for key, value in stack_env.items():  # the stack's container names, as the child has
        monkeypatch.setenv(key, value)
    backend = Backend(load(build_parser().parse_args(args)))
    try:
        report = backend.status()
    finally:
        backend.close()
    assert report.containers.state == forked["containers"]["state"] == "ok"
    assert report.redis.state == forked["redis"]["state"] == "ok"
    assert report.celery.state == forked["celery"]["state"]
    assert [c.name for c in report.containers.items] == [
        c["name"] for c in forked["containers"]["items"]
    ]
    assert [(c.service, c.state, c.health) for c in report.containers.items] == [
        (c["service"], c["state"], c["health"]) for c in forked["containers"]["items"]
    ]
    assert forked["verdict"] == report.verdict.label
    assert sorted(f["code"] for f in forked["findings"]) == sorted(f.code for f in report.findings)
