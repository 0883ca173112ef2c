"""A real sshd in front of the test Docker engine (a pytest plugin listed in
``tests/conftest.py``), so that ``ssh://`` Docker hosts are tested as on-call engineers
use them.

The server is Debian's ``openssh-server`` (``scripts/system-deps.sh`` installs it), run
as the test's own user on 127.0.0.1 with a config of its own: a host key and a client
key generated per session (ed25519, no passphrase), the client's public key as the only
authorized key, no password or keyboard-interactive login, no PAM, and
``StrictModes no`` (its files live under /tmp, which is world-writable). It listens on
two free ports:

- ``url``: sessions get ``DOCKER_HOST`` = the test engine's socket (sshd's ``SetEnv``;
  what a real host has in its default /var/run/docker.sock), so the remote
  ``docker system dial-stdio`` the docker SDK runs for every connection reaches it;
- ``no_engine_url``: a ``Match LocalPort`` block points ``DOCKER_HOST`` at a socket that
  does not exist: the SSH login works and the engine behind it is not reachable.

The console's side is a HOME of its own (``home``): ``.ssh/config`` naming the client key
(``IdentityFile``) and ``.ssh/known_hosts`` holding the server's host key, as an
engineer's machine has them. ``env`` is the environment for a console subprocess (that
HOME, no ``SSH_AUTH_SOCK``: no agent of the machine takes part). ``make_home`` builds
broken variants (no known host, no key) for the failure tests.

The privilege-separation directory sshd needs (``/run/sshd``) is created when missing
and left in place (other sshd processes on the machine may use it). sshd is stopped by
the pid the rig started. A missing sshd fails the test with the package to install; it
never skips.

Fixtures: ``ssh_docker`` (session): an ``SshDocker``; ``ssh_home`` (function): the same,
with this process's HOME set to its ``home`` and ``SSH_AUTH_SOCK`` removed, for tests
that run the console in-process.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.procs import free_port, stop, term_with_parent

SSHD = "/usr/sbin/sshd"
DEBIAN_PACKAGE = "openssh-server"
PRIVSEP_DIR = Path("/run/sshd")
#: where the remote DOCKER_HOST of ``no_engine_url`` points: nothing is there
MISSING_SOCKET = "unix:///nonexistent/mfc-no-engine/docker.sock"


@dataclass
class SshDocker:
    """An sshd in front of the test engine, and a client HOME that reaches it."""

    host: str
    port: int
    no_engine_port: int
    user: str
    engine_url: str  # what the remote DOCKER_HOST is on ``port``
    folder: Path
    home: Path
    client_key: Path
    host_key_line: str  # "ssh-ed25519 AAAA..." (the server's public key)
    proc: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}"

    @property
    def no_engine_url(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.no_engine_port}"

    def make_home(self, path: Path, *, known_host: bool = True, key: bool = True) -> Path:
        """A HOME like ``home``, without the server in known_hosts or without the key."""
        ssh = path / ".ssh"
        ssh.mkdir(parents=True, exist_ok=True, mode=0o700)
        hosts = [f"[{self.host}]:{p} {self.host_key_line}" for p in self._ports()]
        (ssh / "known_hosts").write_text("\n".join(hosts) + "\n" if known_host else "")
        if key:
            target = ssh / "magflow_engine"
            shutil.copyfile(self.client_key, target)
            target.chmod(0o600)
            (ssh / "config").write_text(
                f"Host {self.host}\n  User {self.user}\n  IdentityFile {target}\n"
            )
        return path

    def subprocess_env(self, home: Path | None = None) -> dict[str, str]:
        """``os.environ`` with HOME = ``home`` (default: the working one), no agent."""
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        env["HOME"] = str(home or self.home)
        return env

    def sessions_started(self) -> int:
        """Sessions the sshd started so far (its log; the docker SDK opens one for every
        connection to the engine)."""
        try:
            return (self.folder / "sshd.log").read_text(errors="replace").count("Starting session:")
        except OSError:
            return 0

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = (self.folder / "sshd.log").read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "empty log"

    def _ports(self) -> tuple[int, int]:
        return self.port, self.no_engine_port


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "magflow-console-tests", "-f",
         str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def _config(folder: Path, port: int, no_engine_port: int, engine_url: str) -> str:
    return f"""# magflow-console tests: an sshd in front of the test Docker engine
Port {port}
Port {no_engine_port}
ListenAddress 127.0.0.1
HostKey {folder}/host_key
AuthorizedKeysFile {folder}/authorized_keys
PidFile {folder}/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
PrintMotd no
X11Forwarding no
LogLevel VERBOSE
SetEnv DOCKER_HOST={engine_url}
Match LocalPort {no_engine_port}
    SetEnv DOCKER_HOST={MISSING_SOCKET}
"""


def _banner(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as conn:
            conn.settimeout(1.0)
            return conn.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def start_sshd(engine_url: str) -> SshDocker:
    """An sshd whose sessions reach the engine at ``engine_url``; fails the test (never
    skips) when it cannot be started."""
    if not os.path.exists(SSHD):
        pytest.fail(
            f"{SSHD} is missing: install Debian's {DEBIAN_PACKAGE} (`make system-deps` does) "
            "to test ssh:// Docker hosts",
            pytrace=False,
        )
    if shutil.which("ssh-keygen") is None:
        pytest.fail("ssh-keygen is missing (Debian's openssh-client)", pytrace=False)
    if not PRIVSEP_DIR.is_dir():
        try:
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            pytest.fail(f"sshd needs {PRIVSEP_DIR}, which cannot be created: {exc}", pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="mfc-sshd-", dir="/tmp"))
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    (folder / "authorized_keys").chmod(0o600)
    port, no_engine_port = free_port(), free_port()
    while no_engine_port == port:
        no_engine_port = free_port()
    (folder / "sshd_config").write_text(_config(folder, port, no_engine_port, engine_url))
    log = folder / "sshd.log"
    proc = subprocess.Popen(
        [SSHD, "-D", "-f", str(folder / "sshd_config"), "-E", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=term_with_parent,
    )  # fmt: skip
    host_key = (folder / "host_key.pub").read_text().split()
    server = SshDocker(
        host="127.0.0.1",
        port=port,
        no_engine_port=no_engine_port,
        user=getpass.getuser(),
        engine_url=engine_url,
        folder=folder,
        home=folder / "home",
        client_key=folder / "client_key",
        host_key_line=f"{host_key[0]} {host_key[1]}",
        proc=proc,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited with {proc.returncode}: {server.log_tail()}", pytrace=False)
        if all(_banner(server.host, p) for p in (port, no_engine_port)):
            break
        time.sleep(0.1)
    else:
        stop(proc)
        pytest.fail(f"sshd did not answer within 30 s: {server.log_tail()}", pytrace=False)
    server.make_home(server.home)
    server.env = server.subprocess_env()
    return server


@pytest.fixture(scope="session")
def ssh_docker(docker_engine: Any) -> Iterator[SshDocker]:
    """An sshd in front of the test engine and a HOME that reaches it (``SshDocker``)."""
    server = start_sshd(docker_engine.base_url)
    try:
        yield server
    finally:
        stop(server.proc)
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def ssh_home(ssh_docker: SshDocker, monkeypatch: pytest.MonkeyPatch) -> SshDocker:
    """``ssh_docker`` with this process's HOME at its ``home`` and no ssh-agent (paramiko
    reads ``~/.ssh`` and ``SSH_AUTH_SOCK`` at each connect)."""
    monkeypatch.setenv("HOME", str(ssh_docker.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return ssh_docker
