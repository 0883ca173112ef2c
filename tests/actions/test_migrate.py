"""Migrations through the action layer, local strategy, against a real PostgreSQL.

Covers: upgrade from behind head, nothing to do, two concurrent migrations, a failing
migration leaving the schema unchanged, the pre-flight refusals, the local backup,
read-only, the audit trail and secrets.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from magflow_console import config as cfg
from magflow_console.actions import migrate
from magflow_console.actions.guard import ActionContext, ActionRefused, ActionResult
from magflow_console.backend import Backend
from magflow_console.reference import DEMO_TARGET, HEAD, SCRIPTS_DIR, current_revisions
from magflow_console.reference.urls import to_libpq
from tests.support.pg_password import password_url
from tests.support.postgres import PgServer
from tests.support.reliability import Recorder

LOCK_ID = 123456789


@pytest.fixture(autouse=True)
def _xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in list(__import__("os").environ):
        if name.startswith("MAGFLOW_CONSOLE_"):
            monkeypatch.delenv(name)


def load(url: str, scripts: Path = SCRIPTS_DIR, **extra: Any) -> cfg.LoadedConfig:
    overrides = {
        "database.url": url,
        "alembic.strategy": "local",
        "alembic.scripts": str(scripts),
        **extra,
    }
    return cfg.load_config(overrides=overrides)


class Run:
    """An ActionContext + Backend pair that records the emitted lines."""

    def __init__(self, url: str, scripts: Path = SCRIPTS_DIR, **extra: Any) -> None:
        self.lines: list[str] = []
        self.loaded = load(url, scripts, **extra)
        self.ctx = ActionContext.from_config(self.loaded, emit=self.lines.append)
        self.backend = Backend(self.loaded)

    def audit(self) -> list[dict[str, Any]]:
        return self.ctx.audit.read()

    def close(self) -> None:
        self.backend.close()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    made: list[Run] = []
    yield made
    for r in made:
        r.close()


def make_run(runs: list[Run], url: str, scripts: Path = SCRIPTS_DIR, **extra: Any) -> Run:
    r = Run(url, scripts, **extra)
    runs.append(r)
    return r


def schema_facts(url: str) -> dict[str, Any]:
    """Tables with their columns, and the version rows, of schema app."""
    with psycopg.connect(to_libpq(url)) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'app' ORDER BY 1, 2"
        ).fetchall()
        versions = conn.execute("SELECT version_num FROM app.alembic_version").fetchall()
    return {"columns": cols, "versions": sorted(v[0] for v in versions)}


def advisory_locks(url: str) -> int:
    with psycopg.connect(to_libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
            [LOCK_ID],
        ).fetchone()
    assert row is not None
    return int(row[0])


def table_exists(url: str, name: str) -> bool:
    with psycopg.connect(to_libpq(url)) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"app.{name}"]).fetchone()
    return bool(row and row[0])


# --------------------------------------------------------------------------- trees


MIG_TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''


def tree_with(tmp_path: Path, extra: list[tuple[str, str, str, str]]) -> Path:
    """A copy of the reference tree plus (revision, down_revision, message, body) files."""
    folder = tmp_path / "alembic"
    shutil.copytree(SCRIPTS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for rev, down, message, body in extra:
        text = MIG_TEMPLATE.format(rev=rev, down=down, message=message, body=body)
        (folder / "versions" / f"{rev}.py").write_text(text)
    return folder


GOOD_BODY = '    op.add_column("users", sa.Column("nickname", sa.String(50)), schema="app")'
BROKEN_BODY = (
    '    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True),'
    ' schema="app")\n'
    '    op.add_column("users", sa.Column("email", sa.String(50)), schema="app")'
)


# --------------------------------------------------------------------------- happy path


def test_local_migrate_from_behind_head(runs: list[Run], demo_db_url: str) -> None:
    r = make_run(runs, demo_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend)
    assert plan.params["pending"] == HEAD
    assert plan.params["current"] == DEMO_TARGET
    assert not migrate.is_noop(plan)
    assert any(HEAD in line for line in plan.changes)
    assert "holding the migration lock" in plan.operation

    result = migrate.execute_migrate(r.ctx, r.backend, plan)

    assert result.ok, result.message
    assert current_revisions(demo_db_url) == (HEAD,)
    assert table_exists(demo_db_url, "eliminated_suggestions")
    assert any(f"Running upgrade {DEMO_TARGET} -> {HEAD}" in ln for ln in r.lines), r.lines
    assert result.data["after"] == [HEAD]
    assert result.data["pending_left"] == []
    assert result.data["applied"] == [HEAD]
    assert advisory_locks(demo_db_url) == 0, "the migration lock was not released"
    log = Path(result.data["log_path"])
    assert f"-> {HEAD}" in log.read_text()
    last = r.audit()[-1]
    assert (last["action"], last["outcome"]) == ("migrate", "ok")
    assert last["params"]["pending"] == HEAD


def test_nothing_pending_is_ok_and_changes_nothing(runs: list[Run], head_db_url: str) -> None:
    r = make_run(runs, head_db_url)
    before = schema_facts(head_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend)
    assert migrate.is_noop(plan)
    assert "already at" in plan.changes[0]
    result = migrate.execute_migrate(r.ctx, r.backend, plan)
    assert result.ok
    assert result.message.startswith("Nothing to do")
    assert schema_facts(head_db_url) == before


def test_explicit_target_applies_only_up_to_it(runs: list[Run], pg_server: Any) -> None:
    from magflow_console.reference import upgrade
    from magflow_console.reference.embedded import init_magflow_database

    url = pg_server.create_database()
    init_magflow_database(url)
    upgrade(url, "f6bd35df0c64")
    r = make_run(runs, url)
    plan = migrate.plan_migrate(r.ctx, r.backend, target="20251020_add_supplier_id")
    assert plan.params["pending"] == "72ba0528563c,20251020_add_supplier_id"
    result = migrate.execute_migrate(r.ctx, r.backend, plan)
    assert result.ok, result.message
    assert current_revisions(url) == ("20251020_add_supplier_id",)
    assert result.data["applied"] == ["72ba0528563c", "20251020_add_supplier_id"]


# --------------------------------------------------------------------------- concurrency


def test_two_concurrent_migrations_apply_once(
    runs: list[Run], demo_db_url: str, reliability: Recorder
) -> None:
    a, b = make_run(runs, demo_db_url), make_run(runs, demo_db_url)
    plans = [migrate.plan_migrate(x.ctx, x.backend) for x in (a, b)]
    assert all(p.params["pending"] == HEAD for p in plans)  # both planned the same upgrade
    barrier = threading.Barrier(2)
    outcomes: dict[int, ActionResult | ActionRefused | BaseException] = {}

    def work(i: int, r: Run) -> None:
        barrier.wait()
        try:
            outcomes[i] = migrate.execute_migrate(r.ctx, r.backend, plans[i])
        except ActionRefused as exc:
            outcomes[i] = exc
        except BaseException as exc:  # pragma: no cover - surfaced by the asserts below
            outcomes[i] = exc

    threads = [threading.Thread(target=work, args=(i, r)) for i, r in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == 2, outcomes
    applied = [
        o for o in outcomes.values() if isinstance(o, ActionResult) and o.data.get("applied")
    ]
    others = [o for o in outcomes.values() if o not in applied]
    assert len(applied) == 1, outcomes
    (other,) = others
    if isinstance(other, ActionRefused):
        assert "migration lock" in str(other) and "pid" in str(other)
    else:
        assert isinstance(other, ActionResult) and other.ok, other
        assert other.data.get("nothing_to_do") is True
    with psycopg.connect(to_libpq(demo_db_url)) as conn:
        rows = conn.execute("SELECT version_num FROM app.alembic_version").fetchall()
    assert rows == [(HEAD,)]
    assert advisory_locks(demo_db_url) == 0
    told = f"refused: {other}" if isinstance(other, ActionRefused) else other.message
    reliability.race(
        "local migration of one database from two consoles at once",
        2,
        "one applied the upgrade",
        told[:160],
    )


def test_lock_taken_after_planning_refuses_at_execution(runs: list[Run], demo_db_url: str) -> None:
    r = make_run(runs, demo_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend)
    with psycopg.connect(to_libpq(demo_db_url) + "&application_name=other-migrator") as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
        before = schema_facts(demo_db_url)
        with pytest.raises(ActionRefused) as info:
            migrate.execute_migrate(r.ctx, r.backend, plan)
        pid = other.info.backend_pid
    assert f"pid {pid}" in str(info.value) and "other-migrator" in str(info.value)
    assert schema_facts(demo_db_url) == before
    assert r.audit()[-1]["outcome"] == "refused"


# --------------------------------------------------------------------------- failure


def test_failing_migration_leaves_schema_unchanged(
    runs: list[Run], demo_db_url: str, tmp_path: Path
) -> None:
    tree = tree_with(
        tmp_path,
        [
            ("20251022_add_nickname", HEAD, "add nickname", GOOD_BODY),
            ("20251023_broken", "20251022_add_nickname", "broken half-way", BROKEN_BODY),
        ],
    )
    r = make_run(runs, demo_db_url, tree)
    before = schema_facts(demo_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend)
    assert plan.params["pending"] == f"{HEAD},20251022_add_nickname,20251023_broken"

    result = migrate.execute_migrate(r.ctx, r.backend, plan)

    assert not result.ok
    assert "20251023_broken" in result.message
    assert "already exists" in result.message and "DuplicateColumn" in result.message
    assert "unchanged" in result.message and DEMO_TARGET in result.message
    assert "Traceback" not in result.message and "Traceback" not in "\n".join(result.details)
    assert result.data["failed_revision"] == "20251023_broken"
    assert schema_facts(demo_db_url) == before
    assert not table_exists(demo_db_url, "half_done")
    assert not table_exists(demo_db_url, "eliminated_suggestions")
    assert advisory_locks(demo_db_url) == 0
    assert "20251023_broken" in Path(result.data["log_path"]).read_text()
    last = r.audit()[-1]
    assert last["outcome"] == "failed" and "20251023_broken" in last["detail"]


# --------------------------------------------------------------------------- refusals


def expect_refused(r: Run, *needles: str, **kw: Any) -> str:
    with pytest.raises(ActionRefused) as info:
        migrate.plan_migrate(r.ctx, r.backend, **kw)
    text = str(info.value)
    for needle in needles:
        assert needle in text, text
    last = r.audit()[-1]
    assert (last["action"], last["outcome"]) == ("migrate", "refused")
    assert last["detail"] == text
    return text


def test_refuses_multiple_heads_unless_a_target_is_named(
    runs: list[Run], head_db_url: str, tmp_path: Path
) -> None:
    tree = tree_with(
        tmp_path,
        [
            ("20251022_branch_a", HEAD, "a", GOOD_BODY),
            ("20251022_branch_b", HEAD, "b", "    pass"),
        ],
    )
    r = make_run(runs, head_db_url, tree)
    expect_refused(r, "2 heads", "20251022_branch_a", "20251022_branch_b")
    plan = migrate.plan_migrate(r.ctx, r.backend, target="20251022_branch_b")
    assert plan.params["pending"] == "20251022_branch_b"


def test_refuses_unknown_current_revision(runs: list[Run], head_db_url: str) -> None:
    with psycopg.connect(to_libpq(head_db_url)) as conn:
        conn.execute("UPDATE app.alembic_version SET version_num = 'eef6ff065ce9'")
    r = make_run(runs, head_db_url)
    expect_refused(r, "eef6ff065ce9", "no migration file defines")


def test_refuses_held_lock_and_names_the_holder(runs: list[Run], demo_db_url: str) -> None:
    with psycopg.connect(to_libpq(demo_db_url) + "&application_name=entrypoint-app") as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_ID])
        r = make_run(runs, demo_db_url)
        expect_refused(r, f"pid {other.info.backend_pid}", "entrypoint-app", "local socket", " s)")
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)


def test_refuses_missing_version_table_on_non_empty_schema(
    runs: list[Run], head_db_url: str
) -> None:
    with psycopg.connect(to_libpq(head_db_url)) as conn:
        conn.execute("DROP TABLE app.alembic_version")
    r = make_run(runs, head_db_url)
    expect_refused(r, "no app.alembic_version", "stamp")


def test_refuses_unknown_target(runs: list[Run], demo_db_url: str) -> None:
    r = make_run(runs, demo_db_url)
    expect_refused(r, "No revision 'nope_nope'", target="nope_nope")


def test_refuses_env_py_without_shared_connection(
    runs: list[Run], demo_db_url: str, tmp_path: Path
) -> None:
    tree = tree_with(tmp_path, [])
    (tree / "env.py").write_text("from alembic import context\ncontext.run_migrations()\n")
    r = make_run(runs, demo_db_url, tree)
    expect_refused(r, "config.attributes['connection']", "container strategy")


# --------------------------------------------------------------------------- read-only


def test_read_only_refuses_plan_and_execution(runs: list[Run], demo_db_url: str) -> None:
    r = make_run(runs, demo_db_url, read_only=True)
    expect_refused(r, "read-only")
    writable = make_run(runs, demo_db_url)
    plan = migrate.plan_migrate(writable.ctx, writable.backend)
    with pytest.raises(ActionRefused, match="read-only"):
        migrate.execute_migrate(r.ctx, r.backend, plan)  # a plan from elsewhere, same guard
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)
    assert [e["outcome"] for e in r.audit()[-2:]] == ["refused", "refused"]


# --------------------------------------------------------------------------- backup


def test_local_backup_is_written_first_and_reported(runs: list[Run], demo_db_url: str) -> None:
    r = make_run(runs, demo_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend, backup=True)
    assert any("pg_dump backup" in c for c in plan.changes)
    result = migrate.execute_migrate(r.ctx, r.backend, plan)
    assert result.ok, result.message
    path = Path(result.data["backup_path"])
    assert path.is_file() and path.read_bytes()[:5] == b"PGDMP"  # custom format
    assert path.stat().st_mode & 0o077 == 0
    assert f"backup: {path}" in result.details
    assert any(str(path) in ln for ln in r.lines)
    assert current_revisions(demo_db_url) == (HEAD,)


def test_backup_failure_aborts_the_migration(
    runs: list[Run], demo_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = make_run(runs, demo_db_url)
    plan = migrate.plan_migrate(r.ctx, r.backend, backup=True)
    # the server is reachable for Alembic but pg_dump is pointed at a missing database
    monkeypatch.setattr(r.backend, "db_url", demo_db_url.replace("/mfc_test_", "/nodb_"))
    result = migrate.execute_migrate(r.ctx, r.backend, plan)
    assert not result.ok
    assert result.message.startswith("Backup failed, migration not attempted")
    assert "nodb_" in result.message
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)


# --------------------------------------------------------------------------- secrets


def test_no_secret_reaches_output_audit_or_logs(
    runs: list[Run], demo_db_url: str, pg_server: PgServer, tmp_path: Path
) -> None:
    secret = "Sup3r-s3cret-pw"
    # a role whose password the server checks: the URL works with the secret only
    with password_url(pg_server, demo_db_url, secret) as url:
        assert secret in url and make_url(url).password == secret  # never tested without it
        r = make_run(runs, url)
        plan = migrate.plan_migrate(r.ctx, r.backend, backup=True)
        result = migrate.execute_migrate(r.ctx, r.backend, plan)
        r.close()
    assert result.ok, result.message
    texts = [
        json.dumps([plan.operation, plan.changes, dict(plan.params), plan.warnings]),
        json.dumps([result.message, result.details, dict(result.data)], default=str),
        "\n".join(r.lines),
        (tmp_path / "state").joinpath("magflow-console", "audit.jsonl").read_text(),
        Path(result.data["log_path"]).read_text(),
    ]
    for text in texts:
        assert secret not in text


def test_a_lock_holder_that_began_this_instant_is_not_minus_zero_seconds() -> None:
    """Seen in RELIABILITY.md: '... from local socket, for -0 s)'; now() against a
    transaction that began in the same instant can be -0.1 s."""
    from magflow_console.actions.migrate_local import describe_holders
    from magflow_console.models import LockHolder

    holder = LockHolder(7, True, "magflow-console-migrate", None, "active", -0.2)
    said = describe_holders([holder])
    assert said.endswith("pid 7 (magflow-console-migrate, from local socket, for 0 s)"), said
