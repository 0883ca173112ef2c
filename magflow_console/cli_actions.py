"""Headless action commands: shared confirmation policy and registration.

The commands themselves live in ``cli_migrate.py`` (migrate, restart/stop/start)
and ``cli_admin.py`` (admin ..., sync). They all confirm through ``confirm()``:

- ``--yes`` confirms; without it, a TTY is asked, and without a TTY the action is
  refused (exit 3);
- on a ``protected`` profile the profile name must be typed, or given with
  ``--confirm NAME`` next to ``--yes``: ``--yes`` alone is not enough there.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult

EXIT_REFUSED = 3


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


def run_confirmed(ctx: ActionContext, plan: ActionPlan, args: argparse.Namespace, run: Any) -> int:
    """Confirm, execute, print the result; exit code 0 ok, 2 failed, 3 refused/cancelled."""
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


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    for module_name in ("cli_migrate", "cli_admin"):
        try:
            module = __import__(f"magflow_console.{module_name}", fromlist=["register"])
        except ImportError:
            continue
        module.register(sub, common)
