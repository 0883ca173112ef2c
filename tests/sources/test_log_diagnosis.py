"""Diagnosis from real containers: the entrypoint stand-ins' endings read back from the
engine's log (the newer script and the older one of images built before 2025-10-22,
each writing on the streams the stack sheet gives, §1.2 and §11.1), and `doctor` on the
stack-like containers, whose environment and logs hold secrets that no output may show
(tests/support/docker_engine.py, ``STACK_SECRETS``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console.diagnose.entrypoint import from_older_image, marker_text
from magflow_console.diagnose.logs import log_findings
from magflow_console.diagnose.remedies import next_steps
from magflow_console.models import LogLine
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


#: the sheet's streams (§1.2 as corrected by §11.1): markers by their text, emoji removed
STDOUT_MARKERS = (
    "MagFlow ERP - Starting application...",
    "Waiting for database to be ready...",
    "Attempt ",
    "Database is ready!",
    "Database connection timeout after 30 attempts",
    "Checking database initialization status...",
    "Database already initialized",
    "Initializing database...",
    "Database initialization failed!",
    "Running database migrations...",
    "Application ready to start!",
)
STDERR_MARKERS = (  # the newer script's retry loop
    "Migration attempt ",
    "Race condition detected",
    "Waiting for other container",
    "Retrying migration check...",
    "Migrations completed ",
    "Migration verification failed after 3 attempts!",
    "Unexpected migration error:",
    "Retrying in 3 seconds...",
    "Migration failed after 3 attempts!",
    "Migration process failed!",
)
#: the set the sheet names: rocket, hourglass, check mark, cross mark, magnifier, wrench,
#: arrows, memo, warning, sleep, party popper
EMOJI = ("🚀", "⏳", "✅", "❌", "🔍", "🔧", "🔄", "📝", "⚠️", "💤", "🎉")
ALEMBIC = (
    "INFO  [alembic.",
    "Traceback (most recent call last):",
    "KeyError: ",
    "alembic.util.",
    "sqlalchemy.exc.",
)


def _check_streams(lines: list[LogLine], *, older: bool = False) -> None:
    """Each marker on the sheet's stream, led by one of its emoji (after any indent);
    Alembic's own output on stdout (newer script: captured and replayed) or on stderr
    (older script: not captured). ``older``: its success line is on stdout."""
    stdout = STDOUT_MARKERS + (("Migrations completed successfully!",) if older else ())
    seen = 0
    for line in lines:
        text = marker_text(line.text)
        if text.startswith(stdout):
            want = "stdout"
        elif text.startswith(STDERR_MARKERS):
            want = "stderr"
        elif text.startswith(ALEMBIC):
            want = "stderr" if older else "stdout"
        else:
            continue
        seen += 1
        assert line.stream == want, (line.text, line.stream)
        if not text.startswith(ALEMBIC):
            assert line.text.lstrip(" ").startswith(EMOJI), line.text
    assert seen >= 5


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
        # the end of each path: the last line of both streams before the command runs, or
        # the exit (the engine has then logged all the entrypoint wrote)
        last = {
            "ok": ("Application ready to start!", "Migrations completed successfully!"),
            "race": ("Application ready to start!", "Migrations completed by another"),
        }.get(mode)

        def ended() -> list[Any]:
            if last is None:
                container.reload()
                return src.logs(name, tail=200) if container.status == "exited" else []
            lines = src.logs(name, tail=200)
            done = all(any(w in line.text for line in lines) for w in last)
            return lines if done else []

        lines = _wait(ended, f"the {mode} entrypoint to finish")
        _check_streams(lines)
        found = log_findings(name, "app", lines)
        assert [f.code for f in found] == MODES[mode], [f.message for f in found]
        assert all(f.subject == name for f in found)
        assert not any(from_older_image(f) for f in found)
    finally:
        src.close()
        container.remove(force=True)


UNKNOWN = (
    "alembic.util.exc.CommandError: Can't locate revision identified by "
    "'20251013_fix_emag_sync_logs_account_type'"
)
DUPLICATE = (
    'sqlalchemy.exc.ProgrammingError: (psycopg2.errors.DuplicateColumn) column "min_price" '
    'of relation "emag_product_offers_v2" already exists'
)


def _crash_loop(
    docker_engine: DockerEngine, make_container: MakeContainer, script: str, service: str
) -> tuple[list[LogLine], list[Any]]:
    """A container of ``script`` in fail mode under unless-stopped, restarted twice, read
    through the Docker source until its log gives a finding: (lines, findings)."""
    name = f"mfc-entry-loop-{secrets.token_hex(3)}"
    container = make_container(
        name=name,
        entrypoint=[f"/usr/local/bin/{script}"],
        command=["sleep", "2147483647"],
        environment={"STANDIN_ENTRYPOINT": "fail"},
        restart_policy={"Name": "unless-stopped"},
    )

    def restarted() -> bool:
        container.reload()
        return int(container.attrs["RestartCount"]) >= 2

    _wait(restarted, f"two restarts of the failing {script}")
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map={})
    try:
        # between two starts the newest one may not have reached its migrations yet
        def diagnosed() -> tuple[list[LogLine], list[Any]] | None:
            lines = src.read_logs(name, tail=500)
            found = log_findings(name, service, lines)
            return (lines, found) if found else None

        got: tuple[list[LogLine], list[Any]] = _wait(diagnosed, f"a finding from {script}")
        return got
    finally:
        src.close()


@docker_mark
def test_a_migration_crash_loop_says_why_and_how_often(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    """The newer entrypoint: its markers on stderr, Alembic's error replayed on stdout;
    the finding quotes that error line."""
    lines, found = _crash_loop(docker_engine, make_container, "docker-entrypoint.sh", "worker")
    _check_streams(lines)
    (finding,) = found
    assert finding.code == "entrypoint_migration_failed" and finding.severity == "critical"
    assert "starts in the window read" in finding.message
    assert f"Alembic said: {UNKNOWN}." in finding.message, finding.message
    assert not from_older_image(finding)
    # the quoted line is on stdout, the markers that announce it on stderr
    assert {ln.stream for ln in lines if ln.text == UNKNOWN} == {"stdout"}
    assert {ln.stream for ln in lines if "Unexpected migration error:" in ln.text} == {"stderr"}
    assert finding.evidence == UNKNOWN


@docker_mark
def test_the_older_entrypoint_crash_loop_says_rebuild_the_image(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    """The older entrypoint (images built before 2025-10-22): no marker after "Running
    database migrations...", Alembic's traceback on stderr, exit 1, restarted. The same
    finding with Alembic's error line, told to be the older image; on success, none."""
    lines, found = _crash_loop(docker_engine, make_container, "docker-entrypoint-old.sh", "app")
    _check_streams(lines, older=True)
    assert not any(ln.text.lstrip().startswith(("📝", "❌")) for ln in lines)  # no markers
    (finding,) = found
    assert finding.code == "entrypoint_migration_failed" and finding.severity == "critical"
    assert f"Alembic said: {DUPLICATE}." in finding.message, finding.message
    assert "older than the entrypoint fix" in finding.message
    assert "starts in the window read" in finding.message
    assert from_older_image(finding)
    assert {ln.stream for ln in lines if ln.text == DUPLICATE} == {"stderr"}
    steps = " ".join(next_steps(finding))
    assert "docker compose build app worker beat" in steps

    name = f"mfc-entry-old-ok-{secrets.token_hex(3)}"
    make_container(
        name=name,
        entrypoint=["/usr/local/bin/docker-entrypoint-old.sh"],
        command=["sleep", "2147483647"],
    )
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map={})

    def started() -> list[LogLine]:
        got = src.read_logs(name, tail=200)
        return got if any("Application ready" in ln.text for ln in got) else []

    try:
        ok: list[LogLine] = _wait(started, "the older entrypoint to start its command")
    finally:
        src.close()
    _check_streams(ok, older=True)
    assert [ln.stream for ln in ok if "Migrations completed successfully!" in ln.text] == ["stdout"]
    assert log_findings(name, "app", ok) == []


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
