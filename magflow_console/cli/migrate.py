"""``migrate``: Alembic upgrade (in the app container, or locally) after a pre-flight.

Exit codes: 0 ok (also "nothing to do"), 2 failed, 3 refused, cancelled or usage.
The plan goes to stderr, live output and the result to stdout (failures to stderr).
"""

from __future__ import annotations

import argparse

from magflow_console.cli.common import Subcommands, add_command
from magflow_console.cli.confirm import add_confirm_options, plan_and_run


def cmd_migrate(args: argparse.Namespace) -> int:
    from magflow_console.actions import migrate

    return plan_and_run(
        args,
        lambda ctx, backend: migrate.plan_migrate(ctx, backend, target=args.to, backup=args.backup),
        migrate.is_noop,
        migrate.migrate_runner,
    )


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub,
        common,
        "migrate",
        cmd_migrate,
        "alembic upgrade (container or local strategy), with pre-flight checks",
    )
    p.description = (
        "Show the pending revisions, confirm, run alembic upgrade, re-read the "
        "database. Exit 0 ok or nothing to do, 2 failed, 3 refused/cancelled."
    )
    p.add_argument("--to", metavar="REV", default=None, help="target revision (default: head)")
    p.add_argument("--backup", action="store_true", help="pg_dump the database first")
    add_confirm_options(p)
