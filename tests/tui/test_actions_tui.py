"""Pilot tests of the actions inside the TUI, against the real backends.

The demo PostgreSQL database (one revision behind head, local Alembic strategy with the
reference scripts), the stack-like containers on the real Docker engine and the fake
API. Every test has its own audit log (``XDG_STATE_HOME`` in a tmp dir) and asserts on
what the screens show, on the audit entries and on the real database / container state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Checkbox, Input

from magflow_console.actions.audit import AuditLog
from magflow_console.reference import DEMO_TARGET, HEAD
from magflow_console.reference.urls import to_libpq
from magflow_console.tui.screens.action_run import ActionRunScreen
from magflow_console.tui.screens.admin_form import AdminFormScreen
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.audit import AuditScreen
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.dashboard import DashboardScreen
from magflow_console.tui.screens.password import PasswordScreen
from magflow_console.tui.screens.sync_form import SyncFormScreen
from magflow_console.tui.widgets.migrations_pane import MigrationsPane
from magflow_console.tui.widgets.pane import Summary
from magflow_console.tui.widgets.table import LiveTable
from tests.tui.helpers import real_app, real_config, screen_text, table_rows, wait_for, wait_loaded
from tests.tui.palette import type_command

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

PASSWORD = "Sup3r-secret-Passw0rd!"


@pytest.fixture
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


@pytest.fixture
def make_config(
    demo_db_url: str, docker_engine: Any, stack_containers: Any, fake_api: Any, state_home: Path
) -> Any:
    fake_api.set_mode("healthy")

    def make(**extra: Any) -> Any:
        return real_config(
            db_url=demo_db_url, docker_engine=docker_engine, stack=stack_containers,
            api_url=fake_api.base_url, **{"alembic.strategy": "local", **extra},
        )  # fmt: skip

    return make


def audit_entries(loaded: Any) -> list[dict[str, Any]]:
    return AuditLog(loaded.audit_log).read(1000)


def db_revisions(url: str) -> list[str]:
    with psycopg.connect(to_libpq(url)) as conn:
        rows = conn.execute("SELECT version_num FROM app.alembic_version").fetchall()
    return sorted(r[0] for r in rows)


def confirm_button(app: Any) -> Button:
    return app.screen.query_one("#confirm", Button)


async def finished_run(pilot: Any, app: Any, timeout: float = 60.0) -> ActionRunScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ActionRunScreen), "the run screen")
    run = app.screen
    assert isinstance(run, ActionRunScreen)
    await wait_for(pilot, lambda: run.finished, "the action to finish", timeout)
    await pilot.pause()
    return run


async def test_migrate_from_the_dashboard(make_config: Any, demo_db_url: str) -> None:
    loaded = make_config()
    assert db_revisions(demo_db_url) == [DEMO_TARGET]
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        assert isinstance(app.screen, DashboardScreen)

        # the confirmation shows the pending revision; Cancel is the default button
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        shown = screen_text(app)
        assert f"apply {HEAD}" in shown
        assert "alembic upgrade head" in shown
        assert app.screen.focused is app.screen.query_one("#cancel", Button)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "back home")
        assert [e["outcome"] for e in audit_entries(loaded)] == ["cancelled"]
        assert db_revisions(demo_db_url) == [DEMO_TARGET]

        # confirming runs it: live output, result, the pane then shows nothing pending
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
        assert any("Running upgrade" in line and HEAD in line for line in run.output)
        assert f"Migrated to {HEAD}" in run.status_text()
        assert "Running upgrade" in screen_text(app)
        assert db_revisions(demo_db_url) == [HEAD]
        assert [e["outcome"] for e in audit_entries(loaded)] == ["cancelled", "ok"]

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "back home")
        pane = app.screen.query_one(MigrationsPane).query_one(Summary)
        await wait_for(
            pilot, lambda: "0 (up to date)" in pane.plain, "the migrations pane to show 0 pending"
        )
        assert "to apply" not in pane.plain

        # a second migrate has nothing to do: no confirmation, audited ok
        await pilot.press("m")
        await wait_for(pilot, lambda: len(audit_entries(loaded)) == 3, "the no-op audit entry")
        assert not isinstance(app.screen, ConfirmScreen)

        # the audit view lists the entries, newest first
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit view")
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        table = audit.query_one(LiveTable)
        await wait_for(pilot, lambda: len(table._shown) == 3, "three audit rows")
        rows = list(table_rows(table).values())
        assert [(r[1], r[2]) for r in rows] == [
            ("migrate", "ok"), ("migrate", "ok"), ("migrate", "cancelled"),
        ]  # fmt: skip
        assert "Nothing to do" in rows[0][5]
        assert "not confirmed" in rows[2][5]


async def test_protected_profile_needs_the_name_typed(make_config: Any, demo_db_url: str) -> None:
    loaded = make_config(protected=True)
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "PROTECTED" in screen_text(app)
        assert confirm_button(app).disabled
        name_field = app.screen.query_one("#confirm-name", Input)
        name_field.focus()
        await pilot.press(*"wrong")
        assert confirm_button(app).disabled
        name_field.value = ""
        await pilot.press(*loaded.profile_name)
        assert not confirm_button(app).disabled
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok
        assert db_revisions(demo_db_url) == [HEAD]
        assert [e["outcome"] for e in audit_entries(loaded)] == ["ok"]


async def test_read_only_profile_refuses_every_action(
    make_config: Any, demo_db_url: str, stack_containers: Any
) -> None:
    loaded = make_config(read_only=True)
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        assert "read-only" in screen_text(app)

        await pilot.press("m")
        await wait_for(pilot, lambda: len(audit_entries(loaded)) == 1, "the refusal audited")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)  # no confirmation was shown
        notes = [n.message for n in app._notifications]
        assert any("read-only" in n and "migrate refused" in n for n in notes), notes
        assert "read-only" in screen_text(app)

        await pilot.press("R")  # restart the selected container
        await wait_for(pilot, lambda: len(audit_entries(loaded)) == 2, "restart refused")
        await pilot.press("s")
        await wait_for(pilot, lambda: len(audit_entries(loaded)) == 3, "sync refused")
        assert isinstance(app.screen, DashboardScreen)  # not even the form
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminsScreen), "the admins screen")
        await pilot.press("A")
        await wait_for(pilot, lambda: len(audit_entries(loaded)) == 4, "create admin refused")
        assert not isinstance(app.screen, AdminFormScreen)
        await pilot.press("question_mark")
        help_text = screen_text(app)
        assert "Read-only profile: actions are listed but refused." in help_text
        assert "create-admin" in help_text  # the actions are still listed

    entries = audit_entries(loaded)
    assert [e["action"] for e in entries] == [
        "migrate", "container.restart", "sync.trigger", "admin.create",
    ]  # fmt: skip
    assert {e["outcome"] for e in entries} == {"refused"}
    assert all("read-only" in e["detail"] for e in entries)
    assert db_revisions(demo_db_url) == [DEMO_TARGET]


async def test_create_admin_with_a_masked_password(make_config: Any, demo_db_url: str) -> None:
    loaded = make_config()
    email = "oncall.admin@example.com"
    app = real_app(loaded)
    seen: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminsScreen), "the admins screen")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminFormScreen), "the form")
        await pilot.press(*email, "enter", *"On Call", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), "the password form")

        # too short first: the error is shown, the password is not
        await pilot.press(*"short", "enter", *"short", "enter")
        assert isinstance(app.screen, PasswordScreen)
        assert "at least 12 characters" in screen_text(app)
        first = app.screen.query_one("#password-first", Input)
        first.value = ""
        first.focus()
        await pilot.press(*PASSWORD, "enter", *PASSWORD)
        seen.append(screen_text(app))
        seen.append(app.export_screenshot())
        assert "•" in seen[0]  # masked
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        seen.append(screen_text(app))
        assert f"create admin user {email}" in seen[-1]
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        seen.append(screen_text(app))
        seen.append(app.export_screenshot())
        assert run.result is not None and run.result.ok, run.status_text()
        assert f"Created admin user {email}" in run.status_text()
        await pilot.press("escape")
        admins = app.screen
        assert isinstance(admins, AdminsScreen)
        table = admins.query_one(LiveTable)
        await wait_for(
            pilot,
            lambda: any(r[0] == email for r in table_rows(table).values()),
            "the new admin listed",
        )
        seen.append(screen_text(app))
        # no widget still holds the password
        for screen in app.screen_stack:
            assert all(PASSWORD not in w.value for w in screen.query(Input))

    for text in seen:
        assert PASSWORD not in text
    assert PASSWORD not in loaded.audit_log.read_text()
    entries = audit_entries(loaded)
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("admin.create", "ok"),
    ], json.dumps(entries)
    with psycopg.connect(to_libpq(demo_db_url)) as conn:
        row = conn.execute(
            "SELECT u.full_name, u.is_active, u.hashed_password, r.name FROM app.users u "
            "JOIN app.user_roles ur ON ur.user_id = u.id JOIN app.roles r ON r.id = ur.role_id "
            "WHERE u.email = %s",
            (email,),
        ).fetchone()
    assert row is not None
    assert row[0] == "On Call" and row[1] is True and row[3] == "admin"
    assert row[2].startswith("$2b$12$") and PASSWORD not in row[2]


async def restart_from_detail(pilot: Any, app: Any, name: str) -> None:
    """Dashboard loaded -> the container's detail screen -> R -> the confirmation."""
    await wait_loaded(pilot, app)
    app.open_container(name)
    await wait_for(
        pilot, lambda: isinstance(app.screen, ContainerDetailScreen), "the detail screen"
    )
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")


async def test_restart_a_container_from_its_detail_screen(
    make_config: Any, stack_containers: Any, make_container: Any
) -> None:
    extra = make_container()
    extra.reload()
    started_before = extra.attrs["State"]["StartedAt"]
    services = {**stack_containers.service_map, "extra": extra.name}
    loaded = make_config(**{"docker.services": services})
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await restart_from_detail(pilot, app, extra.name)
        shown = screen_text(app)
        assert f"docker restart {extra.name}" in shown
        assert "stopped and started again" in shown
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
        assert f"Restarted {extra.name}" in run.status_text()
        assert any(f"docker restart {extra.name}" in line for line in run.output)
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerDetailScreen)
    extra.reload()
    assert extra.attrs["State"]["Status"] == "running"
    assert extra.attrs["State"]["StartedAt"] != started_before
    entries = audit_entries(loaded)
    assert [(e["action"], e["outcome"]) for e in entries] == [("container.restart", "ok")]


async def test_stop_waiting_for_a_restarted_container_that_never_gets_healthy(
    make_config: Any, stack_containers: Any, make_container: Any
) -> None:
    sick = make_container(
        healthcheck={"test": ["CMD-SHELL", "exit 1"], "interval": 500_000_000, "retries": 1}
    )
    services = {**stack_containers.service_map, "extra": sick.name}
    loaded = make_config(**{"docker.services": services})
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await restart_from_detail(pilot, app, sick.name)
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionRunScreen), "the run screen")
        run = app.screen
        assert isinstance(run, ActionRunScreen)
        await wait_for(
            pilot, lambda: any("docker restart" in line for line in run.output), "the restart"
        )
        assert not run.finished and "Stop waiting" in screen_text(app)
        await pilot.press("escape")  # cannot close a running action; it says how to stop
        assert app.screen is run
        await pilot.press("x")
        await wait_for(pilot, lambda: run.finished, "the action to stop waiting", timeout=30)
        assert run.result is not None and not run.result.ok
        assert "Stopped waiting after" in run.status_text()
        assert "Stop waiting" not in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerDetailScreen)
    entries = audit_entries(loaded)
    assert [(e["action"], e["outcome"]) for e in entries] == [("container.restart", "failed")]
    assert entries[0]["detail"].startswith("Stopped waiting")


async def test_sync_form_confirm_and_trigger(make_config: Any, stack_containers: Any) -> None:
    loaded = make_config()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncFormScreen), "the sync form")
        form = app.screen
        assert isinstance(form, SyncFormScreen)
        await pilot.click("#acc-fbe")
        pages = form.query_one("#sync-max-pages", Input)
        pages.value = "0"
        await pilot.click("#sync-form-ok")
        assert isinstance(app.screen, SyncFormScreen)  # invalid: stays, says why
        assert "max pages must be an integer >= 1" in screen_text(app)
        pages.value = "2"
        form.query_one("#sync-wait", Checkbox).value = False
        pages.focus()
        await pilot.press("enter")  # submits the form, like the Next button
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) or bool(audit_entries(loaded)),
            "the confirmation",
        )
        assert isinstance(app.screen, ConfirmScreen), audit_entries(loaded)
        shown = screen_text(app)
        assert "account_type=fbe, max_pages_per_account=2" in shown
        assert "unhealthy" in shown  # the worker's state is a warning on the plan
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
        assert "triggered; not waiting" in run.status_text()
    entries = audit_entries(loaded)
    assert [(e["action"], e["outcome"]) for e in entries] == [("sync.trigger", "ok")]
    assert entries[0]["params"]["account"] == "fbe" and entries[0]["params"]["max_pages"] == 2


async def test_sync_form_with_the_api_strategy_offers_mode_and_inactive_offers(
    make_config: Any, fake_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFC_TUI_API_USER", fake_api.credentials.email)
    monkeypatch.setenv("MFC_TUI_API_PASSWORD", fake_api.credentials.password)
    loaded = make_config(**{
        "sync.strategy": "api",
        "api.username_env": "MFC_TUI_API_USER",
        "api.password_env": "MFC_TUI_API_PASSWORD",
    })  # fmt: skip
    before = len(fake_api.sync_requests)
    app = real_app(loaded)
    async with app.run_test(size=(80, 24)) as pilot:  # the form fits an 80x24 terminal
        await wait_loaded(pilot, app)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncFormScreen), "the sync form")
        form = app.screen
        assert isinstance(form, SyncFormScreen)
        await pilot.click("#acc-fbe")
        await pilot.click("#mode-incremental")
        await pilot.click("#sync-inactive")
        await pilot.click("#sync-wait")  # off: do not watch for the outcome
        await pilot.click("#sync-form-ok")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
    sent = fake_api.sync_requests[before:]
    assert [(b["account_type"], b["mode"], b["include_inactive"]) for b in sent] == [
        ("fbe", "incremental", True)
    ]
    entries = audit_entries(loaded)
    assert [(e["action"], e["outcome"]) for e in entries] == [("sync.trigger", "ok")]


async def test_actions_are_in_the_command_palette(make_config: Any) -> None:
    loaded = make_config()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await type_command(pilot, "Audit log", "Audit log")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit view")
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await type_command(pilot, "Migrate", "Migrate")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"apply {HEAD}" in screen_text(app)
        await pilot.press("escape")
    assert [(e["action"], e["outcome"]) for e in audit_entries(loaded)] == [
        ("migrate", "cancelled")
    ]


async def test_migrate_with_a_backup_first(make_config: Any, demo_db_url: str) -> None:
    loaded = make_config()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "M migrates with a backup" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), "back home")
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        shown = screen_text(app)
        assert "first: pg_dump backup of the database (locally)" in shown
        assert "No backup is taken" not in shown
        await pilot.press("escape")
    entries = audit_entries(loaded)
    assert [e["outcome"] for e in entries] == ["cancelled", "cancelled"]
    assert [e["params"]["backup"] for e in entries] == [False, True]
    assert db_revisions(demo_db_url) == [DEMO_TARGET]


async def test_reset_password_and_deactivate_from_the_admins_screen(
    make_config: Any, demo_db_url: str
) -> None:
    import bcrypt

    loaded = make_config()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AdminsScreen), "the admins screen")
        admins = app.screen
        assert isinstance(admins, AdminsScreen)
        table = admins.query_one(LiveTable)
        await wait_for(pilot, lambda: bool(admins.users), "the admins listed")
        email = admins.selected_email()
        assert email is not None

        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordScreen), "the password form")
        await pilot.press(*PASSWORD, "enter", *PASSWORD, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"reset the password of {email}" in screen_text(app)
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
        assert f"Password of {email} reset" in run.status_text()
        assert PASSWORD not in screen_text(app)
        await pilot.press("escape")

        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"is_active = false for {email}" in screen_text(app)
        await pilot.click("#confirm")
        run = await finished_run(pilot, app)
        assert run.result is not None and run.result.ok, run.status_text()
        await pilot.press("escape")
        key = next(k for k, u in admins.users.items() if u.email == email)
        await wait_for(pilot, lambda: table_rows(table)[key][2] == "no", "the user shown inactive")
    with psycopg.connect(to_libpq(demo_db_url)) as conn:
        row = conn.execute(
            "SELECT hashed_password, is_active FROM app.users WHERE email = %s", (email,)
        ).fetchone()
    assert row is not None and row[1] is False
    assert bcrypt.checkpw(PASSWORD.encode(), row[0].encode())
    assert PASSWORD not in loaded.audit_log.read_text()
    assert [(e["action"], e["outcome"]) for e in audit_entries(loaded)] == [
        ("admin.reset_password", "ok"),
        ("admin.deactivate", "ok"),
    ]
