"""Headless commands: ``admin create|reset-password|deactivate|list``, ``sync``, ``audit``.

Exit codes: 0 ok, 2 failed, 3 refused / cancelled / usage. Passwords are never taken as
arguments: typed twice on a TTY (``getpass``) or read as one line with ``--password-stdin``.
No Textual import.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.cli_actions import (
    EXIT_REFUSED,
    add_confirm_options,
    emit,
    refused,
    run_confirmed,
)

EXIT_OK, EXIT_FAILED = 0, 2


def _context(args: argparse.Namespace) -> ActionContext:
    from magflow_console.cli import load

    return ActionContext.from_config(load(args), emit=emit)


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

    ctx = _context(args)
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

    ctx = _context(args)
    try:
        plan = admins.plan_reset_password(ctx, args.email)
        password = _password_or_refuse(ctx, plan, args)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(ctx, plan, args, lambda: admins.run_reset_password(ctx, plan, password))


def cmd_admin_deactivate(args: argparse.Namespace) -> int:
    from magflow_console.actions import admins  # lazy: keeps the headless start light

    ctx = _context(args)
    try:
        plan = admins.plan_deactivate_admin(ctx, args.email)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(ctx, plan, args, lambda: admins.run_deactivate_admin(ctx, plan))


def cmd_admin_list(args: argparse.Namespace) -> int:
    from magflow_console import jsonout, output
    from magflow_console.backend import Backend
    from magflow_console.cli import load
    from magflow_console.models import to_jsonable

    backend = Backend(load(args))
    try:
        snap = backend.admins()
    finally:
        backend.close()
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
            f"{u.id:>5}  {output.clean(u.email):<36} {output.clean(u.full_name or ''):<24} "
            f"{', '.join(f for f in flags if f)}; last login {last}; "
            f"failed logins {u.failed_login_attempts}"
        )
    from magflow_console.diagnose import rules

    output.print_findings(output.console(), rules.admin_findings(snap))
    return EXIT_OK


# --------------------------------------------------------------------------- sync


def cmd_sync(args: argparse.Namespace) -> int:
    from magflow_console.actions import sync
    from magflow_console.actions.sync_request import SyncRequest

    ctx = _context(args)
    req = SyncRequest(
        account=args.account,
        max_pages=args.max_pages,
        mode=args.mode,
        items_per_page=args.items_per_page,
        include_inactive=args.include_inactive,
        run_async=not args.sync_call,
        strategy=args.strategy,
    )
    try:
        plan = sync.plan_sync(ctx, req)
    except ActionRefused as exc:
        return refused(exc)
    return run_confirmed(
        ctx, plan, args, lambda: sync.run_sync(ctx, plan, req, wait=args.wait, timeout=args.timeout)
    )


# --------------------------------------------------------------------------- audit


def cmd_audit(args: argparse.Namespace) -> int:
    from magflow_console import jsonout
    from magflow_console.actions.audit_view import audit_rows, format_table
    from magflow_console.cli import load

    rows = audit_rows(load(args).audit_log, args.limit)
    if args.json:
        jsonout.print_json({"entries": [r.entry for r in rows]})
    else:
        for line in format_table(rows):
            print(line)
    return EXIT_OK


# --------------------------------------------------------------------------- registration


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def _positive_float(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return n


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "admin", help="MagFlow admin users: create, reset-password, deactivate, list",
        parents=[common],
    )  # fmt: skip
    actions = p.add_subparsers(title="actions", metavar="ACTION", dest="admin_action")
    actions.required = True

    def add(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(
            name, help=help, description=help, parents=[common]
        )
        a.set_defaults(func=func)
        return a

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

    s = sub.add_parser(
        "sync", help="trigger an eMAG product sync (celery or api) and watch its outcome",
        parents=[common],
    )  # fmt: skip
    s.set_defaults(func=cmd_sync)
    s.add_argument("--account", required=True, choices=["main", "fbe", "both"])
    s.add_argument("--max-pages", type=_positive_int, default=5, metavar="N")
    s.add_argument("--wait", action="store_true", help="wait for the outcome (exit 2 on failure)")
    s.add_argument(
        "--timeout", type=_positive_float, default=None, metavar="S", help="watch timeout"
    )
    s.add_argument("--strategy", choices=["celery", "api"], default=None)
    s.add_argument("--mode", choices=["full", "incremental", "selective"], default="full")
    s.add_argument("--items-per-page", type=int, default=100, metavar="N", help="api: 1..100")
    s.add_argument("--include-inactive", action="store_true", help="api: include inactive offers")
    s.add_argument(
        "--sync-call", action="store_true", help="api: synchronous call (run_async=false)"
    )
    add_confirm_options(s)

    au = sub.add_parser("audit", help="the newest audit-log entries", parents=[common])
    au.set_defaults(func=cmd_audit)
    au.add_argument("--json", action="store_true")
    au.add_argument("--limit", type=_positive_int, default=50, metavar="N")
