"""The reference Alembic tree: the real 13-revision chain, step-by-step upgrades, the demo
target, the advisory lock, transactional DDL and the documented docstring mismatches."""

from __future__ import annotations

import re
import threading

import psycopg
import pytest
from alembic.script import ScriptDirectory

from magflow_console.reference import (
    DEMO_TARGET,
    HEAD,
    MIGRATION_LOCK_ID,
    REVISIONS,
    SCRIPTS_DIR,
    alembic_config,
    current_revisions,
    upgrade,
)
from magflow_console.reference.urls import to_libpq
from tests.reference._catalog import app_tables, columns, constraint_def, query

CHAIN = [
    ("86f7456767fd", None),
    ("6d303f2068d4", "86f7456767fd"),
    ("20251010_add_auxiliary", "6d303f2068d4"),
    ("20251013_fix_all_tz", "20251010_add_auxiliary"),
    ("20251013_fix_account_type", "20251013_fix_all_tz"),
    ("20251014_create_emag_orders", "20251013_fix_account_type"),
    ("32b7be1a5113", "20251014_create_emag_orders"),
    ("bf06b4dee948", "32b7be1a5113"),
    ("f6bd35df0c64", "bf06b4dee948"),
    ("72ba0528563c", "f6bd35df0c64"),
    ("20251020_add_supplier_id", "72ba0528563c"),
    ("20251021_add_price_fields", "20251020_add_supplier_id"),
    ("20251021_eliminated_suggest", "20251021_add_price_fields"),
]


def test_script_directory_is_the_real_linear_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql+psycopg://x@/y"))
    revs = {r.revision: r for r in script.walk_revisions()}
    assert {rev: revs[rev].down_revision for rev, _ in CHAIN} == dict(CHAIN)
    assert len(revs) == 13
    assert script.get_heads() == [HEAD]
    assert script.get_bases() == ["86f7456767fd"]
    assert tuple(rev for rev, _ in CHAIN) == REVISIONS
    assert REVISIONS[-2] == DEMO_TARGET
    assert all(len(rev) <= 32 and "-" not in rev for rev in REVISIONS)
    assert all(not r.branch_labels and not r.dependencies for r in revs.values())


def _doc_lines(path: str) -> tuple[str | None, str | None]:
    text = (SCRIPTS_DIR / "versions" / path).read_text()
    rid = re.search(r"^Revision ID: *(\S*)", text, re.M)
    rev = re.search(r"^Revises: *(\S*)", text, re.M)
    return (rid.group(1) if rid else None, rev.group(1) if rev else None)


def test_docstring_mismatches_are_the_documented_five() -> None:
    script = ScriptDirectory.from_config(alembic_config("postgresql+psycopg://x@/y"))
    mismatched = {}
    for r in script.walk_revisions():
        assert r.path is not None
        doc_id, doc_revises = _doc_lines(r.path.rsplit("/", 1)[-1])
        down = r.down_revision or ""
        if doc_id != r.revision or (doc_revises or "") != down:
            mismatched[r.revision] = (doc_id, doc_revises)
    assert mismatched == {
        "6d303f2068d4": ("6d303f2068d4", "1519392e1e24"),
        "20251013_fix_all_tz": ("20251013_fix_all_timezone_columns", "20251010_add_auxiliary"),
        "20251014_create_emag_orders": (
            "20251014_create_emag_orders",
            "20251013_fix_emag_sync_logs_account_type",
        ),
        "32b7be1a5113": ("32b7be1a5113", "20251013_fix_account_type"),
        "20251021_eliminated_suggest": (
            "20251021_add_eliminated_suggestions",
            "20251021_add_price_fields",
        ),
    }


def test_migration_files_import_only_sqlalchemy_and_alembic() -> None:
    for path in (SCRIPTS_DIR / "versions").glob("*.py"):
        for line in path.read_text().splitlines():
            m = re.match(r"^(?:from|import) (\w+)", line)
            if m:
                assert m.group(1) in {"sqlalchemy", "alembic", "__future__"}, (path.name, line)


@pytest.mark.postgres
def test_step_by_step_upgrade_to_head(empty_db_url: str) -> None:
    assert current_revisions(empty_db_url) == ()
    seen_tables: set[str] = set()
    for rev in REVISIONS:
        upgrade(empty_db_url, rev)
        assert current_revisions(empty_db_url) == (rev,)
        tables = app_tables(empty_db_url)
        assert seen_tables <= tables
        seen_tables = tables
        if rev == "20251013_fix_all_tz":
            assert columns(empty_db_url, "users")["last_login"][0] == "timestamp with time zone"
        if rev == "20251014_create_emag_orders":
            assert columns(empty_db_url, "emag_orders")["emag_order_id"][0] == "integer"
        if rev == "32b7be1a5113":
            assert columns(empty_db_url, "emag_orders")["emag_order_id"][0] == "bigint"
            assert columns(empty_db_url, "emag_orders")["customer_id"][0] == "integer"
        if rev == "f6bd35df0c64":
            assert "min_sale_price" not in columns(empty_db_url, "emag_product_offers_v2")
    assert current_revisions(empty_db_url) == (HEAD,)
    assert "eliminated_suggestions" in seen_tables


@pytest.mark.postgres
def test_account_check_widens_at_fix_account_type(empty_db_url: str) -> None:
    upgrade(empty_db_url, "20251013_fix_all_tz")
    before = constraint_def(empty_db_url, "emag_sync_logs", "ck_emag_sync_logs_account_type")
    assert before is not None and "'both'" not in before[1]
    upgrade(empty_db_url, "20251013_fix_account_type")
    after = constraint_def(empty_db_url, "emag_sync_logs", "ck_emag_sync_logs_account_type")
    assert after is not None and "'both'" in after[1]


@pytest.mark.postgres
def test_demo_target_stops_one_behind_head(empty_db_url: str) -> None:
    upgrade(empty_db_url, DEMO_TARGET)
    assert current_revisions(empty_db_url) == (DEMO_TARGET,)
    assert "eliminated_suggestions" not in app_tables(empty_db_url)
    assert "min_sale_price" in columns(empty_db_url, "emag_product_offers_v2")
    upgrade(empty_db_url)  # "head"
    assert current_revisions(empty_db_url) == (HEAD,)
    assert "eliminated_suggestions" in app_tables(empty_db_url)


@pytest.mark.postgres
def test_failing_step_rolls_back_everything_and_releases_the_lock(empty_db_url: str) -> None:
    upgrade(empty_db_url, "bf06b4dee948")
    with psycopg.connect(to_libpq(empty_db_url)) as conn:  # 72ba0528563c is not idempotent
        conn.execute("ALTER TABLE app.emag_product_offers_v2 ADD COLUMN min_sale_price float8")
    with pytest.raises(Exception, match="min_sale_price"):
        upgrade(empty_db_url)
    assert current_revisions(empty_db_url) == ("bf06b4dee948",)
    assert "min_sale_price" not in columns(empty_db_url, "emag_product_offers")  # f6bd rolled back
    locks = query(
        empty_db_url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
        [MIGRATION_LOCK_ID],
    )
    assert locks == [(0,)]


@pytest.mark.postgres
def test_upgrade_waits_for_the_migration_advisory_lock(empty_db_url: str) -> None:
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(empty_db_url, "86f7456767fd")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    with psycopg.connect(to_libpq(empty_db_url), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_ID])
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        waiting: list[tuple[object, ...]] = []
        for _ in range(200):  # poll pg_locks until the migrating session queues up
            waiting = query(
                empty_db_url,
                "SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND classid = 0"
                " AND objid = %s AND objsubid = 1 AND NOT granted",
                [MIGRATION_LOCK_ID],
            )
            if waiting:
                break
            done.wait(0.05)
        assert waiting == [(False,)], "the upgrade did not wait on pg_advisory_lock(123456789)"
        assert current_revisions(empty_db_url) == ()
        holder.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_ID])
    worker.join(60)
    assert done.is_set() and not errors, errors
    assert current_revisions(empty_db_url) == ("86f7456767fd",)


@pytest.mark.postgres
def test_url_with_percent_in_password_is_passed_through_attributes(empty_db_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = empty_db_url
    if not make_url(url).password:  # trust auth (embedded) ignores it; ini interpolation would not
        url = make_url(url).set(password="p%40ss%w0rd").render_as_string(hide_password=False)
    cfg = alembic_config(url)
    assert cfg.attributes["sqlalchemy.url"] == url
    assert cfg.get_main_option("sqlalchemy.url") is None
    upgrade(url, "86f7456767fd")
    assert current_revisions(empty_db_url) == ("86f7456767fd",)
