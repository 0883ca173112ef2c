"""Diagnosis from real containers: the entrypoint stand-in's endings read back from the
engine's log, and `doctor` on the stack-like containers, whose environment and logs hold
secrets that no output may show (tests/support/docker_engine.py, ``STACK_SECRETS``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console.diagnose.logs import log_findings
from magflow_console.sources.docker import DockerSource
from tests.sources.test_docker import wait_for
from tests.support.cli import run_cli, stack_args
from tests.support.docker_engine import STACK_SECRETS, DockerEngine, StackContainers

docker_mark = pytest.mark.docker
MakeContainer = Callable[..., Container]

#: the stand-in entrypoint's modes (tests/support/image/standins/docker-entrypoint.sh)
MODES = {
    "ok": [],
    "race": ["entrypoint_race_accepted"],
    "fail": ["entrypoint_migration_failed"],
    "initfail": ["entrypoint_init_failed"],
    "dbtimeout": ["entrypoint_db_timeout"],
}


def _wait(predicate: Callable[[], Any], what: str) -> Any:
    return wait_for(predicate, what, timeout=30.0)


@docker_mark
@pytest.mark.parametrize("mode", sorted(MODES))
def test_entrypoint_endings_read_from_the_engine(
    mode: str, docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    name = f"mfc-entry-{mode}-{secrets.token_hex(3)}"
    container = make_container(
        name=name,
        entrypoint=["/usr/local/bin/docker-entrypoint.sh"],
        command=["sleep", "2147483647"],
        environment={"STANDIN_ENTRYPOINT": mode},
    )
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map={})
    try:
        # the last marker of each path: the ending, or the command running after "ready"
        last = "Application ready to start!" if mode in ("ok", "race") else "failed|timeout"

        def ended() -> list[Any]:
            lines = src.logs(name, tail=200)
            text = "\n".join(line.text for line in lines)
            done = last in text if "|" not in last else any(w in text for w in last.split("|"))
            return lines if done else []

        lines = _wait(ended, f"the {mode} entrypoint to finish")
        found = log_findings(name, "app", lines)
        assert [f.code for f in found] == MODES[mode], [f.message for f in found]
        assert all(f.subject == name for f in found)
    finally:
        src.close()
        container.remove(force=True)


@docker_mark
def test_a_migration_crash_loop_says_why_and_how_often(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    name = f"mfc-entry-loop-{secrets.token_hex(3)}"
    container = make_container(
        name=name,
        entrypoint=["/usr/local/bin/docker-entrypoint.sh"],
        command=["sleep", "2147483647"],
        environment={"STANDIN_ENTRYPOINT": "fail"},
        restart_policy={"Name": "unless-stopped"},
    )

    def restarted() -> bool:
        container.reload()
        return int(container.attrs["RestartCount"]) >= 2

    _wait(restarted, "two restarts of the failing entrypoint")
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map={})
    try:
        found = log_findings(name, "worker", src.logs(name, tail=500))
    finally:
        src.close()
    (finding,) = found
    assert finding.code == "entrypoint_migration_failed" and finding.severity == "critical"
    assert "starts in the window read" in finding.message
    assert "Alembic said: KeyError: '20251013_fix_emag_sync_logs_account_type'" in (finding.message)


def _no_secret(*texts: str) -> None:
    for key, secret in STACK_SECRETS.items():
        for text in texts:
            assert secret not in text, f"the {key} secret leaked"


@docker_mark
def test_doctor_reads_the_stack_and_shows_no_secret(
    demo_db_url: str,
    docker_engine: DockerEngine,
    stack_containers: StackContainers,
    stack_env: dict[str, str],
    fake_api: Any,
    tmp_path: Path,
) -> None:
    fake_api.set_mode("healthy")
    args = stack_args(demo_db_url, docker_engine, fake_api.base_url)
    app, worker = stack_containers.names["app"], stack_containers.names["worker"]
    doc_proc = run_cli(["doctor", "--json", *args], stack_env, tmp_path)
    assert doc_proc.returncode == 2, doc_proc.stderr
    advice = json.loads(doc_proc.stdout)["findings"]
    got = {(a["code"], a["account"], a["subject"]) for a in advice}
    # the environment: fbe lacks its password (critical), main's orders go to the sandbox
    assert ("emag_credentials_missing", "fbe", app) in got
    assert ("emag_target_split", "main", app) in got
    # the logs: the app's failed product sync; the worker's "Missing credentials" line is
    # the same fact as the environment finding, so it is not listed twice
    assert ("log_product_sync_failed", None, app) in got
    assert not [a for a in advice if a["code"] == "log_missing_credentials"]
    # the crash-looping redis: its own log says why, and that is critical
    rdb = [a for a in advice if a["code"] == "redis_rdb_format"]
    assert [(a["subject"], a["severity"]) for a in rdb] == [
        (stack_containers.names["redis"], "critical")
    ]
    failed = next(a for a in advice if a["code"] == "log_product_sync_failed")
    assert "'Authorization': '***'" in failed["message"]

    status = run_cli(["status", "--json", *args], stack_env, tmp_path)
    containers = run_cli(["containers", "--json", *args], stack_env, tmp_path)
    human = run_cli(["doctor", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    human_containers = run_cli(["containers", *args], stack_env | {"COLUMNS": "80"}, tmp_path)
    outputs = [doc_proc, status, containers, human, human_containers]
    _no_secret(*(p.stdout for p in outputs), *(p.stderr for p in outputs))

    items = {c["name"]: c for c in json.loads(containers.stdout)["items"]}
    assert "EMAG_FBE_USERNAME" in items[worker]["env_set"]
    assert "EMAG_FBE_PASSWORD" not in items[worker]["env_set"]
    assert items[app]["env_public"] == {"ENVIRONMENT": "development", "REDIS_HOST": "redis"}
    assert "EMAG_FBE_PASSWORD" in human.stdout and "emag_credentials_missing" in human.stdout
    assert "fbe" in human_containers.stdout and "sandbox" in human_containers.stdout


@docker_mark
def test_a_log_that_cannot_be_read_is_said_not_skipped(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    """A container whose logging driver keeps nothing (``none``) is named as not
    diagnosed; the others are still read."""
    from magflow_console.backend import Backend
    from magflow_console.config import load_config
    from magflow_console.models import ContainersSnapshot, utcnow

    mute = make_container(
        name=f"mfc-mute-{secrets.token_hex(3)}",
        command=["sh", "-c", "echo 'Redis connection failed; continuing without Redis'; sleep 1d"],
        log_config={"type": "none", "config": {}},
    )
    talks = make_container(
        name=f"mfc-talks-{secrets.token_hex(3)}",
        command=["sh", "-c", "echo 'Redis connection failed; continuing without Redis'; sleep 1d"],
    )
    loaded = load_config(
        environ={"XDG_CONFIG_HOME": "/nonexistent"},
        overrides={"docker.host": docker_engine.base_url, "database.url": None},
    )
    backend = Backend(loaded)
    try:
        items = []
        for c in (mute, talks):
            info = _wait(lambda c=c: backend.container_detail(c.name or ""), "an inspect")
            items.append(info)
        snap = ContainersSnapshot("ok", None, utcnow(), 1.0, items=tuple(items))
        found = _wait(
            lambda: (
                [f for f in backend.log_findings(snap) if f.code == "log_redis_fallback"]
                and backend.log_findings(snap)
            ),
            "the talking container's line to be logged",
        )
    finally:
        backend.close()
    by_code = {(f.code, f.subject) for f in found}
    assert ("logs_unreadable", mute.name) in by_code
    assert ("log_redis_fallback", talks.name) in by_code
    unreadable = next(f for f in found if f.code == "logs_unreadable")
    assert unreadable.severity == "info" and "not diagnosed" in unreadable.message
    assert "answered" in unreadable.message and "not reachable" not in unreadable.message, (
        unreadable.message
    )
