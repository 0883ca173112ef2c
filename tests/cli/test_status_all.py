"""``status --all`` (issue 14, item 2): every profile of the config at once, one line
each, the exit code the worst; a profile that cannot be loaded or does not answer in time
is UNKNOWN with the reason and holds up nobody.

The real program in a subprocess against the real PostgreSQL, Docker engine, fake API
and redis-server; a profile that hangs talks to a socket that accepts and never answers.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from magflow_console.environments import (
    AllProfiles,
    Profiles,
    ProfileStatus,
    unreadable,
    worst_verdict,
)
from magflow_console.models import Verdict
from tests.support.cli import run_cli
from tests.support.redis_server import RedisServer
from tests.tui.test_environments import stack_profile, write_config


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_every_profile_one_line_each_and_the_worst_exit_code(
    tmp_path: Path,
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis_db: RedisServer,
    silent_port: int,
) -> None:
    fake_api.set_mode("healthy")
    stack = stack_profile(
        demo_db_url, docker_engine, stack_containers, fake_api.base_url, redis_db.url
    )
    config = write_config(
        tmp_path / "config.toml",
        {
            "live": stack,
            "prod": {
                **stack,
                "protected": True,
                "database": {"url": f"postgresql://app@127.0.0.1:{silent_port}/magflow"},
            },
            "staging": {"read_only": True, "database": {"password_file": str(tmp_path / "no")}},
            "down": {
                "database": {"url": "postgresql://app@127.0.0.1:9/magflow"},
                "docker": {"host": "unix:///nonexistent/docker.sock"},
                "api": {"url": "http://127.0.0.1:9"},
                "redis": {"url": "redis://127.0.0.1:9/0"},
            },
        },
        default="live",
    )
    args = ["--config", str(config), "status", "--all", "--timeout", "8"]
    proc = run_cli([*args, "--json"], {}, tmp_path)
    doc = json.loads(proc.stdout)
    by = {p["profile"]: p for p in doc["profiles"]}
    assert [p["profile"] for p in doc["profiles"]] == ["down", "live", "prod", "staging"]
    # the live stack: read, with its worst finding (the demo database has a pending
    # migration and failed syncs)
    assert by["live"]["error"] is None and by["live"]["verdict"] in ("warning", "critical")
    assert by["live"]["worst_code"] and by["live"]["took_seconds"] > 0
    assert by["live"]["age_seconds"] is not None
    # nothing listens: critical, with the reason
    assert by["down"]["verdict"] == "critical"
    assert by["down"]["worst_code"] == "database_unreachable"
    # a database that never answers, with a 30 s connect timeout of its own: given up on
    # at --timeout, still marked protected, and the command did not wait for it
    assert by["prod"] == by["prod"] | {
        "verdict": "unknown",
        "error": "no answer within 8 s",
        "protected": True,
        "read_at": None,
    }
    # a secret file that is not there: a config error naming the key, not a crash
    assert by["staging"]["verdict"] == "unknown"
    assert "profiles.staging.database.password_file" in by["staging"]["error"]
    assert doc["verdict"] == "critical" and doc["exit_code"] == 2 == proc.returncode

    human = run_cli(args, {"COLUMNS": "300"}, tmp_path)
    assert human.returncode == 2, human.stderr
    lines = human.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["down", "live", "prod", "staging"]
    assert lines[2].split()[:3] == ["prod", "PROTECTED", "UNKNOWN"]
    assert "no answer within 8 s" in lines[2] and "no data" in lines[2]
    assert lines[0].split()[1] == "CRITICAL" and "database_unreachable" in lines[0]
    assert "read-only" in lines[3]


def test_all_refuses_the_flags_of_one_profile(tmp_path: Path) -> None:
    proc = run_cli(["status", "--all", "--db-url", "postgresql://a@b/c"], {}, tmp_path)
    assert proc.returncode == 3
    assert "--db-url names one profile's stack" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- pure logic


def test_the_worst_profile_decides_and_unknown_does_not_hide_critical() -> None:
    def line(name: str, verdict: Verdict) -> ProfileStatus:
        return ProfileStatus(name, verdict)

    assert worst_verdict([line("a", Verdict.UNKNOWN), line("b", Verdict.CRITICAL)]) == (
        Verdict.CRITICAL
    )
    assert worst_verdict([line("a", Verdict.OK), line("b", Verdict.UNKNOWN)]) == Verdict.UNKNOWN
    assert worst_verdict([]) == Verdict.OK


def test_each_profile_is_reported_once_and_late_ones_are_given_up_on() -> None:
    release = threading.Event()
    seen: list[str] = []

    def read(loaded: Any) -> ProfileStatus:
        if loaded.profile_name == "slow":
            release.wait(30)
        return ProfileStatus(loaded.profile_name, Verdict.OK)

    class Loaded:
        def __init__(self, name: str) -> None:
            self.profile_name = name
            self.profile = SimpleNamespace(protected=name == "slow", read_only=False)

    def load(name: str) -> Any:
        if name == "bad":
            from magflow_console.config_sources import ConfigError

            raise ConfigError("x.toml: profiles.bad.database.url: not a valid URL")
        return Loaded(name)

    profiles = Profiles(("fast", "slow", "bad"), load, {"bad": (True, False)})
    reading = AllProfiles(
        profiles,
        timeout=0.5,
        on_line=lambda s: seen.append(s.profile),
        read=read,
    )
    lines = reading.wait()
    assert [(s.profile, s.verdict) for s in lines] == [
        ("fast", Verdict.OK),
        ("slow", Verdict.UNKNOWN),
        ("bad", Verdict.UNKNOWN),
    ]
    assert lines[1].error == "no answer within 0.5 s" and lines[1].protected
    assert lines[2].error == "config error: x.toml: profiles.bad.database.url: not a valid URL"
    assert lines[2].protected  # as the config file says, though it did not load
    assert reading.stragglers()
    release.set()
    for t in reading._threads:
        t.join(10)
    # the slow one answered after the deadline: not reported twice
    assert sorted(seen) == ["bad", "fast", "slow"] and not reading.stragglers()


def test_only_offers_the_one_profile() -> None:
    class Loaded:
        profile_name = "demo"

    profiles = Profiles.only(Loaded())  # type: ignore[arg-type]
    assert profiles.names == ("demo",)
    assert profiles.load("demo") is not None
    with pytest.raises(Exception, match="not available"):
        profiles.load("prod")
    assert unreadable("x", "why").verdict == Verdict.UNKNOWN
