"""The entrypoint's start cycle, read from a container's log (sheet §1.2, §11.1).

app, worker and beat run MagFlow's entrypoint. Its marker lines start with an emoji and
some are indented; both are stripped before matching. It writes on both streams (its
start, init and migration-phase lines and Alembic's captured output on stdout, its
migration retry loop on stderr), and the engine reads the two separately, so the cycle
is cut without relying on which stream carries what. Only the *last* start cycle counts
(the lines from the last "Starting application..."): how it ended says why a container
crash-loops (database never ready, empty database with the init script missing,
migrations failing) or that it started after a migration "race" that proves nothing
about the revision. Images built before 2025-10-22 carry an older entrypoint: no retry,
no markers after "Running database migrations...", only Alembic's traceback (on stderr)
and exit 1; its failure gives the same finding, said to come from the older image.
Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import re
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
class CycleLine:
    when: dt.datetime | None
    text: str  # the marker text (``marker_text``)
    stream: str | None  # "stdout" | "stderr" | None (tty container)


@dataclass(frozen=True)
class Cycle:
    """The last start of the entrypoint seen in the window."""

    started_at: dt.datetime | None
    starts_in_window: int
    markers: tuple[str, ...]  # marker texts of the last cycle, in order
    lines: tuple[CycleLine, ...]  # the lines of the cycle, in the order read


#: the first line of the migration phase (on stdout, like the start line)
MIGRATE_PHASE = "Running database migrations..."
#: how much earlier than the start line the engine may stamp a line of the other stream
#: that the same start wrote after it: it reads and stamps the two pipes separately.
#: Well below the time between two starts (the process exits, the engine waits at least
#: 100 ms and starts a new one), so a previous start's last lines stay out.
STREAM_SKEW = dt.timedelta(milliseconds=100)


def last_cycle(lines: Sequence[LogLine]) -> Cycle | None:
    """The entrypoint's last start cycle, or None when the window shows no entrypoint.

    The entrypoint writes on both streams (sheet §1.2, §11.1) and the engine reads the
    two pipes separately, so across streams neither the order of the lines nor their
    timestamps are exactly the order they were written in; within a stream they are.
    The engine logs everything a stopped process wrote before it starts the next one,
    so every line read after the last start line belongs to that start, whatever its
    stream. Before it, a line of the other stream belongs to it only when it comes after
    the start stream's previous line and is stamped at most ``STREAM_SKEW`` before the
    start. Nothing here depends on which stream carries which line.
    """
    items = [CycleLine(line.timestamp, marker_text(line.text), line.stream) for line in lines]
    starts = [i for i, item in enumerate(items) if item.text == START]
    if not starts:
        return None
    s = starts[-1]
    t0, home = items[s].when, items[s].stream
    previous = max((i for i in range(s) if items[i].stream == home), default=-1)

    def early(item: CycleLine) -> bool:
        return item.when is not None and t0 is not None and item.when >= t0 - STREAM_SKEW

    cycle = [
        item
        for i, item in enumerate(items)
        if i >= s or (i > previous and item.stream != home and early(item))
    ]
    return Cycle(
        started_at=t0,
        starts_in_window=len(starts),
        markers=tuple(item.text for item in cycle),
        lines=tuple(cycle),
    )


def _after(cycle: Cycle, marker: str) -> str | None:
    """The first non-marker line printed after ``marker`` (the error text it announces)."""
    seen = False
    for line in cycle.lines:
        if seen and line.text and not _is_marker(line.text):
            return line.text
        if line.text == marker:
            seen = True
    return None


#: a line that states an error: the last line of a Python traceback ("KeyError: 'x'",
#: "sqlalchemy.exc.ProgrammingError: (psycopg2.errors.DuplicateColumn) ..."), or
#: Alembic's own "FAILED: ..." (a CommandError caught by its command line)
_ERROR_LINE = re.compile(
    r"FAILED: \S.*"
    r"|(?:[A-Za-z_]\w*\.)+[A-Z]\w*(?::\s.*)?"
    r"|[A-Z]\w*(?:Error|Exception|Exit|Interrupt)(?::\s.*)?"
)


def _alembic_error(cycle: Cycle) -> CycleLine | None:
    """Alembic's last error line in the cycle, on whichever stream it came."""
    found = None
    for line in cycle.lines:
        if not _is_marker(line.text) and _ERROR_LINE.fullmatch(line.text):
            found = line
    return found


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

#: lines that only the newer entrypoint's retry loop prints
_LOOP_MARKERS = (
    "Migration attempt ",
    "Race condition detected",
    "Unexpected migration error:",
    "Migration failed after 3 attempts!",
    "Migration verification failed after 3 attempts!",
    "Migration process failed!",
    "Migrations completed by another container!",
)


def _is_marker(text: str) -> bool:
    return text.startswith(_MARKER_PREFIXES)


#: said of a failed migration run by the older entrypoint (images built before the fix)
OLDER_IMAGE = "its image is older than the entrypoint fix"


def from_older_image(finding: Finding) -> bool:
    """True for the migration failure of an image built before the entrypoint fix."""
    return finding.code == "entrypoint_migration_failed" and OLDER_IMAGE in finding.message


def _older_entrypoint_failed(cycle: Cycle) -> CycleLine | None:
    """Alembic's error line when the cycle is the older entrypoint's failed migration
    (sheet §11.1): "Running database migrations...", then Alembic's own output (its
    traceback on stderr; a caught CommandError's "FAILED: ..." goes to stdout), no
    marker of the retry loop and no "Application ready to start!"."""
    markers = cycle.markers
    if MIGRATE_PHASE not in markers or READY in markers:
        return None
    if any(t.startswith(_LOOP_MARKERS) for t in markers):
        return None
    return _alembic_error(cycle)


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
        # Alembic's output is replayed on stdout, the loop's markers are on stderr: the
        # error is looked for on both, not after its marker
        error = _alembic_error(cycle)
        why = error.text if error else _after(cycle, "Unexpected migration error:")
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
                evidence=why or "Migration failed after 3",
            )
        ]
    older = _older_entrypoint_failed(cycle)
    if older is not None:
        return [
            Finding(
                "entrypoint_migration_failed",
                "critical",
                f"{name}: `alembic upgrade head` failed and the container exited 1; "
                f"{OLDER_IMAGE} (built before 2025-10-22: no retry, no markers, only "
                "Alembic's traceback; the entrypoint is copied into the image, so a newer "
                f"checkout does not change it); last start{when}{restarts}. "
                f"Alembic said: {excerpt(older.text)}.",
                subject=name,
                short=f"{name}: migrations failed (image older than the entrypoint fix)",
                evidence=older.text,
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
