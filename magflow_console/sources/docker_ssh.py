"""ssh:// Docker hosts: the docker SDK's paramiko transport, with bounded waits and one
clear sentence for each way it fails.

How it works: the console logs in with paramiko (``~/.ssh/config`` for HostName, Port,
User, IdentityFile and ProxyCommand; keys from the agent, ``~/.ssh`` and IdentityFile;
host keys from ``~/.ssh/known_hosts``, an unknown one refused), and every HTTP connection
to the engine is a session running ``docker system dial-stdio`` on the remote host: so
the remote user needs the ``docker`` command, and its ``DOCKER_HOST`` (or the default
``/var/run/docker.sock``) must lead to the engine. Nothing is written to the terminal
(the ``ssh`` binary would write to our stderr and tear the TUI).

What the SDK's own adapter lacks, added here:

- **bounded waits**: it connects with no timeout, so a host that drops packets holds a
  refresh (or ``status``) for the operating system's two minutes; here the TCP connect,
  the SSH banner and the authentication each wait ``timeout`` seconds at most;
- **one sentence per failure** (``EngineUnreachable``, read by
  ``docker_parse.describe_failure``): an unknown or changed host key, no key or agent,
  keys refused, a key needing a passphrase, connection refused, no answer, and an
  engine the SSH login cannot reach (the remote ``docker system dial-stdio`` is run
  once more and its own error is quoted) -- never a paramiko traceback;
- **one SSH session for a refresh**: the SDK keys its connection pools by the whole
  request URL, so every new path (each container's inspect) opened another SSH session,
  i.e. another ``docker system dial-stdio`` on the remote host; here the connections
  to the engine are pooled once and reused (a stream, a followed log, holds its own);
- **one round trip fewer**: the SDK asks the engine's API version while building its
  client and the console asks again for the engine's version; here one ``/version``
  answers both.

Imported only for ssh:// hosts: it imports paramiko (about 95 ms, ``lean_imports``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

import docker
import docker.errors
import paramiko
import requests
from docker.constants import DEFAULT_DOCKER_API_VERSION
from docker.transport import SSHHTTPAdapter

from magflow_console.render.text import scrub
from magflow_console.sources.docker_parse import EngineUnreachable

#: the command the SDK runs on the remote host for every connection to the engine
DIAL_STDIO = "docker system dial-stdio"
#: where paramiko reads the known host keys (``SSHClient.load_system_host_keys``)
KNOWN_HOSTS = "~/.ssh/known_hosts"
_MOUNT = "http+docker://ssh"
#: the SDK's adapter; its stubs (types-docker) leave out the paramiko hooks overridden
#: here (``_create_paramiko_client``, ``_connect``, ``ssh_params``)
_SdkAdapter: Any = SSHHTTPAdapter


class _BoundedSSHAdapter(_SdkAdapter):
    """The SDK's paramiko adapter with bounded connect, banner and authentication waits,
    and its failures as ``EngineUnreachable`` sentences (also on a reconnect)."""

    def __init__(self, base_url: str, timeout: float, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        super().__init__(base_url, timeout=max(1, round(timeout)))

    def _create_paramiko_client(self, base_url: str) -> None:
        super()._create_paramiko_client(base_url)
        params = self.ssh_params
        # ~/.ssh/config gives the port as text: paramiko compares it with 22 to name the
        # host in known_hosts ("host" on 22, "[host]:port" otherwise)
        if isinstance(params.get("port"), str) and str(params["port"]).isdigit():
            params["port"] = int(params["port"])
        wait = self.connect_timeout
        params.update(timeout=wait, banner_timeout=wait, auth_timeout=wait)

    def _connect(self) -> None:
        try:
            super()._connect()
        except Exception as exc:
            raise EngineUnreachable(login_failure(exc, self.ssh_params)) from exc

    def get_connection(self, url: str | bytes, proxies: Any = None) -> Any:
        # the SDK keys its connection pools by the request's whole URL, so each new path
        # (every container's inspect) opened another SSH session and started another
        # `docker system dial-stdio` on the remote host (0.15-0.5 s each here): one pool
        # for the engine, whose connections every request reuses
        return super().get_connection(_MOUNT, proxies)

    @property
    def transport(self) -> paramiko.Transport | None:
        client = self.ssh_client
        return client.get_transport() if client is not None else None


class _SshDockerClient(docker.DockerClient):
    """A ``DockerClient`` around an ``APIClient`` built here (the SDK's constructor would
    build and connect its own adapter)."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api


def open_ssh_client(base_url: str, timeout: float) -> tuple[docker.DockerClient, dict[str, Any]]:
    """A client connected over SSH, and the engine's ``/version`` answer. Raises
    ``EngineUnreachable`` (the reason as one sentence) when the login or the engine
    fails; other errors as they come."""
    adapter = _BoundedSSHAdapter(base_url, timeout, connect_timeout=timeout)
    try:
        version = _engine_version(adapter, timeout)
        api = docker.APIClient(
            base_url=base_url,
            version=str(version.get("ApiVersion") or DEFAULT_DOCKER_API_VERSION),
            timeout=max(1, round(timeout)),
            use_ssh_client=True,  # builds the SDK's adapter without connecting; replaced:
        )
        api.mount(_MOUNT, adapter)
    except BaseException:
        adapter.close()
        raise
    return _SshDockerClient(api), version


def _engine_version(adapter: _BoundedSSHAdapter, timeout: float) -> dict[str, Any]:
    """``/version`` through ``adapter``; when the SSH login worked but the engine does not
    answer, why (the remote ``docker system dial-stdio``'s own error)."""
    probe = requests.Session()
    probe.mount(_MOUNT, adapter)  # not closed: that would close the adapter
    try:
        response = probe.get(f"{_MOUNT}/version", timeout=timeout)
    except requests.ConnectionError as exc:
        why = remote_dial_failure(adapter.transport, timeout)
        if why is None:
            raise
        raise EngineUnreachable(why) from exc
    if response.status_code != 200:
        raise docker.errors.APIError(f"/version answered HTTP {response.status_code}", response)
    answer = response.json()
    return answer if isinstance(answer, dict) else {}


def remote_dial_failure(transport: paramiko.Transport | None, timeout: float) -> str | None:
    """Run ``docker system dial-stdio`` once more on the remote host with its input closed:
    a reachable engine ends it at once with status 0; otherwise its status and stderr
    say why (no engine at the socket, no ``docker`` command). None when it succeeds or
    cannot be run (then the caller's own error stands)."""
    if transport is None or not transport.is_active():
        return None
    try:
        channel = transport.open_session(timeout=timeout)
    except Exception:
        return None
    err = b""
    status: int | None = None
    try:
        channel.settimeout(timeout)
        channel.exec_command(DIAL_STDIO)
        channel.shutdown_write()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if channel.recv_stderr_ready():
                err += channel.recv_stderr(4096)
            elif channel.exit_status_ready():
                break
            else:
                time.sleep(0.02)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(4096)
        if channel.exit_status_ready():
            status = channel.recv_exit_status()
    except (OSError, paramiko.SSHException):
        return None
    finally:
        with contextlib.suppress(Exception):
            channel.close()
    if status in (None, 0):
        return None
    text = " ".join(scrub(err.decode("utf-8", "replace")).split())[:240]
    if status == 127 or "not found" in text.lower():
        return f"the SSH login worked, but the remote host has no `docker` command ({DIAL_STDIO} is run there for every connection)"
    said = f": {text.rstrip('.')}" if text else f" (exit status {status})"
    return (
        f"the SSH login worked, but the remote `{DIAL_STDIO}` cannot reach the engine{said} "
        "(the remote user's DOCKER_HOST, or /var/run/docker.sock, must lead to it)"
    )


def login_failure(exc: BaseException, params: dict[str, Any]) -> str:
    """One sentence for a failed SSH login (``paramiko.SSHClient.connect``)."""
    host = str(params.get("hostname") or "?")
    port = int(params.get("port") or 22)
    where = host if port == 22 else f"[{host}]:{port}"
    user = params.get("username") or "the local user's name"
    text = " ".join(str(exc).split())
    if isinstance(exc, paramiko.BadHostKeyException):
        return (
            f"the SSH host key of {where} does not match the one in {KNOWN_HOSTS} (the key "
            "changed, or another machine answers): check it before replacing that line"
        )
    if isinstance(exc, paramiko.PasswordRequiredException):
        return f"an SSH key needs a passphrase ({scrub(text)}): load it into ssh-agent"
    if isinstance(exc, paramiko.AuthenticationException):
        return (
            f"the SSH server refused the keys offered for user {user} (from ssh-agent, "
            "~/.ssh and IdentityFile in ~/.ssh/config)"
        )
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        errors = list(getattr(exc, "errors", {}).values())
        if errors and all(isinstance(e, ConnectionRefusedError) for e in errors):
            return f"nothing accepts SSH connections at {host} port {port} (connection refused)"
        return f"no SSH connection to {host} port {port} ({scrub(text)[:160]})"
    if isinstance(exc, socket.gaierror):
        return f"the SSH host name {host} does not resolve ({scrub(text)[:120]})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no SSH connection to {host} port {port}{_within(params)} (no answer)"
    if isinstance(exc, paramiko.SSHException):
        lowered = text.lower()
        if "not found in known_hosts" in lowered:
            return (
                f"the SSH host key of {where} is unknown (not in {KNOWN_HOSTS}): log in once "
                "with ssh and check its fingerprint; the console never accepts an unknown key"
            )
        if "no authentication methods available" in lowered:
            return (
                "no SSH key to log in with: no ssh-agent (SSH_AUTH_SOCK), no key in ~/.ssh "
                "and no IdentityFile in ~/.ssh/config"
            )
        if "banner" in lowered or "no existing session" in lowered:
            # paramiko gives up waiting for the key exchange after ``timeout``, then finds
            # no session to read the host key from
            return (
                f"{host} port {port} accepted the connection, but no SSH key exchange "
                f"followed{_within(params)} (is an SSH server listening there?)"
            )
        return f"SSH failed ({scrub(text)[:160]})"
    if isinstance(exc, OSError):
        return f"no SSH connection to {host} port {port} ({scrub(text)[:160]})"
    return f"SSH failed ({type(exc).__name__}: {scrub(text)[:160]})"


def _within(params: dict[str, Any]) -> str:
    wait = params.get("timeout")
    return f" within {wait:g} s" if isinstance(wait, int | float) else ""
