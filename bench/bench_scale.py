"""One containers refresh with 10, 100 and 300 stack-labelled containers on the real engine.

On the test stack (``stack_fixtures``: its five stack-like containers) more containers
of the stack's compose project are started until there are ``--levels`` (default 10,
100, 300) in all: replicas of the worker as ``docker compose up --scale`` makes them
(service ``worker``, ``container-number`` 2, 3, ..., name ``<prefix>worker_<n>``), the
test image's busybox ``sleep``, a healthcheck every 30 s (all healthy before a level is
measured). Per level:

- ``DockerSource.fetch()`` in this process, timed, with every HTTP request of the
  docker SDK counted (``tui_probe.count_docker_calls`` wraps ``APIClient.send``):
  the first refresh of a new source (connect, version, list, one inspect per
  container), then ``--refreshes`` rounds of three, interleaved: a steady refresh
  (cached inspects reused), one when every cached inspect has aged past
  ``INSPECT_MAX_AGE`` (30 s; the source's ``INSPECT_MAX_AGE`` set to 0 on this instance
  for that refresh, so the bench need not wait: the source renews the
  ``REINSPECT_PER_FETCH`` oldest), and one after ``invalidate()`` (every cached inspect
  forgotten: the worst case, one inspect per container);
- the whole TUI containers loop: the real program in an 80x24 pty through
  ``tui_probe.py`` (the probes time, for each containers loop, the worker's
  ``Backend.containers()``, the app applying the snapshot to the store and the
  dashboard, and the first pty read after it; and count the Docker calls the worker
  made), for ``--tui-seconds`` (default 40) after the containers pane shows its rows; the first
  loop and the later ones (timer or Docker events) apart.

    .venv/bin/python bench/bench_scale.py [--levels 10,100,300] [--refreshes 10]
        [--tui-seconds 40]

Prints the tables and writes ``bench/results/scale.json``. Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docker.errors
import pyte
from pty_screen import (
    ROOT,
    PtyProcess,
    machine_info,
    machine_lines,
    median,
    pane_states,
)
from stack_fixtures import BenchStack, add_stack_options, run_bench, write_results
from tui_probe import count_docker_calls, path_kind, read_probe_file

from magflow_console.sources.docker import DockerSource
from tests.support.docker_engine import SECOND_NS, compose_labels, healthcheck

PROBE = str(Path(__file__).resolve().parent / "tui_probe.py")
REPLICA_SERVICE = "worker"


# --------------------------------------------------------------------------- containers


def replica_name(stack: BenchStack, n: int) -> str:
    return f"{stack.stack.prefix}{REPLICA_SERVICE}_{n}"


def start_replicas(stack: BenchStack, numbers: range) -> list[Any]:
    client = stack.engine.client
    check = {**healthcheck("true"), "interval": 30 * SECOND_NS}

    def one(n: int) -> Any:
        name = replica_name(stack, n)
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True)
        labels = {
            **compose_labels(stack.stack.project, REPLICA_SERVICE),
            "com.docker.compose.container-number": str(n),
        }
        return client.containers.run(
            stack.stack.image,
            ["sleep", "2147483647"],
            name=name,
            detach=True,
            init=True,
            network_mode="none",
            labels=labels,
            healthcheck=check,
        )

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, numbers))


def wait_healthy(containers: list[Any], timeout: float = 90.0) -> float:
    started = time.monotonic()
    pending = list(containers)
    while pending and time.monotonic() - started < timeout:
        time.sleep(1.0)
        still = []
        for c in pending:
            c.reload()
            if (c.attrs["State"].get("Health") or {}).get("Status") != "healthy":
                still.append(c)
        pending = still
    if pending:
        raise RuntimeError(f"{len(pending)} replicas not healthy within {timeout:.0f} s")
    return time.monotonic() - started


def remove(containers: list[Any]) -> None:
    def one(c: Any) -> None:
        with contextlib.suppress(docker.errors.APIError):
            c.remove(force=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, containers))


# --------------------------------------------------------------------------- fetch()


def measure_fetch(stack: BenchStack, refreshes: int) -> dict[str, Any]:
    calls: list[dict[str, Any]] = []
    undo = count_docker_calls(calls.append)
    env = stack.env
    source = DockerSource(
        stack.docker_url,
        project=env["MAGFLOW_CONSOLE_DOCKER__PROJECT"],
        prefix=env["MAGFLOW_CONSOLE_DOCKER__PREFIX"],
        service_map=stack.stack.names,
    )

    def timed() -> tuple[float, Counter[str], int]:
        calls.clear()
        t0 = time.perf_counter()
        snap = source.fetch()
        elapsed = time.perf_counter() - t0
        if snap.state != "ok":
            raise RuntimeError(f"fetch: {snap.error}")
        return elapsed, Counter(path_kind(c["path"]) for c in calls), len(snap.items)

    if not hasattr(DockerSource, "INSPECT_MAX_AGE"):
        raise RuntimeError("DockerSource.INSPECT_MAX_AGE is gone: the aged refresh needs it")
    try:
        first, first_calls, items = timed()
        steady: list[tuple[float, Counter[str], int]] = []
        aged: list[tuple[float, Counter[str], int]] = []
        forgotten: list[tuple[float, Counter[str], int]] = []
        for _ in range(refreshes):
            steady.append(timed())
            source.INSPECT_MAX_AGE = 0.0  # every cached inspect is past its age
            try:
                aged.append(timed())
            finally:
                del source.INSPECT_MAX_AGE
            source.invalidate()
            forgotten.append(timed())
    finally:
        undo()
        source.close()

    def summary(runs: list[tuple[float, Counter[str], int]]) -> dict[str, Any]:
        totals = [sum(c.values()) for _, c, _ in runs]
        return {
            "median_s": median([s for s, _, _ in runs]),
            "min_s": min(s for s, _, _ in runs),
            "max_s": max(s for s, _, _ in runs),
            "calls_median": median(totals),
            "calls_max": max(totals),
            "calls_by_kind_last": dict(runs[-1][1]),
        }

    return {
        "containers_in_snapshot": items,
        "first_s": first,
        "first_calls": sum(first_calls.values()),
        "first_calls_by_kind": dict(first_calls),
        "steady": summary(steady),
        "aged": summary(aged),
        "forgotten": summary(forgotten),
        "inspect_max_age_s": DockerSource.INSPECT_MAX_AGE,
        "reinspect_per_fetch": getattr(DockerSource, "REINSPECT_PER_FETCH", None),
    }


# --------------------------------------------------------------------------- TUI loop


def containers_shown(screen: pyte.Screen, t: float = 0.0) -> bool:
    """The containers pane shows its rows and no pane is still loading. Not
    ``dashboard_complete``: with ten containers and more the containers pane takes the
    rows of the migrations pane at 80x24, which is then drawn without a body."""
    states = pane_states(screen.display)
    return states["containers"] == "data" and "loading" not in states.values()


def measure_tui(stack: BenchStack, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mfc-probe-") as tmp:
        probe_file = Path(tmp) / "probe.jsonl"
        env = dict(stack.env, BENCH_PROBE_FILE=str(probe_file))
        argv = stack.console(launcher=[sys.executable, PROBE])
        with PtyProcess(argv, cols=80, rows=24, env=env, cwd=ROOT) as proc:
            if proc.wait_for(containers_shown, 120) is None:
                raise RuntimeError("containers not shown within 120 s:\n" + "\n".join(proc.lines()))
            time.sleep(seconds)
            chunks = list(proc.chunks)
            started = proc.started
        events = read_probe_file(probe_file)
    reads = [started + c.t for c in chunks]
    starts = sorted(e["t"] for e in events if e["ev"] == "loop_start" and e["loop"] == "containers")
    fetches = sorted(
        (e for e in events if e["ev"] == "fetch" and e["source"] == "containers"),
        key=lambda e: e["t0"],
    )
    applied = sorted(
        (e for e in events if e["ev"] == "applied" and e["source"] == "containers"),
        key=lambda e: e["t0"],
    )
    flushes = [e["t"] for e in events if e["ev"] == "events_flush"]
    calls = [e for e in events if e["ev"] == "docker_call"]
    loops = []
    for i, f in enumerate(fetches):
        start = max((s for s in starts if s <= f["t0"]), default=f["t0"])
        done = next((a for a in applied if a["t0"] >= f["t1"]), None)
        if done is None:
            continue
        drawn = next((r for r in reads if r >= done["t1"]), None)
        mine = [c for c in calls if f["t0"] <= c["t"] <= f["t1"] and c["thread"] == f["thread"]]
        by_event = any(abs(start - x) < 0.05 for x in flushes)
        loops.append(
            {
                "index": i,
                "trigger": "first" if i == 0 else ("events" if by_event else "timer"),
                "fetch_s": f["t1"] - f["t0"],
                "queue_s": done["t0"] - f["t1"],
                "apply_s": done["t1"] - done["t0"],
                "loop_s": done["t1"] - start,
                "to_screen_s": (drawn - start) if drawn is not None and drawn - done["t1"] < 1 else None,
                "calls": len(mine),
                "calls_by_kind": dict(Counter(path_kind(c["path"]) for c in mine)),
            }
        )  # fmt: skip
    later = loops[1:]

    def med(key: str, rows: list[dict[str, Any]]) -> float:
        return median([r[key] for r in rows if r[key] is not None])

    return {
        "loops": loops,
        "first": loops[0] if loops else None,
        "later_count": len(later),
        "later_triggers": dict(Counter(r["trigger"] for r in later)),
        "later_median": {k: med(k, later) for k in ("fetch_s", "apply_s", "loop_s", "to_screen_s", "calls")}
        if later else None,
        "later_max": {k: max((r[k] for r in later if r[k] is not None), default=None)
                      for k in ("fetch_s", "apply_s", "loop_s", "calls")} if later else None,
        "other_threads_calls": dict(Counter(
            f"{c['method']} {path_kind(c['path'])}" for c in calls
            if not any(f["t0"] <= c["t"] <= f["t1"] and c["thread"] == f["thread"] for f in fetches)
        )),
    }  # fmt: skip


# --------------------------------------------------------------------------- report


def print_level(n: int, r: dict[str, Any]) -> None:
    f = r["fetch"]
    print(f"\n## {n} stack-labelled containers ({f['containers_in_snapshot']} in the snapshot)")
    print("DockerSource.fetch() in-process:")
    print(
        f"  first (new source)           {f['first_s'] * 1000:8.1f} ms  "
        f"{f['first_calls']:4} API calls {f['first_calls_by_kind']}"
    )
    for label, key in (
        ("steady (inspects cached)", "steady"),
        ("inspects aged", "aged"),
        ("all inspects forgotten", "forgotten"),
    ):
        s = f[key]
        print(
            f"  {label:28} {s['median_s'] * 1000:8.1f} ms  "
            f"{s['calls_median']:4.0f} API calls (median; {s['min_s'] * 1000:.1f}-"
            f"{s['max_s'] * 1000:.1f} ms, max {s['calls_max']} calls) {s['calls_by_kind_last']}"
        )
    t = r["tui"]
    print("TUI containers loop (80x24 pty, probes):")
    if t["first"]:
        x = t["first"]
        print(
            f"  first   loop {x['loop_s'] * 1000:7.1f} ms = fetch {x['fetch_s'] * 1000:7.1f} + "
            f"apply {x['apply_s'] * 1000:6.1f} ms; on screen after "
            f"{(x['to_screen_s'] or float('nan')) * 1000:7.1f} ms; {x['calls']} API calls"
        )
    if t["later_median"]:
        m, mx = t["later_median"], t["later_max"]
        print(
            f"  later   loop {m['loop_s'] * 1000:7.1f} ms = fetch {m['fetch_s'] * 1000:7.1f} + "
            f"apply {m['apply_s'] * 1000:6.1f} ms (medians of {t['later_count']} loops: "
            f"{t['later_triggers']}); {m['calls']:.0f} API calls median, max {mx['calls']}; "
            f"max loop {mx['loop_s'] * 1000:.1f} ms"
        )
    print(f"  calls outside the containers worker: {t['other_threads_calls']}")


def test_bench_scale(bench_stack: BenchStack, bench_options: argparse.Namespace) -> None:
    opts = bench_options
    levels = sorted(int(x) for x in opts.levels.split(","))
    info = machine_info()
    print("\n# Containers refresh at scale\n" + "\n".join(machine_lines(info)))
    print(f"stack: {bench_stack.describe()}")
    base = len(bench_stack.stack.names)
    replicas: list[Any] = []
    out: dict[str, Any] = {
        "machine": info,
        "stack": bench_stack.describe(),
        "options": {k: str(v) for k, v in vars(opts).items()},
        "levels": {},
    }
    try:
        for n in levels:
            have = base + len(replicas)
            if n > have:
                t0 = time.monotonic()
                made = start_replicas(bench_stack, range(len(replicas) + 2, n - base + 2))
                replicas += made
                waited = wait_healthy(made)
                print(
                    f"\nstarted {len(made)} replicas in {time.monotonic() - t0 - waited:.1f} s, "
                    f"healthy after {waited:.1f} s more",
                    flush=True,
                )
            result = {
                "fetch": measure_fetch(bench_stack, opts.refreshes),
                "tui": measure_tui(bench_stack, opts.tui_seconds),
            }
            out["levels"][n] = result
            print_level(n, result)
    finally:
        remove(replicas)
    out["loadavg_at_end"] = os.getloadavg()
    print("\nload average at the end: " + " ".join(f"{x:.2f}" for x in out["loadavg_at_end"]))
    path = write_results("scale", out)
    print(f"\nwritten: {path.relative_to(ROOT)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--levels", default="10,100,300", help="containers in all (default 10,100,300)")
    p.add_argument("--refreshes", type=int, default=10, help="steady/expired fetches each")
    p.add_argument("--tui-seconds", type=float, default=40.0, help="TUI run after complete")
    add_stack_options(p)
    sys.exit(run_bench(__file__, p.parse_args()))


if __name__ == "__main__":
    main()
