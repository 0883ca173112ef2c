"""``restart`` / ``stop`` / ``start`` SERVICE: a stack container, after a pre-flight.

Exit codes: 0 ok (also "nothing to do"), 2 failed, 3 refused, cancelled or usage.
"""

from __future__ import annotations

import argparse

from magflow_console.cli.common import Handler, Subcommands, add_command
from magflow_console.cli.confirm import add_confirm_options, plan_and_run

HELPS = {
    "restart": "restart a stack container (service name or container name)",
    "stop": "stop a stack container",
    "start": "start a stack container",
}


def container_command(verb: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from magflow_console.actions import containers

        return plan_and_run(
            args,
            lambda ctx, backend: containers.plan_container(
                ctx, backend, verb, args.service, wait_seconds=args.wait
            ),
            containers.is_noop,
            containers.container_runner,
        )

    return handler


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    for verb, text in HELPS.items():
        p = add_command(sub, common, verb, container_command(verb), text)
        p.add_argument("service", metavar="SERVICE", help="app, worker, beat, db, redis, ...")
        p.add_argument(
            "--wait",
            type=float,
            default=90.0,
            metavar="SECONDS",
            help="how long to wait for the container to be running/healthy (default 90)",
        )
        add_confirm_options(p)
