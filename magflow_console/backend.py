"""One profile's view of the stack: the sources wired from config.

The headless CLI and the TUI both talk to the stack only through a ``Backend``.
Every method returns a snapshot and never raises (the sources guarantee it; this
layer adds a last guard). Sources are created lazily so that a command that needs
only the database never imports the docker SDK. No Textual here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magflow_console import config as cfg
from magflow_console.config_sources import ConfigError
from magflow_console.diagnose import emag_paths, report, rules
from magflow_console.models import (
    AdminsSnapshot,
    ApiCheck,
    ApiSnapshot,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    OrdersSnapshot,
    RedisSnapshot,
    StatusReport,
    SyncRun,
    SyncSnapshot,
    error_snapshot,
    utcnow,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from magflow_console.forked_reads import ForkedReads
    from magflow_console.models import LogLine
    from magflow_console.sources.alembic_structure import ScriptGraph
    from magflow_console.sources.api import ApiSource
    from magflow_console.sources.broker import BrokerSource
    from magflow_console.sources.broker_url import RedisTarget
    from magflow_console.sources.database import DatabaseSource
    from magflow_console.sources.docker import DockerSource
    from magflow_console.sources.docker_parse import StackEvent

#: how long a graph read out of the app container is reused
CONTAINER_GRAPH_TTL = 60.0
#: seconds before looking again for a broker URL that was not found (two inspects)
REDIS_REDISCOVER = 30.0
#: how much of each container's log the diagnosis reads
LOG_TAIL = 500
LOG_WINDOW = dt.timedelta(hours=24)
#: what the demo (``LoadedConfig.demo``) says of a part it does not have: information,
#: not a fault (``diagnose.report`` counts it as an info finding, not in the verdict)
DEMO_NO_DOCKER = "no Docker engine (demo)"
DEMO_NO_STACK = "no MagFlow containers (demo)"
DEMO_NO_REDIS = "no Redis (demo)"
#: the refresh loops' first reads (``Backend.first_read_jobs``), by loop
FIRST_READS = ("containers", "database", "sync", "api", "broker")


class Backend:
    def __init__(self, loaded: cfg.LoadedConfig) -> None:
        self.loaded = loaded
        self.profile = loaded.profile
        self.profile_name = loaded.profile_name
        # one lock per source, so that creating one (importing the docker SDK, say) does
        # not hold up the others: status() builds them from three threads at once
        self._docker_lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._api_lock = threading.Lock()
        self._broker_lock = threading.Lock()
        self._broker: BrokerSource | None = None
        self._redis_target: RedisTarget | None = None
        self._redis_target_at = 0.0
        self._docker: DockerSource | None = None
        self._db: DatabaseSource | None = None
        self._api: ApiSource | None = None
        self._graph: ScriptGraph | None = None
        self._graph_key: object = None
        self._db_error: str | None = None
        #: the first reads started by ``prefetch`` (in a forked child: ``_forked``)
        self._prefetched: dict[str, Future[Any]] = {}
        self._forked: ForkedReads | None = None
        try:
            self.db_url: str | None = cfg.database_url(self.profile)
        except ConfigError as exc:
            self.db_url, self._db_error = None, str(exc)

    # ------------------------------------------------------------------ sources

    @property
    def docker(self) -> DockerSource:
        with self._docker_lock:
            if self._docker is None:
                host = cfg.docker_host(self.profile)
                from magflow_console.sources.lean_imports import import_docker_sdk

                import_docker_sdk(ssh=host.startswith("ssh://"))
                from magflow_console.sources.docker import DockerSource

                d = self.profile.docker
                self._docker = DockerSource(
                    host,
                    project=d.project,
                    prefix=d.prefix,
                    service_map=d.services,
                    timeout=d.timeout,
                )
            return self._docker

    @property
    def db(self) -> DatabaseSource | None:
        with self._db_lock:
            if self._db is None and self.db_url:
                from magflow_console.sources.database import DatabaseSource

                p = self.profile
                self._db = DatabaseSource(
                    self.db_url,
                    schema=p.database.db_schema,
                    connect_timeout=p.database.connect_timeout,
                    statement_timeout_ms=p.database.statement_timeout_ms,
                    running_timeout_minutes=p.sync.running_timeout_minutes,
                    no_success_hours=p.sync.no_success_hours,
                    recent_limit=p.sync.recent_limit,
                )
            return self._db

    @property
    def api_source(self) -> ApiSource:
        with self._api_lock:
            if self._api is None:
                from magflow_console.sources.lean_imports import import_httpx

                import_httpx()
                from magflow_console.sources.api import ApiSource

                self._api = ApiSource(self.profile.api.url, timeout=self.profile.api.timeout)
            return self._api

    def redis_target(self) -> RedisTarget:
        """The Redis to read: the profile's URL, else the worker's broker URL mapped to the
        Docker host (``sources.broker_url``); a discovered URL is kept until a read fails."""
        from magflow_console.sources.broker_url import RedisTarget, discover

        url = cfg.redis_url(self.profile)
        if url:
            return RedisTarget(url, "profile")
        found, when = self._redis_target, self._redis_target_at
        if found is not None and (found.url or time.monotonic() - when < REDIS_REDISCOVER):
            return found  # a found URL until a read fails; a miss for a while
        try:
            docker = self.docker
        except Exception as exc:  # the SDK cannot be set up for this host
            return RedisTarget(None, "worker environment", f"Docker source failed: {exc}")
        self._redis_target = discover(
            docker, self.profile.docker.services, cfg.docker_host(self.profile)
        )
        self._redis_target_at = time.monotonic()
        return self._redis_target

    def broker(self) -> tuple[RedisSnapshot, CelerySnapshot]:
        """Redis and the Celery state kept in it; both in the error state (``url`` None)
        when no Redis URL is configured or discoverable."""
        started = time.perf_counter()
        target = self.redis_target()
        if target.url is None and self.loaded.demo:
            why = f"{DEMO_NO_REDIS}: none is configured (--redis-url or redis.url names one)"
            return (
                error_snapshot(RedisSnapshot, why, started, absent=True),
                error_snapshot(CelerySnapshot, why, started, absent=True),
            )
        if target.url is None:
            why = (
                "No Redis URL: set redis.url (or redis.url_env, or --redis-url), or make the "
                f"worker's broker URL readable ({target.why_not})."
            )
            return (
                error_snapshot(RedisSnapshot, why, started),
                error_snapshot(CelerySnapshot, why, started),
            )
        from magflow_console.sources.lean_imports import import_redis

        import_redis()
        from magflow_console.sources.broker import BrokerSource

        with self._broker_lock:
            if self._broker is None or self._broker.url != target.url:
                if self._broker is not None:
                    self._broker.close()
                self._broker = BrokerSource(target.url, timeout=self.profile.redis.timeout)
            source = self._broker
        try:
            redis, celery = source.fetch()
        except Exception as exc:  # a bug, not an outage
            msg = f"Redis source failed: {exc}"
            return (
                error_snapshot(RedisSnapshot, msg, started, url=target.display),
                error_snapshot(CelerySnapshot, msg, started),
            )
        if redis.state == "error" and target.source != "profile":
            self._redis_target = None  # rediscover next time: the stack may have changed
        return redis, celery

    def orders(self) -> OrdersSnapshot:
        src = self.db
        if src is None:
            return self._no_db(OrdersSnapshot)
        started = time.perf_counter()
        try:
            return src.fetch_orders()
        except Exception as exc:
            return error_snapshot(OrdersSnapshot, f"Order source failed: {exc}", started)

    def _no_db(self, cls: type[Any]) -> Any:
        return error_snapshot(cls, self._db_error or "No database URL configured for this profile.")

    # ------------------------------------------------------------------ snapshots

    def containers(self) -> ContainersSnapshot:
        started = time.perf_counter()
        try:
            snap = self.docker.fetch()
        except Exception as exc:  # a bug, not an outage: keep the console alive
            return error_snapshot(ContainersSnapshot, f"Docker source failed: {exc}", started)
        if self.loaded.demo:
            snap = self._demo_containers(snap)
        return dataclasses.replace(snap, items=tuple(with_emag_paths(c) for c in snap.items))

    def _demo_containers(self, snap: ContainersSnapshot) -> ContainersSnapshot:
        """The demo's view: an engine that cannot be reached, or one that runs none of
        the stack's containers, is a part the demo does not have (``absent``); an engine
        with the stack's containers is shown as usual, missing services included."""
        if snap.state == "error" and self.docker.client is None:  # not reached at all
            error = f"{DEMO_NO_DOCKER}: {snap.error}" if snap.error else DEMO_NO_DOCKER
            return dataclasses.replace(snap, error=error, absent=True)
        if snap.state == "ok" and not snap.items:
            error = f"{DEMO_NO_STACK}: none on the Docker engine at {snap.docker_host}"
            return dataclasses.replace(snap, state="error", error=error, missing=(), absent=True)
        return snap

    def database(self) -> DatabaseSnapshot:
        src = self.db
        if src is None:
            return self._no_db(DatabaseSnapshot)
        started = time.perf_counter()
        try:
            return src.fetch_database()
        except Exception as exc:
            return error_snapshot(DatabaseSnapshot, f"Database source failed: {exc}", started)

    def sync(
        self, *, account: str | None = None, status: str | None = None, limit: int | None = None
    ) -> SyncSnapshot:
        src = self.db
        if src is None:
            return self._no_db(SyncSnapshot)
        started = time.perf_counter()
        try:
            return src.fetch_sync(account=account, status=status, limit=limit)
        except Exception as exc:
            return error_snapshot(SyncSnapshot, f"Sync source failed: {exc}", started)

    def admins(self) -> AdminsSnapshot:
        src = self.db
        if src is None:
            return self._no_db(AdminsSnapshot)
        started = time.perf_counter()
        try:
            return src.fetch_admins()
        except Exception as exc:
            return error_snapshot(AdminsSnapshot, f"Admin query failed: {exc}", started)

    @property
    def sync_run_error(self) -> str | None:
        """Why the last ``sync_run()`` gave None, when it was not simply "no such run"."""
        if self._db is not None:
            return self._db.last_error
        return self._db_error

    def sync_run(self, run_id: str) -> SyncRun | None:
        src = self.db
        if src is None:
            return None
        try:
            return src.sync_run(run_id)
        except Exception:
            return None

    def api(self) -> ApiSnapshot:
        started = time.perf_counter()
        try:
            return self.api_source.fetch()
        except Exception as exc:
            return error_snapshot(ApiSnapshot, f"API source failed: {exc}", started)

    def api_full_check(self) -> ApiCheck | None:
        """``/health/full`` once, on demand (it is not polled: sheet §11.6)."""
        from magflow_console.sources.api import FULL_CHECK

        try:
            return self.api_source.probe(FULL_CHECK)
        except Exception:
            return None

    def scripts_location(self) -> str:
        a = self.profile.alembic
        if a.scripts:
            return str(a.scripts)
        name = self.profile.docker.services.get(
            a.container_service, f"magflow_{a.container_service}"
        )
        return f"container:{name}:{a.container_path}"

    def script_graph(self) -> ScriptGraph:
        from magflow_console.sources.alembic_cache import cached_parse
        from magflow_console.sources.alembic_structure import ScriptGraph

        a = self.profile.alembic
        if a.scripts:
            folder = Path(a.scripts).expanduser()
            key: object = ("local", _tree_signature(folder))
            if self._graph is None or self._graph_key != key:
                self._graph, self._graph_key = cached_parse(folder), key
            return self._graph
        bucket = int(time.monotonic() // CONTAINER_GRAPH_TTL)
        key = ("container", bucket)
        if self._graph is None or self._graph_key != key:
            name = self.profile.docker.services.get(
                a.container_service, f"magflow_{a.container_service}"
            )
            location = f"container:{name}:{a.container_path}"
            try:
                client = self.docker.client or self.docker.connect()
            except Exception as exc:
                from magflow_console.sources.docker_parse import describe_failure

                why = describe_failure(self.docker.docker_host, exc, self.docker.timeout)
                error = f"The migrations are read from container {name}; {why}"
                # not cached: the next refresh tries the engine again
                return ScriptGraph(location=location, revisions=(), error=error)
            from magflow_console.sources.alembic_parse import read_scripts_from_container

            self._graph = read_scripts_from_container(client, name, a.container_path)
            self._graph_key = key
        return self._graph

    def migrations(
        self, db: DatabaseSnapshot | None = None, *, check_db: bool = True
    ) -> MigrationsSnapshot:
        from magflow_console.sources.alembic_graph import build_snapshot

        started = time.perf_counter()
        try:
            if check_db and db is None:
                db = self.database()
            graph = self.script_graph()
            return build_snapshot(graph, db if check_db else None, started=started)
        except Exception as exc:
            return error_snapshot(MigrationsSnapshot, f"Migration analysis failed: {exc}", started)

    def container_detail(self, name: str) -> ContainerInfo | None:
        try:
            info = self.docker.inspect(name)
        except Exception:
            return None
        return with_emag_paths(info) if info is not None else None

    def logs(self, name: str, **kw: Any) -> list[LogLine]:
        return self.docker.logs(name, **kw)

    def follow(self, name: str, stop: threading.Event, **kw: Any) -> Iterator[LogLine]:
        return self.docker.follow(name, stop, **kw)

    def events(self, stop: threading.Event, **kw: Any) -> Iterator[StackEvent]:
        return self.docker.events(stop, **kw)

    def log_findings(self, containers: ContainersSnapshot | None = None) -> list[Finding]:
        """What the recent logs of the stack's containers say (``diagnose.logs``):
        one log read per container, the last ``LOG_TAIL`` lines of the last ``LOG_WINDOW``,
        read in parallel. A container whose log cannot be read adds nothing."""
        from magflow_console.diagnose.logs import log_findings

        snap = containers if containers is not None else self.containers()
        if snap.state == "error" or not snap.items:
            return []
        since = utcnow() - LOG_WINDOW

        def one(c: ContainerInfo) -> list[Finding]:
            try:
                lines = self.docker.read_logs(c.name, tail=LOG_TAIL, since=since)
            except Exception as exc:  # LogsUnreadable, or a bug: say so, do not stop
                return [
                    Finding(
                        "logs_unreadable",
                        "info",
                        f"The log of {c.name} was not read, so it is not diagnosed: {exc}",
                        subject=c.name,
                        short=f"{c.name}: log not read",
                    )
                ]
            return log_findings(c.name, c.service, lines, down=rules.is_down(c))

        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="logs") as pool:
            return [f for found in pool.map(one, snap.items) for f in found]

    # ------------------------------------------------------------------ whole status

    def status(self, *, checks: Callable[[], None] | None = None) -> StatusReport:
        """Everything at once: docker, the API and Redis in parallel with the database
        work (Redis after docker when its URL comes from the worker's environment).
        ``checks``: what start-up left to check (``config.check_database_url``), run once
        the forked child (below) is reading and before any read here; if it raises, the
        child is ended and the error goes on.

        A one-shot command (a process with no other thread, and neither source created
        yet) reads Docker and Redis in a forked child on the machine's other core
        (``forked_reads``), while this process reads the database and the API: importing
        the docker SDK and redis-py and parsing what they read is most of the CPU a cold
        ``status`` spends beyond its own start-up. What the child does not send back is
        read here."""
        forked = None
        if self._docker is None and self._broker is None:
            from magflow_console import forked_reads

            forked = forked_reads.start(
                {"containers": self.containers, "broker": self.broker},
                then=self.closer_of_new_sources(),
            )
        if checks is not None:
            try:
                checks()
            except BaseException:
                if forked is not None:
                    forked.close()
                raise
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="status") as pool:
            if forked is None:
                f_containers = pool.submit(self.containers)
                f_broker = pool.submit(self.broker)
            else:
                f_containers, f_broker = forked.futures["containers"], forked.futures["broker"]
            f_api = pool.submit(self.api)
            database = self.database()
            sync = self.sync()
            orders = self.orders()
            migrations = self.migrations(database)
            api = f_api.result()
            containers = f_containers.result() or self.containers()
            redis, celery = f_broker.result() or self.broker()
        if forked is not None:  # its results are in: let it end, or end it
            forked.join(timeout=2.0)
            forked.close()
        return report.build_report(
            self.profile_name,
            containers,
            database,
            migrations,
            sync,
            api,
            celery=celery,
            redis=redis,
            orders=orders,
            no_success_hours=self.profile.sync.no_success_hours,
        )

    # ------------------------------------------------------------------ prefetch

    def first_read_jobs(self) -> dict[str, Callable[[], Any]]:
        """The first read of every refresh loop, by loop (``FIRST_READS``)."""
        return {
            "containers": self.containers,
            "database": lambda: _database_and_migrations(self),
            "sync": lambda: (self.sync(), self.orders()),
            "api": self.api,
            "broker": self.broker,
        }

    def prefetch(self) -> None:
        """Start the first read of every refresh loop now, so that it overlaps the TUI's
        own start-up (importing Textual, composing the screen); the loops take the results
        with ``take_first_reads``. In a forked child on another core when that is safe
        (``forked_reads``: the sources of this process then start cold at the second
        refresh), else in background threads."""
        from magflow_console import forked_reads

        jobs = self.first_read_jobs()
        forked = forked_reads.start(jobs, then=self.closer_of_new_sources())
        if forked is not None:
            self.adopt_first_reads(forked)
            return
        pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="prefetch")
        self._prefetched = {name: pool.submit(job) for name, job in jobs.items()}
        pool.shutdown(wait=False)

    def adopt_first_reads(self, forked: ForkedReads) -> None:
        """Take the first reads a forked child is making for this profile (``prefetch``'s,
        or ``magflow_console.main``'s, whose child loaded the profile too); closing this
        backend kills the child if it is still reading."""
        self._forked = forked
        self._prefetched = dict(forked.futures)

    @property
    def first_reads_forked(self) -> bool:
        """Whether ``prefetch`` read in a forked child (this process's sources are cold)."""
        return self._forked is not None

    def take_first_reads(self) -> dict[str, Future[Any]]:
        """The first reads ``prefetch`` started, by loop, handed over once (empty when
        there are none). A result of None means the read failed: the loop reads again."""
        taken, self._prefetched = self._prefetched, {}
        return taken

    def _sources(self) -> dict[str, Any]:
        return {"docker": self._docker, "db": self._db, "api": self._api, "broker": self._broker}

    def closer_of_new_sources(self) -> Callable[[], None]:
        """A forked child's clean-up: closing only the sources it opened. A connection it
        inherited is this process's to close (closing a database connection sends its
        server a goodbye on the shared socket)."""
        before = {name for name, src in self._sources().items() if src is not None}

        def close() -> None:
            for name, src in self._sources().items():
                if src is not None and name not in before:
                    with contextlib.suppress(Exception):
                        src.close()

        return close

    def close(self) -> None:
        if self._forked is not None:
            self._forked.close()
        for src in (self._docker, self._db, self._api, self._broker):
            if src is not None:
                with contextlib.suppress(Exception):
                    src.close()


def _database_and_migrations(backend: Backend) -> tuple[DatabaseSnapshot, MigrationsSnapshot]:
    db = backend.database()
    return db, backend.migrations(db)


def with_emag_paths(info: ContainerInfo) -> ContainerInfo:
    """The container with what each eMAG path of it reads and where it goes
    (``containers --json``; ``diagnose.emag_paths``)."""
    paths = emag_paths.paths_json(info)
    return dataclasses.replace(info, emag_paths=paths) if paths else info


def _tree_signature(folder: Path) -> tuple[tuple[str, float], ...]:
    try:
        versions = folder / "versions" if (folder / "versions").is_dir() else folder
        return tuple(sorted((p.name, p.stat().st_mtime) for p in versions.glob("*.py")))
    except OSError:
        return ()
