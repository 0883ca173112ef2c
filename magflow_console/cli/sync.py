"""``sync --account main|fbe|both``: trigger an eMAG product sync (Celery or the API)
and watch its outcome.

Exit codes: 0 ok, 2 failed, 3 refused / cancelled / usage.
"""

from __future__ import annotations

import argparse

from magflow_console.cli.common import (
    Subcommands,
    add_command,
    positive_float,
    positive_int,
)
from magflow_console.cli.confirm import (
    action_context,
    add_confirm_options,
    refused,
    run_confirmed,
)


def cmd_sync(args: argparse.Namespace) -> int:
    from magflow_console.actions import sync
    from magflow_console.actions.guard import ActionRefused
    from magflow_console.actions.sync_request import SyncRequest

    ctx = action_context(args)
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


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    s = add_command(
        sub,
        common,
        "sync",
        cmd_sync,
        "trigger an eMAG product sync (celery or api) and watch its outcome",
    )
    s.add_argument("--account", required=True, choices=["main", "fbe", "both"])
    s.add_argument("--max-pages", type=positive_int, default=5, metavar="N")
    s.add_argument("--wait", action="store_true", help="wait for the outcome (exit 2 on failure)")
    s.add_argument(
        "--timeout", type=positive_float, default=None, metavar="S", help="watch timeout"
    )
    s.add_argument("--strategy", choices=["celery", "api"], default=None)
    s.add_argument("--mode", choices=["full", "incremental", "selective"], default="full")
    s.add_argument("--items-per-page", type=int, default=100, metavar="N", help="api: 1..100")
    s.add_argument("--include-inactive", action="store_true", help="api: include inactive offers")
    s.add_argument(
        "--sync-call", action="store_true", help="api: synchronous call (run_async=false)"
    )
    add_confirm_options(s)
