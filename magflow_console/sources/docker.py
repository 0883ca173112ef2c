"""Docker source: the stack's containers, their health, events and logs (docker SDK).

Never imports textual and never raises to its caller: ``fetch`` returns an error
snapshot, ``inspect`` returns ``None``, ``logs`` returns ``[]`` and ``events`` /
``follow`` just end; the last failure sentence is kept in ``last_error``.

Economy: one list call per ``fetch``; a container is re-inspected only when its list
entry changed (state, the health word in ``Status``, or an uptime that went *down*,
i.e. a restart), when ``invalidate(id)`` was called (``events`` does it for every
event it yields), or when its cached inspect is older than ``INSPECT_MAX_AGE`` (the
``REINSPECT_PER_FETCH`` oldest per fetch: a refresh stays a few calls however many
containers the engine runs).

``ssh://`` hosts go through the docker SDK's paramiko transport with bounded waits
(``docker_ssh``, needs ``docker[ssh]`` i.e. paramiko): it reads ``~/.ssh/config``, uses
the agent and default keys, rejects unknown host keys, writes nothing to the terminal,
and says in one sentence why a login or the engine behind it failed. Passwords in the
URL are never shown. A stopped ``events``/``follow`` closes its SSH channel, which
unblocks the reader.

Settings from /app/.env (sheet §11.5): MagFlow's pydantic settings read the checkout's
``.env`` after the environment, so ``fetch`` reads the app container's /app/.env through
the archive API (``read_dotenv``: names and the ``ENV_PUBLIC`` values only, parsed as it
streams in). Cached: re-read only when the app container changed or restarted (its id or
``State.StartedAt``) or the read is older than ``DOTENV_MAX_AGE``; so a refresh costs no
archive call, and one in ``DOTENV_MAX_AGE`` seconds at most (two when .env is a link).
Worker and beat get the app's facts when their /app is the same mount (the same
checkout, as compose bind-mounts it); otherwise theirs stays "not_read".

Split in three: this module (``DockerSource``), ``docker_parse`` (selection, parsing,
``StackEvent``, failure sentences, the environment and .env facts) and ``docker_logs``
(log streams into ``LogLine``s, closing a blocked stream).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from magflow_console.models import (
    ContainerInfo,
    ContainersSnapshot,
    LogLine,
    error_snapshot,
    utcnow,
)
from magflow_console.sources.docker_connect import open_client
from magflow_console.sources.docker_dotenv import (
    CHECKOUT_SERVICES,
    DotenvRead,
    app_mount,
    read_dotenv,
)
from magflow_console.sources.docker_logs import closer_for, open_logs, read_lines
from magflow_console.sources.docker_parse import (
    DEFAULT_SERVICE_MAP,
    EVENT_KINDS,
    SERVICE_LABEL,
    StackEvent,
    container_info,
    describe_failure,
    display_host,
    list_signature,
    published_ports,
    select_service,
    stack_event,
    stack_variant,
    uptime_seconds,
)

log = logging.getLogger(__name__)


#: told the state of a stream (events, a followed log): ``None`` when it is open, else
#: the failure sentence
StreamState = Callable[[str | None], None]


class LogsUnreadable(Exception):
    """A container's log could not be read; the message is the failure sentence."""


@dataclass(slots=True)
class _Cached:
    signature: tuple[str, ...]
    uptime: float | None
    inspected_at: float
    attrs: dict[str, Any]


@dataclass(slots=True)
class _DotenvAhead:
    """An /app/.env read started beside a refresh's inspects (``_dotenv_ahead``)."""

    container_id: str
    started: float
    facts: dict[str, Any] | None = None

    def run(self, client: docker.DockerClient, host: str, timeout: float) -> None:
        self.facts = read_dotenv(client, self.container_id, host=host, timeout=timeout)


class DockerSource:
    INSPECT_MAX_AGE = 30.0  # seconds; bounds how stale probe logs/restart counts can get
    #: at most this many aged inspects are renewed per fetch (oldest first)
    REINSPECT_PER_FETCH = 3
    #: containers inspected at once when several are not cached (the SDK's connection
    #: pool holds 10)
    INSPECT_THREADS = 4
    #: seconds; bounds how stale the app's /app/.env facts can get (a change in the
    #: checkout does not restart the container)
    DOTENV_MAX_AGE = 60.0

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
        self._dotenv: DotenvRead | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection

    @property
    def _over_ssh(self) -> bool:
        """An ``ssh://`` engine: each concurrent call would be another SSH session."""
        return (self.base_url or "").startswith("ssh://")

    @property
    def client(self) -> docker.DockerClient | None:
        """The connected SDK client (None before the first successful call)."""
        return self._client

    def connect(self) -> docker.DockerClient:
        with self._lock:
            if self._client is not None:
                return self._client
            client, self._engine_version = open_client(self.base_url, self.timeout)
            self._client = client
            return client

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
        answered = isinstance(exc, docker.errors.APIError) and exc.response is not None
        if drop and not answered:  # the engine answered: the connection is fine
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
            client = self.connect()
            entries = client.api.containers(all=True)
            items = []
            inspected: list[dict[str, Any]] = []
            seen: set[str] = set()
            chosen: list[tuple[dict[str, Any], str | None]] = []
            for entry in entries:
                name = (entry.get("Names") or ["/"])[0].lstrip("/")
                selected, service = select_service(
                    name, entry.get("Labels") or {}, self.service_map, self.prefix, self.project
                )
                if selected:
                    chosen.append((entry, service))
            aged = self._aged(chosen)
            with self._dotenv_ahead(client, chosen) as dotenv_ahead:
                all_attrs = self._inspect_all(client, chosen, aged)
            for (entry, service), attrs in zip(chosen, all_attrs, strict=True):
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
                inspected.append(attrs)
            with self._lock:
                for gone in set(self._cache) - seen:
                    del self._cache[gone]
            items = self._with_dotenv(client, items, inspected, dotenv_ahead)
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

    def _inspect_all(
        self,
        client: docker.DockerClient,
        chosen: list[tuple[dict[str, Any], str | None]],
        aged: set[str],
    ) -> list[dict[str, Any] | None]:
        """The inspect of every chosen container (cached ones from the cache). When more
        than one is not cached yet (a first refresh: all of them), they are inspected
        ``INSPECT_THREADS`` at a time: a cold start then waits for a few round trips to
        the engine, not one per container. Not over ``ssh://``, where each concurrent
        request would start another SSH session on the remote host."""

        def inspect(entry: dict[str, Any]) -> dict[str, Any] | None:
            return self._inspect_cached(client, entry, aged=entry["Id"] in aged)

        entries = [entry for entry, _ in chosen]
        with self._lock:
            uncached = sum(1 for e in entries if e["Id"] not in self._cache)
        if uncached < 2 or self._over_ssh:
            return [inspect(e) for e in entries]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(
            max_workers=min(self.INSPECT_THREADS, uncached), thread_name_prefix="inspect"
        ) as pool:
            return list(pool.map(inspect, entries))

    def _aged(self, chosen: list[tuple[dict[str, Any], str | None]]) -> set[str]:
        """The ids whose cached inspect is older than ``INSPECT_MAX_AGE`` and is to be
        renewed now: the ``REINSPECT_PER_FETCH`` oldest, so that a refresh costs the same
        few calls with 300 containers as with 5 (a change seen in the list is inspected at
        once whatever this says)."""
        now = time.monotonic()
        with self._lock:
            ages = [
                (now - c.inspected_at, cid)
                for cid in (e["Id"] for e, _ in chosen)
                if (c := self._cache.get(cid)) is not None
                and now - c.inspected_at >= self.INSPECT_MAX_AGE
            ]
        return {cid for _, cid in sorted(ages, reverse=True)[: self.REINSPECT_PER_FETCH]}

    def _inspect_cached(
        self, client: docker.DockerClient, entry: dict[str, Any], *, aged: bool = True
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
            and not aged
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

    def container_env(self, name: str, names: tuple[str, ...]) -> tuple[str, str] | None:
        """(name, value) of the first of ``names`` set in container ``name``'s environment,
        or None. For a caller that needs one value now (the broker URL): it is returned,
        never kept or logged."""
        try:
            attrs = self.connect().api.inspect_container(name)
        except Exception as exc:
            self._fail(exc)
            return None
        env = {}
        for item in (attrs.get("Config") or {}).get("Env") or ():
            key, sep, value = str(item).partition("=")
            if sep and key in names and value.strip():
                env[key] = value.strip()
        return next(((n, env[n]) for n in names if n in env), None)

    def container_ports(self, name: str) -> tuple[str, ...] | None:
        """The published ports of container ``name`` ("6379->6379/tcp"), None on failure."""
        try:
            attrs = self.connect().api.inspect_container(name)
        except Exception as exc:
            self._fail(exc)
            return None
        return published_ports(attrs)

    # ------------------------------------------------------------------ /app/.env

    @contextlib.contextmanager
    def _dotenv_ahead(
        self, client: docker.DockerClient, chosen: list[tuple[dict[str, Any], str | None]]
    ) -> Iterator[_DotenvAhead | None]:
        """While the block inspects the containers, read the app's /app/.env beside it when
        that read will be needed (none cached for this app container, or the cached one is
        too old): the archive call is the slowest of a first refresh (50-70 ms on the test
        engine against 2-7 ms an inspect), so it no longer waits for the inspects. Not over
        ``ssh://``, where a concurrent call is another SSH session. Yields None when there
        is nothing to read ahead; ``_dotenv_of`` then reads after the inspects as before."""
        app_id = next((str(e.get("Id") or "") for e, svc in chosen if svc == "app"), "")
        with self._lock:
            cached = self._dotenv
        fresh = (
            cached is not None
            and cached.key[0] == app_id
            and time.monotonic() - cached.read_at < self.DOTENV_MAX_AGE
        )
        if not app_id or fresh or self._over_ssh:
            yield None
            return
        ahead = _DotenvAhead(app_id, time.monotonic())
        reader = threading.Thread(
            target=ahead.run,
            args=(client, self.docker_host, self.timeout),
            name="dotenv-ahead",
            daemon=True,
        )
        reader.start()
        try:
            yield ahead
        finally:
            reader.join()

    def _with_dotenv(
        self,
        client: docker.DockerClient,
        items: list[ContainerInfo],
        inspected: list[dict[str, Any]],
        ahead: _DotenvAhead | None = None,
    ) -> list[ContainerInfo]:
        """``items`` with the app's /app/.env facts on the app, and on worker and beat when
        they share its /app mount (reading it when the cached read is stale)."""
        app = next((i for i, c in enumerate(items) if c.service == "app"), None)
        read = None if app is None else self._dotenv_of(client, inspected[app], ahead)
        return [
            self._dotenv_facts(c, attrs, read, is_app=i == app)
            for i, (c, attrs) in enumerate(zip(items, inspected, strict=True))
        ]

    def _dotenv_of(
        self,
        client: docker.DockerClient,
        attrs: dict[str, Any],
        ahead: _DotenvAhead | None = None,
    ) -> DotenvRead:
        key = (str(attrs.get("Id") or ""), str((attrs.get("State") or {}).get("StartedAt")))
        now = time.monotonic()
        with self._lock:
            cached = self._dotenv
        if cached is not None and cached.key == key and now - cached.read_at < self.DOTENV_MAX_AGE:
            return cached
        if ahead is not None and ahead.container_id == key[0] and ahead.facts is not None:
            # read beside the inspects, of this container: its facts, timed from the read
            facts, now = ahead.facts, ahead.started
        else:
            facts = read_dotenv(client, key[0], host=self.docker_host, timeout=self.timeout)
        read = DotenvRead(key, now, app_mount(attrs), facts)
        with self._lock:
            self._dotenv = read
        return read

    def _dotenv_facts(
        self,
        info: ContainerInfo,
        attrs: Mapping[str, Any],
        read: DotenvRead | None,
        *,
        is_app: bool,
    ) -> ContainerInfo:
        if info.service not in CHECKOUT_SERVICES:
            return info
        if read is None:
            why = "the app container's /app/.env (the one read) has not been read yet"
            info = dataclasses.replace(info, dotenv_error=why)
        elif is_app or (read.mount is not None and app_mount(attrs) == read.mount):
            info = dataclasses.replace(info, **read.facts)
        else:
            why = (
                "only the app container's /app/.env is read, and this container's /app "
                "is not the same mount"
            )
            info = dataclasses.replace(info, dotenv_error=why)
        return info

    def inspect(self, name: str) -> ContainerInfo | None:
        """Fresh full detail (health log included) of one container, or None."""
        try:
            client = self.connect()
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
            cached_dotenv = self._dotenv
        service = service if selected else labels.get(SERVICE_LABEL)
        info = container_info(attrs, service, status)
        is_app = service == "app"
        read = self._dotenv_of(client, attrs) if is_app else cached_dotenv
        return self._dotenv_facts(info, attrs, read, is_app=is_app)

    # ------------------------------------------------------------------ events

    def events(
        self, stop: threading.Event, *, on_state: StreamState | None = None
    ) -> Iterator[StackEvent]:
        """Container events of the selected containers until ``stop`` is set or the
        engine goes away. ``exec_*`` (health probes, ``docker exec``) are dropped.

        ``on_state`` hears ``None`` once the stream is open, and the failure sentence
        when it could not be opened or ended without ``stop`` (the engine went away)."""
        try:
            client = self.connect()
            stream = client.api.events(
                decode=True,
                filters={"type": ["container"], "event": sorted(EVENT_KINDS)},
            )
        except Exception as exc:
            message = self._fail(exc)
            if on_state is not None:
                on_state(message)
            return
        if on_state is not None:
            on_state(None)
        watcher = closer_for(stop, stream)
        ended: str | None = None
        try:
            for raw in stream:
                if stop.is_set():
                    return
                event = self._to_event(raw)
                if event is not None:
                    self.invalidate(event.container_id)
                    yield event
            if not stop.is_set():
                ended = f"Docker engine at {self.docker_host} ended the event stream."
        except Exception as exc:
            if not stop.is_set():
                ended = self._fail(exc, drop=False)
        finally:
            watcher.done.set()
            with contextlib.suppress(Exception):
                stream.close()
        if ended is not None and on_state is not None:
            on_state(ended)

    def _to_event(self, raw: Mapping[str, Any]) -> StackEvent | None:
        return stack_event(raw, self.service_map, self.prefix, self.project)

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
            return self.read_logs(name, tail=tail, since=since, timestamps=timestamps)
        except LogsUnreadable:
            return []

    def read_logs(
        self,
        name: str,
        *,
        tail: int = 500,
        since: dt.datetime | None = None,
        timestamps: bool = True,
    ) -> list[LogLine]:
        """As ``logs``, but a failure raises ``LogsUnreadable`` with its sentence (for a
        caller that must say the log was not read rather than show nothing)."""
        try:
            client = self.connect()
            response, tty = open_logs(
                client, name, follow=False, tail=tail, since=since, timeout=self.timeout
            )
            try:
                lines = list(read_lines(response, tty))
            finally:
                response.close()
        except Exception as exc:
            raise LogsUnreadable(self._fail(exc)) from None
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
        retry: float | None = None,
        on_state: StreamState | None = None,
    ) -> Iterator[LogLine]:
        """Lines as they come until ``stop`` is set, the container is removed or the
        engine goes away; survives restarts of the container (reconnects after the
        last timestamp seen).

        With ``retry`` (seconds) neither a removed container nor an engine gone away ends
        it: the log is opened again every ``retry`` seconds (after the last line seen)
        until ``stop`` is set. ``on_state`` hears of every change: ``None`` when a stream
        is open, the failure sentence when it could not be opened or broke."""
        last: dt.datetime | None = None
        first = True
        opened_at = utcnow()
        told: list[str | None] = []  # what on_state last heard

        def tell(state: str | None) -> None:
            if on_state is not None and told != [state]:
                told[:] = [state]
                on_state(state)

        while not stop.is_set():
            try:
                client = self.connect()
                response, tty = open_logs(
                    client,
                    name,
                    follow=True,
                    tail=tail if first else -1,
                    since=since if first else (last or max(since or opened_at, opened_at)),
                    timeout=self.timeout,
                )
            except Exception as exc:
                tell(self._fail(exc))
                if retry is None or stop.wait(retry):
                    return
                continue
            first = False
            tell(None)
            watcher = closer_for(stop, response)
            try:
                for line in read_lines(response, tty):
                    if stop.is_set():
                        return
                    if last is not None and line.timestamp is not None and line.timestamp <= last:
                        continue  # already yielded before a reconnect
                    last = line.timestamp or last
                    yield line
            except Exception as exc:
                if stop.is_set():
                    return
                tell(self._fail(exc, drop=False))
                if retry is None or stop.wait(retry):
                    return
                continue
            finally:
                watcher.done.set()
                with contextlib.suppress(Exception):
                    response.close()
            # the stream ended: the container stopped (and may come back), or the engine
            # is going away (the next open says so)
            if stop.wait(0.5):
                return
