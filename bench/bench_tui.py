"""The TUI over a slow link: idle output, first complete dashboard, idle CPU, idle redraws.

Runs the real program as users do (``magflow-console --db-url ... --docker-host ...
--api-url ... --scripts ...``) in a pseudo-terminal of a chosen size (``TERM=xterm-256color``)
and reads every byte it writes (``pty_screen.PtyProcess``), against the stack the tests
use (``stack_fixtures``: seeded PostgreSQL, the stack-like containers on a real Docker
engine, the fake MagFlow API). Nothing here asserts a timing.

1. Idle output: once the dashboard is complete and ``--settle`` seconds have passed,
   the bytes the pty receives over ``--seconds`` (default 60) with the default refresh
   (5 s), per size (``--size``, default 80x24 and 200x50). Targets: <= 300 B/s at 80x24,
   <= 1,500 B/s at 200x50.
2. First complete dashboard: from just before the process is started to the read after
   which every pane shows its data or its error on the emulated screen (``pyte``), never
   a ``loading…`` placeholder; side by side with a cold ``magflow-console status
   --json`` on the same stack, ``--runs`` interleaved pairs (the order alternates),
   after one warm-up of each. Target: median ratio <= 1.2x.
3. Idle CPU: utime+stime of the TUI process (/proc/<pid>/stat) over the same window.
   Target: <= 1 % of a core.
4. What is redrawn while idle: the window's output replayed through ``pyte``, cut into
   update bursts (reads less than 15 ms apart) and into pieces at each absolute cursor
   move (Textual writes every changed span as ``CSI row;col H`` + text); per screen row
   and the pane owning the written columns: how many bursts rewrote it, bytes, and
   whether its cells (characters and colours) or only its characters actually changed.

    .venv/bin/python bench/bench_tui.py [--seconds 60] [--size 80x24 --size 200x50]
        [--runs 11] [--settle 10] [--db demo|big] [--skip-first] [--skip-idle]

Prints the tables and writes ``bench/results/tui.json`` (and the raw idle output,
``bench/results/tui-idle-<size>.jsonl``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyte
from pty_screen import (
    LOADING,
    RESULTS,
    ROOT,
    Chunk,
    PtyProcess,
    bursts,
    find_panes,
    machine_info,
    machine_lines,
    median,
    pane_states,
    pieces,
    proc_cpu_seconds,
    proc_rss_bytes,
    row_cells,
    row_owner,
)
from stack_fixtures import BenchStack, add_stack_options, run_bench, write_results

TARGET_BPS = {(80, 24): 300, (200, 50): 1500}
TARGET_CPU_PERCENT = 1.0
TARGET_RATIO = 1.2
REFRESH_SECONDS = 5.0  # the default refresh_interval (config.example.toml)


def parse_size(text: str) -> tuple[int, int]:
    cols, _, rows = text.lower().partition("x")
    return int(cols), int(rows)


# --------------------------------------------------------------------------- item 2


#: ``--launcher``: a command that runs the console's CLI in place of the console script
#: (e.g. ``python bench/tui_probe.py``, or a patched copy to try a fix from outside)
LAUNCHER: list[str] | None = None


def tui_argv(stack: BenchStack) -> list[str]:
    return stack.console(launcher=LAUNCHER)


class FirstFrames:
    """Watches the screen from the spawn: when each pane first showed data or an error,
    when the header first showed a verdict, and when every pane did."""

    def __init__(self) -> None:
        self.pane_at: dict[str, float] = {}
        self.pane_state: dict[str, str] = {}
        self.dashboard_at: float | None = None  # all four panes drawn (loading or not)
        self.verdict_at: float | None = None

    def __call__(self, screen: pyte.Screen, t: float) -> bool:
        lines = screen.display
        states = pane_states(lines)
        if self.dashboard_at is None and all(s != "absent" for s in states.values()):
            self.dashboard_at = t
        for name, state in states.items():
            if state in ("data", "error") and name not in self.pane_at:
                self.pane_at[name] = t
                self.pane_state[name] = state
        if self.verdict_at is None and "●" in lines[0] and "checking" not in lines[0]:
            self.verdict_at = t
        return all(s in ("data", "error") for s in states.values())


def tui_first_complete(stack: BenchStack, cols: int, rows: int) -> dict[str, Any]:
    frames = FirstFrames()
    with PtyProcess(tui_argv(stack), cols=cols, rows=rows, env=stack.env, cwd=ROOT) as proc:
        complete = proc.wait_for(frames, timeout=90)
        lines = proc.lines()
        first_byte = proc.chunks[0].t if proc.chunks else None
    if complete is None:
        raise RuntimeError("the dashboard was not complete within 90 s:\n" + "\n".join(lines))
    return {
        "complete_s": complete,
        "first_byte_s": first_byte,
        "dashboard_drawn_s": frames.dashboard_at,
        "header_verdict_s": frames.verdict_at,
        "pane_s": frames.pane_at,
        "pane_state": frames.pane_state,
        "screen": lines,
    }


def status_cold(stack: BenchStack) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        stack.console("status", "--json"), env=stack.env, cwd=ROOT, capture_output=True
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"status --json exited {proc.returncode}: {proc.stderr[-400:]!r}")
    doc = json.loads(proc.stdout)
    states = {k: doc[k]["state"] for k in ("containers", "database", "migrations", "sync", "api")}
    return {"seconds": elapsed, "exit": proc.returncode, "states": states}


def measure_first(stack: BenchStack, runs: int, size: tuple[int, int]) -> dict[str, Any]:
    cols, rows = size
    tui_first_complete(stack, cols, rows)  # warm-up: page cache, bytecode
    status_cold(stack)
    tui: list[dict[str, Any]] = []
    status: list[dict[str, Any]] = []
    for i in range(runs):
        if i % 2 == 0:
            tui.append(tui_first_complete(stack, cols, rows))
            status.append(status_cold(stack))
        else:
            status.append(status_cold(stack))
            tui.append(tui_first_complete(stack, cols, rows))
        print(
            f"  run {i + 1}/{runs}: TUI complete {tui[-1]['complete_s']:.3f} s, "
            f"status --json {status[-1]['seconds']:.3f} s",
            flush=True,
        )
    t_med = median([r["complete_s"] for r in tui])
    s_med = median([r["seconds"] for r in status])
    last_pane: dict[str, int] = defaultdict(int)
    for r in tui:
        last_pane[max(r["pane_s"], key=r["pane_s"].get)] += 1
    return {
        "size": f"{cols}x{rows}",
        "runs": runs,
        "tui_complete_s": [r["complete_s"] for r in tui],
        "tui_first_byte_s": [r["first_byte_s"] for r in tui],
        "tui_dashboard_drawn_s": [r["dashboard_drawn_s"] for r in tui],
        "tui_header_verdict_s": [r["header_verdict_s"] for r in tui],
        "tui_pane_s": {p: [r["pane_s"].get(p) for r in tui] for p in tui[0]["pane_s"]},
        "tui_pane_state": tui[-1]["pane_state"],
        "last_pane_counts": dict(last_pane),
        "status_s": [r["seconds"] for r in status],
        "status_exit": status[-1]["exit"],
        "status_states": status[-1]["states"],
        "median_tui_s": t_med,
        "median_status_s": s_med,
        "ratio_of_medians": t_med / s_med,
        "median_pair_ratio": median(
            [a["complete_s"] / b["seconds"] for a, b in zip(tui, status, strict=True)]
        ),
        "target_ratio": TARGET_RATIO,
        "final_screen": tui[-1]["screen"],
    }


# --------------------------------------------------------------------------- items 1, 3, 4


def measure_idle(
    stack: BenchStack, size: tuple[int, int], seconds: float, settle: float
) -> dict[str, Any]:
    cols, rows = size
    with PtyProcess(tui_argv(stack), cols=cols, rows=rows, env=stack.env, cwd=ROOT) as proc:
        complete = proc.wait_for(FirstFrames(), timeout=90)
        if complete is None:
            raise RuntimeError("the dashboard was not complete within 90 s")
        time.sleep(settle)
        start, cpu0, rss0 = proc.now(), proc_cpu_seconds(proc.pid), proc_rss_bytes(proc.pid)
        time.sleep(seconds)
        end, cpu1, rss1 = proc.now(), proc_cpu_seconds(proc.pid), proc_rss_bytes(proc.pid)
        chunks = proc.chunks_between(0.0, end)
        screen_at_end = proc.lines()
        spawned = proc.started
    save_capture(chunks, f"tui-idle-{cols}x{rows}")
    window = [c for c in chunks if c.t >= start]
    total = sum(len(c.data) for c in window)
    duration = end - start
    per_refresh = [
        sum(len(c.data) for c in window if start + k * REFRESH_SECONDS <= c.t < start + (k + 1) * REFRESH_SECONDS)
        for k in range(int(duration // REFRESH_SECONDS))
    ]  # fmt: skip
    cpu = cpu1 - cpu0
    return {
        "size": f"{cols}x{rows}",
        "complete_s": complete,
        "spawn_monotonic": spawned,  # chunk times are seconds after this (time.monotonic)
        "window_start_s": start,
        "window_s": duration,
        "bytes": total,
        "bytes_per_s": total / duration,
        "target_bytes_per_s": TARGET_BPS.get(size),
        "bytes_per_5s_slot": per_refresh,
        "cpu_seconds": cpu,
        "cpu_percent_of_core": cpu / duration * 100,
        "target_cpu_percent": TARGET_CPU_PERCENT,
        "rss_start_mib": rss0 / 2**20,
        "rss_end_mib": rss1 / 2**20,
        "redraws": analyse_redraws(chunks, start, end, cols, rows),
        "screen": screen_at_end,
    }


def save_capture(chunks: list[Chunk], name: str) -> None:
    """Everything the pty received, for a closer look: one JSON object a line,
    ``{"t": seconds since the spawn, "hex": bytes}``."""
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("w") as out:
        for c in chunks:
            out.write(json.dumps({"t": round(c.t, 6), "hex": c.data.hex()}) + "\n")


def analyse_redraws(
    chunks: list[Chunk], start: float, end: float, cols: int, rows: int
) -> dict[str, Any]:
    """Replay the output; per (row, owner) what the window's bursts rewrote (see doc)."""
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    for c in chunks:
        if c.t < start:
            stream.feed(c.data)
    panes = find_panes(screen.display)
    stats: dict[tuple[int, str], dict[str, Any]] = {}
    burst_list = []
    unplaced = 0
    for burst in bursts([c for c in chunks if start <= c.t < end]):
        data = b"".join(c.data for c in burst)
        before = [row_cells(screen, r) for r in range(rows)]
        stream.feed(data)
        found, head = pieces(data)
        unplaced += head
        spans: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        nbytes: dict[tuple[int, str], int] = defaultdict(int)
        for p in found:
            last = min(cols - 1, p.col + max(p.width, 1) - 1)
            owner = row_owner(panes, rows, p.row, p.col, last) if 0 <= p.row < rows else "off"
            nbytes[(p.row, owner)] += p.nbytes
            if p.width > 0:
                spans[(p.row, owner)].append((p.col, last))
        changed_rows = 0
        for key, n in nbytes.items():
            row, owner = key
            s = stats.setdefault(
                key,
                {"row": row + 1, "owner": owner, "rewrites": 0, "bytes": 0, "cells_changed": 0,
                 "text_changed": 0, "times": [], "cols": [cols, -1]},
            )  # fmt: skip
            s["bytes"] += n
            if key not in spans or not 0 <= row < rows:
                continue
            after = row_cells(screen, row)
            cells_changed = text_changed = False
            for lo, hi in spans[key]:
                s["cols"] = [min(s["cols"][0], lo + 1), max(s["cols"][1], hi + 1)]
                old, new = before[row][lo : hi + 1], after[lo : hi + 1]
                cells_changed |= old != new
                text_changed |= [x[0] for x in old] != [x[0] for x in new]
            s["rewrites"] += 1
            s["times"].append(round(burst[0].t, 3))
            s["cells_changed"] += cells_changed
            s["text_changed"] += text_changed
            changed_rows += cells_changed
        burst_list.append(
            {
                "t": round(burst[0].t, 3),
                "bytes": len(data),
                "rows_written": len(spans),
                "rows_changed": changed_rows,
                "owners": sorted({o for _, o in spans}),
            }
        )
    final = screen.display
    rows_out = []
    for (row, _owner), s in sorted(stats.items()):
        times = s.pop("times")
        waves = clusters(times)
        gaps = [b - a for a, b in itertools.pairwise(waves)]
        lo, hi = s["cols"]
        s["waves"] = len(waves)
        s["interval_s"] = median(gaps) if gaps else None
        s["bytes_per_rewrite"] = s["bytes"] / s["rewrites"] if s["rewrites"] else None
        s["text_now"] = final[row][lo - 1 : hi].rstrip() if 0 <= row < rows and hi > 0 else ""
        s["first_rewrite_s"] = times[0] if times else None
        rows_out.append(s)
    return {
        "panes": {k: vars(v) for k, v in panes.items()},
        "bursts": burst_list,
        "rows": rows_out,
        "bytes_without_row": unplaced,
        "groups": group_rows(rows_out),
    }


def clusters(times: list[float], within: float = 1.0) -> list[float]:
    """Start times of the waves of rewrites: rewrites less than ``within`` seconds
    after the previous one belong to the same wave (one refresh cycle's loops land
    a few hundred milliseconds apart)."""
    waves: list[float] = []
    last = -1e9
    for t in times:
        if t - last > within:
            waves.append(t)
        last = t
    return waves


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neighbouring rows of one owner that were rewritten alike, as one line."""
    groups: list[dict[str, Any]] = []
    for s in sorted(rows, key=lambda s: (s["owner"], s["row"])):
        if not s["rewrites"]:
            continue
        g = groups[-1] if groups else None
        alike = (
            g is not None
            and g["owner"] == s["owner"]
            and g["last_row"] + 1 == s["row"]
            and g["rewrites"] == s["rewrites"]
            and g["cells_changed"] == s["cells_changed"]
        )
        if alike and g is not None:
            g["last_row"] = s["row"]
            g["bytes"] += s["bytes"]
            g["text_changed_rows"] += bool(s["text_changed"])
        else:
            groups.append(
                {
                    "owner": s["owner"],
                    "first_row": s["row"],
                    "last_row": s["row"],
                    "rewrites": s["rewrites"],
                    "waves": s["waves"],
                    "cells_changed": s["cells_changed"],
                    "text_changed_rows": int(bool(s["text_changed"])),
                    "interval_s": s["interval_s"],
                    "bytes": s["bytes"],
                }
            )
    for g in groups:
        g["bytes_per_rewrite"] = g["bytes"] / g["rewrites"]
    return sorted(groups, key=lambda g: -g["bytes"])


# --------------------------------------------------------------------------- report


def print_first(r: dict[str, Any]) -> None:
    print(f"\n## 2. First complete dashboard ({r['size']}, {r['runs']} interleaved pairs)")
    print(f"{'':38}{'median':>9}{'min':>9}{'max':>9}")

    def line(label: str, values: list[float | None]) -> None:
        v = [x for x in values if x is not None]
        if v:
            print(f"{label:38}{median(v):9.3f}{min(v):9.3f}{max(v):9.3f}")

    line("TUI: first byte on the pty (s)", r["tui_first_byte_s"])
    line("TUI: all four panes drawn (s)", r["tui_dashboard_drawn_s"])
    for pane, values in r["tui_pane_s"].items():
        line(f"TUI: {pane} pane data/error (s)", values)
    line("TUI: header shows the verdict (s)", r["tui_header_verdict_s"])
    line("TUI: first complete dashboard (s)", r["tui_complete_s"])
    line("status --json, cold process (s)", r["status_s"])
    print(
        f"ratio of medians TUI/status: {r['ratio_of_medians']:.2f}x "
        f"(median of per-pair ratios {r['median_pair_ratio']:.2f}x; target <= {TARGET_RATIO}x)"
    )
    print(f"pane that completed the dashboard: {r['last_pane_counts']}")
    print(f"panes: {r['tui_pane_state']}; status sections: {r['status_states']}")


def print_idle(r: dict[str, Any]) -> None:
    target = r["target_bytes_per_s"]
    print(f"\n## 1, 3. Idle {r['size']} over {r['window_s']:.1f} s")
    print(
        f"output {r['bytes']:,} B = {r['bytes_per_s']:,.0f} B/s"
        + (f" (target <= {target:,} B/s: {r['bytes_per_s'] / target:.1f}x)" if target else "")
    )
    print("bytes per 5 s slot: " + ", ".join(f"{b:,}" for b in r["bytes_per_5s_slot"]))
    print(
        f"CPU {r['cpu_seconds']:.2f} s = {r['cpu_percent_of_core']:.1f} % of a core "
        f"(target <= {TARGET_CPU_PERCENT} %); RSS {r['rss_start_mib']:.0f} -> "
        f"{r['rss_end_mib']:.0f} MiB"
    )
    red = r["redraws"]
    b = red["bursts"]
    print(f"\n## 4. Redraws while idle ({r['size']}): {len(b)} update bursts")
    print("     " + "\n     ".join(f"{x['t']:8.2f} s {x['bytes']:6,} B  rows written "
          f"{x['rows_written']:3}, changed {x['rows_changed']:3}  {' '.join(x['owners'])}" for x in b))  # fmt: skip
    print(
        f"\n{'rows':>7} {'owner':<22}{'rewrites':>9}{'waves':>6}{'every':>7}{'changed':>9}"
        f"{'B/rewrite':>10}{'B total':>9}"
    )
    for g in red["groups"]:
        rows = f"{g['first_row']}" + (
            f"-{g['last_row']}" if g["last_row"] != g["first_row"] else ""
        )
        every = f"{g['interval_s']:.1f}s" if g["interval_s"] else "-"
        print(
            f"{rows:>7} {g['owner']:<22}{g['rewrites']:>9}{g['waves']:>6}{every:>7}"
            f"{g['cells_changed']:>6}/{g['rewrites']:<2}{g['bytes_per_rewrite']:>10,.0f}"
            f"{g['bytes']:>9,}"
        )
    print(f"bytes outside any row (modes, cursor): {red['bytes_without_row']:,}")
    print(
        "\nper row (1-based; 'changed': bursts in which its written cells differed, "
        "'text': in which its characters did; a wave: rewrites less than 1 s apart)"
    )
    for s in red["rows"]:
        print(
            f"  row {s['row']:>2} {s['owner']:<20} x{s['rewrites']:<3} in {s['waves']:>2} waves, changed "
            f"{s['cells_changed']:>2}, text {s['text_changed']:>2}, "
            f"{s['bytes']:>6,} B, cols {s['cols'][0]}-{s['cols'][1]}: {s['text_now'][:60]!r}"
        )


def test_bench_tui(bench_stack: BenchStack, bench_options: argparse.Namespace) -> None:
    opts = bench_options
    global LAUNCHER
    LAUNCHER = opts.launcher.split() if opts.launcher else None
    info = machine_info()
    sizes = [parse_size(s) for s in (opts.size or ["80x24", "200x50"])]
    out: dict[str, Any] = {
        "machine": info,
        "stack": bench_stack.describe(),
        "command": tui_argv(bench_stack),
        "options": {k: str(v) for k, v in vars(opts).items()},
    }
    print("\n# TUI benchmark\n" + "\n".join(machine_lines(info)))
    print(f"stack: {bench_stack.describe()}")
    if not opts.skip_first:
        print(f"\nfirst complete dashboard, {opts.runs} interleaved pairs:", flush=True)
        out["first_dashboard"] = measure_first(bench_stack, opts.runs, parse_size(opts.first_size))
        print_first(out["first_dashboard"])
    if not opts.skip_idle:
        out["idle"] = []
        for size in sizes:
            print(f"\nidle {size[0]}x{size[1]}: settle {opts.settle} s, measure {opts.seconds} s")
            result = measure_idle(bench_stack, size, opts.seconds, opts.settle)
            out["idle"].append(result)
            print_idle(result)
            if LOADING in "\n".join(result["screen"]):
                print("warning: a pane still showed 'loading…' at the end")
    out["loadavg_at_end"] = os.getloadavg()
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in out["loadavg_at_end"]))
    path = write_results("tui", out)
    print(f"\nwritten: {path.relative_to(ROOT)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="idle window (default 60)")
    p.add_argument("--size", action="append", help="COLSxROWS, repeatable (80x24, 200x50)")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after complete")
    p.add_argument("--runs", type=int, default=11, help="interleaved TUI/status pairs")
    p.add_argument("--first-size", default="80x24", help="pty size for item 2")
    p.add_argument("--skip-first", action="store_true", help="skip item 2")
    p.add_argument("--skip-idle", action="store_true", help="skip items 1, 3 and 4")
    p.add_argument(
        "--launcher",
        help="run the TUI as LAUNCHER [global options] instead of the magflow-console script "
        "(e.g. '.venv/bin/python bench/tui_probe.py'); the status runs are not affected",
    )
    add_stack_options(p)
    sys.exit(run_bench(__file__, p.parse_args()))


if __name__ == "__main__":
    main()
