"""The stack the TUI benchmarks run against, from the test suite's own fixtures.

A benchmark script parses its options, then ``run_bench(__file__, options)`` runs the
script's ``test_*`` function under pytest with the suite's plugins
(``tests.support.postgres``, ``.docker_engine``, ``.fake_api``) and this module, so the
stack is made exactly as the tests make it and torn down afterwards, even on errors:

- PostgreSQL: ``--db demo`` (default) a clone of the seeded demo database
  (``demo_db_url``: reference schema one revision behind head, the default seed);
  ``--db big`` an embedded PostgreSQL kept in ``--keep-dir`` and seeded once with
  1,000,000 products and ~100,000 sync logs (``bench_database.prepare``);
- Docker: ``docker_engine`` (``DOCKER_HOST`` when it answers, else a private dockerd)
  with the five stack-like containers of ``stack_containers`` (app healthy, worker
  unhealthy, beat starting, db healthy, redis crash-looping);
- API: the local fake of MagFlow's API (``fake_api``, healthy);
- Redis: a real ``redis-server`` on loopback (``redis_server``), Celery's broker, empty.

``BenchStack.console(...)`` is the command line users type (``magflow-console --db-url
... --docker-host ... --api-url ... --redis-url ... --scripts ...``) with an environment that holds the
stack's container names and private XDG folders (no user config, no audit log of ours).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from magflow_console.reference import SCRIPTS_DIR  # noqa: E402

CONSOLE = str(Path(sys.executable).parent / "magflow-console")
PLUGINS = (
    "tests.support.postgres",
    "tests.support.docker_engine",
    "tests.support.fake_api",
    "tests.support.redis_server",
)


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        choices=("demo", "big"),
        default="demo",
        help="demo: the seeded demo database (default); big: 1,000,000 products, "
        "~100,000 sync logs in an embedded PostgreSQL kept in --keep-dir",
    )
    parser.add_argument(
        "--keep-dir",
        type=Path,
        default=Path("/tmp/mfc-bench"),
        help="data folder of the --db big server (seeded on first use; default %(default)s)",
    )


@dataclass
class BenchStack:
    db_url: str
    docker_url: str
    api_url: str
    redis_url: str
    db_kind: str
    stack: Any  # tests.support.docker_engine.StackContainers
    engine: Any  # tests.support.docker_engine.DockerEngine
    api: Any  # tests.support.fake_api.FakeMagflowApi
    env: dict[str, str] = field(default_factory=dict)

    def args(self) -> list[str]:
        return [
            "--db-url", self.db_url,
            "--docker-host", self.docker_url,
            "--api-url", self.api_url,
            "--redis-url", self.redis_url,
            "--scripts", str(SCRIPTS_DIR),
        ]  # fmt: skip

    def console(self, *command: str, launcher: list[str] | None = None) -> list[str]:
        """argv of ``magflow-console [global options] [command...]``; ``launcher``
        replaces the console script (e.g. the probe launcher)."""
        return [*(launcher or [CONSOLE]), *self.args(), *command]

    def describe(self) -> str:
        db = (
            "the seeded demo database (embedded PostgreSQL 18)"
            if self.db_kind == "demo"
            else "a production-sized database (1,000,000 products, ~100,000 sync logs)"
        )
        engine = "a private dockerd" if self.engine.private else f"the engine at {self.docker_url}"
        return (
            f"{db}; {len(self.stack.names)} stack-like containers on {engine} "
            f"(project {self.stack.project}); the fake MagFlow API on loopback (healthy); "
            "redis-server on loopback"
        )


def console_env(stack_env: dict[str, str], home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # run as installed: bytecode cached
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = home / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.update(stack_env)
    return env


class _Options:
    """Plugin object: the script's parsed options as the ``bench_options`` fixture."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options

    @pytest.fixture(scope="session")
    def bench_options(self) -> argparse.Namespace:
        return self.options


@pytest.fixture(scope="session")
def _big_db_url(bench_options: argparse.Namespace) -> Iterator[str]:
    from bench_database import prepare

    from magflow_console.reference.embedded import EmbeddedPostgres

    with EmbeddedPostgres(keep_dir=bench_options.keep_dir) as pg:
        prepare(pg.url, 500_000, 100_000, None)
        yield pg.url


@pytest.fixture
def bench_db_url(request: pytest.FixtureRequest, bench_options: argparse.Namespace) -> str:
    if getattr(bench_options, "db", "demo") == "big":
        return str(request.getfixturevalue("_big_db_url"))
    return str(request.getfixturevalue("demo_db_url"))


@pytest.fixture
def bench_stack(
    bench_options: argparse.Namespace,
    bench_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    redis_server: Any,
    tmp_path: Path,
) -> BenchStack:
    fake_api.set_mode("healthy")
    stack_env = {
        "MAGFLOW_CONSOLE_DOCKER__PREFIX": stack_containers.prefix,
        "MAGFLOW_CONSOLE_DOCKER__PROJECT": stack_containers.project,
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps(stack_containers.names),
    }
    return BenchStack(
        db_url=bench_db_url,
        docker_url=docker_engine.base_url,
        api_url=fake_api.base_url,
        redis_url=redis_server.url,
        db_kind=getattr(bench_options, "db", "demo"),
        stack=stack_containers,
        engine=docker_engine,
        api=fake_api,
        env=console_env(stack_env, tmp_path),
    )


def run_bench(test_file: str, options: argparse.Namespace, plugins: tuple[str, ...] = ()) -> int:
    """Run ``test_file``'s benchmark test(s) under pytest with the stack fixtures (and
    the suite's ``plugins`` the bench needs besides, e.g. ``tests.support.ssh_server``)."""
    argv = [
        test_file, "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
        "--noconftest", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]  # fmt: skip
    for plugin in (*PLUGINS, *plugins, "stack_fixtures"):
        argv += ["-p", plugin]
    return int(pytest.main(argv, plugins=[_Options(options)]))


def write_results(name: str, payload: dict[str, Any]) -> Path:
    out = BENCH / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return out
