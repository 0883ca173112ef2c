"""Entry points: the TUI by default, and the headless commands.

Importing this module must stay cheap and must never import Textual: the TUI is
imported only when it is opened. Exit codes follow the monitoring-plugin
convention: 0 ok, 1 warning, 2 critical, 3 unknown or usage/config error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from magflow_console import __version__

if TYPE_CHECKING:
    from magflow_console import config as cfg
    from magflow_console.backend import Backend
    from magflow_console.models import Finding, StatusReport

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3

Handler = Callable[[argparse.Namespace], int]
T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; the convention here is 3."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_UNKNOWN)


def common_options() -> _Parser:
    """Options every command accepts (also before the command name)."""
    p = _Parser(add_help=False)
    g = p.add_argument_group("profile and overrides")
    g.add_argument("--profile", default=argparse.SUPPRESS, help="profile name from the config file")
    g.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help="config file (TOML)")
    g.add_argument("--db-url", default=argparse.SUPPRESS, metavar="URL", help="database URL")
    g.add_argument(
        "--docker-host", default=argparse.SUPPRESS, metavar="URL", help="Docker engine URL"
    )
    g.add_argument(
        "--scripts",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="local alembic folder (holds versions/)",
    )
    g.add_argument("--api-url", default=argparse.SUPPRESS, metavar="URL", help="API base URL")
    g.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="refuse every action"
    )
    return p


def load(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> cfg.LoadedConfig:
    from magflow_console import config as cfg

    overrides: dict[str, Any] = {
        "database.url": getattr(args, "db_url", None),
        "docker.host": getattr(args, "docker_host", None),
        "alembic.scripts": getattr(args, "scripts", None),
        "api.url": getattr(args, "api_url", None),
    }
    if getattr(args, "scripts", None):
        overrides["alembic.strategy"] = "local"
    if getattr(args, "read_only", False):
        overrides["read_only"] = True
    overrides.update(extra or {})
    if overrides.get("database.url"):
        # an explicit URL wins over an env-var indirection configured in the profile
        overrides.setdefault("database.url_env", None)
    return cfg.load_config(
        config_path=getattr(args, "config", None),
        profile=getattr(args, "profile", None),
        overrides=overrides,
    )


# --------------------------------------------------------------------------- commands


def cmd_tui(args: argparse.Namespace) -> int:
    loaded = load(args)
    from magflow_console.tui.app import run_tui

    return run_tui(loaded)


def cmd_info(args: argparse.Namespace) -> int:
    from magflow_console import output

    loaded = load(args)
    output.print_info(loaded)
    return EXIT_OK


def _backend(args: argparse.Namespace) -> Any:
    from magflow_console.backend import Backend

    return Backend(load(args))


def _read(args: argparse.Namespace, fetch: Callable[[Any], T]) -> T:
    """``fetch(backend)`` on the profile's backend, closed afterwards."""
    backend = _backend(args)
    try:
        return fetch(backend)
    finally:
        backend.close()


def _section_out(
    args: argparse.Namespace, snap: Any, verdict: Any, human: Callable[[Any, Any], None]
) -> int:
    """One section's JSON document, or its human form: ``human(output, console)`` (rich is
    imported only then); returns the exit code."""
    if args.json:
        from magflow_console import jsonout

        jsonout.print_json(jsonout.section_json(snap, verdict=verdict))
    else:
        from magflow_console import output

        human(output, output.console())
    return int(verdict)


def cmd_status(args: argparse.Namespace) -> int:
    report = _read(args, lambda b: b.status())
    if args.json:
        from magflow_console import jsonout

        jsonout.print_json(jsonout.status_json(report))
    else:
        from magflow_console import output

        output.print_status(report)
    return int(report.verdict)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Every finding, worst first, with the next steps; beyond ``status`` also admin logins
    and what the containers' recent logs say (exit code as for ``status``, made worse by
    those findings)."""
    from magflow_console.diagnose import rules
    from magflow_console.diagnose.doctor import doctor_verdict, extra_findings

    def read(b: Backend) -> tuple[StatusReport, list[Finding]]:
        report = b.status()
        admins = rules.admin_findings(b.admins())
        return report, extra_findings(report, admins, b.log_findings(report.containers))

    report, admins = _read(args, read)
    if args.json:
        from magflow_console import jsonout
        from magflow_console.diagnose.doctor import advice_json

        jsonout.print_json(advice_json(report, admins))
    else:
        from magflow_console import output

        output.print_advice(report, admins)
    return int(doctor_verdict(report, admins))


def cmd_migrations(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import rules

    snap = _read(args, lambda b: b.migrations(check_db=not args.no_db))
    verdict = rules.verdict(rules.migration_findings(snap), [snap.state])
    return _section_out(args, snap, verdict, lambda out, con: out.print_migrations(snap, con))


def cmd_containers(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import emag_env, rules

    snap = _read(args, lambda b: b.containers())
    findings = rules.container_findings(snap) + emag_env.env_findings(snap)
    verdict = rules.verdict(findings, [snap.state])

    def human(out: Any, con: Any) -> None:
        out.print_containers(snap, con)
        out.print_emag_accounts(snap, con)
        out.print_findings(con, findings)

    return _section_out(args, snap, verdict, human)


def cmd_sync_run(args: argparse.Namespace) -> int:
    """``sync-logs --id``: one run in full (the sync detail screen's headless twin).

    Exit code: 0 success, 1 completed with errors, 2 failed / 0 items / stale running,
    3 not found or database unreachable (one line on stderr)."""
    run, error = _read(args, lambda b: (b.sync_run(args.id), b.sync_run_error))
    if run is None:
        why = error or f"no sync run with id {args.id!r} (a full id or a unique prefix of 6+)"
        print(f"magflow-console: {why}", file=sys.stderr)
        return EXIT_UNKNOWN
    if args.json:
        from magflow_console import jsonout
        from magflow_console.models import to_jsonable

        jsonout.print_json(to_jsonable(run))
    else:
        from magflow_console import output
        from magflow_console.render.sync_run import run_text

        output.console().print(run_text(run))
    outcome = run.outcome or run.status
    if outcome in ("success", "running"):
        return EXIT_OK
    return EXIT_WARNING if outcome == "partial" else EXIT_CRITICAL


def cmd_sync_logs(args: argparse.Namespace) -> int:
    from magflow_console.diagnose import rules

    if args.id:
        return cmd_sync_run(args)
    snap = _read(args, lambda b: b.sync(account=args.account, status=args.status, limit=args.limit))
    findings = rules.sync_findings(snap)
    states = [snap.state]
    if snap.state == "error":
        from magflow_console.models import Finding

        findings = [Finding("database_unreachable", "critical", snap.error or "")]
        states = []
    verdict = rules.verdict(findings, states)
    return _section_out(args, snap, verdict, lambda out, con: out.print_sync(snap, con))


def cmd_demo(args: argparse.Namespace) -> int:
    from magflow_console import demo

    return demo.run(args, load)


def cmd_seed(args: argparse.Namespace) -> int:
    from magflow_console import config as cfg
    from magflow_console.reference import seed as seeder

    loaded = load(args)
    url = cfg.database_url(loaded.profile)
    if not url:
        from magflow_console.config_sources import ConfigError

        raise ConfigError("database.url: no database URL configured")
    summary = seeder.seed(url, products_per_account=args.products // 2, sync_logs=args.sync_logs)
    print(f"seeded: {summary}")
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser: argparse.ArgumentParser = _Parser(
        prog="magflow-console",
        description="Terminal operations console for the MagFlow ERP stack. "
        "Without a command it opens the TUI.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Handler, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    add("tui", cmd_tui, "open the TUI (the default)")
    add("info", cmd_info, "config files searched, active profile, every setting and its source")
    p = add(
        "status",
        cmd_status,
        "the whole stack in one look (exit 0 ok, 1 warning, 2 critical, 3 unknown)",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
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
    from magflow_console import cli_logs

    cli_logs.add_parser(sub, common)
    p = add(
        "demo", cmd_demo, "throwaway PostgreSQL with the reference schema and data, then the TUI"
    )
    p.add_argument("--json", action="store_true", help="print the status JSON and exit")
    p.add_argument("--keep", metavar="DIR", help="keep (and reuse) the demo database in DIR")
    p = add(
        "seed", cmd_seed, "fill the profile's database with reference data (test databases only)"
    )
    p.add_argument("--products", type=int, default=5000, help="products in all (both accounts)")
    p.add_argument("--sync-logs", type=int, default=None, help="sync-log rows (default: 4 weeks)")

    try:
        from magflow_console import cli_actions
    except ImportError:
        cli_actions = None  # type: ignore[assignment]
    if cli_actions is not None:
        cli_actions.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # --help and --version end here, before pydantic loads
    from magflow_console.config_sources import ConfigError

    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"magflow-console: config error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    except KeyboardInterrupt:
        print("magflow-console: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
