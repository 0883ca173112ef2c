"""Docker source: the stack's containers, their health, events and logs (docker SDK).

Never imports textual and never raises to its caller: ``fetch`` returns an error
snapshot, ``inspect`` returns ``None``, ``logs`` returns ``[]`` and ``events`` /
``follow`` just end; the last failure sentence is kept in ``last_error``.

Economy: one list call per ``fetch``; a container is re-inspected only when its list
entry changed (state, the health word in ``Status``, or an uptime that went *down*,
i.e. a restart), when ``invalidate(id)`` was called (``events`` does it for every
event it yields), or when its cached inspect is older than ``INSPECT_MAX_AGE``.

``ssh://`` hosts go through the docker SDK's paramiko transport
(``use_ssh_client=False``, needs ``docker[ssh]`` i.e. paramiko): it reads
``~/.ssh/config``, uses the agent and default keys, rejects unknown host keys, and
writes nothing to the terminal (the ``use_ssh_client=True`` path lets the ``ssh``
binary print to our stderr, which would tear the TUI). Passwords in the URL are never
shown. Stopping ``events``/``follow`` on an ssh host takes effect at the next event
or line (paramiko channels cannot be cancelled from another thread).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import re
import socket
import stat
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from magflow_console.config import DEFAULT_SERVICES
from magflow_console.models import (
    ContainerInfo,
    ContainersSnapshot,
    HealthProbe,
    error_snapshot,
    utcnow,
)

__all__ = [
    "DEFAULT_SERVICE_MAP",
    "DockerSource",
    "LogLine",
    "StackEvent",
    "stack_variant",
]

log = logging.getLogger(__name__)

_MAX_LINE = 64 * 1024  # a partial line longer than this is emitted as is (bounded buffer)


@dataclass(frozen=True, slots=True)
class StackEvent:
    kind: str  # health_status | die | start | restart | stop | kill | oom | create | destroy
    container_id: str
    name: str
    service: str | None
    time: dt.datetime
    health: str | None = None  # for health_status: healthy | unhealthy | starting
    exit_code: int | None = None  # for die


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: dt.datetime | None
    text: str  # literal (escape sequences untouched; the TUI sanitises)
    stream: str | None = None  # "stdout" | "stderr" | None (tty container)


@dataclass(slots=True)
class _Cached:
    signature: tuple[str, ...]
    uptime: float | None
    inspected_at: float
    attrs: dict[str, Any]


class DockerSource:
    INSPECT_MAX_AGE = 30.0  # seconds; bounds how stale probe logs/restart counts can get

    def __init__(
        self,
        base_url: str | None,
        *,
        project: str | None = "magflow",
        prefix: str | None = "magflow_",
        service_map: Mapping[str, str] | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.base_url = base_url
        self.project = project
        self.prefix = prefix
        self.service_map: dict[str, str] = dict(
            DEFAULT_SERVICE_MAP if service_map is None else service_map
        )
        self.timeout = timeout
        self.docker_host = display_host(base_url)
        self.last_error: str | None = None
        self._client: docker.DockerClient | None = None
        self._engine_version: str | None = None
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection

    @property
    def client(self) -> docker.DockerClient | None:
        """The connected SDK client (None before the first successful call)."""
        return self._client

    def _connect(self) -> docker.DockerClient:
        with self._lock:
            if self._client is not None:
                return self._client
            self._precheck_socket()
            seconds = max(1, round(self.timeout))
            if self.base_url is None:
                client = docker.DockerClient.from_env(timeout=seconds, use_ssh_client=False)
            else:
                client = docker.DockerClient(
                    base_url=self.base_url, timeout=seconds, use_ssh_client=False
                )
            try:
                self._engine_version = str(client.api.version().get("Version") or "") or None
            except Exception:
                client.close()
                raise
            self._client = client
            return client

    def _precheck_socket(self) -> None:
        url = self.base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if url.startswith("ssh://") and re.match(r"ssh://[^/@]*:[^/@]*@", url):
            raise _Unreachable("passwords in ssh:// URLs are not supported (use a key or agent)")
        if not url.startswith(("unix://", "/")):
            return
        path = url.removeprefix("unix://")
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise _Unreachable(f"no socket at {path}") from None
        except PermissionError:
            raise _Unreachable(f"permission denied on {path}") from None
        if not stat.S_ISSOCK(mode):
            raise _Unreachable(f"{path} is not a socket")

    def _drop_client(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
            self._client = None

    def _fail(self, exc: BaseException, *, drop: bool = True) -> str:
        """Record the failure sentence; drop the client so the next call reconnects
        (not for streams: another thread may still use the client)."""
        message = describe_failure(self.docker_host, exc, self.timeout)
        self.last_error = message
        log.debug("docker source: %s", message)
        if drop and not isinstance(exc, docker.errors.NotFound):
            self._drop_client()
        return message

    def close(self) -> None:
        self._drop_client()

    # ------------------------------------------------------------------ snapshot

    def invalidate(self, container_id: str | None = None) -> None:
        """Forget the cached inspect of one container (all of them with ``None``)."""
        with self._lock:
            if container_id is None:
                self._cache.clear()
            else:
                self._cache.pop(container_id, None)
                for key in [k for k in self._cache if container_id.startswith(k)]:
                    self._cache.pop(key, None)

    def fetch(self) -> ContainersSnapshot:
        started = time.perf_counter()
        try:
            client = self._connect()
            entries = client.api.containers(all=True)
            items = []
            seen: set[str] = set()
            for entry in entries:
                name = (entry.get("Names") or ["/"])[0].lstrip("/")
                selected, service = select_service(
                    name, entry.get("Labels") or {}, self.service_map, self.prefix, self.project
                )
                if not selected:
                    continue
                attrs = self._inspect_cached(client, entry)
                if attrs is None:  # removed between list and inspect
                    continue
                seen.add(entry["Id"])
                info = container_info(attrs, service, entry.get("Status") or "")
                list_state = entry.get("State") or ""
                if list_state and info.state != list_state:
                    # the two calls straddled a state change: inspect once more (the cache
                    # re-inspects on a state mismatch); if they still disagree, the list
                    # is the newer fact
                    attrs = self._inspect_cached(client, entry) or attrs
                    info = container_info(attrs, service, entry.get("Status") or "")
                    if info.state != list_state:
                        info = dataclasses.replace(info, state=list_state)
                items.append(info)
            with self._lock:
                for gone in set(self._cache) - seen:
                    del self._cache[gone]
        except Exception as exc:
            return error_snapshot(
                ContainersSnapshot, self._fail(exc), started, docker_host=self.docker_host
            )
        order = {svc: i for i, svc in enumerate(self.service_map)}
        items.sort(key=lambda c: (order.get(c.service or "", len(order)), c.name))
        present = {c.service for c in items}
        self.last_error = None
        return ContainersSnapshot(
            state="ok",
            error=None,
            fetched_at=utcnow(),
            duration_ms=(time.perf_counter() - started) * 1000,
            items=tuple(items),
            docker_host=self.docker_host,
            engine_version=self._engine_version,
            stack_variant=stack_variant(items, self.service_map),
            missing=tuple(s for s in self.service_map if s not in present),
        )

    def _inspect_cached(
        self, client: docker.DockerClient, entry: dict[str, Any]
    ) -> dict[str, Any] | None:
        cid = entry["Id"]
        status = entry.get("Status") or ""
        signature = list_signature(entry.get("State") or "", status)
        uptime = uptime_seconds(status)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(cid)
        list_state = entry.get("State") or ""
        if (
            cached is not None
            and cached.signature == signature
            and ((cached.attrs.get("State") or {}).get("Status") or "") == list_state
            and not (uptime is not None and cached.uptime is not None and uptime < cached.uptime)
            and now - cached.inspected_at < self.INSPECT_MAX_AGE
        ):
            cached.uptime = uptime
            return cached.attrs
        try:
            attrs = client.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None
        with self._lock:
            self._cache[cid] = _Cached(signature, uptime, now, attrs)
        return attrs

    def inspect(self, name: str) -> ContainerInfo | None:
        """Fresh full detail (health log included) of one container, or None."""
        try:
            client = self._connect()
            attrs = client.api.inspect_container(name)
            listed = client.api.containers(all=True, filters={"id": attrs["Id"]})
        except Exception as exc:
            self._fail(exc)
            return None
        status = listed[0].get("Status", "") if listed else ""
        cname = str(attrs.get("Name", "")).lstrip("/")
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        selected, service = select_service(
            cname, labels, self.service_map, self.prefix, self.project
        )
        with self._lock:
            self._cache[attrs["Id"]] = _Cached(
                list_signature(attrs["State"].get("Status", ""), status),
                uptime_seconds(status),
                time.monotonic(),
                attrs,
            )
        return container_info(attrs, service if selected else labels.get(SERVICE_LABEL), status)

    # ------------------------------------------------------------------ events

    def events(self, stop: threading.Event) -> Iterator[StackEvent]:
        """Container events of the selected containers until ``stop`` is set or the
        engine goes away. ``exec_*`` (health probes, ``docker exec``) are dropped."""
        try:
            client = self._connect()
            stream = client.api.events(
                decode=True,
                filters={"type": ["container"], "event": sorted(EVENT_KINDS)},
            )
        except Exception as exc:
            self._fail(exc)
            return
        watcher = _closer(stop, stream)
        try:
            for raw in stream:
                if stop.is_set():
                    return
                event = self._to_event(raw)
                if event is not None:
                    self.invalidate(event.container_id)
                    yield event
        except Exception as exc:
            if not stop.is_set():
                self._fail(exc, drop=False)
        finally:
            watcher.done.set()
            with contextlib.suppress(Exception):
                stream.close()

    def _to_event(self, raw: Mapping[str, Any]) -> StackEvent | None:
        action = str(raw.get("Action") or raw.get("status") or "")
        kind, _, detail = action.partition(":")
        if kind not in EVENT_KINDS or raw.get("Type", "container") != "container":
            return None
        actor = raw.get("Actor") or {}
        attrs = actor.get("Attributes") or {}
        name = str(attrs.get("name") or "")
        selected, service = select_service(name, attrs, self.service_map, self.prefix, self.project)
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

    # ------------------------------------------------------------------ logs

    def logs(
        self,
        name: str,
        *,
        tail: int = 500,
        since: dt.datetime | None = None,
        timestamps: bool = True,
    ) -> list[LogLine]:
        """The last ``tail`` lines (stdout and stderr, in order); [] on failure."""
        try:
            client = self._connect()
            response, tty = self._open_logs(client, name, follow=False, tail=tail, since=since)
            try:
                lines = list(_read_lines(response, tty))
            finally:
                response.close()
        except Exception as exc:
            self._fail(exc)
            return []
        if not timestamps:
            lines = [LogLine(None, line.text, line.stream) for line in lines]
        self.last_error = None
        return lines[-tail:] if tail >= 0 else lines

    def follow(
        self,
        name: str,
        stop: threading.Event,
        *,
        since: dt.datetime | None = None,
        tail: int = 200,
    ) -> Iterator[LogLine]:
        """Lines as they come until ``stop`` is set, the container is removed or the
        engine goes away; survives restarts of the container (reconnects after the
        last timestamp seen)."""
        last: dt.datetime | None = None
        first = True
        opened_at = utcnow()
        while not stop.is_set():
            try:
                client = self._connect()
                response, tty = self._open_logs(
                    client,
                    name,
                    follow=True,
                    tail=tail if first else -1,
                    since=since if first else (last or max(since or opened_at, opened_at)),
                )
            except Exception as exc:
                self._fail(exc)
                return
            first = False
            watcher = _closer(stop, response)
            try:
                for line in _read_lines(response, tty):
                    if stop.is_set():
                        return
                    if last is not None and line.timestamp is not None and line.timestamp <= last:
                        continue  # already yielded before a reconnect
                    last = line.timestamp or last
                    yield line
            except Exception as exc:
                if not stop.is_set():
                    self._fail(exc, drop=False)
                return
            finally:
                watcher.done.set()
                with contextlib.suppress(Exception):
                    response.close()
            # the stream ended: the container stopped (and may come back)
            if stop.wait(0.5):
                return

    def _open_logs(
        self,
        client: docker.DockerClient,
        name: str,
        *,
        follow: bool,
        tail: int,
        since: dt.datetime | None,
    ) -> tuple[Any, bool]:
        api: Any = client.api
        attrs = api.inspect_container(name)
        tty = bool((attrs.get("Config") or {}).get("Tty"))
        params: dict[str, Any] = {
            "stdout": 1,
            "stderr": 1,
            "timestamps": 1,
            "follow": int(follow),
            "tail": str(tail) if tail >= 0 else "all",
        }
        if since is not None:  # naive datetimes are taken as UTC
            aware = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
            micros = (aware - _EPOCH) // dt.timedelta(microseconds=1)
            params["since"] = f"{micros // 1_000_000}.{(micros % 1_000_000) * 1000:09d}"
        response = api._get(
            api._url("/containers/{0}/logs", attrs["Id"]),
            params=params,
            stream=True,
            timeout=None if follow else self.timeout,
        )
        api._raise_for_status(response)
        return response, tty


class _Closer(threading.Thread):
    def __init__(self, stop: threading.Event, target: Any) -> None:
        super().__init__(name="docker-stream-closer", daemon=True)
        self.stop, self.target, self.done = stop, target, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.stop.wait(0.2):
                with contextlib.suppress(Exception):
                    _shutdown(self.target)
                return


def _closer(stop: threading.Event, target: Any) -> _Closer:
    watcher = _Closer(stop, target)
    watcher.start()
    return watcher


def _shutdown(target: Any) -> None:
    """Unblock a reader: close the events stream / log response from another thread."""
    if isinstance(target, docker.types.daemon.CancellableStream):
        target.close()
        return
    raw = getattr(target, "raw", None)
    fp = getattr(getattr(raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fp, "raw", None), "_sock", None) or getattr(fp, "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    target.close()


def _read_lines(response: Any, tty: bool) -> Iterator[LogLine]:
    """Split Docker's (multiplexed) log stream into lines with their timestamps."""
    buffers: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    for stream, chunk in _frames(response.raw) if not tty else _raw_chunks(response.raw):
        buf = buffers[stream]
        buf.extend(chunk)
        while True:
            cut = buf.find(b"\n")
            if cut < 0:
                if len(buf) > _MAX_LINE:
                    yield _line(bytes(buf), None if tty else stream)
                    buf.clear()
                break
            yield _line(bytes(buf[:cut]), None if tty else stream)
            del buf[: cut + 1]
    for stream, buf in buffers.items():
        if buf:
            yield _line(bytes(buf), None if tty else stream)


def _frames(raw: Any) -> Iterator[tuple[str, bytes]]:
    """Docker's multiplexed stream: 8-byte header (stream, size), then the payload."""
    while True:
        header = raw.read(8)
        if not header or len(header) < 8:
            return
        kind, length = struct.unpack(">BxxxL", header)
        chunk = raw.read(length) if length else b""
        if length and not chunk:
            return
        yield ("stderr" if kind == 2 else "stdout"), chunk


def _raw_chunks(raw: Any) -> Iterator[tuple[str, bytes]]:
    """A tty container's stream is not multiplexed: plain bytes as they come."""
    for chunk in raw.stream(8192, decode_content=False):
        yield "stdout", chunk


def _line(data: bytes, stream: str | None) -> LogLine:
    text = data.decode("utf-8", errors="replace")
    stamp, sep, rest = text.partition(" ")
    when = parse_docker_time(stamp) if sep else None
    if when is None:
        return LogLine(None, text, stream)
    return LogLine(when, rest, stream)


# --------------------------------------------------------------------------- pure helpers

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEFAULT_SERVICE_MAP: Mapping[str, str] = DEFAULT_SERVICES
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
    }
)
_ZERO_TIME_YEAR = 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
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


class _Unreachable(Exception):
    """Raised before connecting when a unix socket path is missing or not a socket."""


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


def _ports(attrs: Mapping[str, Any]) -> tuple[str, ...]:
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
            output=str(p.get("Output") or ""),
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
        ports=_ports(attrs),
        health_log=probes,
        health_failing_streak=int(health.get("FailingStreak") or 0),
        status_text=status_text,
        restart_policy=policy,
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


def redact(url: str) -> str:
    """A URL without its password (``ssh://user:pw@host`` -> ``ssh://user@host``)."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1@", url)


def display_host(base_url: str | None) -> str:
    return redact(base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")


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
        if isinstance(err, _Unreachable):
            reason = str(err)
        elif isinstance(err, docker.errors.NotFound):
            text = str(getattr(err, "explanation", None) or err).split("\n")[0]
            return f"Docker engine at {host} answered: {redact(text).rstrip('.')}."
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
            reason = f"ssh connection failed ({redact(text)[:160]})"
        else:
            reason = redact(text)[:200]
    return f"Docker engine at {host} is not reachable: {reason.rstrip('.')}."
