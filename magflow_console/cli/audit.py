"""``audit``: the newest entries of the audit log (every action attempt)."""

from __future__ import annotations

import argparse

from magflow_console.cli.common import EXIT_OK, Subcommands, add_command, load, positive_int


def cmd_audit(args: argparse.Namespace) -> int:
    from magflow_console.actions.audit_view import audit_rows, format_table
    from magflow_console.cli import jsonout

    rows = audit_rows(load(args).audit_log, args.limit)
    if args.json:
        jsonout.print_json(
            {"entries": [r.entry for r in rows], "skipped": rows.skipped, "error": rows.error}
        )
    else:
        for line in format_table(rows):
            print(line)
    return EXIT_OK


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    au = add_command(sub, common, "audit", cmd_audit, "the newest audit-log entries")
    au.add_argument("--json", action="store_true")
    au.add_argument("--limit", type=positive_int, default=50, metavar="N")
