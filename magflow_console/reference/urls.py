"""PostgreSQL URLs in the forms the tools want: libpq (psycopg), SQLAlchemy (Alembic),
and the same server pointing at another database."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def to_libpq(url: str) -> str:
    """``postgresql+psycopg://...`` (or plain ``postgresql://``) -> a libpq URI for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def to_sqlalchemy(url: str) -> str:
    """Any ``postgres[ql][+driver]://`` URL -> ``postgresql+psycopg://``."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def with_database(url: str, database: str, username: str | None = None) -> str:
    """The same server URL pointing at another database (and optionally another user)."""
    u = make_url(url)
    fresh = URL.create(
        "postgresql+psycopg",
        username=username if username is not None else u.username,
        password=None if username is not None else u.password,
        host=u.host,
        port=u.port,
        database=database,
        query=u.query,
    )
    return fresh.render_as_string(hide_password=False)
