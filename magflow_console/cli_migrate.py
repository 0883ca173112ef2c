"""Headless ``migrate`` and ``restart`` / ``stop`` / ``start``.

Exit codes: 0 ok (also "nothing to do"), 2 failed, 3 refused, cancelled or usage.
The plan goes to stderr, live output and the result to stdout (failures to stderr).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.cli_actions import add_confirm_options, emit, refused, run_confirmed


def _context(args: argparse.Namespace) -> tuple[ActionContext, Any]:
    from magflow_console.backend import Backend
    from magflow_console.cli import load

    loaded = load(args)
    return ActionContext.from_config(loaded, emit=emit), Backend(loaded)


def _noop(ctx: ActionContext, plan: ActionPlan, message: str) -> int:
    """Nothing would change: no confirmation, but still guarded (read-only) and audited."""
    try:
        result = ctx.execute(plan, lambda: ActionResult(True, message))
    except ActionRefused as exc:
        return refused(exc)
    print(f"OK: {result.message}")
    return result.exit_code


def _plan_and_run(
    args: argparse.Namespace,
    make_plan: Callable[[ActionContext, Any], ActionPlan],
    is_noop: Callable[[ActionPlan], bool],
    make_runner: Callable[[ActionContext, Any, ActionPlan], Callable[[], ActionResult]],
) -> int:
    """Pre-flight, then: nothing to do (audited, no confirmation), or confirm and run."""
    ctx, backend = _context(args)
    try:
        try:
            plan = make_plan(ctx, backend)
        except ActionRefused as exc:
            return refused(exc)
        if is_noop(plan):
            return _noop(ctx, plan, plan.changes[0].replace("nothing: ", "Nothing to do: ", 1))
        return run_confirmed(ctx, plan, args, make_runner(ctx, backend, plan))
    finally:
        backend.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    from magflow_console.actions import migrate

    return _plan_and_run(
        args,
        lambda ctx, backend: migrate.plan_migrate(ctx, backend, target=args.to, backup=args.backup),
        migrate.is_noop,
        migrate.migrate_runner,
    )


def _container_command(verb: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from magflow_console.actions import containers

        return _plan_and_run(
            args,
            lambda ctx, backend: containers.plan_container(
                ctx, backend, verb, args.service, wait_seconds=args.wait
            ),
            containers.is_noop,
            containers.container_runner,
        )

    return handler


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "migrate",
        help="alembic upgrade (container or local strategy), with pre-flight checks",
        description="Show the pending revisions, confirm, run alembic upgrade, re-read the "
        "database. Exit 0 ok or nothing to do, 2 failed, 3 refused/cancelled.",
        parents=[common],
    )
    p.add_argument("--to", metavar="REV", default=None, help="target revision (default: head)")
    p.add_argument("--backup", action="store_true", help="pg_dump the database first")
    add_confirm_options(p)
    p.set_defaults(func=cmd_migrate)
    helps = {
        "restart": "restart a stack container (service name or container name)",
        "stop": "stop a stack container",
        "start": "start a stack container",
    }
    for verb, text in helps.items():
        p = sub.add_parser(verb, help=text, description=text, parents=[common])
        p.add_argument("service", metavar="SERVICE", help="app, worker, beat, db, redis, ...")
        p.add_argument(
            "--wait",
            type=float,
            default=90.0,
            metavar="SECONDS",
            help="how long to wait for the container to be running/healthy (default 90)",
        )
        add_confirm_options(p)
        p.set_defaults(func=_container_command(verb))
