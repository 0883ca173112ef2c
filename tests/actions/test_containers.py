"""Restart, stop and start a stack container through the action layer and the CLI,
against the real Docker engine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console import config as cfg
from magflow_console.actions import containers
from magflow_console.actions.guard import ActionContext, ActionRefused, ActionResult
from tests.support.docker_engine import DockerEngine

SECOND_NS = 1_000_000_000
HEALTHCHECK = {
    "test": ["CMD-SHELL", "test -f /tmp/up"],
    "interval": SECOND_NS // 2,
    "timeout": 2 * SECOND_NS,
    "retries": 1,
}


@pytest.fixture(autouse=True)
def _xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def worker(make_container: Callable[..., Container]) -> Container:
    """A worker-like container with a healthcheck that passes once its command ran."""
    return make_container(
        command=["sh", "-c", "rm -f /tmp/up; sleep 1; touch /tmp/up; exec sleep 2147483647"],
        healthcheck=HEALTHCHECK,
        restart_policy={"Name": "unless-stopped"},
    )


def cname(c: Container) -> str:
    assert c.name is not None
    return c.name


def make_ctx(engine: DockerEngine, services: dict[str, str], **extra: Any) -> ActionContext:
    loaded = cfg.load_config(
        overrides={"docker.host": engine.base_url, "docker.services": services, **extra}
    )
    return ActionContext.from_config(loaded)


def state(c: Container) -> tuple[str, str | None, str]:
    c.reload()
    s = c.attrs["State"]
    return s["Status"], (s.get("Health") or {}).get("Status"), s["StartedAt"]


def wait_until(predicate: Callable[[], bool], what: str, guard: float = 120.0) -> None:
    """Poll ``predicate``; the deadline only guards against a hang (fails naming ``what``)."""
    deadline = time.monotonic() + guard
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.1)


def wait_healthy(c: Container) -> None:
    containers.wait_for_state(c, "start", 30)
    assert state(c)[:2] == ("running", "healthy")


def test_restart_by_service_name_waits_for_healthy(
    docker_engine: DockerEngine, worker: Container
) -> None:
    wait_healthy(worker)
    started_before = state(worker)[2]
    ctx = make_ctx(docker_engine, {"worker": cname(worker)})
    plan = containers.plan_container(ctx, None, "restart", "worker", wait_seconds=30)
    assert plan.params["container"] == cname(worker)
    assert plan.params["state_before"] == "running, healthy"
    assert any("beat waits for a healthy worker" in w for w in plan.warnings)

    result = containers.execute_container(ctx, None, plan)

    assert result.ok, result.message
    status, health, started_after = state(worker)
    assert (status, health) == ("running", "healthy")
    assert started_after != started_before
    assert result.data["state"] == "running" and result.data["health"] == "healthy"
    assert ctx.audit.read()[-1]["outcome"] == "ok"


def test_stop_then_start_by_container_name(docker_engine: DockerEngine, worker: Container) -> None:
    wait_healthy(worker)
    ctx = make_ctx(docker_engine, {"worker": cname(worker)})
    stop = containers.plan_container(ctx, None, "stop", cname(worker))
    assert any("no scheduled task" in w for w in stop.warnings)
    result = containers.execute_container(ctx, None, stop)
    assert result.ok, result.message
    assert state(worker)[0] == "exited" and result.data["state"] == "exited"

    again = containers.plan_container(ctx, None, "stop", "worker")
    assert containers.is_noop(again)

    start = containers.plan_container(ctx, None, "start", "worker", wait_seconds=30)
    result = containers.execute_container(ctx, None, start)
    assert result.ok, result.message
    assert state(worker)[:2] == ("running", "healthy")
    assert containers.is_noop(containers.plan_container(ctx, None, "start", "worker"))


def test_unhealthy_after_restart_is_reported_as_failure(
    docker_engine: DockerEngine, make_container: Callable[..., Container]
) -> None:
    sick = make_container(
        healthcheck={**HEALTHCHECK, "test": ["CMD-SHELL", "exit 1"]},
    )
    ctx = make_ctx(docker_engine, {"worker": cname(sick)})
    plan = containers.plan_container(ctx, None, "restart", "worker", wait_seconds=4)
    result = containers.execute_container(ctx, None, plan)
    assert not result.ok
    assert "not running and healthy" in result.message
    assert ctx.audit.read()[-1]["outcome"] == "failed"


def test_stop_waiting_for_a_container_that_never_gets_healthy(
    docker_engine: DockerEngine, make_container: Callable[..., Container]
) -> None:
    sick = make_container(healthcheck={**HEALTHCHECK, "test": ["CMD-SHELL", "exit 1"]})
    started_before = state(sick)[2]
    ctx = make_ctx(docker_engine, {"worker": cname(sick)})
    plan = containers.plan_container(ctx, None, "restart", "worker", wait_seconds=600)
    assert plan.stoppable
    results: list[ActionResult] = []
    finished = threading.Event()

    def run() -> None:
        try:
            results.append(containers.execute_container(ctx, None, plan))
        finally:
            finished.set()

    threading.Thread(target=run, daemon=True).start()
    # the operator stops once the restart is done and the wait for "healthy" has begun
    wait_until(lambda: state(sick)[2] != started_before, "the restart")
    assert not finished.is_set(), "it cannot be done: the container never gets healthy"
    ctx.stop.set()
    # only a guard against a hang: it ends at the stop's next poll, never in 600 s
    assert finished.wait(timeout=300), "still waiting for healthy after the stop"
    result = results[0]
    assert not result.ok
    assert result.message.startswith("Stopped waiting after ")
    assert f"docker restart {cname(sick)} was done" in result.message
    assert state(sick)[2] != started_before  # the restart itself happened
    entry = ctx.audit.read()[-1]
    assert (entry["outcome"], entry["detail"][:15]) == ("failed", "Stopped waiting")


def test_ctrl_c_while_running_is_audited_as_cancelled(
    docker_engine: DockerEngine, worker: Container
) -> None:
    ctx = make_ctx(docker_engine, {"worker": cname(worker)})
    plan = containers.plan_container(ctx, None, "restart", "worker")

    def interrupted() -> ActionResult:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ctx.execute(plan, interrupted)
    entry = ctx.audit.read()[-1]
    assert (entry["action"], entry["outcome"]) == ("container.restart", "cancelled")
    assert "interrupted while running" in entry["detail"]


def test_refuses_containers_outside_the_stack(
    docker_engine: DockerEngine, worker: Container, make_container: Callable[..., Container]
) -> None:
    stranger = make_container()
    ctx = make_ctx(docker_engine, {"worker": cname(worker)})
    started = state(worker)[2]
    with pytest.raises(ActionRefused, match="not a container of the stack"):
        containers.plan_container(ctx, None, "restart", cname(stranger))
    with pytest.raises(ActionRefused, match="Unknown container action"):
        containers.plan_container(ctx, None, "kill", "worker")
    # the name MagFlow's older notes use: suggested, not substituted
    with pytest.raises(ActionRefused, match="did you mean 'worker'\\?"):
        containers.plan_container(ctx, None, "restart", "celery")
    assert [e["outcome"] for e in ctx.audit.read()] == ["refused"] * 3
    assert state(worker)[2] == started  # not restarted
    assert state(stranger)[0] == "running"


def test_missing_container_is_refused(docker_engine: DockerEngine) -> None:
    ctx = make_ctx(docker_engine, {"db": "mfc-no-such-container"})
    with pytest.raises(ActionRefused, match="cannot be inspected"):
        containers.plan_container(ctx, None, "restart", "db")


def test_read_only_refuses(docker_engine: DockerEngine, worker: Container) -> None:
    wait_healthy(worker)
    started = state(worker)[2]
    ro = make_ctx(docker_engine, {"worker": cname(worker)}, read_only=True)
    with pytest.raises(ActionRefused, match="read-only"):
        containers.plan_container(ro, None, "restart", "worker")
    rw = make_ctx(docker_engine, {"worker": cname(worker)})
    plan = containers.plan_container(rw, None, "stop", "worker")
    with pytest.raises(ActionRefused, match="read-only"):
        containers.execute_container(ro, None, plan)
    assert state(worker)[2] == started and state(worker)[0] == "running"
    assert [e["outcome"] for e in ro.audit.read()] == ["refused", "refused"]


def test_warnings_name_the_consequences() -> None:
    assert any("dev admin" in w for w in containers.warnings_for("app", "restart"))
    assert any("no persistence" in w for w in containers.warnings_for("redis", "restart"))
    assert any("drops every connection" in w for w in containers.warnings_for("db", "stop"))
    assert migration(containers.warnings_for("worker", "start")) == APP_MIGRATION


def migration(warnings: tuple[str, ...]) -> list[str]:
    """The warnings about the entrypoint's ``alembic upgrade head``."""
    return [w for w in warnings if "alembic upgrade head" in w]


#: what a restart of the app says about migrations: worker and beat must say the same
APP_MIGRATION = migration(containers.warnings_for("app", "restart"))


def test_every_start_of_app_worker_and_beat_is_a_migration_attempt() -> None:
    """The entrypoint runs in all three (sheet §11.1): the same warning for each, on
    restart and start, naming the race of sheet §1.2; never on stop, nor for db or redis."""
    assert len(APP_MIGRATION) == 1 and "race" in APP_MIGRATION[0]
    for service in ("app", "worker", "beat"):
        for verb in ("restart", "start"):
            assert migration(containers.warnings_for(service, verb)) == APP_MIGRATION
        assert migration(containers.warnings_for(service, "stop")) == []
    for service in ("db", "redis"):
        assert all(migration(containers.warnings_for(service, v)) == [] for v in containers.VERBS)


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_the_plan_for_worker_and_beat_warns_of_the_migration(
    docker_engine: DockerEngine, make_container: Callable[..., Container], service: str
) -> None:
    """The confirmation and pre-flight of a restart or start of worker or beat say what
    the app's say: the entrypoint will run ``alembic upgrade head``."""
    target = make_container()
    ctx = make_ctx(docker_engine, {service: cname(target)})
    restart = containers.plan_container(ctx, None, "restart", service)
    assert migration(restart.warnings) == APP_MIGRATION
    assert any("alembic upgrade head" in change for change in restart.changes)
    stop = containers.plan_container(ctx, None, "stop", service)
    assert migration(stop.warnings) == []
    target.stop(timeout=1)
    start = containers.plan_container(ctx, None, "start", service)
    assert not containers.is_noop(start)
    assert migration(start.warnings) == APP_MIGRATION
    assert any("alembic upgrade head" in change for change in start.changes)


def _cli(
    args: list[str], tmp_path: Path, engine: DockerEngine, services: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    cfg_file = tmp_path / "console.toml"
    mapping = ", ".join(f'{k} = "{v}"' for k, v in services.items())
    cfg_file.write_text(
        'default_profile = "prod"\n[profiles.prod]\nprotected = true\n'
        f'[profiles.prod.docker]\nhost = "{engine.base_url}"\nservices = {{ {mapping} }}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return subprocess.run(
        [sys.executable, "-m", "magflow_console", *args, "--config", str(cfg_file)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=120,
    )  # fmt: skip


def test_cli_restart_on_protected_profile(
    tmp_path: Path, docker_engine: DockerEngine, worker: Container
) -> None:
    wait_healthy(worker)
    services = {"worker": cname(worker)}
    before = state(worker)[2]
    res = _cli(["restart", "worker"], tmp_path, docker_engine, services)
    assert res.returncode == 3 and "No TTY" in res.stderr
    res = _cli(["restart", "worker", "--yes"], tmp_path, docker_engine, services)
    assert res.returncode == 3 and "--confirm prod" in res.stderr
    assert state(worker)[2] == before
    res = _cli(
        ["restart", "worker", "--yes", "--confirm", "prod", "--wait", "30"],
        tmp_path, docker_engine, services,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"Restarted {cname(worker)}" in res.stdout
    assert state(worker)[2] != before
    res = _cli(["start", "worker", "--read-only", "--yes"], tmp_path, docker_engine, services)
    assert res.returncode == 3 and "read-only" in res.stderr
    res = _cli(["stop", "nginx", "--yes"], tmp_path, docker_engine, services)
    assert res.returncode == 3 and "not a container of the stack" in res.stderr
