"""The Docker source over ``ssh://``: a real sshd in front of the real test engine
(``tests/support/ssh_server.py``), the console's HOME holding ``~/.ssh/config`` and
``known_hosts`` as an engineer's machine does. The same containers, logs and events as
through the socket; and every way the SSH side fails, for real, as one sentence."""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from magflow_console.models import LogLine
from magflow_console.sources.docker import DockerSource
from magflow_console.sources.docker_parse import StackEvent
from tests.support.docker_engine import (
    STACK_DOTENV_SET,
    STACK_SECRETS,
    DockerEngine,
    StackContainers,
    compose_labels,
)
from tests.support.procs import free_port
from tests.support.ssh_server import SshDocker

pytestmark = pytest.mark.docker


def source(url: str, stack: StackContainers, timeout: float = 5.0) -> DockerSource:
    return DockerSource(
        url,
        project=stack.project,
        prefix=stack.prefix,
        service_map=stack.service_map,
        timeout=timeout,
    )


@pytest.fixture
def over_ssh(ssh_home: SshDocker, stack_containers: StackContainers) -> Iterator[DockerSource]:
    src = source(ssh_home.url, stack_containers)
    yield src
    src.close()


def test_containers_over_ssh_are_those_of_the_socket(
    over_ssh: DockerSource, docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    local = source(docker_engine.base_url, stack_containers)
    try:
        want = local.fetch()
    finally:
        local.close()
    snap = over_ssh.fetch()
    assert snap.state == "ok", snap.error
    assert snap.docker_host == over_ssh.base_url
    assert snap.engine_version and snap.engine_version == want.engine_version
    assert [(c.service, c.name) for c in snap.items] == [(c.service, c.name) for c in want.items]
    health = {c.service: c.health for c in snap.items}
    assert health["app"] == "healthy" and health["worker"] == "unhealthy"
    app = next(c for c in snap.items if c.service == "app")
    # /app/.env comes through the archive API, over the same channel
    assert app.dotenv_state == "read" and set(STACK_DOTENV_SET) <= set(app.dotenv_set)
    detail = over_ssh.inspect(stack_containers.names["app"])
    assert detail is not None and detail.health_log, "no health probes over ssh"


def test_a_refresh_over_ssh_is_one_ssh_session(
    ssh_home: SshDocker, stack_containers: StackContainers
) -> None:
    """Every connection to the engine is an SSH session running `docker system
    dial-stdio` on the remote host (a process start each): a first refresh (version,
    list, five inspects, the .env archive) reuses one, as later ones do."""
    src = source(ssh_home.url, stack_containers)
    try:
        before = ssh_home.sessions_started()
        assert src.fetch().state == "ok", src.last_error
        first = ssh_home.sessions_started() - before
        src.invalidate()  # every container inspected again
        assert src.fetch().state == "ok", src.last_error
        again = ssh_home.sessions_started() - before - first
    finally:
        src.close()
    assert first == 1, f"{first} SSH sessions for one refresh ({ssh_home.log_tail()})"
    assert again == 0, f"{again} more SSH sessions for a second refresh"


def test_logs_over_ssh_are_read_and_masked(
    over_ssh: DockerSource, stack_containers: StackContainers
) -> None:
    lines = over_ssh.read_logs(stack_containers.names["app"], tail=500)
    failed = [line.text for line in lines if "Product sync failed" in line.text]
    assert failed and "'Authorization': '***'" in failed[-1]
    assert STACK_SECRETS["bearer"] not in "\n".join(line.text for line in lines)


def _drain(it: Iterator[Any], out: list[Any], enough: threading.Event, want: int) -> None:
    for item in it:
        out.append(item)
        if len(out) >= want:
            enough.set()


def test_follow_over_ssh_gets_new_lines_and_stops_when_asked(
    over_ssh: DockerSource, stack_containers: StackContainers
) -> None:
    stop, enough = threading.Event(), threading.Event()
    got: list[LogLine] = []
    follow = over_ssh.follow(stack_containers.names["app"], stop, tail=0)
    reader = threading.Thread(target=_drain, args=(follow, got, enough, 2), daemon=True)
    reader.start()
    # the app logs a line a second; the timeout only guards against a hang
    assert enough.wait(120), f"no new lines followed over ssh ({over_ssh.last_error})"
    stop.set()
    reader.join(60)
    assert not reader.is_alive(), "follow over ssh did not end after stop"
    assert all(line.timestamp is not None for line in got)
    assert over_ssh.last_error is None


def test_a_quiet_follow_over_ssh_stops_when_asked(
    over_ssh: DockerSource, make_container: Callable[..., Any]
) -> None:
    """No line will come: only closing the SSH channel can end the blocked read."""
    quiet = make_container(command=["sh", "-c", "echo one; echo two; exec sleep 2147483647"])
    stop, enough = threading.Event(), threading.Event()
    got: list[LogLine] = []
    follow = over_ssh.follow(str(quiet.name), stop, tail=-1)
    reader = threading.Thread(target=_drain, args=(follow, got, enough, 2), daemon=True)
    reader.start()
    assert enough.wait(120), f"the two lines did not come over ssh ({over_ssh.last_error})"
    stop.set()
    reader.join(60)
    assert not reader.is_alive(), "a blocked follow over ssh did not end after stop"
    assert [line.text for line in got] == ["one", "two"]


def test_events_over_ssh_arrive_and_stop_when_asked(
    ssh_home: SshDocker, make_container: Callable[..., Any]
) -> None:
    """A project of one container, so that no other event (the stack's crash-looping
    redis) wakes the reader: only closing the SSH channel can end it."""
    project = f"sshev{secrets.token_hex(3)}"
    name = f"{project}_app"
    extra = make_container(name=name, labels=compose_labels(project, "app"))
    src = DockerSource(ssh_home.url, project=project, prefix=f"{project}_", service_map={})
    stop, enough = threading.Event(), threading.Event()
    events: list[StackEvent] = []

    def read() -> None:
        for event in src.events(stop):
            events.append(event)
            if event.kind == "restart":  # the last event of a restart: then silence
                enough.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not enough.is_set():  # until the stream is open and sees one
            extra.restart(timeout=1)
            enough.wait(2)
            assert reader.is_alive() or enough.is_set(), f"events ended: {src.last_error}"
        stop.set()
        reader.join(60)
        assert not reader.is_alive(), "events over ssh did not end after stop"
    finally:
        stop.set()
        src.close()
    assert {e.name for e in events} == {name}


# --------------------------------------------------------------------------- failures


def fails_with(url: str, stack: StackContainers, timeout: float = 5.0) -> str:
    src = source(url, stack, timeout)
    try:
        snap = src.fetch()
    finally:
        src.close()
    assert snap.state == "error" and snap.error is not None
    assert "\n" not in snap.error and "Traceback" not in snap.error
    assert snap.error.startswith(f"Docker engine at {url} is not reachable: "), snap.error
    return snap.error


def test_unknown_host_key_is_refused_in_one_sentence(
    ssh_home: SshDocker,
    stack_containers: StackContainers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(ssh_home.make_home(tmp_path / "h", known_host=False)))
    error = fails_with(ssh_home.url, stack_containers)
    assert f"the SSH host key of [127.0.0.1]:{ssh_home.port} is unknown" in error
    assert "not in ~/.ssh/known_hosts" in error
    assert ssh_home.host_key_line.split()[1] not in error
    # it was refused, not added: the console never writes known_hosts
    assert (tmp_path / "h" / ".ssh" / "known_hosts").read_text() == ""


def test_changed_host_key_is_refused_in_one_sentence(
    ssh_home: SshDocker,
    stack_containers: StackContainers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = ssh_home.make_home(tmp_path / "h")
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = other.with_suffix(".pub").read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{ssh_home.port} {kind} {key}\n")
    monkeypatch.setenv("HOME", str(home))
    error = fails_with(ssh_home.url, stack_containers)
    assert f"the SSH host key of [127.0.0.1]:{ssh_home.port} does not match" in error


def test_no_key_and_no_agent_is_one_sentence(
    ssh_home: SshDocker,
    stack_containers: StackContainers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(ssh_home.make_home(tmp_path / "h", key=False)))
    error = fails_with(ssh_home.url, stack_containers)
    assert "no SSH key to log in with: no ssh-agent (SSH_AUTH_SOCK)" in error


def test_a_key_the_server_does_not_know_is_one_sentence(
    ssh_home: SshDocker,
    stack_containers: StackContainers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = ssh_home.make_home(tmp_path / "h")
    key = home / ".ssh" / "magflow_engine"
    key.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    monkeypatch.setenv("HOME", str(home))
    error = fails_with(ssh_home.url, stack_containers)
    assert f"the SSH server refused the keys offered for user {ssh_home.user}" in error
    assert key.read_text().split("\n")[1] not in error  # no key material, ever


def test_connection_refused_is_one_sentence(
    ssh_home: SshDocker, stack_containers: StackContainers
) -> None:
    port = free_port()
    error = fails_with(f"ssh://{ssh_home.user}@127.0.0.1:{port}", stack_containers)
    assert f"nothing accepts SSH connections at 127.0.0.1 port {port} (connection refused)" in error


def test_engine_socket_not_reachable_over_ssh_is_one_sentence(
    ssh_home: SshDocker, stack_containers: StackContainers
) -> None:
    error = fails_with(ssh_home.no_engine_url, stack_containers)
    assert "the SSH login worked, but the remote `docker system dial-stdio` cannot reach" in error
    assert "/nonexistent/mfc-no-engine/docker.sock" in error  # the remote side's own words


def test_a_port_that_speaks_no_ssh_is_one_sentence_within_the_timeout(
    ssh_home: SshDocker, stack_containers: StackContainers
) -> None:
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)
        port = mute.getsockname()[1]
        url = f"ssh://{ssh_home.user}@127.0.0.1:{port}"
        error = fails_with(url, stack_containers, timeout=2.0)
    assert f"127.0.0.1 port {port} accepted the connection, but no SSH key exchange" in error
    assert "within 2 s" in error
