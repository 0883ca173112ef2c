"""``logs SERVICE``: a stack container's log, the headless twin of the container detail's
log view. Lines are printed as the screen shows them: escape sequences and control
characters removed, credentials masked (MagFlow's request log carries the Authorization
header), so the output can be pasted into a ticket. Exit 0, or 3 (one line on stderr)
when the service is not one of the stack or its log cannot be read; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from magflow_console.cli.common import (
    EXIT_OK,
    EXIT_UNKNOWN,
    Subcommands,
    add_command,
    read,
)
from magflow_console.models import LogLine
from magflow_console.render.text import clean

if TYPE_CHECKING:
    from magflow_console.backend import Backend

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """``30m``, ``2h``, ``1d`` (before ``now``) or an ISO 8601 time (UTC if naive)."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if match:
        return now - dt.timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: use a duration (30m, 2h, 1d) or an ISO time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def render(line: LogLine, *, timestamps: bool) -> str:
    """One log line as the console shows it: cleaned (``render.text.clean``); credentials
    come masked from the Docker source."""
    text = clean(line.text)
    if timestamps and line.timestamp is not None:
        stamp = line.timestamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{stamp} {text}"
    return text


def _print(lines: Iterable[LogLine], args: argparse.Namespace) -> None:
    needle = (args.grep or "").lower()
    for line in lines:
        if needle and needle not in line.text.lower():
            continue
        sys.stdout.write(render(line, timestamps=not args.no_timestamps) + "\n")
        if args.follow:
            sys.stdout.flush()


def cmd_logs(args: argparse.Namespace) -> int:
    from magflow_console.models import utcnow

    try:
        since = parse_since(args.since, utcnow())
    except ValueError as exc:
        print(f"magflow-console: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    return read(args, lambda backend: _logs(backend, args, since))


def _logs(backend: Backend, args: argparse.Namespace, since: dt.datetime | None) -> int:
    from magflow_console.actions.containers import resolve_target, suggested_service
    from magflow_console.sources.docker import LogsUnreadable

    resolved = resolve_target(backend.profile, args.service)
    if resolved is None:
        known = ", ".join(backend.profile.docker.services) or "none"
        alias = suggested_service(backend.profile, args.service)
        hint = f" Did you mean '{alias}'?" if alias else ""
        print(
            f"magflow-console: '{args.service}' is not a service or container of the "
            f"stack (known: {known}).{hint}",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
    _, name = resolved
    if args.follow:
        return _follow(backend, name, args, since)
    try:
        lines = backend.docker.read_logs(name, tail=args.tail, since=since)
    except LogsUnreadable as exc:
        print(f"magflow-console: the log of {name} was not read: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    _print(lines, args)
    return EXIT_OK


def _follow(
    backend: Backend, name: str, args: argparse.Namespace, since: dt.datetime | None
) -> int:
    stop = threading.Event()
    try:
        _print(backend.follow(name, stop, since=since, tail=args.tail), args)
    finally:
        stop.set()
    error = backend.docker.last_error
    if error:  # the stream ended because the engine or the container went away
        print(f"magflow-console: stopped following {name}: {error}", file=sys.stderr)
        return EXIT_UNKNOWN
    return EXIT_OK


def add_parsers(sub: Subcommands[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    help = "a stack container's log, credentials masked (the container detail's twin)"
    p = add_command(sub, common, "logs", cmd_logs, help)
    p.add_argument("service", help="a service of the stack (app, worker, ...) or its container")
    p.add_argument("--tail", type=int, default=200, help="lines from the end (default 200)")
    p.add_argument("--since", help="only lines after: 30m, 2h, 1d, or an ISO time")
    p.add_argument("--grep", help="only lines containing this text (case-insensitive)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--no-timestamps", action="store_true", help="the lines without the time")
