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

import pytest

from magflow_console.reference import DEMO_TARGET, HEAD

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


def test_demo_json_exits_0_and_shows_pending_migration(tmp_path: Path, own_tmp: Path) -> None:
    before = _demo_dirs(own_tmp)
    proc = subprocess.run(
        [sys.executable, "-m", "magflow_console", "demo", "--json"],
        capture_output=True, text=True, env=_env(tmp_path, own_tmp), cwd=ROOT, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["database"]["state"] == "ok"
    assert doc["migrations"]["current"] == [DEMO_TARGET]
    assert doc["migrations"]["pending"] == [HEAD]
    assert doc["sync"]["accounts"]["main"]["products_total"] > 0
    assert doc["containers"]["state"] == "error"
    assert "nonexistent/docker.sock" in doc["containers"]["error"]
    assert doc["api"]["state"] == "error" and "127.0.0.1:9" in doc["api"]["error"]
    assert _demo_dirs(own_tmp) <= before, "the demo left its data directory behind"


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
