"""A health probe's output is the container's own text, as its log is, and is masked the
same way: a failing probe that prints the URL it could not reach showed the password in
the container detail, and through the ``container_unhealthy`` finding in ``status``,
``doctor``, their JSON, the findings screen and ``status --all``."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from docker.models.containers import Container

from magflow_console.diagnose.rules import container_findings
from magflow_console.models import ContainerInfo
from magflow_console.sources.docker import DockerSource
from tests.support.docker_engine import DockerEngine, compose_labels, healthcheck

URL_PASSWORD = "Probe-url-pw-5b1e"
KEY_PASSWORD = "Probe-key-pw-93ac"


@pytest.mark.docker
def test_a_failing_probe_that_prints_credentials_is_masked(
    docker_engine: DockerEngine, make_container: Callable[..., Container]
) -> None:
    probe = (
        'echo "health: cannot connect to $DATABASE_URL"; '
        f'echo "redis AUTH failed (password={KEY_PASSWORD})"; exit 1'
    )
    sidecar = make_container(
        labels=compose_labels("probeproj", "sidecar"),
        environment={"DATABASE_URL": f"postgresql+asyncpg://app:{URL_PASSWORD}@db:5432/magflow"},
        healthcheck=healthcheck(probe),
    )
    assert sidecar.name is not None
    source = DockerSource(
        docker_engine.base_url, project=None, prefix=None, service_map={"sidecar": sidecar.name}
    )
    try:
        info: ContainerInfo | None = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            snap = source.fetch()
            assert snap.state == "ok", snap.error
            info = snap.items[0]
            if info.health == "unhealthy" and info.health_log:
                break
            source.invalidate(info.id)
            time.sleep(0.3)
        assert info is not None and info.health == "unhealthy", info
    finally:
        source.close()
    outputs = "\n".join(p.output for p in info.health_log)
    assert "cannot connect to postgresql+asyncpg://app:***@db:5432/magflow" in outputs
    assert "password=***" in outputs
    findings = container_findings(snap)
    (unhealthy,) = [f for f in findings if f.code == "container_unhealthy"]
    assert "redis AUTH failed (password=***" in unhealthy.message
    for secret in (URL_PASSWORD, KEY_PASSWORD):
        assert secret not in outputs and secret not in unhealthy.message
