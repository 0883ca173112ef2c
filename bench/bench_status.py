"""How fast is `magflow-console status --json`? (target: median <= 0.35 s)

Runs against the demo database (embedded PostgreSQL, reference schema one revision
behind head, seeded), the real Docker engine with the stack-like test containers, and
the local fake of MagFlow's API: the same fixtures the tests use, so run it as

    .venv/bin/python bench/bench_status.py            (or: make bench)

It measures, side by side in one run (medians of N runs each, interleaved so load
drifts hit every variant alike):
- ``python -c pass``: the interpreter's own start-up;
- the import floor: importing only the libraries a cold ``status`` cannot do without
  (pydantic-settings for the config, psycopg, the docker SDK, httpx), nothing else;
- ``magflow-console --version``: start-up plus the CLI's imports;
- ``magflow-console status --json``: the whole command, cold process each time;
- ``Backend.status()`` in-process, warm (what a TUI refresh of everything costs);
and the headless import time from ``python -X importtime``. The report is printed and
written to ``bench/results/status.md``. Nothing here asserts a timing.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TARGET_S = 0.35
#: the libraries a cold `status` needs, imported the way the console imports them
#: (the docker SDK without its optional paramiko, httpx without its command-line tool: see
#: sources.lean_imports)
FLOOR = (
    "import sys\n"
    "for m in ('paramiko', 'httpx._main', 'h2', 'socksio', 'trio'): sys.modules[m] = None\n"
    "import pydantic_settings, psycopg, httpx, httpcore, docker"
)
FLOOR_NAME = "import floor (pydantic-settings, psycopg, docker, httpx + httpcore)"
STATUS_NAME = "magflow-console status --json"


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}"
        )
    return elapsed


def _importtime(cmd: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd[1:]],
        capture_output=True,
        env=env,
        cwd=ROOT,
        text=True,
    )
    rows: list[tuple[float, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, raw_name = line[len("import time:") :].split("|", 2)
        depth = (len(raw_name) - len(raw_name.lstrip()) - 1) // 2
        rows.append(
            (int(cumulative_us) / 1e6, raw_name.strip() if depth == 0 else " " + raw_name.strip())
        )
    top_level = [(c, n) for c, n in rows if not n.startswith(" ")]
    total = sum(c for c, _ in top_level)
    return total, sorted(top_level, reverse=True)[:12]


def test_bench_status(
    demo_db_url: str, docker_engine: Any, stack_containers: Any, fake_api: Any
) -> None:
    fake_api.set_mode("healthy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    # measure the console as installed: with its bytecode cached (a developer shell may
    # set PYTHONDONTWRITEBYTECODE, which makes every run recompile edited modules)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(ROOT / "magflow_console"), quiet=1)
    env["XDG_CONFIG_HOME"] = str(ROOT / ".tmp-bench-xdg")
    env["MAGFLOW_CONSOLE_DOCKER__PREFIX"] = stack_containers.prefix
    env["MAGFLOW_CONSOLE_DOCKER__PROJECT"] = stack_containers.project
    env["MAGFLOW_CONSOLE_DOCKER__SERVICES"] = (
        "{" + ",".join(f'"{svc}": "{name}"' for svc, name in stack_containers.names.items()) + "}"
    )
    from magflow_console.reference import SCRIPTS_DIR

    args = [
        "--db-url", demo_db_url,
        "--docker-host", docker_engine.base_url,
        "--api-url", fake_api.base_url,
        "--scripts", str(SCRIPTS_DIR),
    ]  # fmt: skip
    py = sys.executable
    variants = {
        "python -c pass": [py, "-c", "pass"],
        FLOOR_NAME: [py, "-c", FLOOR],
        "magflow-console --version": [py, "-m", "magflow_console", "--version"],
        STATUS_NAME: [py, "-m", "magflow_console", "status", "--json", *args],
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for cmd in variants.values():  # warm the page cache and .pyc files
        subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT, check=False)
    for _ in range(RUNS):
        for name, cmd in variants.items():
            try:
                samples[name].append(_timed(cmd, env))
            except RuntimeError as exc:
                pytest.fail(str(exc))

    from magflow_console import config as cfg
    from magflow_console.backend import Backend

    loaded = cfg.load_config(
        environ=env,
        overrides={
            "database.url": demo_db_url,
            "docker.host": docker_engine.base_url,
            "api.url": fake_api.base_url,
            "alembic.scripts": str(SCRIPTS_DIR),
            "alembic.strategy": "local",
        },
    )
    backend = Backend(loaded)
    warm: list[float] = []
    try:
        backend.status()
        for _ in range(RUNS):
            started = time.perf_counter()
            report = backend.status()
            warm.append(time.perf_counter() - started)
    finally:
        backend.close()
    sections = {
        s: getattr(report, s).state for s in ("containers", "database", "migrations", "sync", "api")
    }
    assert all(state == "ok" for state in sections.values()), sections
    samples["Backend.status() in-process, warm"] = warm

    import_total, import_top = _importtime(variants[STATUS_NAME], env)
    base = statistics.median(samples["python -c pass"])
    floor = statistics.median(samples[FLOOR_NAME])
    status = statistics.median(samples[STATUS_NAME])
    lines = [
        "# `status --json` benchmark",
        "",
        f"Runs per variant: {RUNS} (interleaved). Machine: {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}. Target for `status --json`: median <= {TARGET_S} s.",
        "Against: the demo database (embedded PostgreSQL 18, one revision behind head, seeded), "
        "5 stack-like containers on a real Docker engine, the fake MagFlow API on loopback.",
        "",
        "| variant | median (s) | min (s) | max (s) | ratio to `python -c pass` "
        "| ratio to import floor |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in samples.items():
        med = statistics.median(values)
        lines.append(
            f"| {name} | {med:.3f} | {min(values):.3f} | {max(values):.3f} "
            f"| {med / base:.1f}x | {med / floor:.2f}x |"
        )
    lines += [
        "",
        f"`status --json` spends {status - floor:.3f} s beyond the import floor "
        f"(config, the console's own modules, connecting, querying, rendering); the floor "
        f"alone is {floor / TARGET_S:.1f}x the {TARGET_S} s target on this machine.",
        "",
        f"Headless import time (`python -X importtime`, top-level cumulative): {import_total:.3f} s",
        "",
        "| module | cumulative (s) |",
        "|---|---|",
        *(f"| {name.strip()} | {secs:.3f} |" for secs, name in import_top),
    ]
    report_text = "\n".join(lines) + "\n"
    out = ROOT / "bench" / "results" / "status.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report_text)
    print("\n" + report_text)


if __name__ == "__main__":
    plugins = ["tests.support.postgres", "tests.support.docker_engine", "tests.support.fake_api"]
    sys.path.insert(0, str(ROOT))
    argv = [__file__, "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(ROOT), "--noconftest"]
    for plugin in plugins:
        argv += ["-p", plugin]
    sys.exit(pytest.main(argv))
