"""Real Celery processes against the real redis-server (a pytest plugin listed in
``tests/conftest.py``).

The worker runs exactly as MagFlow's compose runs it (sheet §1.1), with the stand-in app
``tests.support.celery_app``: ``celery -A tests.support.celery_app worker --pool=solo
--concurrency=1 -Q default -l info``, its broker URL (with the password) in
``CELERY_BROKER_URL``. Beat runs as ``celery ... beat`` with an empty pidfile, its
schedule file in a temp dir and ``CELERY_HEARTBEAT_INTERVAL`` from the test.

Fixtures (function scoped; each test gets an empty Redis db and new processes):
- ``celery_control``: the ``Control`` file the tasks read (see ``celery_app.control``).
- ``celery_client``: ``CeleryClient`` that sends tasks as MagFlow does (``send_task`` to
  queue ``default``), with no result backend of its own (it only publishes).
- ``celery_worker``: a started, ready worker (``CeleryProcess``).
- ``make_celery_beat(interval=1.0)``: starts a beat.

Every process is stopped by its pid: sleeping tasks are released first, then SIGTERM
(warm shutdown), SIGQUIT (cold), SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.support.celery_app import make_app, register
from tests.support.celery_app.control import ENV as CONTROL_ENV
from tests.support.celery_app.control import Control
from tests.support.procs import stop, term_with_parent
from tests.support.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
APP = "tests.support.celery_app"
READY_TIMEOUT = 60.0  # two shared cores: a cold start of celery can be slow
_STRIP = ("CELERY_", "REDIS_", "EMAG_", CONTROL_ENV)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.05)


@dataclass
class CeleryProcess:
    kind: str  # worker | beat
    proc: subprocess.Popen[bytes]
    log_path: Path
    control: Control | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT) -> None:
        def seen() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"celery {self.kind} exited with {self.proc.returncode} before "
                    f"logging {text!r}:\n{self.log_tail()}",
                    pytrace=False,
                )
            return text in self.log()

        wait_until(seen, f"celery {self.kind} to log {text!r}", timeout)

    def stop(self) -> int | None:
        if self.control is not None:
            self.control.release()  # a sleeping task ends, so the warm shutdown is quick
        return stop(
            self.proc,
            steps=((signal.SIGTERM, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)),
        )


@dataclass
class CeleryClient:
    """Publishes tasks the way MagFlow's API and beat do (names, queue ``default``)."""

    app: Celery
    sent: list[str] = field(default_factory=list)

    def send(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> str:
        result = self.app.send_task(name, args=args, kwargs=kwargs or {}, **options)
        self.sent.append(result.id)
        return str(result.id)


def celery_env(redis_url: str, control: Control | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIP)}
    env["CELERY_BROKER_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if control is not None:
        env[CONTROL_ENV] = str(control.path)
    env.update(extra)
    return env


def start_celery(
    kind: str, args: list[str], env: dict[str, str], folder: Path, control: Control | None
) -> CeleryProcess:
    log_path = folder / f"celery-{kind}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", APP, kind, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=term_with_parent,
        )
    return CeleryProcess(kind=kind, proc=proc, log_path=log_path, control=control)


@pytest.fixture
def celery_control(tmp_path: Path) -> Control:
    return Control(tmp_path / "celery-control.json")


@pytest.fixture
def celery_client(redis_db: RedisServer) -> Iterator[CeleryClient]:
    app = make_app(redis_db.url, "disabled://")
    register(app)
    try:
        yield CeleryClient(app)
    finally:
        app.close()


@pytest.fixture
def celery_worker(
    redis_db: RedisServer, celery_control: Control, tmp_path: Path
) -> Iterator[CeleryProcess]:
    worker = start_celery(
        "worker",
        ["--pool=solo", "--concurrency=1", "-Q", "default", "-l", "info"],
        celery_env(redis_db.url, celery_control),
        tmp_path,
        celery_control,
    )
    try:
        worker.wait_for_log(" ready.")
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def make_celery_beat(
    redis_db: RedisServer, tmp_path: Path
) -> Iterator[Callable[..., CeleryProcess]]:
    started: list[CeleryProcess] = []

    def factory(interval: float = 1.0) -> CeleryProcess:
        folder = tmp_path / f"beat-{len(started)}"
        folder.mkdir()
        beat = start_celery(
            "beat",
            ["-l", "info", "--pidfile=", f"--schedule={folder / 'celerybeat-schedule'}"],
            celery_env(redis_db.url, None, CELERY_HEARTBEAT_INTERVAL=str(interval)),
            folder,
            None,
        )
        started.append(beat)
        beat.wait_for_log("beat: Starting...")
        return beat

    yield factory
    for beat in started:
        beat.stop()
