"""``celery [--json]``: Celery, Redis and the order syncs in full (the Celery detail
screen's twin): the worker's task and since when, the retries waiting, the queues, the
recent results, Redis's memory and restarts, the orders per account, and the findings
about them. Read-only: nothing in Redis is written, popped or deleted.

Exit code as for ``status``, over these sections' findings.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from magflow_console.cli.common import Subcommands, add_command, read

if TYPE_CHECKING:
    from magflow_console.backend import Backend
    from magflow_console.models import Finding, StatusReport

#: the status sections this command shows
SECTIONS = ("celery", "redis", "orders")


def _about(report: StatusReport) -> list[Finding]:
    from magflow_console.diagnose.celery import ABOUT_CELERY

    return [f for f in report.findings if f.code in ABOUT_CELERY]


def cmd_celery(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import rules

    def fetch(backend: Backend) -> StatusReport:
        return backend.status()

    report = read(args, fetch)
    findings = _about(report)
    states = [] if report.redis.state == "error" else [report.celery.state]
    verdict = rules.verdict(findings, [*states, report.orders.state])
    if args.json:
        from magflow_console.cli import jsonout
        from magflow_console.models import to_jsonable

        doc = {name: to_jsonable(getattr(report, name)) for name in SECTIONS}
        doc |= {
            "profile": report.profile,
            "verdict": verdict.label,
            "exit_code": int(verdict),
            "generated_at": report.generated_at.isoformat(),
            "findings": to_jsonable(findings),
        }
        jsonout.print_json(doc)
        return int(verdict)
    from magflow_console.cli import tables
    from magflow_console.models import utcnow
    from magflow_console.render.celery import celery_detail

    con = tables.console()
    celery = report.celery
    if celery.state == "error":
        tables.print_section_error(con, "Celery", celery)
    else:
        con.print(celery_detail(celery, report.redis, report.orders, utcnow()))
    tables.print_findings(con, findings)
    return int(verdict)


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    help = "Celery, Redis and the order syncs: worker, queues, retries, results, memory, orders"
    p = add_command(sub, common, "celery", cmd_celery, help)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
