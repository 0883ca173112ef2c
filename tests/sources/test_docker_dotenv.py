"""The Docker source reads the checkout's /app/.env of the app container through the
archive API (sheet §11.5), against the real engine: names and public values only, never a
secret, cached (no archive call per refresh), re-read after a restart or a bounded age;
absent is "no .env", unreadable is said and concludes nothing; worker and beat share the
app's facts only when their /app is the same mount."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import secrets
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from docker.models.containers import Container
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st

from magflow_console.backend import with_emag_paths
from magflow_console.diagnose import app_settings, emag_env
from magflow_console.models import ContainerInfo, ContainersSnapshot, Finding, to_jsonable
from magflow_console.sources.container_env import (
    DotenvUnreadable,
    dotenv_facts,
    dotenv_from_tar,
    public_value,
    watched,
)
from magflow_console.sources.docker import DockerSource
from tests.support.cli import run_cli
from tests.support.docker_engine import (
    STACK_DOTENV,
    STACK_DOTENV_PUBLIC,
    STACK_DOTENV_SET,
    STACK_SECRETS,
    DockerEngine,
    StackContainers,
    compose_labels,
    put_file,
)
from tests.support.snapshots import container

docker_mark = pytest.mark.docker
MakeContainer = Callable[..., Container]
SECRETS = tuple(STACK_SECRETS.values())


def no_secret(*texts: str) -> None:
    for key, secret in STACK_SECRETS.items():
        for text in texts:
            assert secret not in text, f"the {key} secret leaked"


@pytest.fixture
def source(
    docker_engine: DockerEngine, stack_containers: StackContainers
) -> Iterator[DockerSource]:
    src = DockerSource(
        docker_engine.base_url,
        project=stack_containers.project,
        prefix=stack_containers.prefix,
        service_map=stack_containers.names,
    )
    yield src
    src.close()


def by_service(src: DockerSource) -> dict[str | None, ContainerInfo]:
    snap = src.fetch()
    assert snap.state == "ok", snap.error
    return {c.service: c for c in snap.items}


def recorder(src: DockerSource) -> list[str]:
    """The engine API paths ``src`` calls from now on (its real HTTP session)."""
    calls: list[str] = []
    assert src.client is not None

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(re.sub(r"^/v[\d.]+", "", urlsplit(response.url).path))

    src.client.api.hooks["response"].append(record)
    return calls


def settings_findings(snap: ContainersSnapshot) -> list[Finding]:
    return emag_env.env_findings(snap) + app_settings.app_findings(snap)


@docker_mark
def test_the_stack_app_dotenv_is_read_names_only(source: DockerSource) -> None:
    """What python-dotenv (pydantic settings) finds set in the file is what the snapshot
    knows, by name; no secret is in the snapshot or its JSON."""
    oracle = {k.upper() for k, v in dotenv_values(stream=io.StringIO(STACK_DOTENV)).items() if v}
    assert set(STACK_DOTENV_SET) == {n for n in oracle if watched(n)}
    snap = source.fetch()
    assert snap.state == "ok", snap.error
    snap = dataclasses.replace(snap, items=tuple(with_emag_paths(c) for c in snap.items))
    items = {c.service: c for c in snap.items}
    app, worker = items["app"], items["worker"]
    assert (app.dotenv_state, app.dotenv_error) == ("read", None)
    assert app.dotenv_set == STACK_DOTENV_SET
    assert app.dotenv_public == STACK_DOTENV_PUBLIC
    assert app.env_public == {"ENVIRONMENT": "development", "REDIS_HOST": "redis"}  # unchanged
    # the worker's /app is its own (no shared mount): its file is not read, and said so
    assert worker.dotenv_state == "not_read" and worker.dotenv_set == ()
    assert worker.dotenv_error is not None and "not the same mount" in worker.dotenv_error
    assert items["db"].dotenv_state == "not_read" and items["db"].emag_paths == {}
    # per path, by name: fbe's password is in /app/.env, which the product sync cannot see
    fbe = app.emag_paths["fbe"]
    assert fbe["products"]["names"]["EMAG_FBE_PASSWORD"] == "unset"
    assert fbe["orders"]["names"]["EMAG_FBE_PASSWORD"] == "/app/.env"
    assert app.emag_paths["main"]["health"]["names"] == {
        "EMAG_USERNAME": "/app/.env",
        "EMAG_PASSWORD": "/app/.env",
    }
    assert worker.emag_paths["fbe"]["orders"]["credentials"] == "unknown"
    no_secret(repr(snap), json.dumps(to_jsonable(snap)))


@docker_mark
def test_the_findings_say_a_setting_comes_from_the_dotenv(source: DockerSource) -> None:
    snap = source.fetch()
    found = {(f.code, f.account): f for f in settings_findings(snap)}
    missing = found[("emag_credentials_missing", "fbe")]
    assert "EMAG_FBE_PASSWORD is set in /app/.env only" in missing.message
    assert "order syncs and /api/v1/emag/health find credentials" in missing.message
    differ = found[("emag_health_credentials_differ", "main")]
    assert "EMAG_USERNAME, EMAG_PASSWORD from /app/.env" in differ.message
    # REDIS_PASSWORD is only in /app/.env: the cache client has it, no finding
    assert ("redis_cache_password_unset", None) not in found
    assert ("dotenv_unreadable", None) not in found
    no_secret(*(f.message for f in found.values()))


@docker_mark
def test_containers_json_and_table_show_the_dotenv_without_a_secret(
    docker_engine: DockerEngine,
    stack_containers: StackContainers,
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    args = ["--docker-host", docker_engine.base_url]
    doc_proc = run_cli(["containers", "--json", *args], stack_env, tmp_path)
    table = run_cli(["containers", *args], stack_env | {"COLUMNS": "120"}, tmp_path)
    no_secret(doc_proc.stdout, doc_proc.stderr, table.stdout, table.stderr)
    items = {c["service"]: c for c in json.loads(doc_proc.stdout)["items"]}
    assert items["app"]["dotenv_state"] == "read"
    assert items["app"]["dotenv_set"] == list(STACK_DOTENV_SET)
    assert items["app"]["emag_paths"]["fbe"]["products"]["credentials"] == "missing"
    assert items["app"]["emag_paths"]["fbe"]["orders"]["credentials"] == "set"
    assert "orders, health: credentials set (EMAG_FBE_PASSWORD from /app/.env)" in table.stdout
    assert "health checks EMAG_USERNAME+PASSWORD from /app/.env" in table.stdout


@docker_mark
def test_a_first_refresh_reads_the_dotenv_beside_the_inspects(source: DockerSource) -> None:
    """The archive call is the slowest of a first refresh: it runs on its own thread while
    the containers are inspected (one call, not two), and gives the same facts."""
    source.connect()
    calls: list[tuple[str, str]] = []
    assert source.client is not None

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        path = re.sub(r"^/v[\d.]+", "", urlsplit(response.url).path)
        calls.append((threading.current_thread().name, path))

    source.client.api.hooks["response"].append(record)
    app = by_service(source)["app"]
    assert (app.dotenv_state, app.dotenv_set) == ("read", STACK_DOTENV_SET)
    archives = [(thread, path) for thread, path in calls if path.endswith("/archive")]
    assert len(archives) == 1 and archives[0][0] == "dotenv-ahead", calls
    inspects = [path for _, path in calls if path.endswith("/json") and "/containers/" in path]
    assert len(inspects) >= 5, calls  # the inspects ran while it read
    calls.clear()
    assert by_service(source)["app"].dotenv_set == STACK_DOTENV_SET  # cached: no call
    assert not [path for _, path in calls if path.endswith("/archive")]


@docker_mark
def test_a_refresh_costs_no_archive_call_until_a_restart_or_the_age_bound(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    """Read once; a refresh reuses it (a change is not seen), a restart of the app
    container re-reads it, and so does a read older than DOTENV_MAX_AGE."""
    app = make_container(environment={"DATABASE_URL": "postgresql://app@db/magflow"})
    put_file(app, "/app/.env", "REDIS_HOST=redis\n")
    src = DockerSource(docker_engine.base_url, project=None, prefix=None,
                       service_map={"app": str(app.name)})  # fmt: skip
    try:
        assert src.fetch().items[0].dotenv_set == ("REDIS_HOST",)
        calls = recorder(src)
        archive = f"/containers/{app.id}/archive"
        put_file(app, "/app/.env", "REDIS_HOST=redis\nREDIS_PASSWORD=Redis-pass-6e2a\n")
        for _ in range(3):
            assert src.fetch().items[0].dotenv_set == ("REDIS_HOST",)  # the cached read
        assert archive not in calls and calls.count("/containers/json") == 3

        time.sleep(2)  # "Up 2 seconds", then "Less than a second": the list says restarted
        src.fetch()
        app.restart(timeout=1)
        calls.clear()
        assert src.fetch().items[0].dotenv_set == ("REDIS_HOST", "REDIS_PASSWORD")
        assert calls.count(archive) == 1
        assert src.inspect(str(app.name)) is not None  # the detail reuses the read
        assert calls.count(archive) == 1

        put_file(app, "/app/.env", "AUTO_PROVISION_DEV_ADMIN=false\n")
        src.DOTENV_MAX_AGE = 0.0
        calls.clear()
        info = src.fetch().items[0]
        assert info.dotenv_set == ("AUTO_PROVISION_DEV_ADMIN",)
        assert info.dotenv_public == {"AUTO_PROVISION_DEV_ADMIN": "false"}
        assert calls.count(archive) == 1
    finally:
        src.close()


@docker_mark
def test_absent_unreadable_and_linked_dotenv(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    env = {"DATABASE_URL": "postgresql://app@db/magflow", "REDIS_HOST": "redis"}

    def read(container: Container) -> ContainerInfo:
        src = DockerSource(docker_engine.base_url, project=None, prefix=None,
                           service_map={"app": str(container.name)})  # fmt: skip
        try:
            snap = src.fetch()
        finally:
            src.close()
        assert snap.state == "ok", snap.error
        return snap.items[0]

    absent = read(make_container(environment=env))
    assert (absent.dotenv_state, absent.dotenv_error) == ("absent", None)
    # no file: nothing comes from it, so REDIS_PASSWORD is missing for sure
    codes = [f.code for f in settings_findings(_snap(absent))]
    assert "redis_cache_password_unset" in codes and "dotenv_unreadable" not in codes

    folder = make_container(environment=env)
    folder.exec_run(["mkdir", "-p", "/app/.env"])
    unreadable = read(folder)
    assert unreadable.dotenv_state == "unreadable"
    assert unreadable.dotenv_error == "it is a folder, not a file"
    found = settings_findings(_snap(unreadable))
    # said, and nothing the file may hold is concluded missing
    assert [f.code for f in found if f.code.startswith(("dotenv", "redis"))] == [
        "dotenv_unreadable"
    ]
    unread = next(f for f in found if f.code == "dotenv_unreadable")
    assert "/app/.env was not read (it is a folder, not a file)" in unread.message

    unclosed = make_container(environment=env)
    put_file(unclosed, "/app/.env", 'REDIS_PASSWORD="Redis-pass-6e2a\n')
    state = read(unclosed)
    assert state.dotenv_state == "unreadable" and "never closes" in str(state.dotenv_error)
    no_secret(repr(state))

    linked = make_container(environment=env)
    put_file(linked, "/app/.env.local", "REDIS_PASSWORD=Redis-pass-6e2a\n")
    linked.exec_run(["ln", "-s", ".env.local", "/app/.env"])
    followed = read(linked)
    assert (followed.dotenv_state, followed.dotenv_set) == ("read", ("REDIS_PASSWORD",))
    dangling = make_container(environment=env)
    dangling.exec_run(["ln", "-s", "/nowhere/.env", "/app/.env"])
    gone = read(dangling)
    assert gone.dotenv_state == "unreadable" and "does not exist" in str(gone.dotenv_error)


def _snap(*items: ContainerInfo) -> Any:
    from tests.support.snapshots import containers_snapshot

    return containers_snapshot(*items)


@docker_mark
def test_worker_and_beat_share_the_apps_dotenv_through_the_same_mount(
    docker_engine: DockerEngine, make_container: MakeContainer
) -> None:
    """As compose mounts the checkout at /app in app, worker and beat: one read (the
    app's) counts for the containers mounting the same; one without it is "not_read"."""
    client = docker_engine.client
    project = f"mfcenv{secrets.token_hex(3)}"
    volume = client.volumes.create(name=f"{project}_checkout")
    env = {"DATABASE_URL": "postgresql://app@db/magflow", "REDIS_HOST": "redis"}
    made: list[Container] = []
    try:
        for service in ("app", "worker", "beat"):
            made.append(
                make_container(
                    name=f"{project}_{service}",
                    environment=env,
                    labels=compose_labels(project, service),
                    volumes={volume.name: {"bind": "/app", "mode": "rw"}},
                )
            )
        made.append(make_container(name=f"{project}_other", environment=env,
                                   labels=compose_labels(project, "worker")))  # fmt: skip
        put_file(made[0], "/app/.env", "REDIS_PASSWORD=Redis-pass-6e2a\n")
        src = DockerSource(docker_engine.base_url, project=project, prefix=f"{project}_",
                           service_map={"app": f"{project}_app", "worker": f"{project}_worker",
                                        "beat": f"{project}_beat"})  # fmt: skip
        try:
            calls: list[str] = []
            src.connect()
            calls = recorder(src)
            fetched = src.fetch()
            snap = dataclasses.replace(
                fetched, items=tuple(with_emag_paths(c) for c in fetched.items)
            )
        finally:
            src.close()
        assert snap.state == "ok", snap.error
        by_name = {c.name: c for c in snap.items}
        for service in ("app", "worker", "beat"):
            info = by_name[f"{project}_{service}"]
            assert (info.dotenv_state, info.dotenv_set) == ("read", ("REDIS_PASSWORD",)), service
        assert by_name[f"{project}_other"].dotenv_state == "not_read"
        assert len([c for c in calls if c.endswith("/archive")]) == 1  # the app's only
        assert by_name[f"{project}_worker"].emag_paths["main"]["orders"]["target"] == "sandbox"
    finally:
        for container in made:
            container.remove(force=True)
        volume.remove(force=True)


# --------------------------------------------------------------------------- the parser (pure)


def test_only_names_and_public_values_leave_the_dotenv_parser() -> None:
    text = (
        "# a comment\n"
        f"SECRET_KEY={STACK_SECRETS['dotenv_secret_key']}\n"
        f"export EMAG_MAIN_PASSWORD='{STACK_SECRETS['emag_main_password']}' # inline comment\n"
        'EMAG_FBE_PASSWORD="Fbe-\n'
        f'{STACK_SECRETS["dotenv_fbe_password"]}"\n'
        "emag_environment = production\n"
        f"EMAG_FBE_BASE_URL=https://u:{STACK_SECRETS['dotenv_url_password']}@h.example:8443"
        f"/api-3?token={STACK_SECRETS['dotenv_url_token']}\n"
        "EMAG_FBE_USERNAME=\n"
        "EMAG_MAIN_USERNAME\n"
        "NOT A LINE DOTENV CAN PARSE\n"
        "REDIS_HOST=redis\n"
        "REDIS_HOST=\n"
    )
    facts = dotenv_facts(text.splitlines(keepends=True))
    assert facts == {
        "dotenv_state": "read",
        "dotenv_set": (
            "EMAG_ENVIRONMENT",
            "EMAG_FBE_BASE_URL",
            "EMAG_FBE_PASSWORD",
            "EMAG_MAIN_PASSWORD",
        ),
        "dotenv_public": {
            "EMAG_ENVIRONMENT": "production",
            "EMAG_FBE_BASE_URL": "https://h.example:8443/api-3",
        },
    }
    assert not any(secret in repr(facts) for secret in SECRETS)
    info = replace(container("app"), **facts)  # as the snapshot carries them
    assert not any(secret in repr(to_jsonable(info)) for secret in SECRETS)
    # the same names as python-dotenv (what pydantic settings use) finds set
    oracle = {k.upper() for k, v in dotenv_values(stream=io.StringIO(text)).items() if v}
    assert set(facts["dotenv_set"]) == {n for n in oracle if watched(n)}


def test_a_quote_that_never_closes_makes_the_file_unreadable() -> None:
    with pytest.raises(DotenvUnreadable, match="line 2 never closes") as exc:
        dotenv_facts(["REDIS_HOST=redis\n", 'EMAG_MAIN_PASSWORD="Secret-2\n', "X=1\n"])
    assert "Secret-2" not in str(exc.value)


_NAME = st.sampled_from(
    ["EMAG_MAIN_PASSWORD", "emag_fbe_username", "REDIS_HOST", "EMAG_ENVIRONMENT", "SECRET_KEY"]
)
_VALUE = st.text(st.sampled_from("ab #=-:/@x"), max_size=8)
_LINE = st.one_of(
    st.tuples(st.sampled_from(["", "export "]), _NAME, st.sampled_from(["=", " = "]), _VALUE,
              st.sampled_from(["", "'", '"'])).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}{t[4]}{t[3]}{t[4]}"
    ),
    st.sampled_from(["", "# comment", "   ", "EMAG_FBE_PASSWORD", "junk here"]),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINE, max_size=8))
def test_the_dotenv_parser_finds_what_python_dotenv_finds(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    facts = dotenv_facts(text.splitlines(keepends=True))
    values = {k.upper(): v for k, v in dotenv_values(stream=io.StringIO(text)).items()}
    assert set(facts["dotenv_set"]) == {n for n, v in values.items() if v and watched(n)}
    for name, value in facts["dotenv_public"].items():
        assert value == public_value(name, values[name] or "")


def _tar(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = ".env.local"
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def test_the_archive_is_read_as_a_stream_of_chunks() -> None:
    data = _tar(".env", b"EMAG_MAIN_USERNAME=m\nEMAG_MAIN_PASSWORD=Secret-2\n")
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    facts = dotenv_from_tar(iter(chunks))
    assert facts["dotenv_set"] == ("EMAG_MAIN_PASSWORD", "EMAG_MAIN_USERNAME")
    with pytest.raises(DotenvUnreadable, match="folder"):
        dotenv_from_tar([_tar(".env", kind=tarfile.DIRTYPE)])
    with pytest.raises(DotenvUnreadable, match="link"):
        dotenv_from_tar([_tar(".env", kind=tarfile.SYMTYPE)])
    with pytest.raises(DotenvUnreadable, match="broken"):
        dotenv_from_tar([data[:530]])
