"""Headless ``migrate`` and ``restart`` / ``stop`` / ``start``.

Exit codes: 0 ok (also "nothing to do"), 2 failed, 3 refused, cancelled or usage.
The plan goes to stderr, live output and the result to stdout (failures to stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.cli_actions import EXIT_REFUSED, add_confirm_options, run_confirmed


def _emit(line: str) -> None:
    print(line, flush=True)


def _context(args: argparse.Namespace) -> tuple[ActionContext, Any]:
    from magflow_console.backend import Backend
    from magflow_console.cli import load

    loaded = load(args)
    return ActionContext.from_config(loaded, emit=_emit), Backend(loaded)


def _noop(ctx: ActionContext, plan: ActionPlan, message: str) -> int:
    """Nothing would change: no confirmation, but still guarded (read-only) and audited."""
    try:
        result = ctx.execute(plan, lambda: ActionResult(True, message))
    except ActionRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"OK: {result.message}")
    return result.exit_code


def cmd_migrate(args: argparse.Namespace) -> int:
    from magflow_console.actions import migrate

    ctx, backend = _context(args)
    try:
        try:
            plan = migrate.plan_migrate(ctx, backend, target=args.to, backup=args.backup)
        except ActionRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        if migrate.is_noop(plan):
            return _noop(ctx, plan, plan.changes[0].replace("nothing: ", "Nothing to do: ", 1))
        return run_confirmed(ctx, plan, args, migrate.migrate_runner(ctx, backend, plan))
    finally:
        backend.close()


def _container_command(verb: str) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from magflow_console.actions import containers

        ctx, backend = _context(args)
        try:
            try:
                plan = containers.plan_container(
                    ctx, backend, verb, args.service, wait_seconds=args.wait
                )
            except ActionRefused as exc:
                print(f"refused: {exc}", file=sys.stderr)
                return EXIT_REFUSED
            if containers.is_noop(plan):
                return _noop(ctx, plan, plan.changes[0].replace("nothing: ", "Nothing to do: ", 1))
            return run_confirmed(ctx, plan, args, containers.container_runner(ctx, backend, plan))
        finally:
            backend.close()

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
