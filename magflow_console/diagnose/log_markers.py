"""What a container's recent log says about the fires of the stack sheet (§1.2, §10).

Two kinds of finding, both pure functions of the log lines (no I/O, no Textual):

- **The entrypoint's story** (app, worker and beat run MagFlow's entrypoint). Its marker
  lines start with an emoji and some are indented; both are stripped before matching.
  Only the *last* start cycle counts (the lines after the last "Starting
  application..."): how it ended says why a container crash-loops (database never
  ready, empty database with the init script missing, migrations failing) or that it
  started after a migration "race" that proves nothing about the revision.
- **Known error texts** anywhere in the window: MagFlow's (greenlet, closed event loops,
  naive vs aware datetimes, an aborted transaction, missing eMAG credentials, failed
  background syncs, Redis fallback, Google Sheets, import errors), PostgreSQL's and
  Redis's own (a rejected password, out of connections, a data volume or RDB file from
  another version, a full disk, MISCONF, OOM). One finding per code and container (and
  account or user), with how often and when it was last seen and one sample line; a text
  that says why a process stops is critical when its container is down or crash-looping.

Sample lines come from the outside: control characters and escape sequences are removed,
credentials are scrubbed (MagFlow's request logging includes the Authorization header),
and they are cut to ``SAMPLE_MAX`` characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from magflow_console.models import Finding, Severity
from magflow_console.redact import scrub

SAMPLE_MAX = 160
#: services that run MagFlow's entrypoint
ENTRYPOINT_SERVICES = ("app", "worker", "beat")

START = "MagFlow ERP - Starting application..."
READY = "Application ready to start!"


class LogLineLike(Protocol):
    @property
    def timestamp(self) -> dt.datetime | None: ...

    @property
    def text(self) -> str: ...


_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x1f\x7f-\x9f]"
)


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


def sample(text: str) -> str:
    """One line from a log, safe to show: no escapes or control characters, no
    credentials, at most ``SAMPLE_MAX`` characters."""
    clean = _CONTROL.sub(" ", text).strip()
    clean = scrub(clean)
    if len(clean) > SAMPLE_MAX:
        clean = clean[: SAMPLE_MAX - 1] + "…"
    return clean


def _when(stamp: dt.datetime | None) -> str:
    return f" at {stamp.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if stamp else ""


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


def last_cycle(lines: Sequence[LogLineLike]) -> Cycle | None:
    """The entrypoint's last start cycle, or None when the window shows no entrypoint.

    The migration phase goes to stderr, the rest to stdout, and the engine reads the two
    pipes separately: across streams, the order of the lines (and their timestamps) is
    not the order they were written in. So the cycle is cut per stream: on the start
    line's stream, everything after the last start; on the other, everything from the
    last migration-phase line stamped no earlier than the start (less ``STREAM_SLACK``),
    or, without one, the lines stamped after the start.
    """
    items = [(line.timestamp, marker_text(line.text), _stream(line)) for line in lines]
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


def _stream(line: LogLineLike) -> str | None:
    return getattr(line, "stream", None)


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


def entrypoint_findings(name: str, lines: Sequence[LogLineLike]) -> list[Finding]:
    """How the last start of ``name``'s entrypoint went, when it went wrong."""
    cycle = last_cycle(lines)
    if cycle is None:
        return []
    markers = set(cycle.markers)
    when = _when(cycle.started_at)
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
                + (f". It printed: {sample(why)}" if why else "")
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
                + (f". Alembic said: {sample(why)}" if why else "")
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


# --------------------------------------------------------------------------- known errors


@dataclass(frozen=True)
class KnownError:
    code: str
    severity: Severity
    pattern: re.Pattern[str]
    #: what it means; "{name}" is the container, "{account}" / "{detail}" the pattern's
    #: groups of those names
    meaning: str
    short: str
    #: the account named by the line (group "account" of the pattern), if any
    per_account: bool = False
    #: the text says why a process stops: critical when its container is down or
    #: crash-looping (the explanation of that finding), a warning otherwise
    fatal: bool = False


KNOWN_ERRORS: tuple[KnownError, ...] = (
    KnownError(
        "log_missing_credentials",
        "warning",
        re.compile(r"Missing credentials for (?P<account>\w+) account, skipping"),
        "{name} skipped the {account} account for want of eMAG credentials: its product "
        "syncs complete with 0 items",
        "eMAG credentials missing",
        per_account=True,
    ),
    KnownError(
        "log_background_sync_failed",
        "warning",
        re.compile(r"Background sync task failed"),
        "an async product sync failed in {name}; the async path leaves no sync-log row for a "
        "failure",
        "background sync failed",
    ),
    KnownError(
        "log_product_sync_failed",
        "warning",
        re.compile(r"Product sync failed:"),
        "a product sync failed in {name}; a rolled-back run leaves no sync-log row",
        "product sync failed",
    ),
    KnownError(
        "log_transaction_aborted",
        "warning",
        re.compile(r"current transaction is aborted|InFailedSQLTransaction"),
        "{name} hit 'current transaction is aborted' after one bad row: the sync's result "
        "may not be persisted; the first error before it is the cause",
        "transaction aborted (result not persisted)",
    ),
    KnownError(
        "log_naive_aware_datetime",
        "warning",
        re.compile(
            r"can't subtract offset-naive and offset-aware datetimes|offset-naive and "
            r"offset-aware|invalid input for query argument .* \(can't subtract"
        ),
        "{name} mixed naive and aware datetimes (the known bug of the cancel and cleanup "
        "endpoints, or an aware value written to a `timestamp` column)",
        "naive/aware datetime bug",
    ),
    KnownError(
        "log_missing_greenlet",
        "warning",
        re.compile(r"greenlet_spawn|MissingGreenlet"),
        "{name} hit MissingGreenlet (lazy loading in async code): an app bug, not an "
        "operations fault",
        "MissingGreenlet (app bug)",
    ),
    KnownError(
        "log_event_loop",
        "warning",
        re.compile(r"Event loop is closed|attached to a different loop"),
        "{name} hit a Celery event-loop error: the task it ran has no usable result",
        "Celery event-loop error",
    ),
    KnownError(
        "log_redis_fallback",
        "warning",
        re.compile(r"Redis connection failed; continuing without Redis"),
        "{name} runs without Redis (login cache and eMAG caches off)",
        "running without Redis",
    ),
    KnownError(
        "log_google_sheets",
        "warning",
        re.compile(
            r"(?i)google ?sheets?.*(error|fail|credential|denied)|"
            r"(error|fail).*google ?sheets?|gspread\.exceptions|"
            r"service[_ ]account.*(not found|No such file|invalid)"
        ),
        "{name} could not reach Google Sheets (the supplier import's service account): a "
        "supplier-import fault, separate from the eMAG sync",
        "Google Sheets import failing",
    ),
    # PostgreSQL's own words, in the db log (server side) or a client's (asyncpg quotes them)
    KnownError(
        "pg_password_rejected",
        "warning",
        re.compile(r'password authentication failed for user "(?P<detail>[^"]{1,63})"'),
        "{name} logged a rejected password for database user {detail}: a client uses a "
        "password the database does not have (POSTGRES_PASSWORD applies only when the "
        "volume is first initialised)",
        "database password rejected ({detail})",
    ),
    KnownError(
        "pg_too_many_connections",
        "warning",
        re.compile(r"sorry, too many clients already|remaining connection slots are reserved"),
        "{name}: PostgreSQL ran out of connections (max_connections)",
        "database out of connections",
    ),
    KnownError(
        "pg_data_incompatible",
        "warning",
        re.compile(
            r"database files are incompatible with server|was initialized by PostgreSQL "
            r"version \d+, which is not compatible"
        ),
        "{name}: the data volume was initialised by another PostgreSQL major version than "
        "the image runs",
        "data volume from another PostgreSQL version",
        fatal=True,
    ),
    KnownError(
        "pg_panic",
        "warning",
        re.compile(r"\bPANIC:  "),
        "{name}: PostgreSQL panicked (its line says why: corrupt WAL, a full disk, ...)",
        "PostgreSQL PANIC",
        fatal=True,
    ),
    KnownError(
        "disk_full",
        "warning",
        re.compile(r"No space left on device"),
        "{name} ran out of disk space",
        "no space left on device",
        fatal=True,
    ),
    # Redis's own words
    KnownError(
        "redis_rdb_format",
        "warning",
        re.compile(r"Can't handle RDB format version (?P<detail>\d+)"),
        "{name}: the Redis data file is in RDB format {detail}, written by a newer Redis "
        "than the image runs, so Redis cannot load it and exits",
        "RDB file from a newer Redis",
        fatal=True,
    ),
    KnownError(
        "redis_oom",
        "warning",
        re.compile(r"OOM command not allowed when used memory"),
        "{name}: Redis refused writes at maxmemory (the broker's queue is in the same db)",
        "Redis out of memory",
    ),
    KnownError(
        "redis_misconf",
        "warning",
        re.compile(r"MISCONF .*(?:unable to persist|save RDB snapshots)"),
        "{name}: Redis cannot write its snapshot and refuses writes (MISCONF)",
        "Redis cannot persist (MISCONF)",
    ),
    KnownError(
        "redis_auth_failed",
        "warning",
        re.compile(r"NOAUTH Authentication required|WRONGPASS|invalid username-password pair"),
        "{name}: Redis refused a client's password: REDIS_URL (or the Celery broker URL) "
        "and Redis's requirepass disagree",
        "Redis password refused",
    ),
    KnownError(
        "log_import_error",
        "warning",
        re.compile(r"\b(ModuleNotFoundError|ImportError): "),
        "{name} logged an ImportError (usually a root CLI script after a refactor); trigger "
        "syncs through the API or Celery instead",
        "ImportError",
    ),
)


@dataclass
class _Hits:
    count: int = 0
    last: dt.datetime | None = None
    sample: str = ""
    evidence: str = ""


def known_error_findings(
    name: str, lines: Iterable[LogLineLike], *, down: bool = False
) -> list[Finding]:
    """One finding per known error text (and account or detail) seen in ``lines``;
    ``down``: the container is not running or crash-looping, so a text that says why a
    process stops is critical (it explains that)."""
    hits: dict[tuple[str, str | None], _Hits] = {}
    by_code = {k.code: k for k in KNOWN_ERRORS}
    for line in lines:
        for known in KNOWN_ERRORS:
            match = known.pattern.search(line.text)
            if match is None:
                continue
            groups = match.groupdict()
            key = groups.get("account") or groups.get("detail")
            h = hits.setdefault((known.code, key), _Hits())
            h.count += 1
            h.last = line.timestamp or h.last
            h.sample = line.text
            h.evidence = match.group(0)
            break  # one line, one finding
    out = []
    for (code, key), h in hits.items():
        known = by_code[code]
        account = key if known.per_account else None
        detail = sample(key or "")
        meaning = known.meaning.format(name=name, account=account or "", detail=detail)
        times = "once" if h.count == 1 else f"{h.count} times"
        why = known.fatal and down
        out.append(
            Finding(
                code,
                "critical" if why else known.severity,
                f"{meaning}"
                + (" (this is why it stops)" if why else "")
                + f": seen {times} in the log, last{_when(h.last) or ' (no time)'}. "
                f"Last line: {sample(h.sample)}",
                subject=name,
                account=account,
                short=f"{name}: " + known.short.format(account=account or "", detail=detail),
                evidence=sample(h.evidence),
            )
        )
    return out


def log_findings(
    name: str, service: str | None, lines: Sequence[LogLineLike], *, down: bool = False
) -> list[Finding]:
    """Everything ``lines`` (the recent log of container ``name``) says is wrong; ``down``
    as for ``known_error_findings``."""
    out: list[Finding] = []
    if service in ENTRYPOINT_SERVICES or service is None:
        out += entrypoint_findings(name, lines)
    out += known_error_findings(name, lines, down=down)
    return out
