"""``status --all``: every profile of the config at once, one line each.

Each profile is read in its own thread with its own connections, bounded by
``--timeout``; the exit code is the worst profile's (``Verdict.worst``). A profile that
cannot be loaded or does not answer in time is UNKNOWN with the reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from magflow_console.cli.common import ENDPOINT_FLAGS, config_profiles, load

if TYPE_CHECKING:
    from rich.text import Text

    from magflow_console.environments import ProfileStatus


def cmd_status_all(args: argparse.Namespace) -> int:
    from magflow_console.config_sources import ConfigError
    from magflow_console.environments import AllProfiles, worst_verdict
    from magflow_console.models import utcnow

    given = [f"--{f.replace('_', '-')}" for f in ("profile", *ENDPOINT_FLAGS) if hasattr(args, f)]
    if given:
        raise ConfigError(
            f"status --all reads every profile of the config file: {', '.join(given)} "
            "names one profile's stack and cannot be combined with it"
        )
    first = load(args)
    profiles = config_profiles(args, first)
    reading = AllProfiles(profiles, timeout=args.timeout)
    lines = reading.wait()
    now = utcnow()
    verdict = worst_verdict(lines)
    if args.json:
        from magflow_console.cli import jsonout

        jsonout.print_json(
            {
                "verdict": verdict.label,
                "exit_code": int(verdict),
                "generated_at": now.isoformat(),
                "timeout_seconds": args.timeout,
                "profiles": [line.to_json(now) for line in lines],
            }
        )
    else:
        print_lines(lines, now)
    if reading.stragglers():
        # a profile that did not answer still holds a thread (a connection that hangs);
        # its line is printed: do not wait for it at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(verdict))
    return int(verdict)


def print_lines(lines: Sequence[ProfileStatus], now: dt.datetime) -> None:
    """One line per profile: name (PROTECTED, read-only), verdict, the age of its data,
    its worst finding. A terminal crops the line to its width; a pipe gets it whole."""
    from rich.text import Text

    from magflow_console.cli.tables import console
    from magflow_console.render import fmt
    from magflow_console.render.styles import verdict_style

    con = console()
    names = [_name(line) for line in lines]
    width = max((len(n.plain) for n in names), default=0)
    for line, name in zip(lines, names, strict=True):
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append_text(name)
        text.append(" " * (width - len(name.plain) + 2))
        text.append(line.verdict.label.upper().ljust(9), style=verdict_style(line.verdict.label))
        age = line.age_s(now)
        text.append(("no data" if age is None else f"{fmt.span(age)} old").ljust(9), style="dim")
        text.append(line.worst or "nothing to act on", style="" if line.worst else "dim")
        con.print(text, soft_wrap=not sys.stdout.isatty())


def _name(line: ProfileStatus) -> Text:
    from rich.text import Text

    name = Text(line.profile, style="bold")
    if line.protected:
        name.append(" PROTECTED", style="bold red")
    if line.read_only:
        name.append(" read-only", style="dim")
    return name
