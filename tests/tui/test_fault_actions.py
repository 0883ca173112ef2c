"""The database connection cut (``pg_terminate_backend``) in the middle of an action run
from the TUI: a local Alembic migration of several revisions, and an admin creation.

Each action is caught mid-way by a lock another session holds (an open read of the table
its next statement alters or writes), its backend is terminated while it waits, and the
test checks that nothing is half-applied in the database, that the run screen and the
audit log say what happened, and that the console goes on (the dashboard still reads).
The time from the cut to the screen's verdict is measured and recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from magflow_console.actions.audit import AuditLog
from magflow_console.reference import HEAD, upgrade
from magflow_console.reference.urls import to_libpq
from magflow_console.tui.screens.action_run import ActionRunScreen
from magflow_console.tui.screens.admin_form import AdminFormScreen
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.password import PasswordScreen
from tests.support.reliability import Recorder
from tests.tui.faults import assert_no_error_modal, assert_responsive
from tests.tui.helpers import real_app, real_config, screen_text, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

#: three revisions apply in one transaction; the third alters app.supplier_products
START = "f6bd35df0c64"
PENDING = ("72ba0528563c", "20251020_add_supplier_id", "20251021_add_price_fields", HEAD)
PASSWORD = "Cut-mid-create-Passw0rd!"


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def _config(url: str, docker_engine: Any, stack: Any, fake_api: Any) -> Any:
    fake_api.set_mode("healthy")
    return real_config(
        db_url=url, docker_engine=docker_engine, stack=stack, api_url=fake_api.base_url,
        **{"alembic.strategy": "local"},
    )  # fmt: skip


@contextmanager
def reading(url: str, table: str) -> Iterator[None]:
    """Another session with an open transaction that read ``table`` (ACCESS SHARE): an
    ALTER TABLE or a LOCK of it waits until this ends."""
    with psycopg.connect(to_libpq(url), application_name="pytest-reader") as conn:
        conn.execute(f"SELECT count(*) FROM {table}")
        try:
            yield
        finally:
            conn.rollback()


def waiting_backend(url: str, application: str, query_like: str) -> int | None:
    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            " AND wait_event_type = 'Lock' AND query ILIKE %s",
            [application, query_like],
        ).fetchone()
    return None if row is None else int(row[0])


def terminate(url: str, pid: int) -> None:
    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def facts(url: str) -> dict[str, Any]:
    with psycopg.connect(to_libpq(url)) as conn:
        versions = [r[0] for r in conn.execute("SELECT version_num FROM app.alembic_version")]
        columns = {
            (t, c)
            for t, c in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'app'"
            )
        }
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'app'")
        }
        locks = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 123456789"
        ).fetchone()
    return {"versions": versions, "columns": columns, "tables": tables, "locks": locks}


async def _finished(pilot: Any, app: Any) -> ActionRunScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ActionRunScreen), "the run screen")
    run = app.screen
    assert isinstance(run, ActionRunScreen)
    await wait_for(pilot, lambda: run.finished, "the action to finish", 120)
    return run


async def test_connection_cut_mid_migration_leaves_nothing_half_applied(
    empty_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    state_home: Path,
    reliability: Recorder,
) -> None:
    url = empty_db_url
    upgrade(url, START)
    before = facts(url)
    assert before["versions"] == [START]
    loaded = _config(url, docker_engine, stack_containers, fake_api)
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        with reading(url, "app.supplier_products"):
            await pilot.click("#confirm")
            pid: list[int | None] = [None]

            def caught() -> bool:
                pid[0] = waiting_backend(
                    url, "magflow-console-migrate", "%ALTER TABLE%supplier_products%"
                )
                return pid[0] is not None

            await wait_for(pilot, caught, "the migration to wait on app.supplier_products", 120)
            run = app.screen
            assert isinstance(run, ActionRunScreen) and not run.finished
            # two revisions ran in the migration's transaction before it had to wait
            assert any(PENDING[1] in line and "Running upgrade" in line for line in run.output)
            await assert_responsive(pilot, app)  # the run screen takes keys meanwhile
            assert pid[0] is not None
            terminate(url, pid[0])
            cut = time.monotonic()
            run = await _finished(pilot, app)
            told = time.monotonic()
        status = run.status_text()
        assert run.result is not None and not run.result.ok, status
        assert f"Migration failed at revision {PENDING[2]}" in status, status
        assert "the connection was cut" in status, status
        assert f"the database is unchanged at {START} (rolled back)" in status, status
        assert "Migration failed" in screen_text(app)
        await pilot.press("escape")
        await wait_loaded(pilot, app)
        assert_no_error_modal(app)

    after = facts(url)
    assert after == before, "something of the cut migration stayed"
    assert ("emag_product_offers_v2", "min_sale_price") not in after["columns"]
    assert after["locks"] == (0,)
    entries = AuditLog(loaded.audit_log).read(10)
    assert [(e["action"], e["outcome"]) for e in entries] == [("migrate", "failed")]
    assert "the connection was cut" in entries[0]["detail"], json.dumps(entries)
    assert f"unchanged at {START}" in entries[0]["detail"]
    reliability.fault(
        "postgresql",
        "connection terminated mid-migration (local Alembic, 3rd of 4 revisions)",
        "migration run screen and audit log",
        told - cut,
    )


async def test_connection_cut_mid_admin_create_leaves_no_user(
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    state_home: Path,
    reliability: Recorder,
) -> None:
    url = demo_db_url
    email = "cut.admin@example.com"
    loaded = _config(url, docker_engine, stack_containers, fake_api)
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminsScreen), "the admins screen")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminFormScreen), "the form")
        await pilot.press(*email, "enter", *"Cut Short", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), "the password form")
        await pilot.press(*PASSWORD, "enter", *PASSWORD, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        with psycopg.connect(to_libpq(url), application_name="pytest-locker") as locker:
            locker.execute("LOCK TABLE app.user_roles IN ACCESS EXCLUSIVE MODE")
            await pilot.click("#confirm")
            pid: list[int | None] = [None]

            def caught() -> bool:
                pid[0] = waiting_backend(url, "magflow-console", "%INSERT INTO%user_roles%")
                return pid[0] is not None

            await wait_for(pilot, caught, "the creation to wait on app.user_roles", 120)
            assert pid[0] is not None
            terminate(url, pid[0])
            cut = time.monotonic()
            run = await _finished(pilot, app)
            told = time.monotonic()
            locker.rollback()
        status = run.status_text()
        assert run.result is not None and not run.result.ok, status
        assert f"Creating admin user {email} failed: the connection to PostgreSQL" in status
        assert "was cut (the server restarted or the session was terminated)" in status, status
        assert f"nothing was created: no user {email} in app.users" in status, status
        assert PASSWORD not in screen_text(app)
        await pilot.press("escape")
        assert_no_error_modal(app)

    with psycopg.connect(to_libpq(url)) as conn:
        users = conn.execute("SELECT count(*) FROM app.users WHERE email = %s", [email]).fetchone()
        links = conn.execute(
            "SELECT count(*) FROM app.user_roles ur JOIN app.users u ON u.id = ur.user_id"
            " WHERE u.email = %s",
            [email],
        ).fetchone()
    assert users == (0,) and links == (0,)
    entries = AuditLog(loaded.audit_log).read(10)
    assert [(e["action"], e["outcome"]) for e in entries] == [("admin.create", "failed")]
    assert "was cut" in entries[0]["detail"]
    assert "nothing was created" in entries[0]["detail"]
    assert PASSWORD not in loaded.audit_log.read_text()
    reliability.fault(
        "postgresql",
        "connection terminated mid admin-create (waiting on app.user_roles)",
        "admin run screen and audit log",
        told - cut,
    )
