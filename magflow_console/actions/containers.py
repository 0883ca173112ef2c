"""Restart, stop or start one of the stack's containers, and the Docker exec plumbing
the migration action shares (``exec_stream``).

- A target is a service of ``profile.docker.services`` (``worker``) or one of its
  container names (``magflow_worker``); anything else is refused: the console never
  touches containers outside the stack.
- The plan names the exact ``docker <verb>``, the container's current state and the
  consequences that bite in MagFlow (sheet §1, §9, §11.1): starting ``app``, ``worker`` or
  ``beat`` runs the entrypoint, i.e. an ``alembic upgrade head`` attempt (all three run
  it), restarting ``app`` re-provisions the dev admin, ``redis`` has no persistence,
  ``beat`` waits for a healthy ``worker``, ``db`` drops every connection.
- After the action the container is re-inspected until it is running (and healthy when it
  has a healthcheck), or stopped for ``stop``, within a bounded wait; the new state is the
  result. ``start`` on a running container and ``stop`` on a stopped one are no-ops.

The actions use their own Docker client with a timeout long enough for a stop (the read
side's client is tuned for quick probes). No Textual import.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from magflow_console import config as cfg
from magflow_console.actions.guard import ActionContext, ActionPlan, ActionResult
from magflow_console.diagnose.entrypoint import ENTRYPOINT_SERVICES
from magflow_console.render.text import scrub

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from magflow_console.backend import Backend

VERBS = ("restart", "stop", "start")
STOP_TIMEOUT = 10  # seconds docker waits after SIGTERM before SIGKILL (compose default)
DEFAULT_WAIT = 90.0  # seconds to wait for the container to be running/healthy again
CLIENT_TIMEOUT = 60.0

#: what every start of app, worker and beat does (``ENTRYPOINT_SERVICES``: compose
#: overrides only ``command``, sheet §1.2, §11.1): the same for all three
MIGRATION_WARNING = (
    "The entrypoint runs 'alembic upgrade head' at every start of app, worker and beat: "
    "this start is a migration attempt that can race the other two (an 'already exists' "
    "error is taken for a race and accepted as soon as app.alembic_version has any row, "
    "even an old revision, and its text is not logged)."
)
DEV_ADMIN_WARNING = (
    "The app re-provisions the dev admin at every start, resetting that user's password."
)

#: (service, verb) -> consequences shown as plan warnings; "*" matches every verb; the
#: migration warning of the entrypoint services is added by ``warnings_for``
SERVICE_WARNINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("app", "restart"): (DEV_ADMIN_WARNING,),
    ("app", "start"): (DEV_ADMIN_WARNING,),
    ("app", "stop"): ("The API is down until the container is started again.",),
    ("redis", "*"): (
        "Redis has no persistence: queued and unacknowledged Celery tasks and cached logins "
        "are lost.",
    ),
    ("worker", "stop"): (
        "beat waits for a healthy worker: with the worker stopped, no scheduled task "
        "(eMAG syncs, auto-acknowledge, cleanup) runs.",
    ),
    ("worker", "restart"): (
        "A task in progress (e.g. a product sync) is interrupted and redelivered later.",
        "beat waits for a healthy worker: scheduled tasks pause until it is healthy again.",
    ),
    ("beat", "stop"): (
        "No scheduled task (eMAG syncs, auto-acknowledge, cleanup) runs while beat is stopped.",
    ),
    ("db", "*"): (
        "Restarting or stopping the database drops every connection: app, worker and beat "
        "lose their sessions and a running migration or sync is rolled back.",
    ),
}


@dataclass(frozen=True)
class ContainerState:
    name: str
    status: str  # running | exited | restarting | created | paused | dead
    health: str | None  # healthy | unhealthy | starting | None (no healthcheck)
    restart_count: int
    started_at: str | None

    def describe(self) -> str:
        return self.status + (f", {self.health}" if self.health else "")


# --------------------------------------------------------------------------- docker plumbing


def docker_client(profile: cfg.Profile, timeout: float = CLIENT_TIMEOUT) -> docker.DockerClient:
    """A connected client for the profile's engine (ssh:// included), ``timeout`` per call;
    raises on failure (``connection_error`` says why in one sentence)."""
    from magflow_console.sources.docker_connect import open_client

    return open_client(cfg.docker_host(profile), timeout)[0]


def connection_error(profile: cfg.Profile, exc: BaseException) -> str:
    """Why the profile's engine could not be reached, one sentence (the read side's)."""
    from magflow_console.sources.docker_parse import describe_failure

    host = scrub(cfg.docker_host(profile))
    return describe_failure(host, exc, profile.docker.timeout)


def container_state(container: Container) -> ContainerState:
    container.reload()
    state = container.attrs.get("State") or {}
    health = state.get("Health") or {}
    return ContainerState(
        name=container.name or "",
        status=str(state.get("Status") or "unknown"),
        health=health.get("Status") or None,
        restart_count=int(container.attrs.get("RestartCount") or 0),
        started_at=state.get("StartedAt"),
    )


def _lines(chunks: Iterator[Any]) -> Iterator[tuple[str, str]]:
    """(stream, line) from a demuxed exec stream, decoded and split per stream."""
    buffers = {"stdout": b"", "stderr": b""}
    for chunk in chunks:
        out, err = chunk if isinstance(chunk, tuple) else (chunk, None)
        for name, data in (("stdout", out), ("stderr", err)):
            if not data:
                continue
            buffers[name] += data
            *complete, buffers[name] = buffers[name].split(b"\n")
            for raw in complete:
                yield name, raw.decode("utf-8", "replace").rstrip("\r")
    for name, rest in buffers.items():
        if rest:
            yield name, rest.decode("utf-8", "replace").rstrip("\r")


def exec_stream(
    client: docker.DockerClient,
    container: str,
    cmd: Sequence[str],
    *,
    workdir: str | None = None,
    user: str = "",
    on_line: Callable[[str, str], None] | None = None,
) -> tuple[int, list[str]]:
    """Run ``cmd`` in ``container`` (exec), calling ``on_line(stream, line)`` as output arrives.

    Returns (exit code, every line in arrival order). Docker errors propagate.
    """
    api = client.api
    created = api.exec_create(container, list(cmd), workdir=workdir, user=user)
    exec_id = created["Id"]
    lines: list[str] = []
    for stream, line in _lines(api.exec_start(exec_id, stream=True, demux=True)):
        lines.append(line)
        if on_line is not None:
            on_line(stream, line)
    info = api.exec_inspect(exec_id)
    code = info.get("ExitCode")
    return (int(code) if code is not None else -1), lines


# --------------------------------------------------------------------------- resolution


def resolve_target(profile: cfg.Profile, service_or_name: str) -> tuple[str, str] | None:
    """(service, container name) for a service key or a container name of the stack."""
    services = profile.docker.services
    if service_or_name in services:
        return service_or_name, services[service_or_name]
    for service, name in services.items():
        if name == service_or_name:
            return service, name
    return None


def warnings_for(service: str, verb: str) -> tuple[str, ...]:
    """The consequences of ``docker <verb>`` on ``service`` that bite in MagFlow."""
    migration = (
        (MIGRATION_WARNING,)
        if service in ENTRYPOINT_SERVICES and verb in ("restart", "start")
        else ()
    )
    return (
        SERVICE_WARNINGS.get((service, verb), ())
        + migration
        + SERVICE_WARNINGS.get((service, "*"), ())
    )


# --------------------------------------------------------------------------- plan


#: service names MagFlow's troubleshooting notes use for the compose services (sheet §10,
#: docs drift); suggested, never substituted: a restart is not a guess
DOCS_ALIASES = {
    "backend": "app",
    "api": "app",
    "web": "app",
    "postgres": "db",
    "postgresql": "db",
    "database": "db",
    "celery": "worker",
    "celery-worker": "worker",
    "celery_worker": "worker",
    "celery-beat": "beat",
    "celery_beat": "beat",
    "scheduler": "beat",
    "cache": "redis",
}


def suggested_service(profile: cfg.Profile, name: str) -> str | None:
    """The stack's service an unknown ``name`` from MagFlow's older notes stands for."""
    alias = DOCS_ALIASES.get(name.lower())
    return alias if alias in profile.docker.services else None


def plan_container(
    ctx: ActionContext,
    backend: Backend | None,
    verb: str,
    service_or_name: str,
    *,
    wait_seconds: float = DEFAULT_WAIT,
) -> ActionPlan:
    """Pre-flight for ``docker <verb>`` on a stack container; raises ``ActionRefused``.

    ``backend`` is accepted for symmetry with the other actions (the profile comes from
    ``ctx``). A ``start`` of a running or ``stop`` of a stopped container gives a plan
    with ``params["noop"] = True``.
    """
    params: dict[str, Any] = {"verb": verb, "target": service_or_name}
    plan = ActionPlan(f"container.{verb}", f"docker {verb} {service_or_name}", (), params)
    ctx.check_allowed(plan)
    if verb not in VERBS:
        raise ctx.refuse(plan, f"Unknown container action '{verb}' (use {', '.join(VERBS)}).")
    resolved = resolve_target(ctx.profile, service_or_name)
    if resolved is None:
        known = ", ".join(f"{s} ({n})" for s, n in ctx.profile.docker.services.items())
        alias = suggested_service(ctx.profile, service_or_name)
        hint = (
            f" MagFlow's older notes call '{alias}' '{service_or_name}': did you mean '{alias}'?"
            if alias
            else ""
        )
        raise ctx.refuse(
            plan,
            f"'{service_or_name}' is not a container of the stack of profile "
            f"'{ctx.profile_name}' (known: {known or 'none'}).{hint}",
        )
    service, name = resolved
    params.update(service=service, container=name, wait_seconds=wait_seconds)
    plan = ActionPlan(plan.action, f"docker {verb} {name}", (), params)
    try:
        client = docker_client(ctx.profile)
    except Exception as exc:
        raise ctx.refuse(plan, connection_error(ctx.profile, exc)) from None
    try:
        state = container_state(client.containers.get(name))
    except Exception as exc:
        raise ctx.refuse(
            plan, f"Container {name} cannot be inspected: {_docker_error(exc)}."
        ) from None
    finally:
        client.close()
    noop = (verb == "start" and state.status == "running") or (
        verb == "stop" and state.status in ("exited", "created", "dead")
    )
    params.update(state_before=state.describe(), noop=noop)
    if noop:
        changes: tuple[str, ...] = (f"nothing: {name} is already {state.status}",)
    else:
        after = {"restart": "stopped and started again", "stop": "stopped", "start": "started"}
        changes = (f"container {name} (service {service}): {state.describe()} -> {after[verb]}",)
        if verb != "stop" and service in ENTRYPOINT_SERVICES:
            changes += ("its entrypoint runs 'alembic upgrade head' before the service command",)
        if verb != "stop":
            changes += (f"then wait up to {wait_seconds:.0f} s for it to be running/healthy",)
    return ActionPlan(
        plan.action,
        f"docker {verb} {name}",
        changes,
        params,
        () if noop else warnings_for(service, verb),
        stoppable=not noop,
    )


def is_noop(plan: ActionPlan) -> bool:
    return bool(plan.params.get("noop"))


# --------------------------------------------------------------------------- execute


def wait_for_state(
    container: Container,
    verb: str,
    timeout: float,
    poll: float = 0.3,
    stop: threading.Event | None = None,
) -> tuple[bool, ContainerState]:
    """Poll until running (+healthy when there is a healthcheck), or stopped for ``stop``;
    gives up at ``timeout`` or as soon as the ``stop`` event is set."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout
    while True:
        state = container_state(container)
        if verb == "stop":
            done = state.status in ("exited", "created", "dead")
        else:
            done = state.status == "running" and state.health in (None, "healthy")
        if done or time.monotonic() >= deadline or stop.is_set():
            return done, state
        stop.wait(poll)


def container_runner(
    ctx: ActionContext, backend: Backend | None, plan: ActionPlan
) -> Callable[[], ActionResult]:
    """The callable to hand to ``ctx.execute(plan, run)``."""

    def run() -> ActionResult:
        verb = str(plan.params["verb"])
        name = str(plan.params["container"])
        wait = float(plan.params.get("wait_seconds", DEFAULT_WAIT))
        if is_noop(plan):
            return ActionResult(
                True, f"Nothing to do: {name} is already {plan.params['state_before']}."
            )
        client = docker_client(ctx.profile, timeout=CLIENT_TIMEOUT + STOP_TIMEOUT)
        try:
            container = client.containers.get(name)
            started = time.monotonic()
            ctx.emit(f"docker {verb} {name} ...")
            if verb == "restart":
                container.restart(timeout=STOP_TIMEOUT)
            elif verb == "stop":
                container.stop(timeout=STOP_TIMEOUT)
            else:
                container.start()
            ok, state = wait_for_state(container, verb, wait, stop=ctx.stop)
            took = time.monotonic() - started
        finally:
            client.close()
        data = {"container": name, "state": state.status, "health": state.health,
                "restart_count": state.restart_count, "seconds": round(took, 1)}  # fmt: skip
        ctx.emit(f"{name}: {state.describe()}")
        past = {"restart": "Restarted", "stop": "Stopped", "start": "Started"}[verb]
        if ok:
            return ActionResult(True, f"{past} {name}: now {state.describe()} ({took:.1f} s).",
                                (f"state: {state.describe()}",), data)  # fmt: skip
        want = "stopped" if verb == "stop" else "running and healthy"
        if ctx.stop.is_set():
            return ActionResult(
                False,
                f"Stopped waiting after {took:.0f} s: docker {verb} {name} was done; "
                f"it is {state.describe()}, not yet {want}.",
                (f"state: {state.describe()}", f"restart count: {state.restart_count}"),
                data,
            )
        return ActionResult(
            False,
            f"{past.lower()} {name}, but it is {state.describe()}, not {want}, after {took:.0f} s.",
            (f"state: {state.describe()}", f"restart count: {state.restart_count}"),
            data,
        )

    return run


def execute_container(
    ctx: ActionContext, backend: Backend | None, plan: ActionPlan
) -> ActionResult:
    """Run a confirmed plan (guarded and audited by ``ctx.execute``)."""
    return ctx.execute(plan, container_runner(ctx, backend, plan))


def _docker_error(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)
