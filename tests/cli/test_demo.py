"""`magflow-console demo`: the main job on a fresh machine. Real processes, real server."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from magflow_console.reference import DEMO_TARGET, HEAD
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_tmp() -> Iterator[Path]:
    """This test's own TMPDIR (short: the server's unix socket lives below it), so that
    another run's demo on the machine is never counted as ours."""
    path = Path(tempfile.mkdtemp(prefix="mfd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp_path: Path, own_tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    return env | {
        "TMPDIR": str(own_tmp),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        # nothing listens here: the demo must say so plainly, not fail
        "MAGFLOW_CONSOLE_DOCKER__HOST": "unix:///nonexistent/docker.sock",
        # the demo's API is its own stand-in, whatever the profile names
        "MAGFLOW_CONSOLE_API__URL": "http://127.0.0.1:9",
    }


def _read(fd: int) -> bytes | None:
    """What the terminal shows within 0.5 s (b"" if nothing), None once it is closed."""
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:
        return None


def _demo_dirs(own_tmp: Path) -> set[Path]:
    return set(own_tmp.glob("magflow-pg-*"))


def _demo_json(env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "magflow_console", "demo", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _checks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["path"]: c for c in doc["api"]["checks"]}


def _database_codes(doc: dict[str, Any]) -> set[str]:
    """The finding codes the demo database's own data gives: its migrations, its sync
    runs and its orders (``app.emag_orders``)."""
    codes = {p["code"] for p in doc["migrations"]["problems"]}
    codes |= {a["code"] for a in doc["sync"]["anomalies"]}
    return codes | {f["code"] for f in doc["findings"] if f["code"].startswith("orders_")}


def test_demo_json_shows_a_whole_stack_and_the_databases_problems(
    tmp_path: Path, own_tmp: Path
) -> None:
    """No Docker engine, no Redis: the demo says so as information; its API stand-in is
    live over the demo database; the verdict is the demo database's own problems."""
    before = _demo_dirs(own_tmp)
    doc = _demo_json(_env(tmp_path, own_tmp))
    assert doc["database"]["state"] == "ok"
    assert doc["migrations"]["current"] == [DEMO_TARGET]
    assert doc["migrations"]["pending"] == [HEAD]
    assert doc["sync"]["accounts"]["main"]["products_total"] > 0
    # no engine: information, not a fault
    containers = doc["containers"]
    assert containers["absent"] is True
    assert containers["error"].startswith("no Docker engine (demo): ")
    assert "nonexistent/docker.sock" in containers["error"]
    for section in ("redis", "celery"):
        assert doc[section]["absent"] is True
        assert doc[section]["error"].startswith("no Redis (demo): ")
    # the API is the demo's stand-in (the profile's URL, port 9, is not used), live
    api = doc["api"]
    assert api["state"] == "ok" and api["base_url"].startswith("http://127.0.0.1:")
    assert api["base_url"] != "http://127.0.0.1:9"
    checks = _checks(doc)
    assert checks["/health/database"]["healthy"] is True
    assert DEMO_TARGET in checks["/health/migrations"]["detail"]
    assert checks["/health/redis"]["healthy"] is False  # honest: the demo has no Redis
    assert "no Redis in the demo" in checks["/health/redis"]["detail"]
    # the verdict: what the demo database's problems give, nothing else
    by_code = {f["code"]: f for f in doc["findings"]}
    assert by_code["containers_absent"]["severity"] == "info"
    assert by_code["containers_absent"]["short"] == "no Docker engine (demo)"
    assert by_code["redis_absent"]["severity"] == "info"
    acting = [f for f in doc["findings"] if f["severity"] != "info"]
    database_codes = _database_codes(doc)
    assert acting and {f["code"] for f in acting} <= database_codes, acting
    worst = "critical" if any(f["severity"] == "critical" for f in acting) else "warning"
    assert doc["verdict"] == worst
    assert "pending_migrations" in by_code and "sync_failed" in by_code
    # the stand-in stopped with the demo
    with pytest.raises(httpx.ConnectError):
        httpx.get(api["base_url"] + "/health/live", timeout=2)
    assert _demo_dirs(own_tmp) <= before, "the demo left its data directory behind"


@pytest.mark.docker
def test_demo_lists_a_reachable_engines_containers_as_usual(
    tmp_path: Path, own_tmp: Path, docker_engine: Any, stack_env: dict[str, str],
    stack_containers: Any,
) -> None:  # fmt: skip
    env = _env(tmp_path, own_tmp) | stack_env
    env["MAGFLOW_CONSOLE_DOCKER__HOST"] = docker_engine.base_url
    doc = _demo_json(env)
    containers = doc["containers"]
    assert containers["state"] == "ok" and containers["absent"] is False
    shown = {c["service"]: c["name"] for c in containers["items"]}
    assert shown == stack_containers.names
    assert "containers_absent" not in {f["code"] for f in doc["findings"]}


@pytest.mark.docker
def test_demo_on_an_engine_without_magflow_says_so(
    tmp_path: Path, own_tmp: Path, docker_engine: Any
) -> None:
    env = _env(tmp_path, own_tmp) | {
        "MAGFLOW_CONSOLE_DOCKER__HOST": docker_engine.base_url,
        "MAGFLOW_CONSOLE_DOCKER__PROJECT": "nosuchproject",
        "MAGFLOW_CONSOLE_DOCKER__PREFIX": "nosuchprefix_",
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps(
            {s: f"nosuchprefix_{s}" for s in ("app", "db", "redis", "worker", "beat")}
        ),
    }
    doc = _demo_json(env)
    containers = doc["containers"]
    assert containers["absent"] is True and containers["items"] == [], containers["error"]
    assert containers["error"].startswith("no MagFlow containers (demo): ")
    assert docker_engine.base_url.split("://")[-1] in containers["error"]
    assert not [f for f in doc["findings"] if f["code"] == "container_missing"]


def test_demo_reads_the_redis_it_is_given(
    tmp_path: Path, own_tmp: Path, redis_db: RedisServer
) -> None:
    env = _env(tmp_path, own_tmp) | {"MAGFLOW_CONSOLE_REDIS__URL": redis_db.url}
    doc = _demo_json(env)
    assert doc["redis"]["state"] == "ok" and doc["redis"]["absent"] is False
    assert doc["celery"]["state"] == "ok"
    assert _checks(doc)["/health/redis"]["healthy"] is True  # the stand-in pings it too
    assert "redis_absent" not in {f["code"] for f in doc["findings"]}
    assert redis_db.password and redis_db.password not in json.dumps(doc)


def test_demo_keep_dir_is_kept_and_reused(tmp_path: Path, own_tmp: Path) -> None:
    keep = tmp_path / "keep"
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "magflow_console", "demo", "--json", "--keep", str(keep)],
            capture_output=True, text=True, env=_env(tmp_path, own_tmp), cwd=ROOT, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["migrations"]["current"] == [DEMO_TARGET]
    assert any(keep.rglob("PG_VERSION")), "the kept data directory is missing"


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_demo_tui_cleans_up_on_hangup(tmp_path: Path, own_tmp: Path, sig: signal.Signals) -> None:
    """An SSH session that drops (SIGHUP) or a kill (SIGTERM) still removes the data."""
    before = _demo_dirs(own_tmp)
    leader, follower = pty.openpty()
    env = _env(tmp_path, own_tmp) | {"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "demo"],
        stdin=follower, stdout=follower, stderr=follower, env=env, cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    screen = b""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and b"Migrations" not in screen:
            chunk = _read(leader)
            if chunk is None:
                break
            screen += chunk
        assert b"Migrations" in screen, f"the TUI did not come up: {screen[-500:]!r}"
        created = _demo_dirs(own_tmp) - before
        assert created, "no demo data directory while the demo runs"
        proc.send_signal(sig)
        # keep draining the pty so the app is never blocked on a full terminal buffer
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            chunk = _read(leader)
            if chunk is None:
                time.sleep(0.1)
            else:
                screen += chunk
        assert proc.poll() is not None, f"the demo did not exit after the signal: {screen[-300:]!r}"
        assert not any(d.exists() for d in created), "the demo left its data directory behind"
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
