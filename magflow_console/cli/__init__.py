"""The headless face: the command line and its commands, one module per command group.

``main(argv, open_tui=...)`` parses and runs a command; without one it opens the TUI
through ``open_tui``, which ``magflow_console.main`` plugs in (this package never
imports the TUI: ``import-linter`` holds it to that). Exit codes follow the
monitoring-plugin convention (``common``).

Modules: ``common`` (exit codes, options, loading a profile), ``report`` (info, status,
doctor, migrations, containers, sync-logs), ``celery``, ``logs``, ``migrate``, ``containers``
(restart, stop, start), ``admin``, ``sync``, ``audit``, ``demo`` (demo, seed),
``confirm`` (the confirmation policy of every action), ``tables`` (human output) and
``jsonout`` (JSON output).
"""

from __future__ import annotations

import argparse
import codecs
import io
import sys
from collections.abc import Sequence

from magflow_console import __version__
from magflow_console.cli import (
    admin,
    audit,
    celery,
    containers,
    demo,
    logs,
    migrate,
    report,
    sync,
)
from magflow_console.cli.common import (
    EXIT_OK,
    EXIT_UNKNOWN,
    ArgParser,
    TuiLauncher,
    add_command,
    cmd_tui_with,
    common_options,
    load,
)


def error_lines_always_print() -> None:
    """An error line must reach stderr whatever its encoding (``PYTHONIOENCODING=ascii``,
    a path or a server message that is not ASCII): what it cannot encode is escaped."""
    if isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(errors="backslashreplace")


def cmd_tui(args: argparse.Namespace) -> int:
    return cmd_tui_with(args, lambda: load(args))


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser: argparse.ArgumentParser = ArgParser(
        prog="magflow-console",
        description="Terminal operations console for the MagFlow ERP stack. "
        "Without a command it opens the TUI.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=ArgParser)
    add_command(sub, common, "tui", cmd_tui, "open the TUI (the default)")
    for module in (report, celery, logs, demo, migrate, containers, admin, sync, audit):
        module.add_parsers(sub, common)
    return parser


def main(argv: Sequence[str] | None = None, *, open_tui: TuiLauncher | None = None) -> int:
    error_lines_always_print()
    parser = build_parser()
    args = parser.parse_args(argv)  # --help and --version end here, before pydantic loads
    args.open_tui = open_tui
    from magflow_console.config_sources import ConfigError

    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"magflow-console: config error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    except UnicodeEncodeError as exc:
        if exc.encoding != codecs.lookup(getattr(sys.stdout, "encoding", None) or "utf-8").name:
            raise
        print(
            f"magflow-console: the output encoding ({sys.stdout.encoding}) cannot show "
            f"this output: use a UTF-8 locale or PYTHONIOENCODING=utf-8 (--json output "
            "is ASCII)",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
    except KeyboardInterrupt:
        print("magflow-console: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
