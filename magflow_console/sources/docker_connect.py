"""A connected docker SDK client for any Docker host the console takes (unix://, tcp://,
ssh://), for the read side (``DockerSource``) and the actions alike, so that both fail
with the same sentences (``docker_parse.describe_failure``).

ssh:// goes through ``docker_ssh`` (paramiko, bounded waits); the others through the
SDK as it is. Raises on failure; never prints.
"""

from __future__ import annotations

import docker

from magflow_console.sources.docker_parse import precheck_socket


def open_client(base_url: str | None, timeout: float) -> tuple[docker.DockerClient, str | None]:
    """(client, the engine's version) after one ``/version`` round trip; ``base_url``
    None is ``$DOCKER_HOST``, else the local socket. ``timeout`` bounds every call (and,
    over SSH, each step of the login)."""
    precheck_socket(base_url)
    if base_url is not None and base_url.startswith("ssh://"):
        from magflow_console.sources.docker_ssh import open_ssh_client

        client, version = open_ssh_client(base_url, timeout)
        return client, str(version.get("Version") or "") or None
    seconds = max(1, round(timeout))
    if base_url is None:
        client = docker.DockerClient.from_env(timeout=seconds, use_ssh_client=False)
    else:
        client = docker.DockerClient(base_url=base_url, timeout=seconds, use_ssh_client=False)
    if client.api.base_url.startswith("http+docker://"):
        # a local socket: no proxy applies, and requests would scan the environment for
        # one (and for a .netrc) before each call, 0.3-0.4 ms a call (bench/tried.toml)
        client.api.trust_env = False
    try:
        engine = str(client.api.version().get("Version") or "") or None
    except BaseException:
        client.close()
        raise
    return client, engine
