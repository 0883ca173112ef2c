"""A database URL with a password that the server really checks, for the secret tests.

The embedded server trusts every connection: a password put in its URL is accepted and
ignored, so a test that looks for the password in the console's output proves little
about the password's way through the console, and a URL rewritten by hand stops carrying
it as soon as the test server is another one. ``password_url`` makes a login role with a
password and, where the server's ``pg_hba.conf`` is a local file (the embedded server),
makes the server ask that role for it (scram-sha-256), so the URL works only with it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from magflow_console.reference.urls import to_libpq, with_database
from tests.support.postgres import PgServer


def _rejects(url: str) -> bool:
    try:
        with psycopg.connect(to_libpq(url), connect_timeout=5):
            return False
    except psycopg.OperationalError:
        return True


@contextmanager
def password_url(server: PgServer, db_url: str, password: str) -> Iterator[str]:
    """``db_url`` as a new superuser login role whose password is ``password`` (in the URL).
    Where the server's rules could be edited, a wrong password is refused before this
    yields; the URL has connected in any case. The role (its objects go to ``db_url``'s
    user) and the ``pg_hba.conf`` lines are gone afterwards."""
    role = f"mfc_pw_{uuid.uuid4().hex[:10]}"
    base = make_url(db_url)
    database = base.database or "postgres"
    url = base.set(username=role, password=password).render_as_string(hide_password=False)
    with psycopg.connect(to_libpq(server.admin_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        row = conn.execute("SHOW hba_file").fetchone()
    hba = Path(row[0]) if row else None
    original: str | None = None
    try:
        if hba is not None and hba.is_file():
            original = hba.read_text()
            rules = f"local all {role} scram-sha-256\nhost all {role} all scram-sha-256\n"
            hba.write_text(rules + original)
            _reload(server)
            wrong = base.set(username=role, password=password + "-wrong")
            deadline = time.monotonic() + 30
            while not _rejects(wrong.render_as_string(hide_password=False)):
                if time.monotonic() > deadline:
                    raise AssertionError("the server still accepts a wrong password")
                time.sleep(0.1)
        with psycopg.connect(to_libpq(url), connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        yield url
    finally:
        if original is not None and hba is not None:
            hba.write_text(original)
            _reload(server)
        _drop_role(server, database, role, base.username)


def _reload(server: PgServer) -> None:
    with psycopg.connect(to_libpq(server.admin_url), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


def _drop_role(server: PgServer, database: str, role: str, heir: str | None) -> None:
    admin = to_libpq(server.admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
        )
    with suppress(psycopg.OperationalError):  # the database may be gone already
        in_db = to_libpq(with_database(server.admin_url, database))
        with psycopg.connect(in_db, autocommit=True) as conn:
            if heir:
                conn.execute(
                    sql.SQL("REASSIGN OWNED BY {} TO {}").format(
                        sql.Identifier(role), sql.Identifier(heir)
                    )
                )
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
