"""The catalogue of known error texts, and what a container's log says of them.

MagFlow's own (greenlet, closed event loops, naive vs aware datetimes, an aborted
transaction, missing eMAG credentials, failed background syncs, Redis fallback, Google
Sheets, import errors), PostgreSQL's and Redis's (a rejected password, out of
connections, a data volume or RDB file from another version, a full disk, MISCONF, OOM).
One finding per code and container (and account or user), with how often and when it
was last seen and one excerpt; a text that says why a process stops is critical when
its container is down or crash-looping. Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from magflow_console.models import Finding, LogLine, Severity
from magflow_console.render.fmt import at_minute
from magflow_console.render.text import excerpt


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
    name: str, lines: Iterable[LogLine], *, down: bool = False
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
        detail = excerpt(key or "")
        meaning = known.meaning.format(name=name, account=account or "", detail=detail)
        times = "once" if h.count == 1 else f"{h.count} times"
        why = known.fatal and down
        out.append(
            Finding(
                code,
                "critical" if why else known.severity,
                f"{meaning}"
                + (" (this is why it stops)" if why else "")
                + f": seen {times} in the log, last{at_minute(h.last) or ' (no time)'}. "
                f"Last line: {excerpt(h.sample)}",
                subject=name,
                account=account,
                short=f"{name}: " + known.short.format(account=account or "", detail=detail),
                evidence=excerpt(h.evidence),
            )
        )
    return out
