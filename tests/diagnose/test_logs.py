"""What a container's log says: the entrypoint's last start and the known error texts.

Pure logic over log lines written the way MagFlow writes them (emoji first, some
indented; the app's and Celery's formats). The same lines from a real container are
read back in tests/sources/test_log_diagnosis.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from magflow_console.diagnose.entrypoint import entrypoint_findings, last_cycle, marker_text
from magflow_console.diagnose.known_errors import KNOWN_ERRORS, known_error_findings
from magflow_console.diagnose.logs import log_findings
from magflow_console.render.text import EXCERPT_MAX as SAMPLE_MAX
from magflow_console.render.text import excerpt as sample

T0 = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Line:
    timestamp: dt.datetime | None
    text: str
    stream: str | None = None


def lines(*texts: str, start: dt.datetime = T0) -> list[Line]:
    return [Line(start + dt.timedelta(seconds=i), t) for i, t in enumerate(texts)]


START = "🚀 MagFlow ERP - Starting application..."
DB_OK = ("⏳ Waiting for database to be ready...", "✅ Database is ready!")
INIT_OK = ("🔍 Checking database initialization status...", "✅ Database already initialized")
READY = "🎉 Application ready to start!"

#: one log per entrypoint ending, and the finding code it must give (None: nothing wrong)
ENTRYPOINT_LOGS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "ok": (
        (START, *DB_OK, *INIT_OK, "🔄 Running database migrations...",
         "   Migration attempt 1/3...", "✅ Migrations completed successfully!", READY),
        None,
    ),
    "dbtimeout": (
        (START, DB_OK[0], "   Attempt 1/30 - Database not ready yet...",
         "   Attempt 30/30 - Database not ready yet...",
         "❌ Database connection timeout after 30 attempts"),
        "entrypoint_db_timeout",
    ),
    "waiting": (
        (START, DB_OK[0], "   Attempt 1/30 - Database not ready yet...",
         "   Attempt 2/30 - Database not ready yet..."),
        "entrypoint_waiting_db",
    ),
    "initfail": (
        (START, *DB_OK, INIT_OK[0], "🔧 Initializing database...",
         "python: can't open file '/app/scripts/init_database_complete.py': [Errno 2] No such "
         "file or directory",
         "❌ Database initialization failed!"),
        "entrypoint_init_failed",
    ),
    "fail": (
        (START, *DB_OK, *INIT_OK, "🔄 Running database migrations...",
         "   Migration attempt 1/3...", "⚠️  Migration attempt 1 failed with exit code 1",
         "❌ Unexpected migration error:", "KeyError: '20251013_fix_emag_sync_logs_account_type'",
         "   Retrying in 3 seconds...", "❌ Migration failed after 3 attempts!",
         "❌ Migration process failed!"),
        "entrypoint_migration_failed",
    ),
    "race_exhausted": (
        (START, *DB_OK, *INIT_OK, "🔄 Running database migrations...",
         "🔄 Race condition detected (another container is running migrations)",
         "❌ Migration verification failed after 3 attempts!", "❌ Migration process failed!"),
        "entrypoint_migration_failed",
    ),
    "race": (
        (START, *DB_OK, *INIT_OK, "🔄 Running database migrations...",
         "⚠️  Migration attempt 1 failed with exit code 1",
         "🔄 Race condition detected (another container is running migrations)",
         "   Waiting for other container to complete migrations...",
         "✅ Migrations completed by another container!", READY),
        "entrypoint_race_accepted",
    ),
}  # fmt: skip

#: a line for each known error text (MagFlow's and Celery's formats)
KNOWN_LINES: dict[str, str] = {
    "log_missing_credentials": "[2026-11-21 03:00:01,100: WARNING/MainProcess] Missing "
    "credentials for fbe account, skipping",
    "log_background_sync_failed": "2026-11-21 03:00:01,100 - app.api.v1.endpoints.emag - "
    "ERROR - Background sync task failed: timeout",
    "log_product_sync_failed": "2026-11-21 03:00:01,100 - app.services.emag - ERROR - "
    "Product sync failed: 3 pages skipped for main",
    "log_transaction_aborted": "sqlalchemy.exc.InternalError: (psycopg.errors."
    "InFailedSqlTransaction) current transaction is aborted, commands ignored until end of "
    "transaction block",
    "log_naive_aware_datetime": "TypeError: can't subtract offset-naive and offset-aware datetimes",
    "log_missing_greenlet": "sqlalchemy.exc.MissingGreenlet: greenlet_spawn has not been "
    "called; can't call await_only() here",
    "log_event_loop": "[2026-11-21 03:00:01,100: ERROR/MainProcess] Task emag.sync_orders "
    "raised unexpected: RuntimeError('Event loop is closed')",
    "log_redis_fallback": "2026-11-21 03:00:01,100 - app.core.cache - WARNING - Redis "
    "connection failed; continuing without Redis",
    "log_google_sheets": "2026-11-21 03:00:01,100 - app.services.suppliers - ERROR - Google "
    "Sheets import failed: service account file not found",
    "log_import_error": "ModuleNotFoundError: No module named 'app.services.emag_sync_service'",
    "pg_password_rejected": "2026-11-21 03:00:01.100 UTC [88] FATAL:  password authentication "
    'failed for user "app"',
    "pg_too_many_connections": "2026-11-21 03:00:01.100 UTC [88] FATAL:  sorry, too many "
    "clients already",
    "pg_data_incompatible": "2026-11-21 03:00:01.100 UTC [1] DETAIL:  The data directory was "
    "initialized by PostgreSQL version 15, which is not compatible with this version 16.4.",
    "pg_panic": "2026-11-21 03:00:01.100 UTC [1] PANIC:  could not locate a valid checkpoint "
    "record",
    "disk_full": "2026-11-21 03:00:01.100 UTC [1] FATAL:  could not write to file "
    '"pg_wal/xlogtemp.1": No space left on device',
    "redis_rdb_format": "1:M 21 Nov 2026 03:00:01.001 # Can't handle RDB format version 12",
    "redis_oom": "redis.exceptions.OutOfMemoryError: OOM command not allowed when used memory "
    "> 'maxmemory'.",
    "redis_misconf": "redis.exceptions.ResponseError: MISCONF Redis is configured to save RDB "
    "snapshots, but it's currently unable to persist to disk.",
    "redis_auth_failed": "redis.exceptions.AuthenticationError: invalid username-password "
    "pair or user is disabled.",
}

LOG_CODES = {c for _, c in ENTRYPOINT_LOGS.values() if c} | set(KNOWN_LINES)


def test_marker_text_strips_emoji_selectors_and_indent() -> None:
    assert marker_text("⚠️  Migration attempt 1 failed") == "Migration attempt 1 failed"
    assert marker_text("   Attempt 3/30 - x") == "Attempt 3/30 - x"
    assert marker_text("🚀 MagFlow ERP - Starting application...") == (
        "MagFlow ERP - Starting application..."
    )
    assert marker_text("plain text") == "plain text"


@pytest.mark.parametrize("mode", sorted(ENTRYPOINT_LOGS))
def test_each_entrypoint_ending_gives_its_finding(mode: str) -> None:
    texts, code = ENTRYPOINT_LOGS[mode]
    found = entrypoint_findings("magflow_app", lines(*texts))
    assert [f.code for f in found] == ([code] if code else [])
    for f in found:
        assert f.subject == "magflow_app" and f.short and f.short.startswith("magflow_app")
        assert f.severity == (
            "warning"
            if code in ("entrypoint_race_accepted", "entrypoint_waiting_db")
            else "critical"
        )


def test_the_error_the_entrypoint_printed_is_quoted() -> None:
    failed = entrypoint_findings("magflow_app", lines(*ENTRYPOINT_LOGS["fail"][0]))[0]
    assert "Alembic said: KeyError: '20251013_fix_emag_sync_logs_account_type'" in failed.message
    init = entrypoint_findings("magflow_app", lines(*ENTRYPOINT_LOGS["initfail"][0]))[0]
    assert "init_database_complete.py" in init.message


def test_only_the_last_start_counts() -> None:
    failed, _ = ENTRYPOINT_LOGS["fail"]
    ok, _ = ENTRYPOINT_LOGS["ok"]
    # it failed three times, then came up cleanly: nothing is wrong now
    history = lines(*failed, *failed, *failed, *ok)
    assert entrypoint_findings("magflow_worker", history) == []
    cycle = last_cycle(history)
    assert cycle is not None and cycle.starts_in_window == 4
    assert cycle.started_at == T0 + dt.timedelta(seconds=3 * len(failed))
    # the other way round: the restarts are counted in the message
    looping = entrypoint_findings("magflow_worker", lines(*ok, *failed, *failed))
    assert [f.code for f in looping] == ["entrypoint_migration_failed"]
    assert "(3 starts in the window read)" in looping[0].message
    assert "2026-11-21 03:00 UTC" in looping[0].message


def test_no_entrypoint_in_the_window_says_nothing() -> None:
    assert last_cycle(lines("LOG:  database system is ready")) is None
    assert entrypoint_findings("magflow_db", lines("Attempt 1/30 - whatever")) == []


@pytest.mark.parametrize("code", sorted(KNOWN_LINES))
def test_each_known_error_text_is_recognised(code: str) -> None:
    noise = "2026-11-21 03:00:00,000 - app.main - INFO - GET /health 200"
    found = known_error_findings("magflow_app", lines(noise, KNOWN_LINES[code], noise))
    assert [f.code for f in found] == [code]
    assert "seen once in the log, last at 2026-11-21 03:00 UTC" in found[0].message
    assert found[0].subject == "magflow_app"


def test_known_errors_are_counted_per_code_and_account() -> None:
    main = "Missing credentials for main account, skipping"
    fbe = KNOWN_LINES["log_missing_credentials"]
    found = known_error_findings("magflow_worker", lines(fbe, main, fbe, fbe))
    by_account = {f.account: f for f in found}
    assert set(by_account) == {"main", "fbe"}
    assert "seen 3 times" in by_account["fbe"].message
    assert "seen once" in by_account["main"].message
    assert by_account["fbe"].short == "magflow_worker: eMAG credentials missing"


def test_ordinary_lines_raise_nothing() -> None:
    ordinary = lines(
        *ENTRYPOINT_LOGS["ok"][0],
        "2026-11-21 03:00:00,000 - app.main - INFO - Dev admin user ensured",
        "[2026-11-21 03:00:01,100: INFO/MainProcess] Task maintenance.heartbeat[1] succeeded",
        "INFO:     Application startup complete.",
        "the token expired at 03:00",  # not an error text
    )
    assert log_findings("magflow_app", "app", ordinary) == []


def test_samples_are_scrubbed_cleaned_and_cut() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
    line = (
        "2026-11-21 03:00:01,100 - app.services.emag - ERROR - Product sync failed: 401; "
        f"headers={{'Authorization': 'Bearer {token}'}} url=postgresql://app:Pw-123@db/m "
        "\x1b[31mred\x1b[0m\x07"
    )
    found = known_error_findings("magflow_app", lines(line))[0]
    assert token not in found.message and "Pw-123" not in found.message
    assert "\x1b" not in found.message and "\x07" not in found.message
    long = sample("x" * 1000)
    assert len(long) == SAMPLE_MAX and long.endswith("…")


def test_every_known_error_has_a_line_here() -> None:
    assert {k.code for k in KNOWN_ERRORS} == set(KNOWN_LINES)


def test_entrypoint_markers_are_read_only_for_entrypoint_services() -> None:
    texts, _ = ENTRYPOINT_LOGS["dbtimeout"]
    assert [f.code for f in log_findings("magflow_app", "app", lines(*texts))] == [
        "entrypoint_db_timeout"
    ]
    assert log_findings("magflow_redis", "redis", lines(*texts)) == []


def test_the_two_streams_are_cut_apart() -> None:
    """The start, the migration phase and Alembic's replayed output go to stdout, the
    retry loop's markers to stderr (sheet §11.1); the engine may stamp (and return) this
    start's stderr lines before its stdout start line. A previous start's lines must
    not be taken for this one's."""
    ms = dt.timedelta(milliseconds=1)

    def out(at: float, text: str) -> Line:
        return Line(T0 + at * 1000 * ms, text, "stdout")

    def err(at: float, text: str) -> Line:
        return Line(T0 + at * 1000 * ms, text, "stderr")

    migrating = "🔄 Running database migrations..."
    attempt = "   📝 Migration attempt 1/3..."
    previous = [  # a failed start 20 s earlier: its Alembic error must not be quoted
        out(0, START),
        out(1, migrating),
        err(1.001, attempt),
        err(2, "❌ Unexpected migration error:"),
        out(2.001, "KeyError: 'old'"),
        err(11, "❌ Migration process failed!"),
    ]
    current = [  # this start's stderr is stamped 3 ms before its own start line
        err(19.997, attempt), err(19.998, "❌ Unexpected migration error:"),
        out(20, START), out(20.001, migrating), out(20.002, "KeyError: 'new'"),
        err(20.003, "❌ Migration process failed!"),
    ]  # fmt: skip
    (found,) = entrypoint_findings("magflow_app", [*previous, *current])
    assert found.code == "entrypoint_migration_failed"
    assert "Alembic said: KeyError: 'new'" in found.message
    # the race path: its lines are on stderr (here stamped before the start), the ready
    # line on stdout
    race = [
        err(19.998, attempt),
        err(19.999, "🔄 Race condition detected (another container is running migrations)"),
        err(19.9995, "✅ Migrations completed by another container!"),
        out(20, START), out(20.001, migrating), out(20.5, READY),
    ]  # fmt: skip
    assert [f.code for f in entrypoint_findings("magflow_app", race)] == [
        "entrypoint_race_accepted"
    ]
    # the previous start's race (the engine restarts a container 0.1 s after it exits at
    # the soonest) does not colour a clean start
    clean = [
        out(19.5, START), out(19.55, migrating), err(19.56, attempt),
        err(19.57, "🔄 Race condition detected (another container is running migrations)"),
        err(19.58, "✅ Migrations completed by another container!"), out(19.6, READY),
        out(20, START), out(20.001, migrating), err(20.002, attempt),
        err(20.003, "✅ Migrations completed successfully!"), out(20.004, READY),
    ]  # fmt: skip
    assert entrypoint_findings("magflow_app", clean) == []


def test_a_text_that_says_why_a_process_stops_is_critical_when_it_is_down() -> None:
    rdb = KNOWN_LINES["redis_rdb_format"]
    (running,) = known_error_findings("magflow_redis", lines(rdb))
    (looping,) = known_error_findings("magflow_redis", lines(rdb, rdb), down=True)
    assert running.severity == "warning" and "why it stops" not in running.message
    assert looping.severity == "critical" and "(this is why it stops)" in looping.message
    assert "RDB format 12" in looping.message and "seen 2 times" in looping.message
    # a text that does not stop anything stays a warning
    (oom,) = known_error_findings("magflow_redis", lines(KNOWN_LINES["redis_oom"]), down=True)
    assert oom.severity == "warning"


def test_a_rejected_password_is_told_per_user() -> None:
    app = 'FATAL:  password authentication failed for user "app"'
    other = 'FATAL:  password authentication failed for user "reporting"'
    found = {f.short for f in known_error_findings("magflow_db", lines(app, other, app))}
    assert found == {
        "magflow_db: database password rejected (app)",
        "magflow_db: database password rejected (reporting)",
    }


def test_every_log_finding_carries_text_to_find_its_line() -> None:
    """``evidence`` is what a viewer searches for: it must be in a line of the log."""
    for code, line in KNOWN_LINES.items():
        (found,) = known_error_findings("magflow_app", lines(line))
        assert found.evidence and found.evidence in line, code
    for mode, (texts, _code) in ENTRYPOINT_LOGS.items():
        for found in entrypoint_findings("magflow_app", lines(*texts)):
            assert found.evidence and any(found.evidence in t for t in texts), mode
