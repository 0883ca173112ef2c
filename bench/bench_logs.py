"""The container detail following a log under load: keystroke latency and memory.

A stack container (compose labels of the stack's project, service ``loadgen``, the test
image's busybox ``awk``) writes ``--rate`` (default 5,000) lines a second, in 20 batches
a second paced by ``/proc/uptime``, each line like MagFlow's request log, numbered (``#L<n>``) after its time stamp.
The real program runs in an 80x24 pty against the test stack (``stack_fixtures``) and
is driven as a user would: ``/`` filter, ``loadgen``, enter (back to the containers
table), enter (the container detail, which follows the log).

Once the detail has shown load lines for ``--settle`` seconds, for ``--seconds``
(default 60):
- keystroke latency: ``--keys`` (default 50) presses of ``t`` (the log view's timestamp
  toggle), one every ~1.2 s; each one's latency is from the write to the pty to the
  read after which the emulated screen shows its effect (the status line says
  ``no timestamps``, or no longer does); median and p95;
- the TUI process's RSS (/proc/<pid>/status VmRSS) every second: start, end, max, and
  the slope of a least-squares line (bounded or growing);
- its CPU (utime+stime), the bytes/s it writes, and how far the screen lags behind the
  log (the newest line number on screen against the container's newest, read right
  after through the Docker API), every 10 s.

    .venv/bin/python bench/bench_logs.py [--seconds 60] [--keys 50] [--rate 5000]

Prints the figures and writes ``bench/results/logs.json``. Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docker.errors
import pyte
from pty_screen import (
    ROOT,
    PtyProcess,
    dashboard_complete,
    machine_info,
    machine_lines,
    median,
    percentile,
    proc_cpu_seconds,
    proc_rss_bytes,
)
from stack_fixtures import BenchStack, add_stack_options, run_bench, write_results

from tests.support.docker_engine import compose_labels

SERVICE = "loadgen"
MARK = "#L"  # right after the line's own time stamp: visible at 80 columns
#: busybox awk: RATE/20 numbered lines every 1/20 s, paced by /proc/uptime
GENERATOR = """BEGIN {
    per = RATE / 20; n = 0; k = 0
    getline up < "/proc/uptime"; close("/proc/uptime"); split(up, a, " "); t0 = a[1]
    while (1) {
        stamp = strftime("%Y-%m-%d %H:%M:%S")
        for (i = 0; i < per; i++) {
            n++
            printf "%s,%03d MARK%d - app.middleware.logging - INFO - GET /api/v1/emag/products?page=%d 200\\n", stamp, n % 1000, n, n % 97
        }
        fflush()
        k++
        getline up < "/proc/uptime"; close("/proc/uptime"); split(up, a, " ")
        d = t0 + k / 20 - a[1]
        if (d > 0) system("sleep " d)
    }
}"""
_NUMBER = re.compile(re.escape(MARK) + r"(\d+)")


def start_generator(stack: BenchStack, rate: int) -> Any:
    client = stack.engine.client
    name = f"{stack.stack.prefix}{SERVICE}"
    with contextlib.suppress(docker.errors.NotFound):
        client.containers.get(name).remove(force=True)
    program = GENERATOR.replace("RATE", str(rate)).replace("MARK", MARK)
    return client.containers.run(
        stack.stack.image,
        ["awk", program],
        name=name,
        detach=True,
        init=True,
        network_mode="none",
        labels=compose_labels(stack.stack.project, SERVICE),
    )


def newest_on_screen(screen: pyte.Screen) -> int | None:
    found = [int(m.group(1)) for line in screen.display for m in _NUMBER.finditer(line)]
    return max(found) if found else None


def newest_written(container: Any) -> int | None:
    tail = container.logs(tail=1).decode(errors="replace")
    found = _NUMBER.findall(tail)
    return int(found[-1]) if found else None


def open_detail(proc: PtyProcess, name: str) -> float:
    """Dashboard -> filter -> container detail, as a user types it; returns the time
    the detail first showed load lines."""

    def step(keys: bytes, cond: Any, what: str, timeout: float = 30.0) -> float:
        proc.send(keys)
        at = proc.wait_for(cond, timeout)
        if at is None:
            raise RuntimeError(f"{what}: not seen within {timeout} s:\n" + "\n".join(proc.lines()))
        return at

    if proc.wait_for(dashboard_complete, 90) is None:
        raise RuntimeError("the dashboard was not complete within 90 s")
    step(b"/", lambda s, t: "filter containers" in "\n".join(s.display), "filter input")
    # the pane shows the service cut to 6 columns ("loadg…"): the filter matches shown text
    typed = SERVICE[:5]
    step(typed.encode(), lambda s, t: f"  {typed}" in "\n".join(s.display[-4:]), "filter typed")
    time.sleep(0.5)
    proc.send(b"\r")  # the filter stays, the containers table (one row) takes the focus
    time.sleep(0.5)
    return step(
        b"\r",
        lambda s, t: f"Container {name}" in s.display[0] and MARK in "\n".join(s.display),
        "container detail with load lines",
    )


def rss_sampler(pid: int, stop: threading.Event, out: list[tuple[float, int]]) -> None:
    t0 = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(OSError):
            out.append((time.monotonic() - t0, proc_rss_bytes(pid)))
        stop.wait(1.0)


def slope_mib_per_min(samples: list[tuple[float, int]]) -> float:
    if len(samples) < 2:
        return float("nan")
    xs = [t for t, _ in samples]
    ys = [b / 2**20 for _, b in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def test_bench_logs(bench_stack: BenchStack, bench_options: argparse.Namespace) -> None:
    opts = bench_options
    info = machine_info()
    print("\n# Logs under load benchmark\n" + "\n".join(machine_lines(info)))
    print(f"stack: {bench_stack.describe()}; plus {SERVICE} writing {opts.rate:,} lines/s")
    container = start_generator(bench_stack, opts.rate)
    name = container.name
    latencies: list[float] = []
    missed = 0
    lag: list[dict[str, Any]] = []
    rss: list[tuple[float, int]] = []
    try:
        with PtyProcess(
            bench_stack.console(), cols=80, rows=24, env=bench_stack.env, cwd=ROOT
        ) as proc:
            shown_at = open_detail(proc, name)
            time.sleep(opts.settle)
            stop = threading.Event()
            sampler = threading.Thread(target=rss_sampler, args=(proc.pid, stop, rss))
            start, cpu0 = proc.now(), proc_cpu_seconds(proc.pid)
            written0 = newest_written(container)
            sampler.start()
            gap = opts.seconds / opts.keys
            next_lag = start
            for _ in range(opts.keys):
                plain = "no timestamps" in "\n".join(proc.lines())
                sent = proc.send(b"t")
                seen = proc.wait_for(
                    lambda s, t, want=not plain: ("no timestamps" in "\n".join(s.display)) == want,
                    timeout=10.0,
                )
                if seen is None:
                    missed += 1
                else:
                    latencies.append(seen - sent)
                if proc.now() >= next_lag:
                    on_screen = newest_on_screen(proc.screen)
                    written = newest_written(container)
                    lag.append({"t": proc.now() - start, "screen": on_screen, "log": written})
                    next_lag += 10.0
                time.sleep(max(0.0, start + gap * (len(latencies) + missed) - proc.now()))
                time.sleep(random.uniform(0.0, 0.2))
            remaining = start + opts.seconds - proc.now()
            if remaining > 0:
                time.sleep(remaining)
            end, cpu1 = proc.now(), proc_cpu_seconds(proc.pid)
            written1 = newest_written(container)
            stop.set()
            sampler.join()
            out_bytes = proc.bytes_between(start, end)
            screen = proc.lines()
            proc.send(b"\x1b")  # back to the dashboard; close() then quits with q
            time.sleep(0.5)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    duration = end - start
    rss_mib = [b / 2**20 for _, b in rss]
    result = {
        "machine": info,
        "stack": bench_stack.describe(),
        "options": {k: str(v) for k, v in vars(opts).items()},
        "detail_shown_s": shown_at,
        "window_s": duration,
        "log_rate_lines_per_s": ((written1 or 0) - (written0 or 0)) / duration,
        "keys": len(latencies) + missed,
        "keys_missed": missed,
        "latency_ms": [x * 1000 for x in latencies],
        "latency_median_ms": median(latencies) * 1000,
        "latency_p95_ms": percentile(latencies, 95) * 1000,
        "latency_max_ms": max(latencies) * 1000 if latencies else None,
        "rss_mib": rss_mib,
        "rss_start_mib": rss_mib[0] if rss_mib else None,
        "rss_end_mib": rss_mib[-1] if rss_mib else None,
        "rss_max_mib": max(rss_mib) if rss_mib else None,
        "rss_slope_mib_per_min": slope_mib_per_min(rss),
        "rss_slope_second_half_mib_per_min": slope_mib_per_min(rss[len(rss) // 2 :]),
        "cpu_percent_of_core": (cpu1 - cpu0) / duration * 100,
        "output_bytes_per_s": out_bytes / duration,
        "lag": lag,
        "screen": screen,
    }
    result["loadavg_at_end"] = os.getloadavg()
    print_result(result)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in result["loadavg_at_end"]))
    path = write_results("logs", result)
    print(f"\nwritten: {path.relative_to(ROOT)}")


def print_result(r: dict[str, Any]) -> None:
    print(
        f"\nwindow {r['window_s']:.1f} s; the container wrote {r['log_rate_lines_per_s']:,.0f} lines/s"
    )
    print(
        f"keystroke latency ({r['keys']} presses of 't', {r['keys_missed']} not seen in 10 s): "
        f"median {r['latency_median_ms']:.0f} ms, p95 {r['latency_p95_ms']:.0f} ms, "
        f"max {r['latency_max_ms']:.0f} ms"
    )
    print(
        f"RSS {r['rss_start_mib']:.1f} -> {r['rss_end_mib']:.1f} MiB (max {r['rss_max_mib']:.1f}), "
        f"slope {r['rss_slope_mib_per_min']:+.2f} MiB/min over {len(r['rss_mib'])} samples, "
        f"{r['rss_slope_second_half_mib_per_min']:+.2f} MiB/min over the second half"
    )
    print("RSS every 10 s (MiB): " + ", ".join(f"{x:.1f}" for x in r["rss_mib"][::10]))
    print(
        f"TUI CPU {r['cpu_percent_of_core']:.0f} % of a core; "
        f"output {r['output_bytes_per_s']:,.0f} B/s"
    )
    for x in r["lag"]:
        behind = (
            f"{x['log'] - x['screen']:,} lines behind"
            if x["screen"] is not None and x["log"] is not None
            else "no line number on screen"
        )
        print(
            f"  at {x['t']:5.1f} s: screen newest #{x['screen']}, log newest #{x['log']}: {behind}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="measured window (default 60)")
    p.add_argument("--keys", type=int, default=50, help="key presses (default 50)")
    p.add_argument("--rate", type=int, default=5000, help="log lines per second (default 5000)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds following before")
    add_stack_options(p)
    sys.exit(run_bench(__file__, p.parse_args()))


if __name__ == "__main__":
    main()
