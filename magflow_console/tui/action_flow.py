"""The bridge between the TUI and the action layer: plan -> confirm -> run.

Same policy as the headless commands (``cli_actions``): the plan (pre-flight) runs in a
thread worker; a refusal (``ActionRefused``, already audited by the action layer) becomes
an error notification with the reason; a plan that would change nothing is executed at
once (guarded and audited) and its message shown; otherwise, for admin passwords, the
masked password form comes first, then ``ConfirmScreen`` (default Cancel; the profile
name typed on a protected profile). Cancelling is audited as ``cancelled``. A confirmed
plan goes to ``ActionRunScreen``, which runs ``ctx.execute(plan, runner)`` in a thread
worker with live output and refreshes the affected sources when it ends.

``ActionFlows`` is owned by the app (``app.flows``); the app's ``action_*`` methods hand
over to it, and screens bind keys to them as ``app.<action>`` (``m`` migrate (``M`` with
a backup first), ``s`` sync, ``R``/``S``/``T`` restart/stop/start, ``A`` create admin,
``P`` reset password, ``D`` deactivate), so they are also in the command palette. A
read-only profile still offers them: the action layer refuses (and audits) each one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.screen import ModalScreen, Screen

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.render.text import one_line

if TYPE_CHECKING:
    from magflow_console.actions.sync_request import SyncRequest
    from magflow_console.tui.app import MagflowApp
    from magflow_console.tui.screens.sync_form import SyncFormResult

Planner = Callable[[ActionContext], ActionPlan]
RunnerFactory = Callable[[ActionContext, ActionPlan, str | None], Callable[[], ActionResult]]


@dataclass(frozen=True)
class ActionFlow:
    """One kind of action as the TUI drives it."""

    planner: Planner
    make_runner: RunnerFactory
    noop: Callable[[ActionPlan], str | None] = lambda plan: None  # message when nothing to do
    password_for: str | None = None  # ask a new password (masked, twice) for this email
    confirm_label: str = "Confirm"
    refresh: tuple[str, ...] = ()  # refresh loops to run afterwards
    after: Callable[[], None] | None = None  # e.g. reload the admins screen


def nothing_message(plan: ActionPlan) -> str | None:
    """The migrate/container no-op plans: 'nothing: ...' becomes 'Nothing to do: ...'."""
    if not plan.params.get("noop"):
        return None
    first = plan.changes[0] if plan.changes else "nothing: no change"
    return first.replace("nothing: ", "Nothing to do: ", 1)


def confirm_lines(plan: ActionPlan) -> tuple[str, ...]:
    # the action layer words its hints for the CLI; say the TUI's key for the backup
    warnings = (w.replace("(add --backup)", "(M migrates with a backup)") for w in plan.warnings)
    return (*plan.changes, *(f"⚠ {w}" for w in warnings))


class ActionFlows:
    """The actions as the TUI drives them (migrate, sync, containers, admins)."""

    def __init__(self, app: MagflowApp) -> None:
        self.app = app

    # ------------------------------------------------------------------ the flow

    def action_context(self) -> ActionContext:
        return ActionContext.from_config(self.app.backend.loaded)

    def start(self, flow: ActionFlow) -> None:
        self.app.run_worker(
            lambda: self._plan(flow),
            name="action pre-flight",
            group="action:plan",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def guard(self, action: str, operation: str) -> bool:
        """Before a form: let the action layer refuse (read-only) up front; audited."""
        ctx = self.action_context()
        try:
            ctx.check_allowed(ActionPlan(action, operation, ()))
        except ActionRefused as exc:
            self.show_refused(str(exc))
            return False
        return True

    def _plan(self, flow: ActionFlow) -> None:
        ctx = self.action_context()
        try:
            plan = flow.planner(ctx)
            message = flow.noop(plan)
            if message is not None:
                result = ctx.execute(plan, lambda: ActionResult(True, message))
                self.app.call_from_thread(self._noop_done, flow, result)
                return
        except ActionRefused as exc:
            self.app.call_from_thread(self.show_refused, str(exc))
            return
        self.app.call_from_thread(self._plan_ready, ctx, plan, flow)

    def show_refused(self, reason: str) -> None:
        self.app.notify(one_line(reason), title="Refused", severity="error", timeout=12)

    def _noop_done(self, flow: ActionFlow, result: ActionResult) -> None:
        self.app.notify(one_line(result.message), title="Nothing to do", timeout=6)
        self._action_done(flow, result)

    def _plan_ready(self, ctx: ActionContext, plan: ActionPlan, flow: ActionFlow) -> None:
        from magflow_console.tui.screens.password import PasswordScreen

        if flow.password_for is None:
            self._confirm(ctx, plan, flow, None)
            return

        def got_password(password: str | None) -> None:
            if password is None:
                ctx.cancelled(plan, "no password entered")
                self.app.notify("Cancelled: no password entered.", timeout=4)
                return
            self._confirm(ctx, plan, flow, password)

        self.app.push_screen(PasswordScreen(flow.password_for), got_password)

    def _confirm(
        self, ctx: ActionContext, plan: ActionPlan, flow: ActionFlow, password: str | None
    ) -> None:
        from magflow_console.tui.screens.action_run import ActionRunScreen
        from magflow_console.tui.screens.confirm import ConfirmScreen

        def confirmed(ok: bool | None) -> None:
            if not ok:
                ctx.cancelled(plan)
                self.app.notify(f"Cancelled: {one_line(plan.operation, 80)}", timeout=4)
                return
            runner = flow.make_runner(ctx, plan, password)
            self.app.push_screen(
                ActionRunScreen(ctx, plan, runner, on_done=lambda r: self._action_done(flow, r))
            )

        self.app.push_screen(
            ConfirmScreen(
                plan.operation,
                profile=ctx.profile_name,
                changes=confirm_lines(plan),
                protected=ctx.profile.protected,
                confirm_label=flow.confirm_label,
            ),
            confirmed,
        )

    def _action_done(self, flow: ActionFlow, result: ActionResult | None) -> None:
        for loop in flow.refresh:
            self.app.loops.run(loop)
        if flow.after is not None:
            flow.after()

    def running(self) -> str | None:
        """The action under way, if any: its pre-flight, its password form or
        confirmation, or its run not yet finished (a profile switch waits for it)."""
        from textual.worker import WorkerState

        from magflow_console.tui.screens.action_run import ActionRunScreen
        from magflow_console.tui.screens.confirm import ConfirmScreen
        from magflow_console.tui.screens.password import PasswordScreen

        for worker in self.app.workers:
            if worker.group == "action:plan" and worker.state in (
                WorkerState.PENDING,
                WorkerState.RUNNING,
            ):
                return "An action's pre-flight"
        for screen in self.app.screen_stack:
            if isinstance(screen, ActionRunScreen) and not screen.finished:
                return one_line(screen.plan.operation, 60)
            if isinstance(screen, (ConfirmScreen, PasswordScreen)):
                return "An action waiting for its confirmation"
        return None

    # ------------------------------------------------------------------ targets

    def target_screen(self) -> Screen[Any]:
        """The screen an action was asked from (below the palette or any modal)."""
        for screen in reversed(self.app.screen_stack):
            if not isinstance(screen, ModalScreen):
                return screen
        return self.app.screen

    def selected_container(self) -> str | None:
        from magflow_console.tui.screens.container_detail import ContainerDetailScreen
        from magflow_console.tui.screens.dashboard import DashboardScreen
        from magflow_console.tui.widgets.containers_pane import ContainersPane

        screen = self.target_screen()
        if isinstance(screen, ContainerDetailScreen):
            return screen.container_name
        if isinstance(screen, DashboardScreen):
            return screen.query_one(ContainersPane).selected_name()
        return None

    def selected_admin(self) -> str | None:
        from magflow_console.tui.screens.admins import AdminsScreen

        screen = self.target_screen()
        return screen.selected_email() if isinstance(screen, AdminsScreen) else None

    def _reload_admins(self) -> None:
        from magflow_console.tui.screens.admins import AdminsScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, AdminsScreen):
                screen.reload()

    # ------------------------------------------------------------------ actions

    def migrate(self, backup: bool = False) -> None:
        from magflow_console.actions import migrate

        backend = self.app.backend
        self.start(
            ActionFlow(
                planner=lambda ctx: migrate.plan_migrate(ctx, backend, backup=backup),
                make_runner=lambda ctx, plan, _pw: migrate.migrate_runner(ctx, backend, plan),
                noop=nothing_message,
                confirm_label="Migrate",
                refresh=("database",),
            )
        )

    def container(self, verb: str) -> None:
        from magflow_console.actions import containers

        name = self.selected_container()
        if not name:
            self.app.notify("Select a container first (dashboard or its detail).", timeout=4)
            return
        backend = self.app.backend
        self.start(
            ActionFlow(
                planner=lambda ctx: containers.plan_container(ctx, backend, verb, name),
                make_runner=lambda ctx, plan, _pw: containers.container_runner(ctx, backend, plan),
                noop=nothing_message,
                confirm_label=verb.capitalize(),
                refresh=("containers",),
            )
        )

    def trigger_sync(self) -> None:
        from magflow_console.actions.sync_request import SyncRequest, strategy_of
        from magflow_console.tui.screens.sync_form import SyncFormScreen

        if not self.guard("sync.trigger", "eMAG product sync"):
            return
        strategy = strategy_of(self.action_context(), SyncRequest("main"))

        def chosen(result: SyncFormResult | None) -> None:
            if result is not None:
                self.start(sync_flow(result.request, result.wait))

        self.app.push_screen(SyncFormScreen(strategy=strategy), chosen)

    def create_admin(self) -> None:
        from magflow_console.actions import admins
        from magflow_console.tui.screens.admin_form import AdminFormResult, AdminFormScreen

        if not self.guard("admin.create", "create admin user"):
            return

        def chosen(result: AdminFormResult | None) -> None:
            if result is None:
                return
            email, full_name = result
            self.start(
                ActionFlow(
                    planner=lambda ctx: admins.plan_create_admin(ctx, email, full_name),
                    make_runner=lambda ctx, plan, pw: (
                        lambda: admins.run_create_admin(ctx, plan, pw or "")
                    ),
                    noop=lambda plan: (
                        f"Admin user {plan.params['email']} already exists: nothing changed."
                        if plan.params.get("exists")
                        else None
                    ),
                    password_for=email,
                    confirm_label="Create",
                    after=self._reload_admins,
                )
            )

        self.app.push_screen(AdminFormScreen(), chosen)

    def reset_password(self) -> None:
        from magflow_console.actions import admins

        email = self.selected_admin()
        if not email:
            self.app.notify("Select a user on the admins screen first.", timeout=4)
            return
        self.start(
            ActionFlow(
                planner=lambda ctx: admins.plan_reset_password(ctx, email),
                make_runner=lambda ctx, plan, pw: (
                    lambda: admins.run_reset_password(ctx, plan, pw or "")
                ),
                password_for=email,
                confirm_label="Reset",
                after=self._reload_admins,
            )
        )

    def deactivate_admin(self) -> None:
        from magflow_console.actions import admins

        email = self.selected_admin()
        if not email:
            self.app.notify("Select a user on the admins screen first.", timeout=4)
            return
        self.start(
            ActionFlow(
                planner=lambda ctx: admins.plan_deactivate_admin(ctx, email),
                make_runner=lambda ctx, plan, _pw: lambda: admins.run_deactivate_admin(ctx, plan),
                confirm_label="Deactivate",
                after=self._reload_admins,
            )
        )


def sync_flow(req: SyncRequest, wait: bool) -> ActionFlow:
    from magflow_console.actions import sync

    return ActionFlow(
        planner=lambda ctx: sync.plan_sync(ctx, req),
        make_runner=lambda ctx, plan, _pw: lambda: sync.run_sync(ctx, plan, req, wait=wait),
        confirm_label="Trigger",
        refresh=("sync",),
    )
