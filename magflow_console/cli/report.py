"""The read-only reports: ``info``, ``status``, ``doctor``, ``migrations``,
``containers`` and ``sync-logs`` (with ``--id``: one run in full).

Exit codes follow the monitoring-plugin convention (``common``): 0 ok, 1 warning,
2 critical, 3 unknown or usage/config error. ``--json`` prints one document and never
imports rich.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from magflow_console.cli.common import (
    EXIT_CRITICAL,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_WARNING,
    Handler,
    Subcommands,
    add_command,
    load,
    positive_float,
    read,
    section_out,
)

if TYPE_CHECKING:
    from rich.console import Console

    from magflow_console.backend import Backend
    from magflow_console.models import Finding, StatusReport


def cmd_info(args: argparse.Namespace) -> int:
    from magflow_console.cli.tables import console, print_info

    loaded = load(args)
    print_info(loaded)
    exposed = loaded.exposed_files()
    if exposed:
        from rich.text import Text

        con = console()
        for e in exposed:
            con.print(Text(f"Warning: {e.warning()}", style="bold yellow"))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    if args.all:
        from magflow_console.cli.environments import cmd_status_all

        return cmd_status_all(args)
    from magflow_console.config import check_database_url

    loaded = load(args, check_url=False)
    report = read(args, lambda b: b.status(checks=lambda: check_database_url(loaded)), loaded)
    if args.json:
        from magflow_console.cli import jsonout

        jsonout.print_json(jsonout.status_json(report))
    else:
        from magflow_console.cli.tables import print_status

        print_status(report)
    return int(report.verdict)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Every finding, worst first, with the next steps; beyond ``status`` also admin logins
    and what the containers' recent logs say (exit code as for ``status``, made worse by
    those findings)."""
    from magflow_console.diagnose import rules
    from magflow_console.diagnose.doctor import (
        doctor_verdict,
        extra_findings,
        secret_file_findings,
    )

    loaded = load(args)
    exposed = secret_file_findings(loaded.exposed_files())

    def fetch(b: Backend) -> tuple[StatusReport, list[Finding]]:
        report = b.status()
        admins = rules.admin_findings(b.admins())
        logs = b.log_findings(report.containers)
        return report, [*extra_findings(report, admins, logs), *exposed]

    report, admins = read(args, fetch, loaded)
    if args.json:
        from magflow_console.cli import jsonout
        from magflow_console.diagnose.doctor import advice_json

        jsonout.print_json(advice_json(report, admins))
    else:
        from magflow_console.cli.tables import print_advice

        print_advice(report, admins)
    return int(doctor_verdict(report, admins))


def cmd_migrations(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import rules

    snap = read(args, lambda b: b.migrations(check_db=not args.no_db))
    verdict = rules.verdict(rules.migration_findings(snap), [snap.state])
    from magflow_console.cli import tables

    return section_out(args, snap, verdict, lambda con: tables.print_migrations(snap, con))


def cmd_containers(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import app_settings, emag_env, rules

    snap = read(args, lambda b: b.containers())
    findings = (
        rules.container_findings(snap)
        + emag_env.env_findings(snap)
        + app_settings.app_findings(snap)
    )
    verdict = rules.verdict(findings, [snap.state])

    def human(con: Console) -> None:
        from magflow_console.cli import tables

        tables.print_containers(snap, con)
        tables.print_emag_accounts(snap, con)
        tables.print_findings(con, findings)

    return section_out(args, snap, verdict, human)


def cmd_sync_run(args: argparse.Namespace) -> int:
    """``sync-logs --id``: one run in full (the sync detail screen's headless twin).

    Exit code: 0 success, 1 completed with errors, 2 failed / 0 items / stale running,
    3 not found or database unreachable (one line on stderr)."""
    run, error = read(args, lambda b: (b.sync_run(args.id), b.sync_run_error))
    if run is None:
        why = error or f"no sync run with id {args.id!r} (a full id or a unique prefix of 6+)"
        print(f"magflow-console: {why}", file=sys.stderr)
        return EXIT_UNKNOWN
    if args.json:
        from magflow_console.cli import jsonout
        from magflow_console.models import to_jsonable

        jsonout.print_json(to_jsonable(run))
    else:
        from magflow_console.cli.tables import console
        from magflow_console.render.sync_run import run_text

        console().print(run_text(run))
    outcome = run.outcome or run.status
    if outcome in ("success", "running"):
        return EXIT_OK
    return EXIT_WARNING if outcome == "partial" else EXIT_CRITICAL


def cmd_sync_logs(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import rules

    if args.id:
        return cmd_sync_run(args)
    snap = read(args, lambda b: b.sync(account=args.account, status=args.status, limit=args.limit))
    findings = rules.sync_findings(snap)
    states = [snap.state]
    if snap.state == "error":
        from magflow_console.models import Finding

        findings = [Finding("database_unreachable", "critical", snap.error or "")]
        states = []
    verdict = rules.verdict(findings, states)
    from magflow_console.cli import tables

    return section_out(args, snap, verdict, lambda con: tables.print_sync(snap, con))


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    def add(name: str, func: Handler, help: str) -> argparse.ArgumentParser:
        return add_command(sub, common, name, func, help)

    add("info", cmd_info, "config files searched, active profile, every setting and its source")
    p = add(
        "status",
        cmd_status,
        "the whole stack in one look (exit 0 ok, 1 warning, 2 critical, 3 unknown)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--all",
        action="store_true",
        help="every profile of the config at once, one line each (exit code: the worst)",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=15.0,
        metavar="SECONDS",
        help="with --all: how long a profile may take before it is reported as not "
        "answering (default %(default)s)",
    )
    p = add(
        "doctor",
        cmd_doctor,
        "every finding, worst first, with what to do next (exit code as for status)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p = add("migrations", cmd_migrations, "Alembic scripts versus the database")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-db", action="store_true", help="analyse the scripts only")
    p = add("containers", cmd_containers, "the stack's containers")
    p.add_argument("--json", action="store_true")
    p = add("sync-logs", cmd_sync_logs, "eMAG sync runs and per-account statistics")
    p.add_argument("--json", action="store_true")
    p.add_argument("--account", help="main, fbe, ...")
    p.add_argument(
        "--status",
        choices=["running", "completed", "failed", "success", "partial", "empty", "stale_running"],
        help="a status, or an outcome (success, partial, empty, stale_running)",
    )
    p.add_argument("--limit", type=int, default=None, help="runs to list (default 50)")
    p.add_argument(
        "--id", metavar="RUN", help="show one run in full: its id or a unique prefix (6+)"
    )
