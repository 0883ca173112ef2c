"""Alembic environment of the reference MagFlow schema.

Like MagFlow's ``alembic/env.py``: everything lives in schema ``app`` (search_path
``app, public``), the whole run is serialised by the session-level advisory lock
``pg_advisory_lock(123456789)`` (released afterwards, also on failure) and runs in one
transaction (transactional DDL: a failing step rolls everything back). Unlike MagFlow the
version table schema is also passed explicitly, so ``app.alembic_version`` never depends on
the search_path.

The URL comes from ``config.attributes["sqlalchemy.url"]`` (set in code by
``magflow_console.reference.alembic_config``), else from the ini option. A caller may also
hand over an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

MIGRATION_LOCK_ID = 123456789
SCHEMA = "app"

config = context.config


def _url() -> str:
    url = config.attributes.get("sqlalchemy.url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set config.attributes['sqlalchemy.url']")
    return str(url)


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID})
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    connection.execute(text(f"SET search_path TO {SCHEMA}, public"))
    connection.commit()  # the session lock and search_path outlive this commit
    try:
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table_schema=SCHEMA,
            transactional_ddl=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
        connection.commit()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=None,
        literal_binds=True,
        version_table_schema=SCHEMA,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
