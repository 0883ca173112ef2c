"""The TUI driven through every screen with Textual's pilot, against the planted stack.

``tour(...)`` visits the dashboard (each pane focused and copied, the one-off API
probe), the detail of every container (its log followed and copied), the migrations, the
sync runs with the planted run in full, Celery, the findings and the detail one opens,
help, the command palette, the error modal, and every action's form, confirmation
(cancelled once) and run screen: migrate, sync, restart, create admin, reset password;
then the audit log, the environments (every profile), and the console switched to the
standby profile (its dashboard and findings, from URLs that fail). Each screen is captured by the ``Recorder`` once what it reads has
arrived, so what is searched is what a user would have seen.
"""

from __future__ import annotations

from typing import Any

from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Checkbox, Input

from magflow_console.tui.messages import SOURCES
from magflow_console.tui.screens.action_run import ActionRunScreen
from magflow_console.tui.screens.admin_form import AdminFormScreen
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.audit import AuditScreen
from magflow_console.tui.screens.celery_detail import CeleryDetailScreen
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.dashboard import DashboardScreen
from magflow_console.tui.screens.environments import EnvironmentsScreen
from magflow_console.tui.screens.error import ErrorScreen
from magflow_console.tui.screens.findings import FindingsScreen
from magflow_console.tui.screens.help import HelpScreen
from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
from magflow_console.tui.screens.password import PasswordScreen
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.screens.sync_form import SyncFormScreen
from magflow_console.tui.widgets.log_view import LogView
from tests.e2e import planted as p
from tests.support.tui_capture import Recorder, widget_texts
from tests.tui.helpers import wait_for, wait_loaded
from tests.tui.palette import type_command

ADMIN_EMAIL = "tui-planted@example.com"


class Driver:
    def __init__(self, app: Any, pilot: Any, rec: Recorder, planted: p.Planted) -> None:
        self.app, self.pilot, self.rec, self.planted = app, pilot, rec, planted

    async def until(self, what: str, predicate: Any, timeout: float = 60.0) -> None:
        await wait_for(self.pilot, predicate, what, timeout)

    async def on(self, cls: type[Screen[Any]], timeout: float = 60.0) -> Any:
        await self.until(f"the {cls.__name__}", lambda: isinstance(self.app.screen, cls), timeout)
        return self.app.screen

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def copy(self, label: str, *, expect: bool = True) -> None:
        """``y`` on the current screen, then what it copied (``expect``: there is
        something to copy, so a notification says it was)."""
        before = len(self.rec.notes)
        await self.press("y")
        if expect:
            await self.until(f"{label}: the copy", lambda: len(self.rec.notes) > before, 30)
        else:
            await self.pilot.pause()
        self.rec.copied(label)

    def loaded(self, widget_id: str) -> bool:
        texts = widget_texts(self.app.screen.query_one(widget_id))
        return bool(texts) and not any("loading…" in t for t in texts)

    async def back_to(self, cls: type[Screen[Any]]) -> Any:
        await self.press("escape")
        return await self.on(cls)

    async def finished_run(self, label: str) -> ActionRunScreen:
        run = await self.on(ActionRunScreen)
        await self.until(f"{label} to finish", lambda: run.finished, 180)
        await self.pilot.pause()
        self.rec.capture(f"{label}: run")
        await self.copy(f"{label}: run output", expect=bool(run.output))
        assert run.result is not None and run.result.ok, f"{label}: {run.status_text()}"
        return run


async def dashboard(d: Driver) -> None:
    app = d.app
    await wait_loaded(d.pilot, app, timeout=120)

    def planted_result_read() -> bool:
        celery = app.store.celery
        return bool(celery and any("OperationalError" in r.summary for r in celery.results))

    await d.until("the planted Celery failure (read with the Redis password)", planted_result_read)
    assert app.store.redis is not None and app.store.redis.state == "ok"
    assert app.store.database is not None and app.store.database.state == "ok"
    d.rec.capture("dashboard")
    for key, pane in zip(
        "12345", ("containers", "migrations", "sync", "api", "celery"), strict=True
    ):
        await d.press(key)
        await d.pilot.pause()
        d.rec.capture(f"dashboard, {pane} pane focused")
        if pane in ("containers", "sync"):
            await d.copy(f"dashboard, {pane} row")
    before = len(d.rec.notes)
    await d.press("F")  # the API's /health/full, probed once
    await d.until(
        "the full API check", lambda: any("/health/full" in n for n in d.rec.notes[before:])
    )
    d.rec.capture("dashboard, full API check")


async def containers(d: Driver) -> None:
    await d.press("1", "enter")
    first = await d.on(ContainerDetailScreen)
    names = [first.container_name] + [
        n for n in d.app.backend.profile.docker.services.values() if n != first.container_name
    ]
    await d.press("escape")
    for name in names:
        await d.on(DashboardScreen)
        d.app.open_container(name)
        screen = await d.on(ContainerDetailScreen)
        log = screen.query_one(LogView)
        await d.until(
            f"{name}'s detail and log",
            lambda s=screen, lv=log: (
                s.info is not None and bool(lv.entries) and s.log_findings is not None
            ),
        )
        d.rec.capture(f"container {name}")
        await d.copy(f"container {name}, log lines")
        await d.back_to(DashboardScreen)


async def details(d: Driver) -> None:
    await d.press("2", "enter")
    await d.on(MigrationDetailScreen)
    await d.until("the migration detail", lambda: d.loaded("#migration-detail"))
    d.rec.capture("migration detail")
    await d.copy("migration detail")
    await d.back_to(DashboardScreen)

    await d.press("3", "enter")
    sync = await d.on(SyncDetailScreen)
    await d.until(
        "the planted run in full",
        lambda: sync.current_run is not None and sync.current_run.id == d.planted.run_id,
    )
    d.rec.capture("sync runs, the planted run")
    await d.copy("sync runs, the planted run")
    await d.press("s")  # the status filter: failed runs
    await d.until(
        "failed runs",
        lambda: (
            sync.status is not None
            and sync.current_run is not None
            and sync.current_run.id != d.planted.run_id
        ),
    )
    d.rec.capture("sync runs, failed")
    await d.back_to(DashboardScreen)

    await d.press("5", "enter")
    await d.on(CeleryDetailScreen)
    await d.until("the Celery detail", lambda: d.loaded("#celery-detail"))
    d.rec.capture("Celery detail")
    await d.copy("Celery detail")
    await d.back_to(DashboardScreen)

    await d.press("d")
    findings = await d.on(FindingsScreen)
    await d.until("the findings with the logs read", lambda: findings.logs_state == "read", 120)
    await d.pilot.pause()
    d.rec.capture("findings")
    await d.copy("findings, the first")
    before = len(d.rec.notes)
    await d.press("enter")
    await d.until(
        "the finding's detail",
        lambda: not isinstance(d.app.screen, FindingsScreen) or len(d.rec.notes) > before,
    )
    await d.pilot.pause(0.5)
    d.rec.capture("the first finding opened")
    while not isinstance(d.app.screen, DashboardScreen):
        await d.press("escape")
        await d.pilot.pause()


async def help_palette_error(d: Driver) -> None:
    await d.press("question_mark")
    await d.on(HelpScreen)
    d.rec.capture("help")
    await d.back_to(DashboardScreen)

    await d.press("ctrl+p")
    await d.on(CommandPalette)
    await d.until(
        "the palette's commands", lambda: "Open sync runs" in "\n".join(widget_texts(d.app.screen))
    )
    d.rec.capture("command palette")
    await type_command(d.pilot, "Open sync runs", "Open sync runs")
    d.rec.capture("command palette, a command typed")
    await d.press("enter")
    await d.on(SyncDetailScreen)
    await d.back_to(DashboardScreen)

    planted = d.planted

    def fails() -> None:  # a background task failing with the secrets in its message
        raise RuntimeError(
            f"could not connect to {planted.tui_db_url} nor {planted.redis_url} "
            f"(password={p.API_PASSWORD})"
        )

    d.app.run_worker(fails, name="planted failure", thread=True, exit_on_error=False)
    await d.on(ErrorScreen)
    d.rec.capture("error modal")
    await d.copy("error modal, details")
    await d.back_to(DashboardScreen)


async def confirm_then_cancel(
    d: Driver, label: str, keys: tuple[str, ...], back: type[Screen[Any]]
) -> None:
    await d.press(*keys)
    await d.on(ConfirmScreen)
    d.rec.capture(f"{label}: confirmation")
    await d.back_to(back)


async def sync_form(d: Driver, label: str) -> None:
    await d.press("s")
    form = await d.on(SyncFormScreen)
    form.query_one("#sync-wait", Checkbox).value = False  # the outcome is not watched
    d.rec.capture(f"{label}: form")
    await d.pilot.click("#sync-form-ok")
    await d.on(ConfirmScreen)
    d.rec.capture(f"{label}: confirmation")


async def actions(d: Driver) -> None:
    await confirm_then_cancel(d, "migrate (cancelled)", ("m",), DashboardScreen)
    await d.press("m")
    await d.on(ConfirmScreen)
    await d.pilot.click("#confirm")
    await d.finished_run("migrate")
    await d.back_to(DashboardScreen)

    await sync_form(d, "sync (cancelled)")
    await d.back_to(DashboardScreen)
    await sync_form(d, "sync")
    await d.pilot.click("#confirm")
    await d.finished_run("sync")
    await d.back_to(DashboardScreen)

    extra = d.planted.extra.name
    d.app.open_container(extra)
    await d.on(ContainerDetailScreen)
    await confirm_then_cancel(d, "restart (cancelled)", ("R",), ContainerDetailScreen)
    await d.press("R")
    await d.on(ConfirmScreen)
    await d.pilot.click("#confirm")
    await d.finished_run("restart")
    await d.back_to(ContainerDetailScreen)
    await d.back_to(DashboardScreen)


async def admin_form(d: Driver, label: str, password: str) -> None:
    await d.press("A")
    await d.on(AdminFormScreen)
    await d.press(*ADMIN_EMAIL, "enter", *"Planted Oncall")
    d.rec.capture(f"{label}: form")
    await d.press("enter")
    await password_form(d, label, password)


async def password_form(d: Driver, label: str, password: str) -> None:
    await d.on(PasswordScreen)
    await d.press(*password, "enter", *password)
    d.rec.capture(f"{label}: password typed")
    await d.press("enter")
    await d.on(ConfirmScreen)
    d.rec.capture(f"{label}: confirmation")


async def admins(d: Driver) -> None:
    await d.press("a")
    screen = await d.on(AdminsScreen)
    await d.until("the admins", lambda: bool(screen.users))
    d.rec.capture("admins")
    await d.copy("admins, a row")
    await admin_form(d, "create admin (cancelled)", p.ADMIN_PASSWORD_TUI)
    await d.back_to(AdminsScreen)
    await admin_form(d, "create admin", p.ADMIN_PASSWORD_TUI)
    await d.pilot.click("#confirm")
    await d.finished_run("create admin")
    await d.back_to(AdminsScreen)
    await d.until(
        "the new admin listed", lambda: any(u.email == ADMIN_EMAIL for u in screen.users.values())
    )
    d.rec.capture("admins, after the create")
    await d.press("P")  # the selected (first) admin's password
    await password_form(d, "reset password", p.RESET_PASSWORD_TUI)
    await d.pilot.click("#confirm")
    await d.finished_run("reset password")
    await d.back_to(AdminsScreen)
    for s in d.app.screen_stack:
        assert all(w.value != p.RESET_PASSWORD_TUI for w in s.query(Input)), "a form kept it"
    await d.back_to(DashboardScreen)

    await d.press("L")
    audit = await d.on(AuditScreen)
    await d.until("the audit entries", lambda: len(audit.rows) >= 8)
    d.rec.capture("audit log")
    await d.copy("audit log, a row")
    await d.back_to(DashboardScreen)


async def environments(d: Driver) -> None:
    """Every profile's line (the standby's, read in its own thread, is an error from
    URLs carrying the passwords); then the console switched to the standby profile."""
    await d.press("e")
    screen = await d.on(EnvironmentsScreen)
    await d.until("the standby profile read", lambda: p.STANDBY in screen.lines, 60)
    await d.pilot.pause()
    d.rec.capture("environments")
    await d.press("down")  # the standby profile, listed second
    await d.until("the standby row selected", lambda: screen.selected() == p.STANDBY)
    await d.press("enter")
    await d.until(
        "the standby profile's dashboard",
        lambda: (
            d.app.backend.profile_name == p.STANDBY
            and isinstance(d.app.screen, DashboardScreen)
            and all(s in d.app.store.snapshots for s in SOURCES)
        ),
        60,
    )
    database = d.app.store.database
    assert database is not None and database.state == "error", database
    await d.pilot.pause()
    d.rec.capture("dashboard, the standby profile")
    await d.press("d")
    findings = await d.on(FindingsScreen)
    await d.until("the standby's findings", lambda: findings.logs_state == "read", 120)
    await d.pilot.pause()
    d.rec.capture("findings, the standby profile")
    await d.copy("findings, the standby profile")


async def tour(app: Any, pilot: Any, rec: Recorder, planted: p.Planted) -> None:
    d = Driver(app, pilot, rec, planted)
    await dashboard(d)
    await containers(d)
    await details(d)
    await help_palette_error(d)
    await actions(d)
    await admins(d)
    await environments(d)
    rec.notifications()
