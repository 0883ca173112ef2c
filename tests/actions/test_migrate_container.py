"""Migrations through the container strategy, against the real Docker engine.

The app container of the test image carries a stand-in ``alembic`` that records its argv
and exits with a chosen code; the exec plumbing, the live streaming, the workdir and the
exit handling are real. The database is a real PostgreSQL (read before and after).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console import config as cfg
from magflow_console.actions import migrate
from magflow_console.actions.guard import ActionContext, ActionRefused
from magflow_console.backend import Backend
from magflow_console.reference import DEMO_TARGET, HEAD, SCRIPTS_DIR, current_revisions, upgrade
from tests.support.docker_engine import DockerEngine, put_alembic_tree

WRAPPER = (
    "mv /usr/local/bin/alembic /usr/local/bin/alembic.real && "
    "printf '#!/bin/sh\\npwd >> /tmp/standin-alembic.cwd\\n"
    'exec /usr/local/bin/alembic.real "$@"\\n\' > /usr/local/bin/alembic && '
    "chmod 755 /usr/local/bin/alembic"
)


@pytest.fixture(autouse=True)
def _xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def read_file(container: Container, path: str) -> str:
    res = container.exec_run(["cat", path])
    assert isinstance(res.output, bytes)
    return res.output.decode() if res.exit_code == 0 else ""


class Stack:
    def __init__(self, engine: DockerEngine, app: Container, db: Container, url: str) -> None:
        self.app, self.db, self.url = app, db, url
        self.lines: list[str] = []
        self.on_line: Callable[[str], None] = lambda line: None
        self.loaded = cfg.load_config(
            overrides={
                "database.url": url,
                "alembic.strategy": "container",
                "alembic.container_path": "/app/alembic",
                "alembic.container_workdir": "/app/work",
                "docker.host": engine.base_url,
                "docker.services": {"app": app.name, "db": db.name},
            }
        )

        def emit(line: str) -> None:
            self.lines.append(line)
            self.on_line(line)

        self.ctx = ActionContext.from_config(self.loaded, emit=emit)
        self.backend = Backend(self.loaded)


@pytest.fixture
def stack(
    docker_engine: DockerEngine, make_container: Callable[..., Container], demo_db_url: str
) -> Iterator[Stack]:
    app = make_container(user="app", working_dir="/app")
    app.exec_run(
        ["sh", "-c", WRAPPER + " && mkdir -p /app/work && chown app /app/work"], user="root"
    )
    put_alembic_tree(app, SCRIPTS_DIR, "/app/alembic")
    db = make_container()
    s = Stack(docker_engine, app, db, demo_db_url)
    yield s
    s.backend.close()


def apply_when_alembic_runs(stack: Stack) -> None:
    """Stand in for the app's env.py: the database really moves when alembic says so."""

    def on_line(line: str) -> None:
        if "Running upgrade" in line:
            upgrade(stack.url, HEAD)

    stack.on_line = on_line


def test_container_upgrade_execs_alembic_streams_and_rereads(stack: Stack) -> None:
    plan = migrate.plan_migrate(stack.ctx, stack.backend)
    assert plan.params["pending"] == HEAD
    assert f"in container {stack.app.name} (workdir /app/work)" in plan.operation
    apply_when_alembic_runs(stack)

    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)

    assert result.ok, result.message
    assert read_file(stack.app, "/tmp/standin-alembic.log").splitlines() == ["upgrade head"]
    assert read_file(stack.app, "/tmp/standin-alembic.cwd").splitlines() == ["/app/work"]
    running = f"Running upgrade {DEMO_TARGET} -> {HEAD}, add eliminated suggestions"
    assert any(running in ln for ln in stack.lines), stack.lines
    assert any("Will assume transactional DDL." in ln for ln in stack.lines)
    assert result.data["exit_code"] == 0
    assert result.data["after"] == [HEAD] and result.data["pending_left"] == []
    assert current_revisions(stack.url) == (HEAD,)
    assert stack.ctx.audit.read()[-1]["outcome"] == "ok"


def test_container_explicit_target_is_passed_through(stack: Stack) -> None:
    plan = migrate.plan_migrate(stack.ctx, stack.backend, target=HEAD)
    apply_when_alembic_runs(stack)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)
    assert result.ok, result.message
    assert read_file(stack.app, "/tmp/standin-alembic.log").splitlines() == [f"upgrade {HEAD}"]


def test_container_failure_reports_exit_and_error_line(stack: Stack) -> None:
    stack.app.exec_run(["sh", "-c", "echo 1 > /tmp/standin-alembic.exit"], user="root")
    plan = migrate.plan_migrate(stack.ctx, stack.backend)

    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)

    assert not result.ok
    assert result.data["exit_code"] == 1
    assert "DuplicateColumn" in result.message and "min_price" in result.message
    assert "unchanged" in result.message and DEMO_TARGET in result.message
    assert "Traceback" not in result.message
    assert any(ln.startswith("Traceback") for ln in result.data["output"])  # kept in full
    assert "Traceback" in Path(result.data["log_path"]).read_text()
    assert current_revisions(stack.url) == (DEMO_TARGET,)
    last = stack.ctx.audit.read()[-1]
    assert last["outcome"] == "failed" and "DuplicateColumn" in last["detail"]


def test_container_failure_names_the_revision_that_failed(stack: Stack) -> None:
    output = (
        "INFO  [alembic.runtime.migration] Will assume transactional DDL.\n"
        f"INFO  [alembic.runtime.migration] Running upgrade {DEMO_TARGET} -> {HEAD}, add\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/local/bin/alembic", line 8, in <module>\n'
        'sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation "app.products"'
        " does not exist\n"
        "[SQL: CREATE TABLE app.eliminated_suggestions (...)]\n"
    )
    stack.app.exec_run(
        [
            "sh",
            "-c",
            f"cat > /tmp/standin-alembic.out <<'EOF'\n{output}EOF\necho 1 > /tmp/standin-alembic.exit",
        ],
        user="root",
    )
    plan = migrate.plan_migrate(stack.ctx, stack.backend)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)
    assert not result.ok
    assert result.data["failed_revision"] == HEAD
    assert f"at revision {HEAD}" in result.message and "UndefinedTable" in result.message


def test_container_success_without_effect_is_a_failure(stack: Stack) -> None:
    plan = migrate.plan_migrate(stack.ctx, stack.backend)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)  # stand-in changes nothing
    assert not result.ok
    assert "still pending" in result.message
    assert result.data["pending_left"] == [HEAD]


def test_container_backup_is_copied_out_before_migrating(stack: Stack) -> None:
    plan = migrate.plan_migrate(stack.ctx, stack.backend, backup=True)
    apply_when_alembic_runs(stack)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)
    assert result.ok, result.message
    path = Path(result.data["backup_path"])
    assert "PostgreSQL database dump" in path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    argv = read_file(stack.db, "/tmp/standin-pg_dump.log").split()
    dbname = stack.url.rsplit("/", 1)[1].split("?")[0]
    assert argv[:6] == ["-U", "app", "-d", dbname, "-Fc", "-f"]
    assert read_file(stack.db, argv[6]) == ""  # the temp dump was removed in the container
    assert f"backup: {path}" in result.details


def test_container_backup_failure_aborts(stack: Stack) -> None:
    stack.db.exec_run(["sh", "-c", "echo 1 > /tmp/standin-pg_dump.exit"])
    plan = migrate.plan_migrate(stack.ctx, stack.backend, backup=True)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)
    assert not result.ok
    assert result.message.startswith("Backup failed, migration not attempted")
    assert "password authentication failed" in result.message
    assert read_file(stack.app, "/tmp/standin-alembic.log") == ""  # alembic never ran


def test_container_not_running_is_refused(stack: Stack) -> None:
    stack.app.stop(timeout=2)
    with pytest.raises(ActionRefused, match="not running"):
        migrate.plan_migrate(stack.ctx, stack.backend)
    assert stack.ctx.audit.read()[-1]["outcome"] == "refused"


def test_container_read_only_refuses(stack: Stack, **_: Any) -> None:
    loaded = cfg.load_config(
        overrides={
            **{"read_only": True},
            "database.url": stack.url,
            "docker.services": {"app": stack.app.name},
        }
    )
    ctx = ActionContext.from_config(loaded)
    plan = migrate.plan_migrate(stack.ctx, stack.backend)
    with pytest.raises(ActionRefused, match="read-only"):
        migrate.execute_migrate(ctx, stack.backend, plan)
    assert read_file(stack.app, "/tmp/standin-alembic.log") == ""


def test_container_output_secrets_are_masked(stack: Stack) -> None:
    secret = "Pa55-w0rd-in-url"
    output = f"sqlalchemy.exc.OperationalError: could not connect to postgresql://app:{secret}@db:5432/magflow\n"
    stack.app.exec_run(
        [
            "sh",
            "-c",
            f"printf '%s' '{output}' > /tmp/standin-alembic.out; echo 1 > /tmp/standin-alembic.exit",
        ],
        user="root",
    )
    plan = migrate.plan_migrate(stack.ctx, stack.backend)
    result = migrate.execute_migrate(stack.ctx, stack.backend, plan)
    assert not result.ok and "OperationalError" in result.message
    assert "postgresql://app:***@db:5432/magflow" in result.message
    texts = [result.message, "\n".join(result.details), "\n".join(stack.lines),
             "\n".join(result.data["output"]), Path(result.data["log_path"]).read_text(),
             json.dumps(stack.ctx.audit.read())]  # fmt: skip
    for text in texts:
        assert secret not in text
