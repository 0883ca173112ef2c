"""Which Redis to read: the profile's Redis URL, else the worker's own broker URL.

Precedence (sheet §6.4, §11.3): ``--redis-url`` > ``redis.url`` / ``redis.url_env`` of the
profile > the worker container's ``CELERY_BROKER_URL`` (else ``REDIS_URL``), read from
its environment when the Docker engine is reachable. The worker's URL names the compose
service (``redis://:pw@redis:6379/0``), which only resolves inside the compose network,
so its host and port are mapped to where the redis container publishes 6379/tcp on the
Docker host: 127.0.0.1 for a local engine, the engine's host for tcp:// and ssh://.

The URL carries Redis's password: it is returned to the caller, never stored in a
snapshot, logged or shown (``display`` masks it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from magflow_console.render.text import scrub

if TYPE_CHECKING:
    from magflow_console.config import Profile
    from magflow_console.sources.docker import DockerSource

#: the worker's environment variables that hold the broker URL, in the app's order
BROKER_ENV = ("CELERY_BROKER_URL", "REDIS_URL")
REDIS_PORT = "6379/tcp"


@dataclass(frozen=True)
class RedisTarget:
    """A Redis URL to read, or why there is none; ``source`` says where it came from."""

    url: str | None
    source: str  # "--redis-url / profile" | "worker CELERY_BROKER_URL" | ...
    why_not: str | None = None

    @property
    def display(self) -> str | None:
        return scrub(self.url) if self.url else None


def docker_host_address(docker_host: str) -> str:
    """The host a port published by the engine is reachable on, from here."""
    if docker_host.startswith(("unix://", "/", "npipe://")) or not docker_host:
        return "127.0.0.1"
    host = urlsplit(docker_host).hostname
    return host or "127.0.0.1"


def published_port(ports: Sequence[str], container_port: str = REDIS_PORT) -> str | None:
    """The host port of ``container_port`` in ``ContainerInfo.ports`` ("6380->6379/tcp")."""
    for mapping in ports:
        host, _, inner = mapping.partition("->")
        if inner == container_port and host.isdigit():
            return host
    return None


def map_to_docker_host(url: str, address: str, port: str | None) -> str:
    """``url`` with its host replaced by ``address`` and its port by ``port`` (the
    published one), keeping user, password, database and query."""
    parts = urlsplit(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    host = f"[{address}]" if ":" in address else address
    netloc = f"{userinfo}{at}{host}:{port or parts.port or 6379}"
    return urlunsplit(parts._replace(netloc=netloc))


def discover(
    docker: DockerSource,
    services: Mapping[str, str],
    docker_host: str,
) -> RedisTarget:
    """The worker's broker URL mapped to the Docker host (two inspects), or why not."""
    worker = services.get("worker", "magflow_worker")
    redis_name = services.get("redis", "magflow_redis")
    found = docker.container_env(worker, BROKER_ENV)
    if found is None:
        return RedisTarget(
            None,
            "worker environment",
            docker.last_error
            or f"{worker} has neither {' nor '.join(BROKER_ENV)} in its environment",
        )
    name, url = found
    if not url.startswith(("redis://", "rediss://")):
        return RedisTarget(None, f"worker {name}", f"{worker}'s {name} is not a redis:// URL")
    ports = docker.container_ports(redis_name)
    port = published_port(ports or ())
    if port is None:
        return RedisTarget(
            None,
            f"worker {name}",
            f"{redis_name} publishes no port for 6379/tcp on the Docker host "
            "(set redis.url or --redis-url)",
        )
    return RedisTarget(
        map_to_docker_host(url, docker_host_address(docker_host), port), f"worker {name}"
    )


def redis_target_for(profile: Profile) -> RedisTarget:
    """The Redis an action reads or writes (the sync watch, the login cache): the
    profile's URL, else the worker's broker URL found through a Docker source of its own
    (closed afterwards)."""
    from magflow_console import config as cfg

    url = cfg.redis_url(profile)
    if url:
        return RedisTarget(url, "profile")
    from magflow_console.sources.docker import DockerSource
    from magflow_console.sources.lean_imports import import_docker_sdk

    host = cfg.docker_host(profile)
    try:
        import_docker_sdk(ssh=host.startswith("ssh://"))
        d = profile.docker
        docker = DockerSource(
            host, project=d.project, prefix=d.prefix, service_map=d.services, timeout=d.timeout
        )
    except Exception as exc:  # the SDK cannot be set up for this host
        return RedisTarget(None, "worker environment", f"Docker source failed: {exc}")
    try:
        return discover(docker, profile.docker.services, host)
    finally:
        docker.close()
