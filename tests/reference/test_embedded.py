"""The embedded PostgreSQL: starts, serves like MagFlow's db, cleans up (or keeps) its data."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import psycopg
import pytest

from magflow_console.reference import DEMO_TARGET, current_revisions
from magflow_console.reference.embedded import EmbeddedPostgres, prepare_demo_database
from magflow_console.reference.urls import to_libpq
from tests.reference._catalog import query


def _postmasters(data_dir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(data_dir) in cmdline:
            found.append(proc.pid)
    return found


@pytest.fixture
def keep_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: the wheel loosens the permissions of the data dir's parents.
    root = Path(tempfile.mkdtemp(prefix="magflow-keep-"))
    try:
        yield root / "demo"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_embedded_starts_serves_and_deletes_its_data() -> None:
    with EmbeddedPostgres() as pg:
        data_dir = pg.data_dir
        assert data_dir is not None and (data_dir / "PG_VERSION").exists()
        assert pg.url.startswith("postgresql+psycopg://app")
        assert "/magflow?" in pg.url and "/postgres?" in pg.admin_url
        rows = query(
            pg.url,
            "SELECT current_database(), current_user,"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = 'app'),"
            " (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'app'),"
            " current_setting('server_version_num')::int >= 130000",
        )
        assert rows == [("magflow", "app", True, "app", True)]
        assert query(pg.admin_url, "SELECT current_database()") == [("postgres",)]
        assert _postmasters(data_dir)
    assert not data_dir.exists() and not data_dir.parent.exists()
    assert _postmasters(data_dir) == []
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(to_libpq(pg.url), connect_timeout=3)


def test_embedded_stops_and_cleans_up_on_exceptions() -> None:
    data_dir: Path | None = None
    with pytest.raises(KeyboardInterrupt), EmbeddedPostgres() as pg:
        data_dir = pg.data_dir
        raise KeyboardInterrupt
    assert data_dir is not None and not data_dir.exists()
    assert _postmasters(data_dir) == []


def test_keep_dir_keeps_data_and_is_reused(keep_dir: Path) -> None:
    with EmbeddedPostgres(keep_dir=keep_dir) as pg:
        with psycopg.connect(to_libpq(pg.url)) as conn:
            conn.execute("CREATE TABLE app.marker (v int)")
            conn.execute("INSERT INTO app.marker VALUES (7)")
        data_dir = pg.data_dir
    assert data_dir is not None and (data_dir / "PG_VERSION").exists()
    assert _postmasters(data_dir) == []
    with EmbeddedPostgres(keep_dir=keep_dir) as again:
        assert query(again.url, "SELECT v FROM app.marker") == [(7,)]
    assert keep_dir.exists()


def test_prepare_demo_database_is_idempotent_on_a_kept_dir(keep_dir: Path) -> None:
    with EmbeddedPostgres(keep_dir=keep_dir) as pg:
        prepare_demo_database(pg.url)
        assert current_revisions(pg.url) == (DEMO_TARGET,)
        first = query(pg.url, "SELECT count(*) FROM app.emag_products_v2")
        first_logs = query(pg.url, "SELECT count(*) FROM app.emag_sync_logs")
        assert first == [(5000,)]
    with EmbeddedPostgres(keep_dir=keep_dir) as pg:
        prepare_demo_database(pg.url)
        assert current_revisions(pg.url) == (DEMO_TARGET,)
        assert query(pg.url, "SELECT count(*) FROM app.emag_products_v2") == first
        assert query(pg.url, "SELECT count(*) FROM app.emag_sync_logs") == first_logs
        assert query(pg.url, "SELECT count(*) FROM app.users") == [(4,)]
