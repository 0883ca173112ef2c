"""The commands with ``--docker-host ssh://...``: the real program in a subprocess, a real
sshd in front of the real test engine, the console's HOME holding ``~/.ssh/config`` and
``known_hosts``. What works through the socket works through SSH; what fails on the SSH
side is one sentence and exit 3 (a connection error), never a paramiko traceback."""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import ROOT, run_cli
from tests.support.docker_engine import STACK_SECRETS, StackContainers
from tests.support.procs import free_port
from tests.support.ssh_server import SshDocker

pytestmark = pytest.mark.docker

NO_DB = ["--db-url", "postgresql://nobody@127.0.0.1:1/x"]


def ssh_env(ssh: SshDocker, stack_env: dict[str, str], home: Path | None = None) -> dict[str, str]:
    """The stack's names, the HOME holding ~/.ssh, and no ssh-agent."""
    return stack_env | {"HOME": str(home or ssh.home), "SSH_AUTH_SOCK": ""}


def one_sentence(text: str) -> str:
    """The output as one line (rich wraps at 80 columns), asserting no traceback."""
    assert "Traceback" not in text and "paramiko" not in text, text
    return " ".join(text.split())


def test_containers_json_over_ssh(
    ssh_docker: SshDocker, stack_env: dict[str, str], tmp_path: Path
) -> None:
    proc = run_cli(
        ["containers", "--json", "--docker-host", ssh_docker.url, *NO_DB],
        ssh_env(ssh_docker, stack_env),
        tmp_path,
    )
    doc = json.loads(proc.stdout)
    assert doc["state"] == "ok", doc["error"]
    assert doc["docker_host"] == ssh_docker.url
    by_service = {c["service"]: c for c in doc["items"]}
    assert by_service["app"]["health"] == "healthy"
    assert by_service["redis"]["restart_count"] >= 1
    # the stack's own faults (the crash-looping redis): critical, as through the socket
    assert proc.returncode == 2, proc.stderr


def test_logs_follow_over_ssh_prints_new_lines_until_interrupted(
    ssh_docker: SshDocker,
    stack_containers: StackContainers,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= ssh_env(ssh_docker, stack_env) | {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "logs", "app", "-f", "--tail", "2",
         "--docker-host", ssh_docker.url, *NO_DB],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        out = proc.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
        # two from the tail, then new ones (the app logs a line a second); the timeouts
        # only guard against a hang
        got = [lines.get(timeout=120) for _ in range(4)]
        assert all(line.strip() for line in got)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not any(value in "".join(got) for value in STACK_SECRETS.values())


def test_restart_over_ssh(
    ssh_docker: SshDocker,
    stack_env: dict[str, str],
    make_container: Callable[..., Any],
    tmp_path: Path,
) -> None:
    target = make_container(name=f"mfc-sshr-{secrets.token_hex(3)}")
    target.reload()
    started = target.attrs["State"]["StartedAt"]
    services = {**json.loads(stack_env["MAGFLOW_CONSOLE_DOCKER__SERVICES"]), "sshr": target.name}
    env = ssh_env(ssh_docker, stack_env) | {
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps(services)
    }
    proc = run_cli(
        ["restart", "sshr", "--yes", "--wait", "60", "--docker-host", ssh_docker.url, *NO_DB],
        env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Restarted {target.name}: now running" in one_sentence(proc.stdout + proc.stderr)
    target.reload()
    assert target.attrs["State"]["StartedAt"] != started, "the container was not restarted"
    audit = (tmp_path / "state" / "magflow-console" / "audit.jsonl").read_text()
    assert '"outcome": "ok"' in audit and "BEGIN OPENSSH" not in audit


# --------------------------------------------------------------------------- failures


def failing_homes(ssh: SshDocker, tmp_path: Path) -> dict[str, tuple[str, Path, str]]:
    """case -> (url, HOME, the clause the sentence must hold)."""
    port = free_port()
    return {
        "host key unknown": (
            ssh.url,
            ssh.make_home(tmp_path / "unknown", known_host=False),
            f"the SSH host key of [127.0.0.1]:{ssh.port} is unknown",
        ),
        "no key, no agent": (
            ssh.url,
            ssh.make_home(tmp_path / "nokey", key=False),
            "no SSH key to log in with",
        ),
        "refused": (
            f"ssh://{ssh.user}@127.0.0.1:{port}",
            ssh.home,
            f"nothing accepts SSH connections at 127.0.0.1 port {port}",
        ),
        "engine not reachable over ssh": (
            ssh.no_engine_url,
            ssh.home,
            "the SSH login worked, but the remote `docker system dial-stdio` cannot reach",
        ),
    }


@pytest.mark.parametrize(
    "case", ["host key unknown", "no key, no agent", "refused", "engine not reachable over ssh"]
)
def test_ssh_failures_are_one_sentence_and_exit_3(
    case: str, ssh_docker: SshDocker, stack_env: dict[str, str], tmp_path: Path
) -> None:
    url, home, clause = failing_homes(ssh_docker, tmp_path)[case]
    env = ssh_env(ssh_docker, stack_env, home)
    host = ["--docker-host", url, *NO_DB]
    expected = f"Docker engine at {url} is not reachable: "

    listed = run_cli(["containers", *host], env, tmp_path)
    assert listed.returncode == 3, listed.stdout + listed.stderr
    text = one_sentence(listed.stdout + listed.stderr)
    assert f"Containers: ERROR {expected}" in text and clause in text

    logs = run_cli(["logs", "app", *host], env, tmp_path)
    assert logs.returncode == 3 and logs.stdout == ""
    assert expected in one_sentence(logs.stderr) and clause in one_sentence(logs.stderr)

    restart = run_cli(["restart", "beat", "--yes", *host], env, tmp_path)
    assert restart.returncode == 3, restart.stdout + restart.stderr
    assert clause in one_sentence(restart.stdout + restart.stderr)

    status = run_cli(["status", "--json", *host], env, tmp_path)
    containers = json.loads(status.stdout)["containers"]
    assert containers["state"] == "error"
    assert containers["error"].startswith(expected) and clause in containers["error"]
    assert "Traceback" not in status.stderr
