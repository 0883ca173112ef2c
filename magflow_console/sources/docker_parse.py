"""Helpers of the Docker source: container selection, time and status parsing,
``ContainerInfo`` from an inspect, ``StackEvent`` from an engine event, the stack
variant, failure sentences, and the settings facts: the watched names of a container's
environment and of the checkout's /app/.env (names, and the values of a short allow-list
of non-secret settings only).

No client: everything here works on the dicts and streams the Docker API returns (the
only I/O is ``precheck_socket``'s ``stat`` of a unix socket path).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import docker.errors

from magflow_console.config import DEFAULT_SERVICES
from magflow_console.models import ContainerInfo, HealthProbe
from magflow_console.render.text import scrub
from magflow_console.sources.container_env import env_facts

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEFAULT_SERVICE_MAP: Mapping[str, str] = DEFAULT_SERVICES
#: the container events that change what a containers view shows (the events stream
#: asks the engine for these only; ``exec_*`` health-probe noise never arrives)
EVENT_KINDS = frozenset(
    {
        "health_status",
        "die",
        "start",
        "restart",
        "stop",
        "kill",
        "oom",
        "create",
        "destroy",
        "pause",
        "unpause",
        "rename",
    }
)
_ZERO_TIME_YEAR = 1
_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
_DURATION_RE = re.compile(
    r"Less than a second|About an? (?:minute|hour)"
    r"|\d+ (?:second|minute|hour|day|week|month|year)s?"
)
_UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 604800,
    "month": 2592000,
    "year": 31536000,
}


@dataclass(frozen=True, slots=True)
class StackEvent:
    kind: str  # health_status | die | start | restart | stop | kill | oom | create | destroy
    container_id: str
    name: str
    service: str | None
    time: dt.datetime
    health: str | None = None  # for health_status: healthy | unhealthy | starting
    exit_code: int | None = None  # for die


class EngineUnreachable(Exception):
    """The engine cannot be reached, and why (the message: a clause for
    ``describe_failure``'s sentence): raised before connecting when a unix socket path
    is missing or not a socket, and by the ssh transport (``docker_ssh``)."""


def select_service(
    name: str,
    labels: Mapping[str, str],
    service_map: Mapping[str, str],
    prefix: str | None,
    project: str | None,
) -> tuple[bool, str | None]:
    """(selected, service). Container name first (the configured map, then the prefix,
    cross-checked with the compose project label), then the project label alone."""
    for service, container_name in service_map.items():
        if name == container_name:
            return True, service
    label_project = labels.get(PROJECT_LABEL)
    label_service = labels.get(SERVICE_LABEL) or None
    if prefix and name.startswith(prefix):
        if project is None or label_project is None or label_project == project:
            return True, label_service or name[len(prefix) :] or None
        return False, None  # a foreign project's container that happens to share the prefix
    if project is not None and label_project == project:
        return True, label_service
    return False, None


def stack_event(
    raw: Mapping[str, Any],
    service_map: Mapping[str, str],
    prefix: str | None,
    project: str | None,
) -> StackEvent | None:
    """An engine event of a selected container as a ``StackEvent``; None for other
    containers, other object types and other actions (``exec_*`` included)."""
    action = str(raw.get("Action") or raw.get("status") or "")
    kind, _, detail = action.partition(":")
    if kind not in EVENT_KINDS or raw.get("Type", "container") != "container":
        return None
    actor = raw.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    name = str(attrs.get("name") or "")
    selected, service = select_service(name, attrs, service_map, prefix, project)
    if not selected:
        return None
    nanos = raw.get("timeNano")
    when = (
        dt.datetime.fromtimestamp(int(nanos) / 1e9, dt.UTC)
        if nanos
        else dt.datetime.fromtimestamp(float(raw.get("time") or time.time()), dt.UTC)
    )
    exit_code = attrs.get("exitCode") if kind == "die" else None
    return StackEvent(
        kind=kind,
        container_id=str(actor.get("ID") or raw.get("id") or ""),
        name=name,
        service=service,
        time=when,
        health=detail.strip() or None if kind == "health_status" else None,
        exit_code=int(exit_code) if exit_code not in (None, "") else None,
    )


def parse_docker_time(value: str | None) -> dt.datetime | None:
    """RFC 3339 with nanoseconds -> aware datetime; Docker's zero time -> None."""
    if not value:
        return None
    match = _TIME_RE.match(value.strip())
    if not match:
        return None
    base, frac, zone = match.groups()
    if int(base[:4]) <= _ZERO_TIME_YEAR:
        return None
    micros = (frac or "0")[:6].ljust(6, "0")
    text = f"{base}.{micros}{'+00:00' if zone == 'Z' else zone}"
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return None


def list_signature(state: str, status: str) -> tuple[str, ...]:
    """What must change in a list entry to warrant a re-inspect (durations removed)."""
    return (state, " ".join(_DURATION_RE.sub("", status).split()))


def uptime_seconds(status: str) -> float | None:
    """The duration in "Up 5 minutes" / "Exited (1) 2 seconds ago", in seconds."""
    match = _DURATION_RE.search(status)
    if not match:
        return None
    text = match.group(0)
    if text.startswith("Less"):
        return 0.0
    if text.startswith("About"):
        return 60.0 if "minute" in text else 3600.0
    count, unit = text.split(" ", 1)
    return float(count) * _UNIT_SECONDS[unit.rstrip("s")]


def published_ports(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """``host->container/proto`` of an inspect's published ports, by host port."""
    published = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    if not any(published.values()):
        published = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    found: set[str] = set()
    for container_port, bindings in published.items():
        for binding in bindings or ():
            host_port = (binding or {}).get("HostPort")
            if host_port:
                found.add(f"{host_port}->{container_port}")
    return tuple(sorted(found, key=lambda p: (int(p.split("->")[0]), p)))


def container_info(
    attrs: Mapping[str, Any], service: str | None, status_text: str
) -> ContainerInfo:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    health = state.get("Health") or {}
    status = str(state.get("Status") or "")
    probes = tuple(
        HealthProbe(
            start=parse_docker_time(p.get("Start")),
            end=parse_docker_time(p.get("End")),
            exit_code=p.get("ExitCode"),
            # the container's own text, as its log is: masked the same way (a probe that
            # fails can print the URL it could not reach, password and all)
            output=scrub(str(p.get("Output") or "")),
        )
        for p in health.get("Log") or ()
    )
    policy = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or None
    return ContainerInfo(
        id=str(attrs.get("Id") or ""),
        name=str(attrs.get("Name") or "").lstrip("/"),
        service=service,
        project=labels.get(PROJECT_LABEL),
        state=status,
        health=health.get("Status") or None,
        restart_count=int(attrs.get("RestartCount") or 0),
        started_at=parse_docker_time(state.get("StartedAt")),
        finished_at=parse_docker_time(state.get("FinishedAt")),
        exit_code=state.get("ExitCode") if status in ("exited", "dead", "restarting") else None,
        image=str(config.get("Image") or attrs.get("Image") or ""),
        ports=published_ports(attrs),
        health_log=probes,
        health_failing_streak=int(health.get("FailingStreak") or 0),
        status_text=status_text,
        restart_policy=policy,
        **env_facts(config.get("Env")),
        dotenv_state="not_read",  # the Docker source reads the app's /app/.env on top
    )


def stack_variant(
    items: Iterator[ContainerInfo] | Any, service_map: Mapping[str, str]
) -> str | None:
    """ "main" (app 8000 / redis 6379), "simple" (8001 / 6380), else from image tags."""
    by_service = {c.service: c for c in items}
    del service_map  # the variant is read from what runs, not from the configuration

    def host_ports(service: str) -> set[str]:
        container = by_service.get(service)
        return {p.split("->")[0] for p in container.ports} if container else set()

    app, redis = host_ports("app"), host_ports("redis")
    if "8000" in app or "6379" in redis:
        return "main"
    if "8001" in app or "6380" in redis:
        return "simple"
    images = {s: c.image for s, c in by_service.items() if s}
    names = {c.name for c in by_service.values()}
    if "magflow_pg" in names or any(images.get(s, "").endswith("-alpine") for s in ("db", "redis")):
        return "simple"
    if (
        images.get("redis", "").split("/")[-1] == "redis:7"
        or images.get("db", "").split("/")[-1] == "postgres:16"
    ):
        return "main"
    return None


def display_host(base_url: str | None) -> str:
    return scrub(base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")


def precheck_socket(base_url: str | None) -> None:
    """Raise ``EngineUnreachable`` before connecting: a password in an ssh:// URL, or a unix
    socket path that is missing, not accessible or not a socket."""
    url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if url.startswith("ssh://") and re.match(r"ssh://[^/@]*:[^/@]*@", url):
        raise EngineUnreachable("passwords in ssh:// URLs are not supported (use a key or agent)")
    if not url.startswith(("unix://", "/")):
        return
    path = url.removeprefix("unix://")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise EngineUnreachable("the socket file does not exist (is the engine running?)") from None
    except PermissionError:  # the sentence names the path already (Docker engine at ...)
        raise EngineUnreachable("permission denied on the socket path") from None
    if not stat.S_ISSOCK(mode):
        raise EngineUnreachable("that path is not a socket")


def _walk(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def describe_failure(host: str, exc: BaseException, timeout: float) -> str:
    """One sentence naming the Docker host; no traceback, no password."""
    reason = None
    for err in _walk(exc):
        if isinstance(err, EngineUnreachable):
            reason = str(err)
        elif isinstance(err, docker.errors.APIError) and err.response is not None:
            # the engine answered (404 no such container, 501 a log driver that keeps no
            # log, 409 a conflict): it is reachable, and its own words say what is wrong
            text = str(getattr(err, "explanation", None) or err).split("\n")[0]
            return f"Docker engine at {host} answered: {scrub(text).rstrip('.')}."
        elif isinstance(err, PermissionError):
            reason = "permission denied (is this user allowed to use Docker?)"
        elif isinstance(err, FileNotFoundError):
            reason = "the socket does not exist"
        elif isinstance(err, ConnectionRefusedError):
            reason = "connection refused"
        elif isinstance(err, TimeoutError | socket.timeout) or "timed out" in str(err).lower():
            reason = f"no answer within {timeout:g} s"
        if reason:
            break
    if reason is None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        lowered = text.lower()
        if "connection refused" in lowered:
            reason = "connection refused"
        elif "permission denied" in lowered:
            reason = "permission denied (is this user allowed to use Docker?)"
        elif host.startswith("ssh://"):
            reason = f"ssh connection failed ({scrub(text)[:160]})"
        else:
            reason = scrub(text)[:200]
    return f"Docker engine at {host} is not reachable: {reason.rstrip('.')}."
