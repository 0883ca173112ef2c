"""An admin list that cannot be read is a finding (UNKNOWN, with next steps), never silence.

Defect 5 of issue 13: ``doctor`` dropped every admin finding when ``app.users`` could not
be read (a lock held on the table; a row with ``last_login = 'infinity'``, which since
defect 6 costs only that value), so it said nothing about admin logins and could exit 0. Pure logic over hand-made snapshots, then
``doctor`` (human and ``--json``) and the TUI's findings screen against the real
PostgreSQL with the faults made for real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from magflow_console.backend import Backend
from magflow_console.config import load_config
from magflow_console.diagnose import rules
from magflow_console.diagnose.doctor import advice_json, advise, doctor_verdict, extra_findings
from magflow_console.models import AdminsSnapshot, DatabaseSnapshot, Verdict, error_snapshot
from magflow_console.reference.urls import to_libpq
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.screens.findings import FindingsScreen
from magflow_console.tui.widgets.table import LiveTable
from tests.support.cli import run_cli
from tests.support.snapshots import report_of
from tests.tui.helpers import table_rows, wait_for, wait_loaded

#: nothing listens there: the sections that need them are unreadable, quickly
NO_DOCKER = "unix:///nonexistent/docker.sock"
NO_API = "http://127.0.0.1:9"
REDIS = "redis://127.0.0.1:9/0"


def test_an_unreadable_admin_list_is_an_unknown_finding_with_steps() -> None:
    snap = error_snapshot(AdminsSnapshot, "the statement timed out after 5.0 s")
    found = rules.admin_findings(snap)
    assert [f.code for f in found] == ["admin_unreadable"]
    assert "timed out" in found[0].message
    report = report_of()
    extra = extra_findings(report, found, [])
    advice = advise(report, extra)
    assert [(a.level, a.finding.code) for a in advice] == [("UNKNOWN", "admin_unreadable")]
    steps = " ".join(advice[0].steps)
    assert "isfinite" in steps and "lock" in steps, steps
    assert doctor_verdict(report, extra) is Verdict.UNKNOWN
    doc = advice_json(report, extra)
    assert doc["exit_code"] == 3 and doc["verdict"] == "unknown"
    # an unknown does not hide a real fault
    nobody = rules.admin_findings(AdminsSnapshot("ok", None, snap.fetched_at, 1.0))
    assert doctor_verdict(report, [*extra, *nobody]) is Verdict.CRITICAL


def test_a_database_that_is_down_explains_the_admins_too() -> None:
    down = error_snapshot(DatabaseSnapshot, "PostgreSQL at h:5432/m refused the connection")
    report = report_of(database=down)
    admins = rules.admin_findings(error_snapshot(AdminsSnapshot, down.error or ""))
    codes = [a.finding.code for a in advise(report, extra_findings(report, admins, []))]
    assert "database_unreachable" in codes and "admin_unreadable" not in codes


@pytest.fixture
def infinite_login(demo_db_url: str) -> str:
    """The demo database, one admin's last login ``'infinity'`` (psycopg cannot load it)."""
    with psycopg.connect(to_libpq(demo_db_url), autocommit=True) as conn:
        changed = conn.execute(
            "UPDATE app.users SET last_login = 'infinity' WHERE email = 'admin@magflow.com'"
        ).rowcount
    assert changed == 1, "the demo seed has no admin@magflow.com"
    return demo_db_url


@pytest.fixture
def users_locked(demo_db_url: str) -> Iterator[str]:
    """Another session holds ACCESS EXCLUSIVE on ``app.users`` (nothing else)."""
    with psycopg.connect(to_libpq(demo_db_url)) as conn:
        conn.execute("LOCK TABLE app.users IN ACCESS EXCLUSIVE MODE")
        yield demo_db_url
        conn.rollback()


@pytest.mark.postgres
def test_an_infinite_last_login_costs_only_that_value(infinite_login: str, tmp_path: Path) -> None:
    env = {"MAGFLOW_CONSOLE_REDIS__URL": REDIS}
    proc = run_cli(["doctor", "--json", *_doctor_args(infinite_login)], env, tmp_path)
    assert proc.returncode == 2, proc.stderr
    codes = [f["code"] for f in json.loads(proc.stdout)["findings"]]
    assert "admin_unreadable" not in codes, codes
    assert any(code.startswith("admin_") for code in codes), codes  # the demo's admin facts


def _doctor_args(db_url: str) -> list[str]:
    return ["--db-url", db_url, "--docker-host", NO_DOCKER, "--api-url", NO_API]


@pytest.mark.postgres
def test_doctor_says_the_admins_could_not_be_read(users_locked: str, tmp_path: Path) -> None:
    db_url = users_locked
    env = {
        "MAGFLOW_CONSOLE_DATABASE__STATEMENT_TIMEOUT_MS": "1500",
        "MAGFLOW_CONSOLE_REDIS__URL": REDIS,
    }
    proc = run_cli(["doctor", "--json", *_doctor_args(db_url)], env, tmp_path)
    # the demo data has critical findings of its own (exit 2); the unknown must not hide them
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    admin = [f for f in doc["findings"] if f["code"].startswith("admin_")]
    assert [(f["code"], f["level"]) for f in admin] == [("admin_unreadable", "UNKNOWN")]
    assert admin[0]["next"], admin[0]
    database = [f for f in doc["findings"] if f["code"] == "database_unreachable"]
    assert not database, "the database itself was readable"
    human = run_cli(["doctor", *_doctor_args(db_url)], env | {"COLUMNS": "100"}, tmp_path)
    assert human.returncode == 2, human.stderr
    assert "UNKNOWN admin_unreadable" in " ".join(human.stdout.split()), human.stdout
    assert "Traceback" not in human.stderr


@pytest.mark.anyio
@pytest.mark.postgres
async def test_the_findings_screen_lists_the_unreadable_admins(users_locked: str) -> None:
    loaded = load_config(
        environ={"XDG_CONFIG_HOME": "/nonexistent"},
        overrides={
            "database.statement_timeout_ms": 1500,
            "database.url": users_locked,
            "docker.host": NO_DOCKER,
            "api.url": NO_API,
            "redis.url": REDIS,
            "refresh_interval": 1.0,
        },
    )
    app = MagflowApp(Backend(loaded))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, FindingsScreen)

        def codes() -> dict[str, str]:
            rows: Any = table_rows(screen.query_one(LiveTable)).values()
            return {cells[1]: cells[0] for cells in rows}

        await wait_for(pilot, lambda: "admin_unreadable" in codes(), "the admin finding")
        assert codes()["admin_unreadable"] == "UNKNOWN"
