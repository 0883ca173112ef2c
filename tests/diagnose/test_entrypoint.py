"""The entrypoint's start cycle read from both streams, as the real scripts write them.

Sheet §1.2 as corrected by §11.1: the newer entrypoint writes its start, db-wait and init
lines, "Running database migrations...", Alembic's captured output and "Application
ready to start!" on stdout, and the lines of its migration retry loop on stderr. The
older one (images built before 2025-10-22) writes "Running database migrations..." and
then lets Alembic write its own log lines and traceback on stderr, with no marker, exits
1 and is restarted. The engine reads the two pipes separately: the lines below are
stamped per stream with a skew and returned in stamp order, as the engine returns them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from magflow_console.diagnose.entrypoint import (
    STREAM_SKEW,
    entrypoint_findings,
    from_older_image,
    last_cycle,
)
from magflow_console.diagnose.logs import log_findings
from magflow_console.diagnose.remedies import next_steps
from magflow_console.models import Finding, LogLine

T0 = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)

Line = LogLine


Event = tuple[str, str]  # (stream, text) in the order the script writes them


def out(text: str) -> Event:
    return ("stdout", text)


def err(text: str) -> Event:
    return ("stderr", text)


START = "🚀 MagFlow ERP - Starting application..."
UP_TO_MIGRATE = (
    out(START),
    out("⏳ Waiting for database to be ready..."),
    out("✅ Database is ready!"),
    out("🔍 Checking database initialization status..."),
    out("✅ Database already initialized"),
    out("🔄 Running database migrations..."),
)
READY = "🎉 Application ready to start!"

REV = "20251013_fix_emag_sync_logs_account_type"
DUPLICATE = (
    'sqlalchemy.exc.ProgrammingError: (psycopg2.errors.DuplicateColumn) column "min_sale_price"'
    ' of relation "emag_product_offers_v2" already exists'
)
#: Alembic's output when a non-idempotent migration meets a column that is already there
DUPLICATE_TRACEBACK = (
    "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
    "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
    "INFO  [alembic.runtime.migration] Running upgrade 86f7456767fd -> 72ba0528563c, add "
    "price fields to emag_product_offers_v2",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1967, '
    "in _exec_single_context",
    "    self.dialect.do_execute(",
    'psycopg2.errors.DuplicateColumn: column "min_sale_price" of relation '
    '"emag_product_offers_v2" already exists',
    "",
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/usr/local/bin/alembic", line 8, in <module>',
    "    sys.exit(main())",
    "             ^^^^^^",
    DUPLICATE,
    "[SQL: ALTER TABLE app.emag_product_offers_v2 ADD COLUMN min_sale_price FLOAT]",
    "(Background on this error at: https://sqlalche.me/e/20/f405)",
)
UNKNOWN = f"alembic.util.exc.CommandError: Can't locate revision identified by '{REV}'"
#: Alembic's output when the database is stamped with a revision no file defines
UNKNOWN_TRACEBACK = (
    "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
    "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.11/site-packages/alembic/script/revision.py", line '
    "1225, in _revision_for_ident",
    "    revision = self._revision_map[resolved_id]",
    f"KeyError: '{REV}'",
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/usr/local/bin/alembic", line 8, in <module>',
    "    sys.exit(main())",
    UNKNOWN,
)
UPGRADED = (
    "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
    "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
    "INFO  [alembic.runtime.migration] Running upgrade 20251021_add_price_fields -> "
    "20251021_eliminated_suggest, add eliminated suggestions",
)


def new_script(ending: str, alembic: tuple[str, ...] = UNKNOWN_TRACEBACK) -> list[Event]:
    """What the newer entrypoint writes for ``ending`` (ok, race, fail), in write order."""
    events = list(UP_TO_MIGRATE)
    if ending == "ok":
        events += [
            err("   📝 Migration attempt 1/3..."),
            err("✅ Migrations completed successfully!"),
        ]
        events += [out(t) for t in UPGRADED]
        return [*events, out(READY)]
    if ending == "race":
        return [
            *events,
            err("   📝 Migration attempt 1/3..."),
            err("⚠️  Migration attempt 1 failed with exit code 1"),
            err("🔄 Race condition detected (another container is running migrations)"),
            err("   💤 Waiting for other container to complete migrations..."),
            err("   🔍 Retrying migration check..."),
            err("✅ Migrations completed by another container!"),
            out(READY),
        ]
    assert ending == "fail"
    for n in (1, 2, 3):
        events += [
            err(f"   📝 Migration attempt {n}/3..."),
            err(f"⚠️  Migration attempt {n} failed with exit code 1"),
            err("❌ Unexpected migration error:"),
            *(out(t) for t in alembic),
        ]
        if n < 3:
            events.append(err("   ⏳ Retrying in 3 seconds..."))
    return [
        *events,
        err("❌ Migration failed after 3 attempts!"),
        err("❌ Migration process failed!"),
    ]


def old_script(ending: str, alembic: tuple[str, ...] = DUPLICATE_TRACEBACK) -> list[Event]:
    """What the older entrypoint writes: no loop, Alembic's own output on stderr."""
    events = list(UP_TO_MIGRATE)
    if ending == "ok":
        events += [err(t) for t in UPGRADED]
        return [*events, out("✅ Migrations completed successfully!"), out(READY)]
    if ending == "running":  # Alembic has not finished yet
        return [*events, *(err(t) for t in alembic[:2])]
    assert ending == "fail"
    return [*events, *(err(t) for t in alembic)]


def stamped(
    events: list[Event], start: float, *, pace_ms: float = 0.05, err_skew_ms: float = 0.0
) -> list[Line]:
    """The lines as the engine returns them: each stamped when its pipe was read (the
    stderr pipe ``err_skew_ms`` earlier or later than stdout), in stamp order."""
    ms = dt.timedelta(milliseconds=1)
    made = [
        Line(
            T0
            + dt.timedelta(seconds=start)
            + (i * pace_ms + (err_skew_ms if s == "stderr" else 0)) * ms,
            text,
            s,
        )
        for i, (s, text) in enumerate(events)
    ]
    return sorted(made, key=lambda line: line.timestamp or T0)


def restarts(*cycles: list[Event], gap: float = 0.3, **kw: float) -> list[Line]:
    """Several starts of the same container: each after the previous one exited, ``gap``
    seconds later (the engine's restart back-off is 0.1 s at the least)."""
    made: list[Line] = []
    at = 0.0
    for events in cycles:
        lines = stamped(events, at, **kw)
        made += lines
        last = max(line.timestamp for line in lines if line.timestamp)
        at = (last - T0).total_seconds() + gap
    return made


def one(lines: list[Line], name: str = "magflow_app") -> Finding:
    found = entrypoint_findings(name, lines)
    assert len(found) == 1, [f.code for f in found]
    return found[0]


# --------------------------------------------------------------------------- newer script

#: (pace of the script in ms per line, skew of the stderr stamps in ms): the stand-in's
#: pace with the stderr pipe read 3 ms before or after stdout, and a real pace
INTERLEAVINGS = [(0.05, -3.0), (0.05, 3.0), (0.05, 0.0), (200.0, -3.0), (200.0, 3.0)]


@pytest.mark.parametrize(("pace_ms", "skew_ms"), INTERLEAVINGS)
@pytest.mark.parametrize(
    ("alembic", "said"),
    [(UNKNOWN_TRACEBACK, UNKNOWN), ((f"  FAILED: Can't locate revision identified by '{REV}'",),
                                    f"FAILED: Can't locate revision identified by '{REV}'")],
)  # fmt: skip
def test_a_failed_migration_quotes_alembic_from_stdout(
    pace_ms: float, skew_ms: float, alembic: tuple[str, ...], said: str
) -> None:
    """Alembic's error is replayed on stdout, the markers that announce it are on
    stderr: the finding quotes Alembic's last error line, wherever the streams put it."""
    lines = stamped(new_script("fail", alembic), 0, pace_ms=pace_ms, err_skew_ms=skew_ms)
    found = one(lines)
    assert found.code == "entrypoint_migration_failed" and found.severity == "critical"
    assert f"Alembic said: {said}." in found.message
    assert found.evidence == said and any(said in line.text for line in lines)
    assert not from_older_image(found)
    assert "older than the entrypoint fix" not in found.message


def test_a_race_accepted_old_revision_with_its_markers_on_stderr() -> None:
    """The race path's markers, all on stderr, may be read before or after the stdout
    start line: the warning is given either way (one test, every interleaving)."""
    for pace_ms, skew_ms in INTERLEAVINGS:
        lines = stamped(new_script("race"), 0, pace_ms=pace_ms, err_skew_ms=skew_ms)
        found = entrypoint_findings("magflow_app", lines)
        assert [(f.code, f.severity) for f in found] == [("entrypoint_race_accepted", "warning")], (
            pace_ms,
            skew_ms,
        )
        # the start before this one failed: still only this start counts
        history = restarts(new_script("fail"), new_script("race"), err_skew_ms=skew_ms)
        assert [f.code for f in entrypoint_findings("magflow_app", history)] == [
            "entrypoint_race_accepted"
        ], (pace_ms, skew_ms)


@pytest.mark.parametrize("skew_ms", [-3.0, 3.0])
def test_several_restarts_quote_the_last_start_only(skew_ms: float) -> None:
    def failing(rev: str) -> list[Event]:
        traceback = tuple(t.replace(REV, rev) for t in UNKNOWN_TRACEBACK)
        return new_script("fail", traceback)

    looping = restarts(failing("rev_a"), failing("rev_b"), failing("rev_c"), err_skew_ms=skew_ms)
    found = one(looping, "magflow_worker")
    assert "Can't locate revision identified by 'rev_c'" in found.message
    assert "rev_a" not in found.message and "rev_b" not in found.message
    assert "(3 starts in the window read)" in found.message
    cycle = last_cycle(looping)
    assert cycle is not None and cycle.starts_in_window == 3
    # the last start's lines only: one "Migration attempt 1/3...", its own three errors
    assert cycle.markers.count("Migration attempt 1/3...") == 1
    assert cycle.markers.count("KeyError: 'rev_c'") == 3
    assert not any("rev_b" in t for t in cycle.markers)
    # it failed twice, then came up: nothing is wrong now, whatever stream said what last
    healed = restarts(failing("rev_a"), failing("rev_b"), new_script("ok"), err_skew_ms=skew_ms)
    assert entrypoint_findings("magflow_worker", healed) == []
    cycle = last_cycle(healed)
    assert cycle is not None and "Migration process failed!" not in cycle.markers
    assert "Migration attempt 1/3..." in cycle.markers


def test_stderr_stamped_before_the_start_line_belongs_to_it() -> None:
    """A line of the other stream read just before the start line (within the skew) is
    this start's; one from the previous start, stamped a restart earlier, is not."""
    lines = restarts(new_script("fail"), new_script("race"), err_skew_ms=-3.0)
    start_at = max(ln.timestamp for ln in lines if ln.text == START and ln.timestamp)
    early = [
        ln for ln in lines if ln.stream == "stderr" and ln.timestamp and ln.timestamp < start_at
    ]
    assert any("Migration attempt 1/3" in ln.text for ln in early[-6:])  # the set-up holds
    cycle = last_cycle(lines)
    assert cycle is not None
    assert cycle.markers[0] == "Migration attempt 1/3..."  # read before the start line
    assert "Migration process failed!" not in cycle.markers  # the previous start's end
    assert dt.timedelta(seconds=0.3) > STREAM_SKEW  # the gap of restarts() above


def test_a_tty_container_has_one_stream_and_the_error_is_still_quoted() -> None:
    """With a tty the engine returns one stream (no stream name): nothing to cut apart."""
    tty = [Line(ln.timestamp, ln.text, None) for ln in stamped(new_script("fail"), 0)]
    assert f"Alembic said: {UNKNOWN}." in one(tty).message


# --------------------------------------------------------------------------- older script


@pytest.mark.parametrize(
    ("alembic", "said"), [(DUPLICATE_TRACEBACK, DUPLICATE), (UNKNOWN_TRACEBACK, UNKNOWN)]
)
@pytest.mark.parametrize("skew_ms", [-3.0, 0.0, 3.0])
def test_the_older_entrypoint_failing_gives_the_same_finding(
    alembic: tuple[str, ...], said: str, skew_ms: float
) -> None:
    """Older image: "Running database migrations...", Alembic's traceback on stderr, no
    marker, exit 1, restarted. Same finding, Alembic's last error line, and the reason."""
    looping = restarts(*(old_script("fail", alembic) for _ in range(3)), err_skew_ms=skew_ms)
    found = one(looping, "magflow_beat")
    assert found.code == "entrypoint_migration_failed" and found.severity == "critical"
    assert f"Alembic said: {said}." in found.message
    assert "[SQL:" not in found.message and "Background on this error" not in found.message
    assert "older than the entrypoint fix" in found.message and "2025-10-22" in found.message
    assert "(3 starts in the window read)" in found.message
    assert found.short == "magflow_beat: migrations failed (image older than the entrypoint fix)"
    assert found.evidence == said and found.subject == "magflow_beat"
    assert from_older_image(found)
    # the same through the log reader, for every service that runs the entrypoint
    for service in ("app", "worker", "beat"):
        assert [f.code for f in log_findings("magflow_beat", service, looping)] == [
            "entrypoint_migration_failed"
        ]


def test_the_older_entrypoint_is_told_to_rebuild_the_image() -> None:
    older = one(stamped(old_script("fail"), 0))
    newer = one(stamped(new_script("fail"), 0))
    steps = " ".join(next_steps(older))
    assert "docker compose build app worker beat" in steps
    assert "docker compose up -d app worker beat" in steps
    assert "rebuild" in steps and "retry" in steps
    assert "docker compose build" not in " ".join(next_steps(newer))


def test_the_older_entrypoint_succeeding_or_still_running_says_nothing() -> None:
    """Success: Alembic's log lines on stderr, "Migrations completed successfully!" and
    "Application ready to start!" on stdout. Only the last start counts."""
    ok = stamped(old_script("ok"), 0, err_skew_ms=-3.0)
    assert entrypoint_findings("magflow_app", ok) == []
    healed = restarts(old_script("fail"), old_script("fail"), old_script("ok"))
    assert entrypoint_findings("magflow_app", healed) == []
    running = restarts(old_script("fail"), old_script("running"))
    assert entrypoint_findings("magflow_app", running) == []
    # and a failure after successes is one
    broken = restarts(old_script("ok"), old_script("fail"))
    assert from_older_image(one(broken))


def test_the_older_entrypoint_quotes_alembics_failed_line_from_stdout() -> None:
    """A CommandError that Alembic's command line catches is not a traceback: its log
    line goes to stderr, "FAILED: ..." to stdout (the migration line's own stream), and
    alembic exits. Still the older script's failure, quoting that line."""
    failed = f"FAILED: Can't locate revision identified by '{REV}'"
    events = [
        *UP_TO_MIGRATE,
        err("INFO  [alembic.runtime.migration] Context impl PostgresqlImpl."),
        err("INFO  [alembic.runtime.migration] Will assume transactional DDL."),
        err(f"ERROR [alembic.util.messaging] Can't locate revision identified by '{REV}'"),
        out(failed),
    ]
    found = one(restarts(events, events, err_skew_ms=-3.0))
    assert from_older_image(found) and f"Alembic said: {failed}." in found.message
    # with a tty both scripts write on one stream: the missing loop markers decide
    tty = [Line(ln.timestamp, ln.text, None) for ln in stamped(old_script("fail"), 0)]
    assert from_older_image(one(tty))
