"""The confirmation policy of every headless action, and how an action is run.

Every action command (``migrate``, ``restart``/``stop``/``start``, ``admin``, ``sync``)
confirms through ``confirm()``:

- ``--yes`` confirms; without it, a TTY is asked, and without a TTY the action is
  refused (exit 3);
- on a ``protected`` profile the profile name must be typed, or given with
  ``--confirm NAME`` next to ``--yes``: ``--yes`` alone is not enough there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from magflow_console.cli.common import EXIT_REFUSED, load

if TYPE_CHECKING:
    from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
    from magflow_console.backend import Backend


def add_confirm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--confirm",
        metavar="PROFILE",
        help="on a protected profile, its name (required with --yes there)",
    )


def print_plan(ctx: ActionContext, plan: ActionPlan) -> None:
    err = sys.stderr
    prot = " [PROTECTED]" if ctx.profile.protected else ""
    print(f"Profile:   {ctx.profile_name}{prot}", file=err)
    print(f"Operation: {plan.operation}", file=err)
    for line in plan.changes:
        print(f"  will change: {line}", file=err)
    for line in plan.warnings:
        print(f"  WARNING: {line}", file=err)


def confirm(ctx: ActionContext, plan: ActionPlan, args: argparse.Namespace) -> bool:
    """True when the user confirmed; audits a cancellation. Raises ActionRefused."""

    ctx.check_allowed(plan)
    print_plan(ctx, plan)
    word = ctx.confirmation_word()
    if getattr(args, "yes", False):
        if word is None or getattr(args, "confirm", None) == word:
            return True
        raise ctx.refuse(
            plan,
            f"Profile '{ctx.profile_name}' is protected: add --confirm {ctx.profile_name} to --yes.",
        )
    if not sys.stdin.isatty():
        raise ctx.refuse(plan, "No TTY to confirm on and no --yes: refused.")
    expected = word or "yes"
    try:
        answer = input(f"Type '{expected}' to proceed (anything else cancels): ")
    except EOFError:
        answer = ""
    if answer.strip() == expected:
        return True
    ctx.cancelled(plan)
    print("Cancelled.", file=sys.stderr)
    return False


def emit(line: str) -> None:
    """Live output of a headless action: straight to stdout."""
    print(line, flush=True)


def refused(exc: ActionRefused) -> int:
    """The one way a headless action reports a refusal: a line on stderr, exit 3."""
    print(f"refused: {exc}", file=sys.stderr)
    return EXIT_REFUSED


def run_confirmed(
    ctx: ActionContext, plan: ActionPlan, args: argparse.Namespace, run: Callable[[], ActionResult]
) -> int:
    """Confirm, execute, print the result; exit code 0 ok, 2 failed, 3 refused/cancelled."""
    from magflow_console.actions.guard import ActionRefused

    try:
        if not confirm(ctx, plan, args):
            return EXIT_REFUSED
        result: ActionResult = ctx.execute(plan, run)
    except ActionRefused as exc:
        return refused(exc)
    stream = sys.stdout if result.ok else sys.stderr
    print(("OK: " if result.ok else "FAILED: ") + result.message, file=stream)
    for line in result.details:
        print(f"  {line}", file=stream)
    return result.exit_code


def action_context(args: argparse.Namespace) -> ActionContext:
    """The profile's action context; live output goes to stdout (``emit``)."""
    from magflow_console.actions.guard import ActionContext

    return ActionContext.from_config(load(args), emit=emit)


def noop(ctx: ActionContext, plan: ActionPlan, message: str) -> int:
    """Nothing would change: no confirmation, but still guarded (read-only) and audited."""
    from magflow_console.actions.guard import ActionRefused, ActionResult

    try:
        result = ctx.execute(plan, lambda: ActionResult(True, message))
    except ActionRefused as exc:
        return refused(exc)
    print(f"OK: {result.message}")
    return result.exit_code


def plan_and_run(
    args: argparse.Namespace,
    make_plan: Callable[[ActionContext, Backend], ActionPlan],
    is_noop: Callable[[ActionPlan], bool],
    make_runner: Callable[[ActionContext, Backend, ActionPlan], Callable[[], ActionResult]],
) -> int:
    """Pre-flight, then: nothing to do (audited, no confirmation), or confirm and run."""
    from magflow_console.actions.guard import ActionContext, ActionRefused
    from magflow_console.backend import Backend

    loaded = load(args)
    ctx, backend = ActionContext.from_config(loaded, emit=emit), Backend(loaded)
    try:
        try:
            plan = make_plan(ctx, backend)
        except ActionRefused as exc:
            return refused(exc)
        if is_noop(plan):
            return noop(ctx, plan, plan.changes[0].replace("nothing: ", "Nothing to do: ", 1))
        return run_confirmed(ctx, plan, args, make_runner(ctx, backend, plan))
    finally:
        backend.close()
