"""`logs app` and `logs app -f` with a line longer than 16 KB whose bearer token and
password straddle Docker's part boundaries: printed whole, masked whole (a real container
on the real engine stands in for the app)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sources.test_docker_logs import JWT, PASSWORD, STAMP_IN_TEXT, boundary_line
from tests.support.cli import ROOT, run_cli
from tests.support.docker_engine import DockerEngine

pytestmark = pytest.mark.docker


def _env(docker_engine: DockerEngine, name: str) -> dict[str, str]:
    return {
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps({"app": name}),
        "MAGFLOW_CONSOLE_DOCKER__HOST": docker_engine.base_url,
        "MAGFLOW_CONSOLE_DATABASE__URL": "postgresql://nobody@127.0.0.1:1/x",
    }


def _assert_masked(out: str) -> None:
    assert JWT[:8] not in out and JWT[-12:] not in out, "the bearer token leaked"
    assert PASSWORD not in out and PASSWORD[-6:] not in out, "the password leaked"
    long_line = next(line for line in out.splitlines() if len(line) > 16 * 1024)
    text = long_line.split(" ", 1)[1]  # the line's own timestamp first
    assert "Authorization: Bearer *** aaa" in text and "a password=*** end" in text
    assert not STAMP_IN_TEXT.search(text)


def test_logs_prints_a_long_line_whole_and_masked(
    docker_engine: DockerEngine, make_container: Callable[..., Any], tmp_path: Path
) -> None:
    script, _ = boundary_line()
    app = make_container(command=["sh", "-c", script + "exec sleep 2147483647"])
    env = _env(docker_engine, app.name)
    for _ in range(50):
        proc = run_cli(["logs", "app"], env, tmp_path)
        assert proc.returncode == 0, proc.stderr
        if proc.stdout.endswith(" after\n"):
            break
    assert len(proc.stdout.splitlines()) == 2, proc.stdout[-200:]
    _assert_masked(proc.stdout + proc.stderr)


def test_logs_follow_prints_a_long_line_whole_and_masked(
    docker_engine: DockerEngine, make_container: Callable[..., Any], tmp_path: Path
) -> None:
    script, _ = boundary_line()
    app = make_container(
        command=["sh", "-c", "echo ready; sleep 2; " + script + "exec sleep 2147483647"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= _env(docker_engine, app.name) | {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "logs", "app", "-f", "--tail", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    watchdog = threading.Timer(60, proc.kill)  # a follower that never prints fails, not hangs
    watchdog.start()
    try:
        assert proc.stdout is not None
        out = []
        while not out or not out[-1].endswith(" after\n"):
            line = proc.stdout.readline()
            assert line, "the follower ended before the long line"
            out.append(line)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [len(x) > 16 * 1024 for x in out] == [False, True, False]
    _assert_masked("".join(out))
