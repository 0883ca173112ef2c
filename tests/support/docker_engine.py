"""pytest plugin: a real Docker engine, the offline test image and stack-like containers.

Fixtures
- ``docker_engine`` (session): a reachable ``DOCKER_HOST`` / default socket when
  ``/_ping`` answers there; otherwise (root on Linux) a **private** ``dockerd`` with its
  own data-root, exec-root, pidfile and socket in a fresh temp dir, installing Debian's
  ``docker.io`` first when ``dockerd`` is missing. Set ``MAGFLOW_TEST_PRIVATE_DOCKERD=1``
  to always use a private engine. No engine and no way to start one -> the test fails
  with a message saying what is missing (never a skip).
- ``docker_test_image`` (session): tag of the offline busybox image (see ``image/``).
- ``stack_containers`` (session): ``magflow_app`` healthy, ``magflow_worker``
  unhealthy, ``magflow_beat`` starting, ``magflow_db`` healthy, ``magflow_redis``
  crash-looping, with the stack's compose labels; the app has a checkout ``/app/.env``
  (``STACK_DOTENV``) with settings found only there, secrets among them.
- ``make_container`` (function): factory for extra containers, removed at teardown.
- ``put_alembic_tree(container, local_dir, dest="/app/alembic")``: plain helper.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from tests.support.image import IMAGE, ensure_test_image, put_tree

SERVICES = ("app", "worker", "beat", "db", "redis")
SECOND_NS = 1_000_000_000


@dataclass
class DockerEngine:
    base_url: str
    client: docker.DockerClient
    private: bool  # True: our own dockerd, nothing else runs on it
    daemon: PrivateDockerd | None = None
    startup_seconds: float = 0.0  # engine start (incl. apt install) for a private engine
    image_seconds: float = 0.0  # test image import (0 when reused)


@dataclass
class StackContainers:
    project: str
    names: dict[str, str]  # service -> container name
    image: str
    prefix: str  # container-name prefix ("magflow_" on a private engine)
    containers: dict[str, Container] = field(default_factory=dict)

    @property
    def service_map(self) -> dict[str, str]:
        return dict(self.names)


def put_alembic_tree(
    container: Container, local_dir: str | os.PathLike[str], dest: str = "/app/alembic"
) -> None:
    """Copy a local alembic folder (``env.py``, ``versions/``...) into ``container``."""
    put_tree(container, local_dir, dest)


# --------------------------------------------------------------------------- engine


def engine_answers(base_url: str, timeout: float = 2.0) -> bool:
    """True when the engine at ``base_url`` answers ``/_ping``."""
    try:
        api = docker.APIClient(base_url=base_url, timeout=max(1, int(timeout)), version="1.41")
        try:
            return bool(api.ping())
        finally:
            api.close()
    except Exception:
        return False


class PrivateDockerd:
    """A dockerd of our own under ``root`` (socket, data-root, exec-root, pidfile).

    ``--bridge=none``: no docker0 link to create or clean up (test containers use the
    host network); ``--iptables=false --ip6tables=false``: the host firewall is left
    alone; an own ``--config-file`` and containerd namespace: nothing is shared with
    another daemon on the machine. ``stop()`` ends it by the pid we started (SIGTERM,
    then SIGKILL), unmounts what it left under ``root`` and deletes ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.exec_root = root / "exec"
        self.base_url = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._had_docker0 = Path("/sys/class/net/docker0").exists()
        self._stopped = False
        #: containerd namespace: the same across ``halt()`` and ``start()`` again
        self._namespace = f"mfc{secrets.token_hex(4)}"

    @classmethod
    def fresh(cls) -> PrivateDockerd:
        """In a new short temp dir (unix socket paths are limited to 107 bytes)."""
        return cls(Path(tempfile.mkdtemp(prefix="mfc-dockerd-", dir="/tmp")))

    def start(self, timeout: float = 60.0) -> str:
        """``launch()`` and ``wait_ready()``: the socket URL once ``/_ping`` answers."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process (returns at once). The engine gets SIGTERM when the *thread*
        that launched it ends (PR_SET_PDEATHSIG follows the thread): launch from a thread
        that outlives the engine (the main thread), and wait elsewhere if need be."""
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not installed (Debian package docker.io)")
        if self._stopped:
            raise RuntimeError("this dockerd was stopped for good (stop()); use halt()")
        (self.root / "daemon.json").write_text(json.dumps({}))
        ns = self._namespace
        cmd = [
            dockerd,
            "--data-root",
            str(self.root / "data"),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.root / "dockerd.pid"),
            "-H",
            self.base_url,
            "--config-file",
            str(self.root / "daemon.json"),
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--containerd-namespace",
            ns,
            "--containerd-plugins-namespace",
            f"{ns}-plugins",
            "--log-level",
            "warn",
        ]
        log = (self.root / "dockerd.log").open("ab")
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_term_with_parent,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> str:
        """Wait until the launched engine answers ``/_ping``; its socket URL."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"dockerd exited with {self.proc.returncode}: {self._log_tail()}"
                )
            if self.socket.exists() and engine_answers(self.base_url, timeout=1.0):
                return self.base_url
            time.sleep(0.1)
        raise RuntimeError(
            f"dockerd did not answer /_ping within {timeout:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = (self.root / "dockerd.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "empty log"

    def _containerd_pid(self) -> int | None:
        try:
            return int((self.exec_root / "containerd" / "containerd.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def halt(self) -> None:
        """Stop the engine as an operator or a crash would, and keep everything else: the
        process ends (SIGTERM, which stops its containers; SIGKILL after 20 s), its data
        stays, and ``start()`` brings it back with the containers whose restart policy
        says so. Blocks until the process has gone."""
        containerd_pid = self._containerd_pid()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # dockerd stops the containerd it started; if it was killed, end that child too
        if containerd_pid is not None and _cmdline_mentions(containerd_pid, str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(containerd_pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the engine for good: ``halt()``, then unmount and delete ``root``."""
        if self._stopped:
            return
        self._stopped = True
        self.halt()
        for mountpoint in sorted(_mounts_under(self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True, check=False)
        docker0 = Path("/sys/class/net/docker0")
        if not self._had_docker0 and docker0.exists() and shutil.which("ip"):
            subprocess.run(["ip", "link", "delete", "docker0"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _sweep_stale_dirs(min_age: float = 3600.0) -> None:
    """Delete /tmp/mfc-dockerd-* left by killed sessions: older than ``min_age``, no
    live dockerd behind their pidfile and nothing mounted below them."""
    for root in Path("/tmp").glob("mfc-dockerd-*"):
        with contextlib.suppress(OSError, ValueError):
            if time.time() - root.stat().st_mtime < min_age or _mounts_under(root):
                continue
            pidfile = root / "dockerd.pid"
            if pidfile.exists() and Path(f"/proc/{int(pidfile.read_text().strip())}").exists():
                continue
            shutil.rmtree(root, ignore_errors=True)


def _term_with_parent() -> None:
    """In the child: SIGTERM when the test process dies (a killed pytest must not leave
    a dockerd running). Linux prctl(PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def _cmdline_mentions(pid: int, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mountpoint = line.split()[4].replace("\\040", " ")
            if mountpoint.startswith(prefix):
                found.append(mountpoint)
    return found


def _external_candidates() -> list[str]:
    urls = []
    if os.environ.get("DOCKER_HOST"):
        urls.append(os.environ["DOCKER_HOST"])
    if Path("/var/run/docker.sock").exists():
        urls.append("unix:///var/run/docker.sock")
    return urls


def _install_docker_io() -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "docker.io"],
    ):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            pytest.fail(
                "No Docker engine is reachable and installing docker.io failed "
                f"({' '.join(cmd)} exited {res.returncode}: {' | '.join(tail)})",
                pytrace=False,
            )


def _start_engine() -> DockerEngine:
    started = time.perf_counter()
    if os.environ.get("MAGFLOW_TEST_PRIVATE_DOCKERD", "") not in ("1", "true", "yes"):
        for url in _external_candidates():
            if engine_answers(url):
                client = docker.DockerClient(base_url=url, timeout=60)
                return DockerEngine(url, client, private=False)
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.fail(
            "No Docker engine is reachable (DOCKER_HOST / /var/run/docker.sock do not answer "
            "/_ping) and a private dockerd can only be started as root on Linux: start a "
            "Docker engine or set DOCKER_HOST",
            pytrace=False,
        )
    if shutil.which("dockerd") is None:
        if shutil.which("apt-get") is None:
            pytest.fail(
                "No Docker engine is reachable, dockerd is not installed and apt-get is "
                "missing: install Docker (Debian package docker.io)",
                pytrace=False,
            )
        _install_docker_io()
    _sweep_stale_dirs()
    daemon = PrivateDockerd.fresh()
    atexit.register(daemon.stop)
    try:
        base_url = daemon.start()
    except RuntimeError as exc:
        daemon.stop()
        pytest.fail(f"Could not start a private dockerd: {exc}", pytrace=False)
    client = docker.DockerClient(base_url=base_url, timeout=60)
    return DockerEngine(
        base_url,
        client,
        private=True,
        daemon=daemon,
        startup_seconds=time.perf_counter() - started,
    )


_SESSION: list[DockerEngine] = []


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    engine = _start_engine()
    _SESSION.append(engine)
    try:
        yield engine
    finally:
        with contextlib.suppress(Exception):
            engine.client.close()
        if engine.daemon is not None:
            engine.daemon.stop()


@pytest.fixture(scope="session")
def docker_test_image(docker_engine: DockerEngine) -> str:
    started = time.perf_counter()
    try:
        tag = ensure_test_image(docker_engine.client)
    except Exception as exc:
        pytest.fail(f"Could not build the offline test image {IMAGE}: {exc}", pytrace=False)
    docker_engine.image_seconds = time.perf_counter() - started
    return tag


# --------------------------------------------------------------------------- containers


def healthcheck(test: str, *, retries: int = 1, start_period: float = 0.0) -> dict[str, Any]:
    return {
        "test": ["CMD-SHELL", test],
        "interval": SECOND_NS,
        "timeout": 2 * SECOND_NS,
        "retries": retries,
        "start_period": int(start_period * SECOND_NS),
    }


def compose_labels(project: str, service: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.config-hash": secrets.token_hex(32),
        "com.docker.compose.version": "2.29.7",
    }


_REDIS_CRASH = (
    'echo "1:C $(date "+%d %b %Y %H:%M:%S").000 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"; '
    'echo "1:M $(date "+%d %b %Y %H:%M:%S").001 # Can\'t handle RDB format version 12"; '
    "exit 1"
)

#: secret values in the stack's environment and logs: no output of the console may show one
STACK_SECRETS = {
    "db_password": "Db-pass-4f1c9e",
    "emag_main_password": "Emag-main-pass-77a1",
    "emag_fbe_username": "fbe-user-5d2e",
    "dev_admin_password": "Dev-admin-pass-19bc",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.c3RhY2stdG9rZW4.c2lnbmF0dXJlLXNlY3JldA",
    # values in the app's /app/.env (STACK_DOTENV)
    "dotenv_secret_key": "Secret-key-8c1d0e",
    "dotenv_emag_username": "legacy-main-9a4b",
    "dotenv_emag_password": "Emag-legacy-pass-3b7f",
    "dotenv_fbe_password": "Fbe-dotenv-pass-d41e",
    "dotenv_redis_password": "Redis-pass-6e2a",
    "dotenv_url_password": "Url-secret-91d4",
    "dotenv_url_token": "Url-token-2c8e",
    "dotenv_private_key": "Multiline-secret-0f3a",
}

#: .env.docker as a stack with a half-configured fbe account has it (sheet §1.1, §9):
#: main has its credentials, fbe lacks its password, ENVIRONMENT is development (so the
#: order sync of main goes to the sandbox while its product sync goes to production)
_STACK_ENV = {
    "DATABASE_URL": f"postgresql+asyncpg://app:{STACK_SECRETS['db_password']}@db:5432/magflow",
    "REDIS_URL": "redis://redis:6379/0",
    "REDIS_HOST": "redis",
    "ENVIRONMENT": "development",
    "EMAG_MAIN_USERNAME": "main-user@example.com",
    "EMAG_MAIN_PASSWORD": STACK_SECRETS["emag_main_password"],
    "EMAG_FBE_USERNAME": STACK_SECRETS["emag_fbe_username"],
    "DEFAULT_ADMIN_PASSWORD": STACK_SECRETS["dev_admin_password"],
}

#: the checkout's .env as MagFlow's pydantic settings read it in the app (sheet §11.5),
#: written the ways python-dotenv accepts: settings found only here (the legacy main
#: credentials the health endpoint prefers, fbe's password, which the product sync cannot
#: see, the cache client's REDIS_PASSWORD), a global base URL with a user, password and
#: token in it, and secrets the console must never keep (one spanning lines)
STACK_DOTENV = f"""# MagFlow local settings (git-ignored)
SECRET_KEY={STACK_SECRETS["dotenv_secret_key"]}
export EMAG_USERNAME={STACK_SECRETS["dotenv_emag_username"]}
EMAG_PASSWORD="{STACK_SECRETS["dotenv_emag_password"]}"  # the health endpoint prefers these
EMAG_FBE_PASSWORD='{STACK_SECRETS["dotenv_fbe_password"]}'
REDIS_PASSWORD = {STACK_SECRETS["dotenv_redis_password"]}
EMAG_BASE_URL=https://api:{STACK_SECRETS["dotenv_url_password"]}@marketplace-api-sandbox.emag.ro/api-3?token={STACK_SECRETS["dotenv_url_token"]}
JWT_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----
{STACK_SECRETS["dotenv_private_key"]}
-----END PRIVATE KEY-----"
EMAG_FBE_USERNAME=
"""
#: what the console may know of STACK_DOTENV: the watched names it sets, and the public
#: values (the URL cut to scheme://host/path)
STACK_DOTENV_SET = (
    "EMAG_BASE_URL",
    "EMAG_FBE_PASSWORD",
    "EMAG_PASSWORD",
    "EMAG_USERNAME",
    "REDIS_PASSWORD",
)
STACK_DOTENV_PUBLIC = {"EMAG_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3"}


def put_file(container: Container, path: str, text: str, *, mode: int = 0o600) -> None:
    """Write one file into ``container`` (archive API), owned by the image's ``app`` user."""
    data = text.encode()
    info = tarfile.TarInfo(path.rsplit("/", 1)[1])
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    info.uid = info.gid = 1000
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(path.rsplit("/", 1)[0] or "/", buf.getvalue()):
        raise RuntimeError(f"put_archive of {path} to {container.name} failed")


#: what the app and worker print after start-up: a failed product sync whose request log
#: carries the bearer token (MagFlow logs the Authorization header), and the skip line of
#: an account without credentials
_APP_LOG_LINES = (
    "2025-10-21 20:46:52,720 - app.services.emag.sync - ERROR - Product sync failed: "
    "eMAG API error 503 for main account; request headers={'Authorization': 'Bearer "
    + STACK_SECRETS["bearer"]
    + "'}"
)
_WORKER_LOG_LINES = (
    "[2025-10-21 20:46:53,101: WARNING/MainProcess] Missing credentials for fbe account, skipping"
)

_STACK_SPECS: dict[str, dict[str, Any]] = {
    "app": {
        "entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
        "command": ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--reload"],
        "user": "app",
        "working_dir": "/app",
        "environment": {**_STACK_ENV, "STANDIN_LOG_LINES": _APP_LOG_LINES},
        "healthcheck": healthcheck(
            'echo \'{"status":"alive","service":"magflow-erp"}\'', retries=3
        ),
    },
    "worker": {
        "entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
        "command": [
            "celery",
            "-A",
            "app.worker:celery_app",
            "worker",
            "--loglevel=info",
            "--pool=solo",
            "--concurrency=1",
        ],
        "user": "app",
        "working_dir": "/app",
        "environment": {
            **_STACK_ENV,
            "STANDIN_CELERY_PING_EXIT": "1",
            "STANDIN_LOG_LINES": _WORKER_LOG_LINES,
        },
        "healthcheck": healthcheck("celery -A app.worker:celery_app inspect ping"),
    },
    "beat": {
        "entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
        "command": [
            "celery",
            "-A",
            "app.worker:celery_app",
            "beat",
            "--loglevel=info",
            "--pidfile=",
            "--schedule=/tmp/celerybeat-schedule",
        ],
        "user": "app",
        "working_dir": "/app",
        # "[c]" keeps pgrep from matching the probe's own shell; the command line is
        # "celery -A ... beat", so the probe fails and start_period keeps it "starting".
        "healthcheck": healthcheck('pgrep -f "[c]elery beat"', retries=3, start_period=3600),
    },
    "db": {
        "command": [
            "sh",
            "-c",
            'echo "LOG:  database system is ready to accept connections"; exec sleep 2147483647',
        ],
        "healthcheck": healthcheck(
            'echo "/var/run/postgresql:5432 - accepting connections"', retries=5
        ),
    },
    "redis": {
        "command": ["sh", "-c", _REDIS_CRASH],
        "healthcheck": healthcheck("echo PONG", retries=5),
    },
}


def _state(container: Container) -> tuple[str, str | None, int, int]:
    container.reload()
    attrs = container.attrs
    health = attrs["State"].get("Health") or {}
    probes = len(health.get("Log") or ())
    return attrs["State"]["Status"], health.get("Status"), int(attrs["RestartCount"]), probes


def _stack_ready(containers: dict[str, Container]) -> dict[str, str]:
    """Services not yet in their expected state -> what they show."""
    expected = {"app": "healthy", "worker": "unhealthy", "db": "healthy"}
    pending: dict[str, str] = {}
    for service, container in containers.items():
        status, health, restarts, probes = _state(container)
        if service in expected and health != expected[service]:
            pending[service] = f"{status}/{health}"
        elif service == "beat" and (health != "starting" or probes < 1):
            pending[service] = f"{status}/{health} after {probes} probes"
        elif service == "redis" and restarts < 1:
            pending[service] = f"{status}, {restarts} restarts"
    return pending


def _naming(engine: DockerEngine) -> tuple[str, str]:
    """(project, name prefix): the real ones unless a shared engine already uses them."""
    if engine.private:
        return "magflow", "magflow_"
    taken = {c.name for c in engine.client.containers.list(all=True)}
    project_used = engine.client.containers.list(
        all=True, filters={"label": "com.docker.compose.project=magflow"}
    )
    if not project_used and not taken & {f"magflow_{s}" for s in SERVICES}:
        return "magflow", "magflow_"
    tag = secrets.token_hex(3)
    return f"magflowtest{tag}", f"t{tag}_magflow_"


@pytest.fixture(scope="session")
def stack_containers(
    docker_engine: DockerEngine, docker_test_image: str
) -> Iterator[StackContainers]:
    client = docker_engine.client
    project, prefix = _naming(docker_engine)
    stack = StackContainers(project=project, names={}, image=docker_test_image, prefix=prefix)
    try:
        for service in SERVICES:
            name = f"{prefix}{service}"
            if docker_engine.private:  # leftovers of an aborted run on our own engine
                with contextlib.suppress(docker.errors.NotFound):
                    client.containers.get(name).remove(force=True)
            spec = dict(_STACK_SPECS[service])
            run: Any = client.containers.run  # the SDK's overloads do not take **spec
            stack.containers[service] = run(
                docker_test_image,
                name=name,
                detach=True,
                init=True,
                network_mode="host",
                labels=compose_labels(project, service),
                restart_policy={"Name": "unless-stopped"},
                **spec,
            )
            stack.names[service] = name
        put_file(stack.containers["app"], "/app/.env", STACK_DOTENV)
        deadline = time.monotonic() + 45
        pending = _stack_ready(stack.containers)
        while pending and time.monotonic() < deadline:
            time.sleep(0.3)
            pending = _stack_ready(stack.containers)
        if pending:
            pytest.fail(
                "Stack-like test containers did not reach their states within 45 s: "
                + ", ".join(f"{s} is {v}" for s, v in pending.items()),
                pytrace=False,
            )
        yield stack
    finally:
        for container in stack.containers.values():
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)


@pytest.fixture
def stack_env(stack_containers: StackContainers) -> dict[str, str]:
    """The console's environment for the stack: its compose project, prefix and names."""
    return {
        "MAGFLOW_CONSOLE_DOCKER__PREFIX": stack_containers.prefix,
        "MAGFLOW_CONSOLE_DOCKER__PROJECT": stack_containers.project,
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps(stack_containers.names),
    }


@pytest.fixture
def make_container(
    docker_engine: DockerEngine, docker_test_image: str
) -> Iterator[Callable[..., Container]]:
    """``make_container(**kwargs)`` -> a started container (``client.containers.run``).

    Defaults: the test image, ``detach=True``, ``init=True``, ``network_mode="host"``,
    a unique ``name`` (``mfc-extra-<hex>``) and ``command=["sleep", "2147483647"]``.
    Every container made here is force-removed at teardown."""
    made: list[Container] = []

    def factory(**kwargs: Any) -> Container:
        options: dict[str, Any] = {
            "image": docker_test_image,
            "detach": True,
            "init": True,
            "network_mode": "host",
            "name": f"mfc-extra-{secrets.token_hex(4)}",
            "command": ["sleep", "2147483647"],
        }
        options.update(kwargs)
        image = options.pop("image")
        run: Any = docker_engine.client.containers.run
        container: Container = run(image, **options)
        made.append(container)
        return container

    yield factory
    for container in made:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line on what the Docker set-up cost this session."""
    for engine in _SESSION:
        kind = "private dockerd" if engine.private else "existing engine"
        terminalreporter.write_line(
            f"docker: {kind} at {engine.base_url} (start {engine.startup_seconds:.2f} s, "
            f"test image {engine.image_seconds:.2f} s)"
        )
