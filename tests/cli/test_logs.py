"""`logs SERVICE`: the container detail's log view, headless, against the stack-like
containers on the real Docker engine (whose app logs a bearer token)."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magflow_console.cli.logs import parse_since
from tests.support.cli import ROOT, run_cli
from tests.support.docker_engine import STACK_SECRETS, DockerEngine, StackContainers

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ")


def _docker_args(engine: DockerEngine) -> list[str]:
    return ["--docker-host", engine.base_url, "--db-url", "postgresql://nobody@127.0.0.1:1/x"]


@pytest.mark.docker
def test_logs_of_a_service_masked_and_filtered(
    docker_engine: DockerEngine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    args = _docker_args(docker_engine)
    failed = run_cli(
        ["logs", "app", "--tail", "500", "--grep", "product sync FAILED", *args],
        stack_env,
        tmp_path,
    )
    assert failed.returncode == 0, failed.stderr
    lines = failed.stdout.splitlines()
    assert lines and all("Product sync failed:" in line for line in lines)
    assert all(STAMP.match(line) for line in lines)
    assert "'Authorization': '***'" in lines[-1]
    for name, value in STACK_SECRETS.items():
        assert value not in failed.stdout + failed.stderr, f"the {name} leaked"
    few = run_cli(["logs", "worker", "--tail", "5", "--no-timestamps", *args], stack_env, tmp_path)
    assert few.returncode == 0, few.stderr
    assert 0 < len(few.stdout.splitlines()) <= 5
    assert not any(STAMP.match(line) for line in few.stdout.splitlines())


@pytest.mark.docker
def test_logs_refuses_what_is_not_the_stack(
    docker_engine: DockerEngine, stack_env: dict[str, str], tmp_path: Path
) -> None:
    args = _docker_args(docker_engine)
    alias = run_cli(["logs", "celery", *args], stack_env, tmp_path)
    assert alias.returncode == 3 and alias.stdout == ""
    assert "Did you mean 'worker'?" in alias.stderr and len(alias.stderr.splitlines()) == 1
    bad_since = run_cli(["logs", "app", "--since", "yesterday", *args], stack_env, tmp_path)
    assert bad_since.returncode == 3 and "--since 'yesterday'" in bad_since.stderr


@pytest.mark.docker
def test_a_log_the_engine_cannot_return_exits_3(
    docker_engine: DockerEngine,
    stack_env: dict[str, str],
    make_container: Callable[..., Any],
    tmp_path: Path,
) -> None:
    mute = make_container(
        name=f"mfc-mute-{secrets.token_hex(3)}", log_config={"type": "none", "config": {}}
    )
    services = {**json.loads(stack_env["MAGFLOW_CONSOLE_DOCKER__SERVICES"]), "mute": mute.name}
    env = stack_env | {"MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps(services)}
    proc = run_cli(["logs", "mute", *_docker_args(docker_engine)], env, tmp_path)
    assert proc.returncode == 3
    assert f"the log of {mute.name} was not read" in proc.stderr
    assert "does not support reading" in proc.stderr


@pytest.mark.docker
def test_follow_prints_new_lines_until_interrupted(
    docker_engine: DockerEngine,
    stack_containers: StackContainers,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= stack_env | {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "logs", "app", "-f", "--tail", "0",
         *_docker_args(docker_engine)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        out = proc.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
        # the app logs a line a second; the timeout only guards against a hang
        first, second = lines.get(timeout=120), lines.get(timeout=120)
        assert STAMP.match(first) and STAMP.match(second), (first, second)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_since_takes_durations_and_times() -> None:
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    assert parse_since("30m", now) == now - dt.timedelta(minutes=30)
    assert parse_since("1.5h", now) == now - dt.timedelta(hours=1.5)
    assert parse_since("2d", now) == now - dt.timedelta(days=2)
    assert parse_since("2026-11-21T10:00", now) == dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    assert parse_since(None, now) is None
    with pytest.raises(ValueError, match="--since 'soon'"):
        parse_since("soon", now)
