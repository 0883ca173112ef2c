"""DockerSource against the real engine (tests/support/docker_engine.py), plus its pure
helpers. Engine-bound tests are marked ``docker``; a missing engine fails them."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from docker.models.containers import Container

from magflow_console.models import ContainerInfo, LogLine
from magflow_console.sources.docker import DockerSource
from magflow_console.sources.docker_parse import (
    StackEvent,
    list_signature,
    parse_docker_time,
    select_service,
    stack_variant,
    uptime_seconds,
)
from tests.support.docker_engine import (
    DockerEngine,
    PrivateDockerd,
    StackContainers,
    compose_labels,
    healthcheck,
    put_alembic_tree,
)

docker_mark = pytest.mark.docker
MakeContainer = Callable[..., Container]


def name_of(container: Container) -> str:
    assert container.name is not None
    return container.name


def output(result: Any) -> bytes:
    """``exec_run(...).output`` of a non-streamed exec (bytes)."""
    assert isinstance(result.output, bytes)
    return result.output


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


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


# --------------------------------------------------------------------------- snapshot


@docker_mark
def test_stack_states_health_and_restarts(
    source: DockerSource, stack_containers: StackContainers, docker_engine: DockerEngine
) -> None:
    snap = source.fetch()
    assert snap.state == "ok" and snap.error is None
    assert snap.docker_host == docker_engine.base_url
    assert snap.engine_version and snap.engine_version[0].isdigit()
    assert snap.missing == ()
    assert snap.stack_variant is None  # host network, test image: no port or tag hint
    items = {c.service: c for c in snap.items}
    assert list(items) == ["app", "worker", "beat", "db", "redis"]  # configured order

    app = items["app"]
    assert (app.name, app.project) == (stack_containers.names["app"], stack_containers.project)
    assert (app.state, app.health, app.exit_code) == ("running", "healthy", None)
    assert app.image == stack_containers.image and app.restart_policy == "unless-stopped"
    assert app.started_at is not None and app.started_at.tzinfo is not None
    assert app.started_at <= dt.datetime.now(dt.UTC)
    assert app.finished_at is None  # Docker's zero time
    assert "(healthy)" in app.status_text
    assert app.health_log and app.health_log[-1].exit_code == 0
    assert '"status":"alive"' in app.health_log[-1].output

    worker = items["worker"]
    assert (worker.state, worker.health) == ("running", "unhealthy")
    assert worker.health_failing_streak >= 1
    assert worker.health_log[-1].exit_code == 1
    assert "No nodes replied within time constraint" in worker.health_log[-1].output

    beat = items["beat"]
    assert (beat.state, beat.health) == ("running", "starting")
    assert "health: starting" in beat.status_text
    assert any(p.exit_code == 1 for p in beat.health_log)  # failing inside start_period

    assert (items["db"].state, items["db"].health) == ("running", "healthy")

    redis = items["redis"]
    assert redis.restart_count >= 1
    assert redis.state in ("restarting", "running", "exited")
    if redis.state != "running":
        assert redis.exit_code == 1


@docker_mark
def test_restart_count_rises_for_a_crash_loop(
    source: DockerSource, stack_containers: StackContainers, make_container: MakeContainer
) -> None:
    name = f"{stack_containers.prefix}crashy{secrets.token_hex(3)}"
    make_container(
        name=name,
        command=["sh", "-c", "echo boom; exit 3"],
        restart_policy={"Name": "unless-stopped"},
        labels=compose_labels(stack_containers.project, "crashy"),
    )

    def restarts() -> int:
        found = [c for c in source.fetch().items if c.name == name]
        return found[0].restart_count if found else -1

    first = wait_for(lambda: restarts() >= 1 and restarts(), "a first restart")
    wait_for(lambda: restarts() > first, "the restart count to rise past its first value")
    crashy = next(c for c in source.fetch().items if c.name == name)
    assert crashy.service == "crashy" and crashy.restart_policy == "unless-stopped"
    if crashy.state != "running":
        assert crashy.exit_code == 3


@docker_mark
def test_missing_service_is_listed(
    docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    services = {**stack_containers.names, "flower": f"{stack_containers.prefix}flower"}
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map=services)
    snap = src.fetch()
    assert snap.state == "ok", snap.error
    assert snap.missing == ("flower",)
    assert {c.service for c in snap.items} == set(stack_containers.names)


@docker_mark
def test_selection_by_prefix_and_project_label(
    source: DockerSource, stack_containers: StackContainers, make_container: MakeContainer
) -> None:
    tag = secrets.token_hex(3)
    project, prefix = stack_containers.project, stack_containers.prefix
    foreign = make_container(name=f"other_app_{tag}", labels=compose_labels("otherproj", "app"))
    clash = make_container(name=f"{prefix}stray{tag}", labels=compose_labels("otherproj", "x"))
    tool = make_container(name=f"{prefix}tool{tag}")  # no compose labels
    labelled = make_container(
        name=f"{project}-flower-1-{tag}", labels=compose_labels(project, "flower")
    )
    items = {c.name: c for c in source.fetch().items}
    assert name_of(foreign) not in items  # other project, other name
    assert name_of(clash) not in items  # shares the prefix but the project label disagrees
    assert items[name_of(tool)].service == f"tool{tag}"
    assert items[name_of(labelled)].service == "flower"
    assert items[name_of(labelled)].project == project

    only_app = DockerSource(
        source.base_url, project=None, prefix=None,
        service_map={"app": stack_containers.names["app"]},
    )  # fmt: skip
    assert [c.name for c in only_app.fetch().items] == [stack_containers.names["app"]]


@docker_mark
def test_second_fetch_lists_once_and_does_not_reinspect(
    docker_engine: DockerEngine, stack_containers: StackContainers, make_container: MakeContainer
) -> None:
    stable = {k: stack_containers.names[k] for k in ("app", "worker", "db")}
    src = DockerSource(docker_engine.base_url, project=None, prefix=None, service_map=stable)
    first = src.fetch()
    assert first.state == "ok" and len(first.items) == 3
    assert src.client is not None
    calls: list[str] = []

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(re.sub(r"^/v[\d.]+", "", urlsplit(response.url).path))

    src.client.api.hooks["response"].append(record)  # instruments the real HTTP session
    second = src.fetch()
    assert [c.id for c in second.items] == [c.id for c in first.items]
    assert calls == ["/containers/json"]

    app_id = first.items[0].id
    calls.clear()
    src.invalidate(app_id)
    src.fetch()
    assert calls == ["/containers/json", f"/containers/{app_id}/json"]

    # a restart changes the list entry (state/health word, uptime going down): re-inspected
    extra = make_container(healthcheck=healthcheck("true"))
    watched = DockerSource(docker_engine.base_url, project=None, prefix=None,
                           service_map={"extra": name_of(extra)})  # fmt: skip
    wait_for(lambda: watched.fetch().items[0].health == "healthy", "the extra container healthy")
    before = watched.fetch().items[0]
    extra.restart(timeout=1)
    after = watched.fetch().items[0]
    assert after.started_at is not None and before.started_at is not None
    assert after.started_at > before.started_at


@docker_mark
def test_calls_on_a_local_socket_do_not_scan_the_environment_for_a_proxy(
    source: DockerSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests looks for proxies (and a .netrc) in the environment before each call; no
    proxy applies to a local socket, so a refresh does not look."""
    import urllib.request

    assert source.fetch().state == "ok"
    scans: list[int] = []
    scan = urllib.request.getproxies_environment

    def counted() -> dict[str, str]:
        scans.append(1)
        return scan()

    monkeypatch.setattr(urllib.request, "getproxies_environment", counted)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # unreachable: must not be used
    snap = source.fetch()
    assert snap.state == "ok" and snap.items
    source.invalidate(snap.items[0].id)
    assert source.fetch().state == "ok"
    assert scans == []


@docker_mark
def test_a_first_fetch_inspects_several_containers_at_once(
    docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    """A cold start waits for a few round trips, not one per container: the first fetch
    inspects the containers ``INSPECT_THREADS`` at a time, with the same result as one at
    a time; the next fetch inspects none."""
    src = DockerSource(
        docker_engine.base_url, project=None, prefix=None, service_map=stack_containers.names
    )
    client = src.connect()
    threads: list[str] = []

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        path = re.sub(r"^/v[\d.]+", "", urlsplit(response.url).path)
        if path.startswith("/containers/") and path.endswith("/json"):
            threads.append(threading.current_thread().name)

    client.api.hooks["response"].append(record)  # instruments the real HTTP session
    first = src.fetch()
    assert first.state == "ok", first.error
    assert len(first.items) == len(stack_containers.names) >= 2
    inspects = [t for t in threads if t.startswith("inspect")]
    assert len(inspects) == len(first.items), threads
    assert len(set(inspects)) > 1, f"one thread inspected them all: {threads}"

    one_at_a_time = DockerSource(
        docker_engine.base_url, project=None, prefix=None, service_map=stack_containers.names
    )
    one_at_a_time.INSPECT_THREADS = 1
    expected = one_at_a_time.fetch()
    one_at_a_time.close()
    assert [(c.name, c.id, c.restart_count) for c in first.items] == [
        (c.name, c.id, c.restart_count) for c in expected.items
    ]
    threads.clear()
    src.fetch()
    # all cached: only a container whose state moved meanwhile (the crash-looping redis)
    # is inspected again, on the caller's thread
    assert len(threads) < len(first.items) and "inspect" not in " ".join(threads), threads
    src.close()


@docker_mark
def test_aged_inspects_are_renewed_a_few_at_a_time(
    docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    """Every cached inspect older than INSPECT_MAX_AGE is renewed, but no more than
    REINSPECT_PER_FETCH per refresh, oldest first: a refresh costs the same few calls with
    300 containers as with 5 (bench/bench_scale.py measures it)."""
    src = DockerSource(
        docker_engine.base_url, project=None, prefix=None, service_map=stack_containers.names
    )
    src.REINSPECT_PER_FETCH = 2
    assert src.fetch().state == "ok"
    assert src.client is not None
    calls: list[str] = []

    def record(response: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(re.sub(r"^/v[\d.]+", "", urlsplit(response.url).path))

    src.client.api.hooks["response"].append(record)
    src.INSPECT_MAX_AGE = 0.0  # every cached inspect has aged
    renewed: list[set[str]] = []
    for _ in range(3):
        calls.clear()
        assert src.fetch().state == "ok"
        inspects = {
            c.split("/")[2] for c in calls if c.endswith("/json") and c != "/containers/json"
        }
        assert calls[0] == "/containers/json" and len(inspects) == 2, calls
        renewed.append(inspects)
    assert len(renewed[0] | renewed[1] | renewed[2]) == 5  # the oldest go first: all, in turn


@docker_mark
def test_inspect_is_fresh_and_unknown_names_give_none(
    source: DockerSource, stack_containers: StackContainers
) -> None:
    worker = source.inspect(stack_containers.names["worker"])
    assert worker is not None and worker.service == "worker"
    assert worker.health == "unhealthy" and "(unhealthy)" in worker.status_text
    assert worker.health_log and worker.health_log[-1].start is not None
    assert source.inspect(f"no-such-container-{secrets.token_hex(3)}") is None
    assert source.last_error and "No such container" in source.last_error


# --------------------------------------------------------------------------- events


@docker_mark
def test_events_for_health_change_and_restart_without_exec(
    source: DockerSource, stack_containers: StackContainers, make_container: MakeContainer
) -> None:
    name = f"{stack_containers.prefix}ev{secrets.token_hex(3)}"
    watched = make_container(
        name=name,
        labels=compose_labels(stack_containers.project, "evsvc"),
        healthcheck=healthcheck("test ! -f /tmp/sick", retries=1),
    )
    foreign = make_container(name=f"foreign-ev-{secrets.token_hex(3)}")
    wait_for(lambda: getattr(source.inspect(name), "health", None) == "healthy", "healthy")

    stop = threading.Event()
    got: list[StackEvent] = []
    thread = threading.Thread(target=_collect, args=(source, stop, got), daemon=True)
    thread.start()
    time.sleep(0.5)  # let the stream subscribe; the health flip below takes >= 1 probe anyway
    assert watched.exec_run(["touch", "/tmp/sick"]).exit_code == 0
    wait_for(
        lambda: any(e.kind == "health_status" and e.health == "unhealthy" for e in got),
        "a health_status: unhealthy event",
    )
    foreign.restart(timeout=1)
    watched.restart(timeout=1)
    wait_for(lambda: any(e.kind == "restart" and e.name == name for e in got), "a restart event")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "events() did not return after stop was set"

    assert not any(e.name == name_of(foreign) for e in got)  # not selected: ignored
    assert not any(e.kind.startswith("exec") for e in got)  # probes and exec_run dropped
    mine = [e for e in got if e.name == name]
    assert all(e.service == "evsvc" for e in mine)
    assert {"health_status", "restart", "start", "die"} <= {e.kind for e in mine}
    die = next(e for e in mine if e.kind == "die")
    assert die.container_id == watched.id and die.exit_code is not None
    assert all(e.time.tzinfo is not None for e in got)


def _collect(src: DockerSource, stop: threading.Event, out: list[StackEvent]) -> None:
    for event in src.events(stop):
        out.append(event)


def test_raw_exec_events_are_dropped() -> None:
    src = DockerSource("unix:///nonexistent.sock", project="magflow", prefix="magflow_")
    base = {"Type": "container", "timeNano": 1761127612000000000,
            "Actor": {"ID": "abc", "Attributes": {"name": "magflow_app"}}}  # fmt: skip
    assert src._to_event({**base, "Action": "exec_start: sh -c true"}) is None
    assert src._to_event({**base, "Action": "exec_die"}) is None
    renamed = src._to_event({**base, "Action": "rename"})  # the pane's names change
    assert renamed is not None and renamed.kind == "rename"
    event = src._to_event({**base, "Action": "health_status: unhealthy"})
    assert event is not None and (event.kind, event.health, event.service) == (
        "health_status", "unhealthy", "app",
    )  # fmt: skip
    assert event.time == dt.datetime(2025, 10, 22, 10, 6, 52, tzinfo=dt.UTC)
    other = {**base, "Actor": {"ID": "x", "Attributes": {"name": "redis-elsewhere"}}}
    assert src._to_event({**other, "Action": "die"}) is None


# --------------------------------------------------------------------------- logs


@docker_mark
def test_logs_tail_timestamps_since_and_streams(
    source: DockerSource, stack_containers: StackContainers
) -> None:
    name = stack_containers.names["app"]
    app_format = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - app\.middleware\.logging - INFO - GET "
    )

    def requests_logged() -> int:
        return sum(bool(app_format.match(x.text)) for x in source.logs(name, tail=1000))

    wait_for(lambda: requests_logged() >= 5, "5 request lines in the app's log")
    lines = source.logs(name, tail=1000)
    texts = [line.text for line in lines]
    # stdout and stderr are separate pipes: only the order within a stream is certain
    stdout = [line.text for line in lines if line.stream == "stdout"]
    assert stdout[0] == "🚀 MagFlow ERP - Starting application..."
    assert "🎉 Application ready to start!" in texts
    assert any(
        line.text == "🔄 Running database migrations..." and line.stream == "stdout"  # sheet §11.1
        for line in lines
    )
    assert sum(bool(app_format.match(t)) for t in texts) >= 5
    assert all(line.timestamp is not None and line.timestamp.tzinfo for line in lines)
    for stream in ("stdout", "stderr"):  # the two streams are timestamped independently
        stamps = [line.timestamp for line in lines if line.stream == stream]
        assert stamps == sorted(stamps)  # type: ignore[type-var]

    tail = source.logs(name, tail=3)
    after = source.logs(name, tail=1000)  # the log goes on: the tail is 3 consecutive lines
    keys = [(x.timestamp, x.text) for x in after]
    start = keys.index((tail[0].timestamp, tail[0].text))
    assert len(tail) == 3 and keys[start : start + 3] == [(x.timestamp, x.text) for x in tail]
    assert len(keys) - start <= 6, "the tail is the end of the log, give or take new lines"

    since = lines[-5].timestamp
    assert since is not None
    recent = source.logs(name, tail=1000, since=since)
    assert recent and all(line.timestamp is not None and line.timestamp >= since for line in recent)
    assert len(recent) < len(lines) and "🎉 Application ready to start!" not in [
        line.text for line in recent
    ]

    bare = source.logs(name, tail=2, timestamps=False)
    assert len(bare) == 2 and all(line.timestamp is None for line in bare)
    assert {line.text for line in bare} <= {x.text for x in source.logs(name, tail=1000)}


@docker_mark
def test_log_text_is_kept_literal_and_tty_logs_work(
    source: DockerSource, make_container: MakeContainer
) -> None:
    plain = make_container(command=["sh", "-c", r"printf '\033[31mred\033[0m\ttab\n'; sleep 600"])
    got = wait_for(lambda: source.logs(name_of(plain)), "the coloured line")
    assert got[0].text == "\x1b[31mred\x1b[0m\ttab" and got[0].stream == "stdout"

    tty = make_container(tty=True, command=["sh", "-c", "echo tty-line; sleep 600"])
    got = wait_for(lambda: source.logs(name_of(tty)), "the tty line")
    assert got[0].text.rstrip("\r") == "tty-line" and got[0].stream is None
    assert got[0].timestamp is not None


@docker_mark
def test_follow_yields_new_lines_survives_restart_and_stops(
    source: DockerSource, make_container: MakeContainer
) -> None:
    counter = make_container(
        command=["sh", "-c", 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.2; done']
    )
    wait_for(lambda: len(source.logs(name_of(counter))) >= 3, "three lines")
    seen_before = source.logs(name_of(counter))[-1].timestamp
    assert seen_before is not None
    stop = threading.Event()
    got: list[LogLine] = []

    def run() -> None:
        for line in source.follow(name_of(counter), stop, tail=0):
            got.append(line)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: len(got) >= 3, "three followed lines")
    assert all(line.timestamp is not None and line.timestamp > seen_before for line in got[:3])
    counter.restart(timeout=1)
    wait_for(lambda: any(line.text == "line 2" for line in got), "lines of the restarted container")
    stamps = [line.timestamp for line in got]
    assert len(set(stamps)) == len(stamps)  # nothing repeated across the reconnect
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "follow() did not return after stop was set"


# --------------------------------------------------------------------------- failures


def _assert_error(src: DockerSource, reason: str) -> None:
    snap = src.fetch()
    assert snap.state == "error" and snap.items == ()
    assert snap.error == f"Docker engine at {src.docker_host} is not reachable: {reason}."
    assert "\n" not in snap.error and "Traceback" not in snap.error
    assert snap.docker_host == src.docker_host
    assert src.inspect("magflow_app") is None
    assert src.logs("magflow_app") == []
    assert list(src.events(threading.Event())) == []
    assert list(src.follow("magflow_app", threading.Event())) == []
    assert src.last_error == snap.error


def test_missing_socket_path_gives_error_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    _assert_error(
        DockerSource(f"unix://{path}"), "the socket file does not exist (is the engine running?)"
    )


def test_path_that_is_not_a_socket_gives_error_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    path.write_text("not a socket")
    _assert_error(DockerSource(f"unix://{path}"), "that path is not a socket")


def test_dead_socket_gives_connection_refused(tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # bound, never listening: what a killed engine leaves behind
    try:
        _assert_error(DockerSource(f"unix://{path}"), "connection refused")
    finally:
        dead.close()


def test_secrets_in_ssh_url_never_reach_the_error() -> None:
    src = DockerSource("ssh://deploy:hunter2@127.0.0.1:1", timeout=3)
    snap = src.fetch()
    assert snap.state == "error" and snap.error is not None
    assert snap.error == (
        "Docker engine at ssh://deploy:***@127.0.0.1:1 is not reachable: "
        "passwords in ssh:// URLs are not supported (use a key or agent)."
    )
    refused = DockerSource("ssh://deploy@127.0.0.1:1", timeout=3).fetch()
    assert refused.state == "error" and refused.error is not None
    assert refused.error.startswith("Docker engine at ssh://deploy@127.0.0.1:1 is not reachable: ")
    assert "hunter2" not in snap.error and "hunter2" not in snap.docker_host


@docker_mark
def test_engine_stopped_under_a_connected_source() -> None:
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.fail("this test starts a dockerd of its own: it needs root and dockerd (docker.io)")
    daemon = PrivateDockerd.fresh()
    try:
        url = daemon.start()
        src = DockerSource(url, service_map={})
        ok = src.fetch()
        assert ok.state == "ok" and ok.items == () and ok.engine_version
    finally:
        daemon.stop()
    snap = src.fetch()
    assert snap.state == "error" and snap.error is not None
    assert snap.error.startswith(f"Docker engine at {url} is not reachable: ")
    assert "\n" not in snap.error
    assert list(src.events(threading.Event())) == []


# --------------------------------------------------------------------------- helpers


@docker_mark
def test_put_alembic_tree_and_stand_ins(make_container: MakeContainer, tmp_path: Path) -> None:
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_root.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "alembic" / "env.py").write_text("# env\n")
    box = make_container(user="app", environment={"STANDIN_ALEMBIC_EXIT": "1"})
    put_alembic_tree(box, tmp_path / "alembic")
    res = box.exec_run(["cat", "/app/alembic/versions/0001_root.py"])
    assert res.exit_code == 0 and b'revision = "0001"' in res.output
    assert output(box.exec_run(["stat", "-c", "%U", "/app"])).strip() == b"app"

    res = box.exec_run(["alembic", "upgrade", "head"])
    assert res.exit_code == 1 and b"DuplicateColumn" in res.output
    box.exec_run(["sh", "-c", "echo 0 > /tmp/standin-alembic.exit"])
    res = box.exec_run(["alembic", "upgrade", "head"])
    assert res.exit_code == 0 and b"Running upgrade " in res.output
    log = output(box.exec_run(["cat", "/tmp/standin-alembic.log"])).decode().splitlines()
    assert log == ["upgrade head", "upgrade head"]

    res = box.exec_run(["celery", "-A", "app.worker:celery_app", "call", "emag.sync_products"])
    assert res.exit_code == 0
    assert re.fullmatch(rb"[0-9a-f-]{36}\n", output(res))
    res = box.exec_run(["pg_dump", "-f", "/tmp/dump.sql", "magflow"])
    assert res.exit_code == 0
    dump = box.exec_run(["cat", "/tmp/dump.sql"]).output
    assert b"PostgreSQL database dump complete" in dump
    assert box.exec_run(["pgrep", "-f", "sleep 2147483647"]).exit_code == 0
    assert box.exec_run(["pgrep", "-f", "no-such-process-xyz"]).exit_code == 1


# --------------------------------------------------------------------------- pure logic


def test_select_service_rules() -> None:
    smap = {"app": "magflow_app", "db": "magflow_db"}
    p = "com.docker.compose.project"
    s = "com.docker.compose.service"
    assert select_service("magflow_app", {}, smap, "magflow_", "magflow") == (True, "app")
    assert select_service("magflow_app", {p: "x"}, smap, "magflow_", "magflow") == (True, "app")
    assert select_service("magflow_flower", {}, smap, "magflow_", "magflow") == (True, "flower")
    assert select_service("magflow_x", {p: "other", s: "x"}, smap, "magflow_", "magflow") == (
        False, None,
    )  # fmt: skip
    assert select_service("magflow-app-1", {p: "magflow", s: "app"}, smap, "magflow_", "magflow") == (
        True, "app",
    )  # fmt: skip
    assert select_service("other", {p: "other"}, smap, "magflow_", "magflow") == (False, None)
    assert select_service("magflow_x", {p: "other"}, smap, "magflow_", None) == (True, "x")
    assert select_service("magflow_x", {}, smap, None, None) == (False, None)


def test_parse_docker_time() -> None:
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("") is None and parse_docker_time("garbage") is None
    assert parse_docker_time("2025-10-22T10:11:12.123456789Z") == dt.datetime(
        2025, 10, 22, 10, 11, 12, 123456, tzinfo=dt.UTC
    )
    assert parse_docker_time("2025-10-22T12:11:12+02:00") == dt.datetime(
        2025, 10, 22, 10, 11, 12, tzinfo=dt.UTC
    )


def test_list_signature_ignores_uptime_but_not_health() -> None:
    assert list_signature("running", "Up 5 seconds (healthy)") == list_signature(
        "running", "Up About a minute (healthy)"
    )
    assert list_signature("running", "Up 5 seconds (healthy)") != list_signature(
        "running", "Up 6 seconds (unhealthy)"
    )
    assert uptime_seconds("Up Less than a second (health: starting)") == 0
    assert uptime_seconds("Up About an hour") == 3600
    assert uptime_seconds("Exited (1) 3 minutes ago") == 180
    assert uptime_seconds("Created") is None


def _info(
    service: str, *, ports: tuple[str, ...] = (), image: str = "x", name: str = ""
) -> ContainerInfo:
    return ContainerInfo(
        id=service, name=name or f"magflow_{service}", service=service, project="magflow",
        state="running", health=None, restart_count=0, started_at=None, finished_at=None,
        exit_code=None, image=image, ports=ports,
    )  # fmt: skip


def test_stack_variant_from_ports_and_images() -> None:
    smap: dict[str, str] = {}
    assert stack_variant([_info("app", ports=("8000->8000/tcp",))], smap) == "main"
    assert stack_variant([_info("redis", ports=("6380->6379/tcp",))], smap) == "simple"
    assert stack_variant([_info("app", ports=("8001->8000/tcp",))], smap) == "simple"
    assert stack_variant([_info("redis", image="redis:7.2.5-alpine")], smap) == "simple"
    assert (
        stack_variant([_info("db", name="magflow_pg", image="postgres:16.4-alpine")], smap)
        == "simple"
    )
    assert (
        stack_variant([_info("redis", image="redis:7"), _info("db", image="postgres:16")], smap)
        == "main"
    )
    assert stack_variant([_info("app", image="magflow-app:dev")], smap) is None
