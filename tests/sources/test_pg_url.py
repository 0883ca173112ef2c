"""Database URL handling without SQLAlchemy (pure logic: libpq's own URI parser)."""

from __future__ import annotations

import pytest

from magflow_console.actions.migrate_local import libpq_env
from magflow_console.sources.pg_conn import SourceError, describe_target, parse_url

SECRET = "p@ss:w/rd%"
QUOTED = "p%40ss%3Aw%2Frd%25"


@pytest.mark.parametrize(
    "scheme",
    ["postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg2", "postgresql+psycopg"],
)
def test_magflow_url_spellings_parse_alike(scheme: str) -> None:
    url = parse_url(f"{scheme}://app:{QUOTED}@db.example:5433/magflow")
    assert (url.host, url.port, url.database, url.username) == (
        "db.example",
        "5433",
        "magflow",
        "app",
    )
    assert url.password == SECRET
    assert describe_target(url) == "db.example:5433/magflow"


def test_socket_directory_in_the_query() -> None:
    url = parse_url("postgresql+psycopg://app@/mfc?host=%2Ftmp%2Fpg%20dir")
    assert url.host == "/tmp/pg dir" and url.port is None
    assert describe_target(url) == "/tmp/pg dir:5432/mfc"
    sa_url = url.sqlalchemy_url()
    assert sa_url.drivername == "postgresql+psycopg"
    assert sa_url.host is None and sa_url.query["host"] == "/tmp/pg dir"
    assert sa_url.database == "mfc" and sa_url.username == "app"


def test_sqlalchemy_url_keeps_the_password_but_repr_hides_it() -> None:
    url = parse_url(f"postgresql+asyncpg://app:{QUOTED}@db:6432/magflow")
    assert SECRET not in repr(url) and QUOTED not in repr(url)
    sa_url = url.sqlalchemy_url()
    assert (sa_url.host, sa_url.port, sa_url.password) == ("db", 6432, SECRET)
    assert SECRET not in str(sa_url)  # SQLAlchemy masks it too


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"mysql://app:{QUOTED}@db/magflow", "not PostgreSQL"),
        (f"postgresql://app:{QUOTED}@db:notaport/magflow", "not a valid"),
        (
            f"postgresql://app:{QUOTED}@db/magflow?no_such_option={QUOTED}",
            "a query parameter libpq does not know: 'no_such_option'",
        ),
        ("just some text", "not a valid"),
    ],
)
def test_bad_urls_give_a_safe_sentence(url: str, expected: str) -> None:
    with pytest.raises(SourceError, match=expected) as info:
        parse_url(url)
    assert SECRET not in str(info.value) and QUOTED not in str(info.value)


def test_libpq_env_for_pg_dump() -> None:
    env = libpq_env(f"postgresql+asyncpg://app:{QUOTED}@db:6432/magflow")
    assert env["PGHOST"] == "db" and env["PGPORT"] == "6432"
    assert env["PGUSER"] == "app" and env["PGDATABASE"] == "magflow"
    assert env["PGPASSWORD"] == SECRET
    sock = libpq_env("postgresql://app@/magflow?host=/run/postgresql")
    assert sock["PGHOST"] == "/run/postgresql" and "PGPORT" not in sock


def test_asyncpg_query_options_are_read_the_libpq_way() -> None:
    url = parse_url(
        "postgresql+asyncpg://app@db/magflow?ssl=require&prepared_statement_cache_size=0"
        "&application_name=magflow"
    )
    assert url.params["sslmode"] == "require" and "ssl" not in url.params
    assert "prepared_statement_cache_size" not in url.params
    assert url.params["application_name"] == "magflow"
    both = parse_url("postgresql://app@db/magflow?sslmode=disable&ssl=require")
    assert both.params["sslmode"] == "disable"  # an explicit sslmode wins
