"""Which Redis the console reads: the profile's URL, else the worker's broker URL mapped to
the port the redis container publishes (pure mapping; then the real Docker engine and a
real redis-server, through ``Backend.broker``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console.backend import Backend
from magflow_console.cli.common import load
from magflow_console.models import to_jsonable
from magflow_console.sources.broker_url import (
    docker_host_address,
    map_to_docker_host,
    published_port,
)
from tests.support.docker_engine import DockerEngine
from tests.support.redis_server import RedisServer

MakeContainer = Callable[..., Container]


def test_the_worker_url_is_mapped_to_the_published_port() -> None:
    url = "redis://:s3cret@redis:6379/0"
    assert map_to_docker_host(url, "127.0.0.1", "6380") == "redis://:s3cret@127.0.0.1:6380/0"
    assert map_to_docker_host("redis://redis/2", "10.0.0.5", None) == "redis://10.0.0.5:6379/2"
    assert map_to_docker_host("redis://u:p@redis:6379/0?x=1", "::1", "7000") == (
        "redis://u:p@[::1]:7000/0?x=1"
    )
    assert published_port(("8000->8000/tcp", "6380->6379/tcp")) == "6380"
    assert published_port(("6379->6379/udp",)) is None
    assert docker_host_address("unix:///var/run/docker.sock") == "127.0.0.1"
    assert docker_host_address("tcp://10.1.2.3:2375") == "10.1.2.3"
    assert docker_host_address("ssh://deploy@prod.example:22") == "prod.example"


def _args(engine: DockerEngine, tmp_path: Path, **extra: str) -> Any:
    import argparse

    ns = argparse.Namespace(
        docker_host=engine.base_url,
        db_url="postgresql://nobody@127.0.0.1:1/none",
        config=str(tmp_path / "none.toml"),
    )
    (tmp_path / "none.toml").write_text("")
    for key, value in extra.items():
        setattr(ns, key, value)
    return ns


@pytest.mark.docker
def test_the_broker_url_comes_from_the_worker_and_never_shows(
    docker_engine: DockerEngine,
    make_container: MakeContainer,
    redis_db: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAGFLOW_REDIS_URL", raising=False)
    tag = tmp_path.name[-8:].replace("_", "x")
    worker, redis_name = f"mfc-worker-{tag}", f"mfc-redis-{tag}"
    # the worker's URL names the compose service and Redis's port inside the network
    make_container(
        name=worker,
        environment={"CELERY_BROKER_URL": f"redis://:{redis_db.password}@redis:6379/0"},
    )
    # the test engine has no bridge network to publish through; the binding it keeps in
    # HostConfig is what the console reads when no port is live (docker_parse)
    make_container(name=redis_name, network_mode="none", ports={"6379/tcp": redis_db.port})
    services = json.dumps({"worker": worker, "redis": redis_name})
    monkeypatch.setenv("MAGFLOW_CONSOLE_DOCKER__SERVICES", services)
    backend = Backend(load(_args(docker_engine, tmp_path)))
    try:
        target = backend.redis_target()
        assert target.url == redis_db.url and target.source == "worker CELERY_BROKER_URL"
        redis, celery = backend.broker()
    finally:
        backend.close()
    assert redis.state == "ok", redis.error
    assert celery.state == "ok", celery.error
    assert redis.url == f"redis://:***@127.0.0.1:{redis_db.port}/0"
    assert redis_db.password and redis_db.password not in json.dumps(to_jsonable((redis, celery)))


@pytest.mark.docker
def test_no_broker_url_is_said_not_guessed(
    docker_engine: DockerEngine,
    make_container: MakeContainer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAGFLOW_REDIS_URL", raising=False)
    worker = f"mfc-worker-{tmp_path.name[-8:].replace('_', 'x')}"
    make_container(name=worker, environment={"OTHER": "1"})
    monkeypatch.setenv("MAGFLOW_CONSOLE_DOCKER__SERVICES", json.dumps({"worker": worker}))
    backend = Backend(load(_args(docker_engine, tmp_path)))
    try:
        redis, celery = backend.broker()
    finally:
        backend.close()
    assert redis.state == celery.state == "error" and redis.url is None
    assert redis.error is not None and "No Redis URL" in redis.error
    assert "CELERY_BROKER_URL" in redis.error  # what was looked for


def test_an_explicit_redis_url_wins(redis_server: RedisServer, tmp_path: Path) -> None:
    args = _args(
        DockerEngine("unix:///nonexistent.sock", None, private=False),  # type: ignore[arg-type]
        tmp_path,
        redis_url=redis_server.url,
    )
    backend = Backend(load(args))
    try:
        assert backend.redis_target().source == "profile"
        redis, _ = backend.broker()
    finally:
        backend.close()
    assert redis.state == "ok", redis.error
