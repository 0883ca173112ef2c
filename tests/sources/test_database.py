"""DatabaseSource against a real PostgreSQL: schema facts, version tables, the migration
lock, long transactions, admins, read-only connection, failure paths and recovery.

Sync statistics and anomalies are in ``test_database_sync.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from magflow_console.models import to_jsonable
from magflow_console.reference.urls import to_libpq, with_database
from magflow_console.sources.database import DatabaseSource
from magflow_console.sources.pg_conn import SourceError, friendly_error, parse_url, scalar

pytestmark = pytest.mark.postgres

SECRET = "s3cr3t-Pa55word"

# --------------------------------------------------------------------------- helpers


@contextmanager
def connect(url: str, app_name: str = "pytest", autocommit: bool = True) -> Iterator[Any]:
    """A plain psycopg connection (independent of the source) in UTC."""
    conn = psycopg.connect(to_libpq(url), autocommit=autocommit, application_name=app_name)
    try:
        conn.execute("SET TIME ZONE 'UTC'")
        if not autocommit:
            conn.commit()
        yield conn
    finally:
        conn.close()


def utc(hours_ago: float = 0.0) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)


def _filler(data_type: str) -> Any:
    if data_type == "uuid":
        return uuid.uuid4()
    if data_type in ("integer", "bigint", "smallint"):
        return 0
    if data_type in ("double precision", "real", "numeric"):
        return 0.0
    if data_type == "boolean":
        return False
    if data_type.startswith("timestamp"):
        return utc()
    if data_type == "date":
        return dt.date.today()
    if data_type in ("json", "jsonb"):
        return Jsonb({})
    return "x-" + uuid.uuid4().hex[:12]


def insert_row(conn: Any, table: str, values: dict[str, Any]) -> dict[str, Any]:
    """Insert into ``app.<table>`` supplying every NOT NULL column without a server default
    (MagFlow's defaults are Python-side only, sheet §4)."""
    cols = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'app' AND table_name = %s AND is_nullable = 'NO'"
        " AND column_default IS NULL",
        [table],
    ).fetchall()
    row = {name: _filler(dtype) for name, dtype in cols if name not in values}
    row.update(values)
    names = ", ".join(f'"{k}"' for k in row)
    marks = ", ".join(["%s"] * len(row))
    conn.execute(f"INSERT INTO app.{table} ({names}) VALUES ({marks})", list(row.values()))
    return row


def insert_sync_log(conn: Any, **kw: Any) -> str:
    """One ``app.emag_sync_logs`` row; ``hours_ago`` sets ``started_at``."""
    hours_ago = kw.pop("hours_ago", 1.0)
    items = kw.pop("items", 10)
    started = utc(hours_ago)
    errors = kw.pop("errors", [])
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "sync_type": "products",
        "account_type": "main",
        "operation": "incremental_sync",
        "status": "completed",
        "total_items": items,
        "processed_items": items,
        "created_items": 0,
        "updated_items": items,
        "failed_items": 0,
        "errors": Jsonb(errors) if errors is not None else None,
        "started_at": started,
        "completed_at": started + dt.timedelta(seconds=30),
        "duration_seconds": 30.0,
        "created_at": started,
        "updated_at": started,
    }
    values.update(kw)
    if values["status"] == "running":
        values["completed_at"] = None
        values["duration_seconds"] = None
    insert_row(conn, "emag_sync_logs", values)
    return str(values["id"])


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def source_pid(src: DatabaseSource) -> int:
    with src._db.transaction() as conn:
        return int(scalar(conn, "SELECT pg_backend_pid()"))


# --------------------------------------------------------------------------- facts


def test_demo_database_facts(demo_db_url: str) -> None:
    src = DatabaseSource(demo_db_url)
    try:
        snap = src.fetch_database()
    finally:
        src.close()
    assert snap.state == "ok", snap.error
    assert snap.error is None
    with connect(demo_db_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'app'"
                " AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        revs = [r[0] for r in conn.execute("SELECT version_num FROM app.alembic_version")]
        enum_count = conn.execute(
            "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'app' AND t.typtype = 'e'"
        ).fetchone()[0]
    assert snap.server_version == version
    assert snap.latency_ms is not None and snap.latency_ms >= 0
    assert list(snap.tables) == sorted(tables)
    assert {"emag_sync_logs", "emag_products_v2", "users", "alembic_version"} <= set(snap.tables)
    assert len(snap.enums) == enum_count
    if "taxcategory" in snap.enums:
        assert snap.enums["taxcategory"][0] == "STANDARD"
    assert snap.version_tables == ("app.alembic_version",)
    assert snap.version_rows == {"app.alembic_version": tuple(revs)}
    assert snap.current_revisions == tuple(revs) and len(revs) == 1
    assert snap.schema_empty is False
    assert snap.lock_holders == ()
    assert snap.fetched_at.tzinfo is not None


def test_empty_database_has_no_version_table(empty_db_url: str) -> None:
    src = DatabaseSource(empty_db_url)
    snap = src.fetch_database()
    src.close()
    assert snap.state == "ok", snap.error
    assert snap.version_tables == ()
    assert snap.current_revisions == ()
    assert snap.tables == ()
    assert snap.schema_empty is True


def test_version_table_in_public_only(empty_db_url: str) -> None:
    with connect(empty_db_url) as conn:
        conn.execute("CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO public.alembic_version VALUES ('bf06b4dee948')")
    src = DatabaseSource(empty_db_url)
    snap = src.fetch_database()
    src.close()
    assert snap.state == "ok", snap.error
    assert snap.version_tables == ("public.alembic_version",)
    assert snap.current_revisions == ("bf06b4dee948",)
    assert snap.schema_empty is True


def test_version_table_in_app_and_public(head_db_url: str) -> None:
    with connect(head_db_url) as conn:
        app_rev = conn.execute("SELECT version_num FROM app.alembic_version").fetchone()[0]
        conn.execute("CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO public.alembic_version VALUES ('f6bd35df0c64')")
    src = DatabaseSource(head_db_url)
    snap = src.fetch_database()
    src.close()
    assert snap.state == "ok", snap.error
    assert snap.version_tables == ("app.alembic_version", "public.alembic_version")
    assert snap.version_rows["public.alembic_version"] == ("f6bd35df0c64",)
    assert snap.current_revisions == (app_rev,)  # app's rows win
    assert snap.schema_empty is False


def test_missing_schema_is_ok_with_a_note(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url, schema="no_such_schema")
    snap = src.fetch_database()
    sync = src.fetch_sync()
    src.close()
    assert snap.state == "ok"
    assert snap.error is not None and "no_such_schema" in snap.error
    assert snap.tables == () and snap.schema_empty is True
    assert sync.state == "error"
    assert sync.error is not None and "no_such_schema.emag_sync_logs" in sync.error


# --------------------------------------------------------------------------- activity


def test_migration_lock_holder_and_waiter(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url)
    with (
        connect(head_db_url, "magflow_app-migrate") as holder,
        connect(head_db_url, "magflow_worker-migrate") as waiter,
    ):
        holder.execute("SELECT pg_advisory_lock(123456789)")
        holder_pid = holder.info.backend_pid
        waiter_pid = waiter.info.backend_pid
        blocked = threading.Thread(
            target=lambda: waiter.execute("SELECT pg_advisory_lock(123456789)"), daemon=True
        )
        blocked.start()
        try:

            def waiting() -> bool:
                return len(src.fetch_database().lock_holders) == 2

            wait_for(waiting, "the waiter to queue on the advisory lock")
            snap = src.fetch_database()
            assert snap.state == "ok", snap.error
            first, second = snap.lock_holders
            assert (first.pid, first.granted, first.application_name) == (
                holder_pid,
                True,
                "magflow_app-migrate",
            )
            assert (second.pid, second.granted, second.application_name) == (
                waiter_pid,
                False,
                "magflow_worker-migrate",
            )
            assert second.state == "active"
            assert second.query is not None and "pg_advisory_lock" in second.query
            assert first.waiting_seconds is not None and first.waiting_seconds >= 0
        finally:
            holder.execute("SELECT pg_advisory_unlock(123456789)")
            blocked.join(timeout=10)
            waiter.execute("SELECT pg_advisory_unlock_all()")
    after = src.fetch_database()
    src.close()
    assert after.lock_holders == ()


def test_long_transactions_flag_sync_tables(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url, long_transaction_seconds=0.2)
    with (
        connect(head_db_url, "magflow_worker", autocommit=False) as syncer,
        connect(head_db_url, "other-client", autocommit=False) as other,
    ):
        syncer.execute("SELECT count(*) FROM app.emag_sync_logs")  # holds a relation lock
        other.execute("SELECT 1")
        try:

            def both_old() -> bool:
                return len(src.fetch_database().long_transactions) == 2

            wait_for(both_old, "two transactions older than 0.2 s")
            snap = src.fetch_database()
            by_pid = {x.pid: x for x in snap.long_transactions}
            sync_x = by_pid[syncer.info.backend_pid]
            other_x = by_pid[other.info.backend_pid]
            assert sync_x.touches_sync_tables is True
            assert sync_x.application_name == "magflow_worker"
            assert sync_x.state == "idle in transaction"
            assert sync_x.xact_age_seconds > 0
            assert other_x.touches_sync_tables is False
            sync = src.fetch_sync()
            in_progress = [f for f in sync.anomalies if f.code == "sync_in_progress"]
            assert len(in_progress) == 1
            assert in_progress[0].severity == "info"
            assert in_progress[0].subject == str(syncer.info.backend_pid)
        finally:
            syncer.rollback()
            other.rollback()
    # the default 30 s threshold does not flag fresh transactions, and our own never shows
    quiet = DatabaseSource(head_db_url)
    assert quiet.fetch_database().long_transactions == ()
    quiet.close()
    src.close()


# --------------------------------------------------------------------------- admins


def test_admins_list_superusers_and_admin_role_without_hashes(head_db_url: str) -> None:
    hashed = "$2b$12$" + "a" * 53
    with connect(head_db_url) as conn:
        role = conn.execute("SELECT id FROM app.roles WHERE name = 'admin'").fetchone()
        if role is None:
            insert_row(conn, "roles", {"name": "admin", "is_system_role": True})
            role = conn.execute("SELECT id FROM app.roles WHERE name = 'admin'").fetchone()

        def user(email: str, superuser: bool, with_role: bool, pw_hash: str = hashed) -> None:
            insert_row(
                conn,
                "users",
                {
                    "email": email,
                    "hashed_password": pw_hash,
                    "full_name": email.split("@")[0],
                    "is_active": True,
                    "is_superuser": superuser,
                    "email_verified": True,
                    "failed_login_attempts": 2,
                    "last_login": utc(1),
                },
            )
            if with_role:
                uid = conn.execute("SELECT id FROM app.users WHERE email = %s", [email]).fetchone()
                conn.execute("INSERT INTO app.user_roles VALUES (%s, %s)", [uid[0], role[0]])

        user("root@magflow.local", superuser=True, with_role=False)
        user("ops@magflow.local", superuser=False, with_role=True)
        user("both@magflow.local", superuser=True, with_role=True)
        user("plain@magflow.local", superuser=False, with_role=False)
        # what a broken admin script writes: a sha256 hex digest, and a truncated bcrypt hash
        user("sha@magflow.local", superuser=True, with_role=True, pw_hash="e3b0c442" * 8)
        user("cut@magflow.local", superuser=True, with_role=False, pw_hash=hashed[:59])

    src = DatabaseSource(head_db_url)
    snap = src.fetch_admins()
    src.close()
    assert snap.state == "ok", snap.error
    got = {u.email: (u.is_superuser, u.has_admin_role, u.password_hash_ok) for u in snap.items}
    assert got == {
        "root@magflow.local": (True, False, True),
        "ops@magflow.local": (False, True, True),
        "both@magflow.local": (True, True, True),
        "sha@magflow.local": (True, True, False),
        "cut@magflow.local": (True, False, False),
    }
    ops = next(u for u in snap.items if u.email == "ops@magflow.local")
    assert ops.failed_login_attempts == 2 and ops.email_verified is True
    assert ops.last_login is not None and ops.last_login.tzinfo is not None
    dumped = json.dumps(to_jsonable(snap))
    assert "$2b$" not in dumped and "hashed_password" not in dumped and "e3b0c442" not in dumped


# --------------------------------------------------------------------------- connection


def test_connection_is_read_only_and_configured(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url, statement_timeout_ms=4321)
    with src._db.transaction() as conn:
        settings = conn.execute(
            "SELECT current_setting('transaction_read_only'),"
            " current_setting('statement_timeout'), current_setting('TimeZone'),"
            " current_setting('application_name')"
        ).fetchone()
    assert settings is not None
    assert tuple(settings) == ("on", "4321ms", "UTC", "magflow-console")
    with pytest.raises(SourceError, match="read-only"), src._db.transaction() as conn:
        conn.execute("DELETE FROM app.emag_sync_logs")
    with pytest.raises(SourceError, match="read-only"), src._db.transaction() as conn:
        conn.execute("CREATE TABLE app.console_was_here (x int)")
    # still read-only on the next transaction of the same connection
    with src._db.transaction() as conn:
        assert scalar(conn, "SHOW transaction_read_only") == "on"
    src.close()
    with connect(head_db_url) as conn:
        assert conn.execute("SELECT to_regclass('app.console_was_here')").fetchone()[0] is None


def test_one_connection_reused(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url)
    pid = source_pid(src)
    src.fetch_database()
    src.fetch_sync()
    src.fetch_admins()
    assert source_pid(src) == pid
    with connect(head_db_url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'magflow-console'"
            " AND datname = current_database()"
        ).fetchone()[0]
    src.close()
    assert n == 1


def test_recovers_after_its_backend_was_terminated(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url)
    assert src.fetch_database().state == "ok"
    old = source_pid(src)
    with connect(head_db_url) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", [old])
    wait_for(
        lambda: _backend_gone(head_db_url, old), "the terminated backend to disappear", timeout=10
    )
    snap = src.fetch_database()
    assert snap.state == "ok", snap.error
    assert source_pid(src) != old
    assert src.fetch_sync().state == "ok"
    src.close()


def _backend_gone(url: str, pid: int) -> bool:
    with connect(url) as conn:
        return (
            conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[
                0
            ]
            == 0
        )


def test_statement_timeout_gives_an_error_then_recovers(head_db_url: str) -> None:
    src = DatabaseSource(head_db_url, statement_timeout_ms=300)
    with connect(head_db_url, "locker", autocommit=False) as locker:
        locker.execute("LOCK TABLE app.emag_sync_logs IN ACCESS EXCLUSIVE MODE")
        snap = src.fetch_sync()
        locker.rollback()
    assert snap.state == "error"
    assert snap.error is not None and "statement timeout" in snap.error
    assert src.fetch_sync().state == "ok"
    src.close()


# --------------------------------------------------------------------------- failures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assert_all_fail(url: str, expected: str, **kw: Any) -> None:
    src = DatabaseSource(url, **kw)
    snaps: list[Any] = [src.fetch_database(), src.fetch_sync(), src.fetch_admins()]
    assert src.sync_run(str(uuid.uuid4())) is None
    for snap in snaps:
        assert snap.state == "error"
        assert snap.error is not None and expected in snap.error, snap.error
        assert "\n" not in snap.error
        assert SECRET not in json.dumps(to_jsonable(snap))
    assert src.last_error is not None and expected in src.last_error
    assert SECRET not in src.last_error
    src.close()


def test_closed_port_is_refused() -> None:
    port = _free_port()
    _assert_all_fail(
        f"postgresql+asyncpg://app:{SECRET}@127.0.0.1:{port}/magflow",
        f"PostgreSQL at 127.0.0.1:{port}/magflow refused the connection",
    )


def test_missing_socket_directory(tmp_path: Any) -> None:
    _assert_all_fail(
        f"postgresql://app:{SECRET}@/magflow?host={tmp_path}/nowhere", "is not running"
    )


def test_nonexistent_database(pg_server: Any) -> None:
    url = with_database(pg_server.admin_url, "no_such_db_for_console")
    _assert_all_fail(url, 'database "no_such_db_for_console" does not exist')


def test_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts TCP handshakes, never answers the startup packet
    port = listener.getsockname()[1]
    try:
        _assert_all_fail(
            f"postgresql://app:{SECRET}@127.0.0.1:{port}/magflow",
            "timed out after 2 s",
            connect_timeout=2,
        )
    finally:
        listener.close()


def test_bad_urls_never_raise() -> None:
    for url, expected in [
        (f"mysql://app:{SECRET}@localhost/magflow", "not PostgreSQL"),
        (f"postgresql://app:{SECRET}@localhost:notaport/magflow", "not a valid"),
    ]:
        _assert_all_fail(url, expected)


def test_wrong_password_message_from_libpq_text() -> None:
    # libpq's exact text over TCP; the real server case is test_wrong_password_on_a_real_server
    url = parse_url(f"postgresql+asyncpg://app:{SECRET}@db.example:5433/magflow")
    err = psycopg.OperationalError(
        'connection failed: connection to server at "10.0.0.5", port 5433 failed: '
        'FATAL:  password authentication failed for user "app"'
    )
    msg = friendly_error(err, url, 3.0)
    assert msg == "password authentication failed for user app"
    odd = psycopg.OperationalError(f"weird failure for postgresql://app:{SECRET}@db/x")
    assert SECRET not in friendly_error(odd, url, 3.0)


@contextmanager
def _password_required_for(admin_url: str, role: str) -> Iterator[None]:
    """Temporarily put ``<role>`` under scram-sha-256 in pg_hba.conf (first match wins),
    so even the trust-only embedded server checks that role's password; restored after."""
    with connect(admin_url) as conn:
        hba_file = conn.execute("SHOW hba_file").fetchone()[0]
        original = conn.execute("SELECT pg_read_file(%s)", [hba_file]).fetchone()[0]
        lines = [
            f"local all {role} scram-sha-256",
            f"host all {role} all scram-sha-256",
            *original.replace("\t", " ").replace("\\", "\\\\").splitlines(),
        ]

        def write(rows: list[str]) -> None:
            conn.execute(
                psycopg.sql.SQL("COPY (SELECT unnest({}::text[])) TO {}").format(
                    psycopg.sql.Literal(rows), psycopg.sql.Literal(hba_file)
                )
            )
            assert conn.execute("SELECT pg_reload_conf()").fetchone()[0] is True

        write(lines)
        try:
            yield
        finally:
            write(original.replace("\t", " ").replace("\\", "\\\\").splitlines())


def test_wrong_password_on_a_real_server(pg_server: Any, head_db_url: str) -> None:
    role = "mfc_pwtest_" + uuid.uuid4().hex[:6]
    with connect(pg_server.admin_url) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                psycopg.sql.Identifier(role), psycopg.sql.Literal("the-right-one")
            )
        )
    try:
        with _password_required_for(pg_server.admin_url, role):
            url = make_url(head_db_url).set(username=role, password=SECRET)
            _assert_all_fail(
                url.render_as_string(hide_password=False),
                f"password authentication failed for user {role}",
            )
            good = DatabaseSource(
                make_url(head_db_url)
                .set(username=role, password="the-right-one")
                .render_as_string(hide_password=False)
            )
            denied = good.fetch_database()
            assert denied.state == "error" and denied.error is not None
            assert f"user {role} lacks a privilege" in denied.error
            with connect(head_db_url) as conn:
                ident = psycopg.sql.Identifier(role)
                conn.execute(psycopg.sql.SQL("GRANT USAGE ON SCHEMA app TO {}").format(ident))
                conn.execute(
                    psycopg.sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA app TO {}").format(ident)
                )
            snap = good.fetch_database()
            assert snap.state == "ok", snap.error  # the right password works
            assert good.fetch_sync().state == "ok"
            good.close()
    finally:
        with connect(head_db_url) as conn:
            conn.execute(psycopg.sql.SQL("DROP OWNED BY {}").format(psycopg.sql.Identifier(role)))
        with connect(pg_server.admin_url) as conn:
            conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))
