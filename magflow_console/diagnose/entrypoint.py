"""The entrypoint's start cycle, read from a container's log (sheet §1.2, §11.1).

app, worker and beat run MagFlow's entrypoint. Its marker lines start with an emoji and
some are indented; both are stripped before matching. Only the *last* start cycle counts
(the lines after the last "Starting application..."): how it ended says why a container
crash-loops (database never ready, empty database with the init script missing,
migrations failing) or that it started after a migration "race" that proves nothing
about the revision. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from magflow_console.models import Finding, LogLine
from magflow_console.render.fmt import at_minute
from magflow_console.render.text import excerpt

#: services that run MagFlow's entrypoint
ENTRYPOINT_SERVICES = ("app", "worker", "beat")

START = "MagFlow ERP - Starting application..."
READY = "Application ready to start!"


def marker_text(text: str) -> str:
    """A log line without its leading emoji, variation selectors and whitespace."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace() or unicodedata.category(ch) in ("So", "Sk", "Mn", "Cf", "Cs", "Co"):
            i += 1
            continue
        break
    return text[i:].rstrip()


# --------------------------------------------------------------------------- entrypoint


@dataclass(frozen=True)
class Cycle:
    """The last start of the entrypoint seen in the window."""

    started_at: dt.datetime | None
    starts_in_window: int
    markers: tuple[str, ...]  # marker texts of the last cycle, in order
    lines: tuple[tuple[dt.datetime | None, str], ...]  # (time, marker text) of the cycle


#: the first line of the migration phase, which the entrypoint prints on stderr
MIGRATE_PHASE = "Running database migrations..."
#: how much earlier than the start line a line of the other stream may be stamped
STREAM_SLACK = dt.timedelta(seconds=1)


def last_cycle(lines: Sequence[LogLine]) -> Cycle | None:
    """The entrypoint's last start cycle, or None when the window shows no entrypoint.

    The migration phase goes to stderr, the rest to stdout, and the engine reads the two
    pipes separately: across streams, the order of the lines (and their timestamps) is
    not the order they were written in. So the cycle is cut per stream: on the start
    line's stream, everything after the last start; on the other, everything from the
    last migration-phase line stamped no earlier than the start (less ``STREAM_SLACK``),
    or, without one, the lines stamped after the start.
    """
    items = [(line.timestamp, marker_text(line.text), line.stream) for line in lines]
    starts = [i for i, item in enumerate(items) if item[1] == START]
    if not starts:
        return None
    t0, _, home = items[starts[-1]]
    cycle = [x for x in items[starts[-1] :] if x[2] == home]
    other = [x for x in items if x[2] != home]
    phase = [j for j, x in enumerate(other) if x[1] == MIGRATE_PHASE]
    if phase and _not_before(other[phase[-1]][0], t0, STREAM_SLACK):
        cycle += other[phase[-1] :]
    else:
        cycle += [x for x in other if x[0] is not None and t0 is not None and x[0] >= t0]
    return Cycle(
        started_at=t0,
        starts_in_window=len(starts),
        markers=tuple(t for _, t, _ in cycle),
        lines=tuple((when, t) for when, t, _ in cycle),
    )


def _not_before(when: dt.datetime | None, start: dt.datetime | None, slack: dt.timedelta) -> bool:
    return when is None or start is None or when >= start - slack


def _after(cycle: Cycle, marker: str) -> str | None:
    """The first non-marker line printed after ``marker`` (the error text it announces)."""
    seen = False
    for _, text in cycle.lines:
        if seen and text and not _is_marker(text):
            return text
        if text == marker:
            seen = True
    return None


_MARKER_PREFIXES = (
    "MagFlow ERP",
    "Waiting for",
    "Attempt ",
    "Database ",
    "Checking database",
    "Initializing database",
    "Running database",
    "Migration",
    "Race condition",
    "Retrying",
    "Unexpected migration error",
    "Application ready",
)


def _is_marker(text: str) -> bool:
    return text.startswith(_MARKER_PREFIXES)


def entrypoint_findings(name: str, lines: Sequence[LogLine]) -> list[Finding]:
    """How the last start of ``name``'s entrypoint went, when it went wrong."""
    cycle = last_cycle(lines)
    if cycle is None:
        return []
    markers = set(cycle.markers)
    when = at_minute(cycle.started_at)
    restarts = (
        f" ({cycle.starts_in_window} starts in the window read)"
        if cycle.starts_in_window > 1
        else ""
    )
    if "Database connection timeout after 30 attempts" in markers:
        return [
            Finding(
                "entrypoint_db_timeout",
                "critical",
                f"{name} gave up waiting for the database (30 tries, 2 s apart) and exited "
                f"1; last start{when}{restarts}.",
                subject=name,
                short=f"{name}: database never ready",
                evidence="Database connection timeout after 30 attempts",
            )
        ]
    if "Database initialization failed!" in markers:
        why = _after(cycle, "Initializing database...")
        return [
            Finding(
                "entrypoint_init_failed",
                "critical",
                f"{name} found no app.users table and could not initialise the database (the "
                f"init script is missing from MagFlow's repository), so it exits 1 on every "
                f"start; last start{when}{restarts}"
                + (f". It printed: {excerpt(why)}" if why else "")
                + ".",
                subject=name,
                short=f"{name}: empty database, init failed",
                evidence="Database initialization failed!",
            )
        ]
    if "Migration verification failed after 3 attempts!" in markers:
        return [
            Finding(
                "entrypoint_migration_failed",
                "critical",
                f"{name}: every migration attempt was classified as a race and no version row "
                "appeared (typical of a fresh database: the DuplicateColumn failure); the "
                f"entrypoint hid Alembic's error text; last start{when}{restarts}.",
                subject=name,
                short=f"{name}: migrations failed (race path)",
                evidence="Migration verification failed after 3 attempts!",
            )
        ]
    if "Migration failed after 3 attempts!" in markers or "Migration process failed!" in markers:
        why = _after(cycle, "Unexpected migration error:")
        return [
            Finding(
                "entrypoint_migration_failed",
                "critical",
                f"{name}: `alembic upgrade head` failed 3 times and the container exited 1; "
                f"last start{when}{restarts}"
                + (f". Alembic said: {excerpt(why)}" if why else "")
                + ".",
                subject=name,
                short=f"{name}: migrations failed",
                evidence="Unexpected migration error:" if why else "Migration failed after 3",
            )
        ]
    if "Migrations completed by another container!" in markers:
        return [
            Finding(
                "entrypoint_race_accepted",
                "warning",
                f"{name} started{when} after a migration 'race': the entrypoint accepts any "
                "version row as success and discards Alembic's error, so the database may "
                "be at an old revision, or a genuine 'already exists' error was hidden.",
                subject=name,
                short=f"{name}: started after a migration race",
                evidence="Migrations completed by another container!",
            )
        ]
    if READY not in markers:
        waiting = [t for t in cycle.markers if t.startswith("Attempt ")]
        if waiting:
            return [
                Finding(
                    "entrypoint_waiting_db",
                    "warning",
                    f"{name} is waiting for the database: {waiting[-1]}",
                    subject=name,
                    short=f"{name}: waiting for the database",
                    evidence=waiting[-1],
                )
            ]
    return []
