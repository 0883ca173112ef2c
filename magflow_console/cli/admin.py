"""``admin create|reset-password|deactivate|list``: MagFlow's admin users.

Exit codes: 0 ok, 2 failed, 3 refused / cancelled / usage. Passwords are never taken as
arguments: typed twice on a TTY (``getpass``) or read as one line with ``--password-stdin``.
No Textual import.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from magflow_console.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Handler,
    Subcommands,
    add_command,
    read,
)
from magflow_console.cli.confirm import (
    action_context,
    add_confirm_options,
    refused,
    run_confirmed,
)
from magflow_console.render.text import clean

if TYPE_CHECKING:
    from magflow_console.actions.guard import ActionContext, ActionPlan


def read_password(args: argparse.Namespace) -> str:
    """One stdin line with --password-stdin; else typed twice on a TTY. Raises InvalidInput."""
    from magflow_console.actions import admins  # lazy: keeps the headless start light

    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
        admins.check_password(password)
        return password
    if not sys.stdin.isatty():
        raise admins.InvalidInput("No TTY to type the password on: use --password-stdin.")
    first = getpass.getpass("New password: ")
    second = getpass.getpass("Repeat the password: ")
    admins.check_password(first, second)
    return first


def _password_or_refuse(ctx: ActionContext, plan: ActionPlan, args: argparse.Namespace) -> str:
    from magflow_console.actions import admins  # lazy: keeps the headless start light

    try:
        return read_password(args)
    except admins.InvalidInput as exc:
        raise ctx.refuse(plan, str(exc)) from None
    except (EOFError, KeyboardInterrupt):
        raise ctx.refuse(plan, "No password was entered.") from None


# --------------------------------------------------------------------------- admin


def cmd_admin_create(args: argparse.Namespace) -> int:
    from magflow_console.actions import admins  # lazy: keeps the headless start light
    from magflow_console.actions.guard import ActionRefused, ActionResult

    ctx = action_context(args)
    try:
        plan = admins.plan_create_admin(ctx, args.email, args.full_name)
        if plan.params.get("exists"):
            email = plan.params["email"]
            result = ctx.execute(
                plan,
                lambda: ActionResult(
                    True, f"Admin user {email} already exists: nothing changed.", plan.warnings
                ),
            )
            print("OK: " + result.message)
            return result.exit_code
        password = _password_or_refuse(ctx, plan, args)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(ctx, plan, args, lambda: admins.run_create_admin(ctx, plan, password))


def cmd_admin_reset_password(args: argparse.Namespace) -> int:
    from magflow_console.actions import admins  # lazy: keeps the headless start light
    from magflow_console.actions.guard import ActionRefused

    ctx = action_context(args)
    try:
        plan = admins.plan_reset_password(ctx, args.email)
        password = _password_or_refuse(ctx, plan, args)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(ctx, plan, args, lambda: admins.run_reset_password(ctx, plan, password))


def cmd_admin_deactivate(args: argparse.Namespace) -> int:
    from magflow_console.actions import admins  # lazy: keeps the headless start light
    from magflow_console.actions.guard import ActionRefused

    ctx = action_context(args)
    try:
        plan = admins.plan_deactivate_admin(ctx, args.email)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(ctx, plan, args, lambda: admins.run_deactivate_admin(ctx, plan))


def cmd_admin_list(args: argparse.Namespace) -> int:
    from magflow_console.cli import jsonout, tables
    from magflow_console.models import to_jsonable

    snap = read(args, lambda backend: backend.admins())
    if snap.state == "error":
        print(f"admin list: {snap.error}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        jsonout.print_json({"admins": to_jsonable(snap.items)})
        return EXIT_OK
    if not snap.items:
        print("(no admin users)")
    for u in snap.items:
        flags = [
            "active" if u.is_active else "INACTIVE",
            "" if u.password_hash_ok else "HASH NOT BCRYPT",
            "superuser" if u.is_superuser else "",
            "role admin" if u.has_admin_role else "no admin role",
            "" if u.email_verified else "unverified",
        ]
        last = u.last_login.strftime("%Y-%m-%d %H:%M") if u.last_login else "never"
        print(
            f"{u.id:>5}  {clean(u.email):<36} {clean(u.full_name or ''):<24} "
            f"{', '.join(f for f in flags if f)}; last login {last}; "
            f"failed logins {u.failed_login_attempts}"
        )
    from magflow_console.diagnose import rules

    tables.print_findings(tables.console(), rules.admin_findings(snap))
    return EXIT_OK


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "admin", help="MagFlow admin users: create, reset-password, deactivate, list",
        parents=[common],
    )  # fmt: skip
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="admin_action")
    actions.required = True

    def add(name: str, func: Handler, help: str) -> argparse.ArgumentParser:
        return add_command(actions, common, name, func, help)

    a = add("create", cmd_admin_create, "create an admin user (password typed twice or stdin)")
    a.add_argument("--email", required=True)
    a.add_argument("--full-name", required=True)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add_confirm_options(a)
    a = add("reset-password", cmd_admin_reset_password, "set a new password for a user")
    a.add_argument("--email", required=True)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add_confirm_options(a)
    a = add("deactivate", cmd_admin_deactivate, "deactivate a user (is_active = false)")
    a.add_argument("--email", required=True)
    add_confirm_options(a)
    a = add("list", cmd_admin_list, "admin users (superusers or role admin); never hashes")
    a.add_argument("--json", action="store_true")
