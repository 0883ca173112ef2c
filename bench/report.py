"""Build ``BENCHMARKS.md`` from the benchmarks' results (``bench/results/*.json``).

    .venv/bin/python bench/report.py [--no-record] [--out BENCHMARKS.md]

Reads ``run.json`` (written by ``run_all.py``: which benches ran, failed or were left
out) and each bench's results, and writes:

- a summary table, one line per figure of issue "Fast over SSH": value, target, ratio
  (where the target is a ratio measured in the same run), met;
- what changed since the last report: the figures of the previous report are kept in
  ``bench/last-report.json``; each is shown old -> new, then the file is overwritten with
  this report's figures (not with ``--no-record``, e.g. a ``--quick`` run). Building the
  report again from the same run compares with the same previous report;
- one section per figure: how it was measured, the numbers, the machine (nproc, CPU
  model, Python, load average); where a target is missed, the profile the bench gives
  (``python -X importtime`` for ``status --json``, the pane timeline of the first frame,
  the rows redrawn while idle, the query plans, the keystroke latencies) and what was
  tried, from ``bench/tried.toml``.

Nothing here runs a benchmark or asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LAST = BENCH / "last-report.json"
TRIED = BENCH / "tried.toml"
OUT = ROOT / "BENCHMARKS.md"

#: the second-half RSS slope under which the log follower's memory reads as bounded
RSS_SLOPE_BOUNDED_MIB_PER_MIN = 1.0
LATENCY_P95_TARGET_MS = 100.0


@dataclass
class Figure:
    key: str  # stable id, the key in bench/last-report.json
    family: str  # the key in bench/tried.toml
    number: str  # the numbering
    label: str
    text: str  # the value as shown
    target: str
    value: float | None = None  # the headline number (unit below)
    unit: str = ""
    ratio: float | None = None  # when the target is a ratio measured in the same run
    met: bool | None = None  # None: no target, or no result
    state: str = "ok"  # ok / failed / not run
    anchor: str = ""

    def met_text(self) -> str:
        if self.state != "ok":
            return f"**{self.state}**"
        if self.met is None:
            return "no target"
        return "yes" if self.met else "**no**"

    def record(self) -> dict[str, Any]:
        keep = ("label", "text", "value", "unit", "ratio", "met", "state")
        return {k: v for k, v in asdict(self).items() if k in keep}


@dataclass
class Section:
    anchor: str
    title: str
    lines: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def secs(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def ms(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f} ms"


def load_text(values: Any) -> str:
    return " ".join(f"{v:.2f}" for v in values) if values else "?"


def machine_text(data: dict[str, Any]) -> str:
    m = data.get("machine") or {}
    return (
        f"Machine: nproc {m.get('nproc', '?')}, {m.get('cpu_model', '?')}, "
        f"{m.get('memory_gib', '?')} GiB, Linux {m.get('kernel', '?')}, "
        f"Python {m.get('python', '?')}, textual {m.get('textual', '?')}; "
        f"run {m.get('date_utc', '?')}; load average (1, 5, 15 min) "
        f"{load_text(m.get('loadavg_at_start'))} at the start, "
        f"{load_text(data.get('loadavg_at_end'))} at the end."
    )


def calls(n: float) -> str:
    return f"{n:.0f} API call" + ("" if round(n) == 1 else "s")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def stat_row(label: str, values: list[float | None], fmt: Callable[[float], str]) -> list[str]:
    v = [x for x in values if x is not None]
    if not v:
        return [label, "-", "-", "-"]
    return [label, fmt(statistics.median(v)), fmt(min(v)), fmt(max(v))]


def bench_failure(run: dict[str, Any], name: str) -> tuple[str, list[str]]:
    """(state, lines) for a bench whose results are missing."""
    entry = next((b for b in run.get("benches", []) if b.get("name") == name), None)
    if entry is None:
        return "not run", [f"No results: `bench/results/{name}.json` is missing."]
    if entry.get("status") == "not run":
        return "not run", ["Not run in this run (`run_all.py --only`), and no earlier results."]
    lines = [
        f"The bench **failed** ({entry.get('reason')}) after {entry.get('seconds', 0):.0f} s: "
        f"`{entry.get('command')}`. Its last output lines "
        f"(whole output: `{entry.get('log')}`):",
        "",
        "```",
        *entry.get("last_lines", []),
        "```",
    ]
    return "failed", lines


def earlier_note(run: dict[str, Any], name: str, data: dict[str, Any]) -> list[str]:
    entry = next((b for b in run.get("benches", []) if b.get("name") == name), None)
    if entry is not None and entry.get("status") == "not run":
        date = (data.get("machine") or {}).get("date_utc", "?")
        return [f"*Not re-run in this run: results of an earlier run ({date}).*", ""]
    return []


# --------------------------------------------------------------------------- figure 1-3


def tui_figures(tui: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    figures: list[Figure] = []
    idle = tui.get("idle") or []
    first = tui.get("first_dashboard")
    opts = tui.get("options", {})
    machine = machine_text(tui)
    stack = tui.get("stack", "?")

    s1 = Section("idle-output", "1. Idle output")
    s3 = Section("idle-cpu", "3. Idle CPU of the TUI")
    for r in idle:
        size = r["size"]
        target = r.get("target_bytes_per_s")
        bps = r["bytes_per_s"]
        figures.append(
            Figure(
                key=f"idle_output_{size}",
                family="idle_output",
                number="1",
                label=f"Idle output at {size}",
                text=f"{bps:,.0f} B/s",
                target=f"≤ {target:,} B/s" if target else "-",
                value=bps,
                unit="B/s",
                met=(bps <= target) if target else None,
                anchor=s1.anchor,
            )
        )
        cpu = r["cpu_percent_of_core"]
        cpu_target = r.get("target_cpu_percent", 1.0)
        figures.append(
            Figure(
                key=f"idle_cpu_{size}",
                family="idle_cpu",
                number="3",
                label=f"Idle CPU at {size}",
                text=f"{cpu:.2f} % of a core",
                target=f"≤ {cpu_target:g} % of a core",
                value=cpu,
                unit="%",
                met=cpu <= cpu_target,
                anchor=s3.anchor,
            )
        )
    if idle:
        s1.lines += [
            "Method (`bench/bench_tui.py`): the real program (`magflow-console --db-url ... "
            "--docker-host ... --api-url ... --scripts ...`) in a pseudo-terminal of each size "
            "(`TERM=xterm-256color`), every byte it writes read and time-stamped; once the "
            "dashboard is complete (every pane shows data or an error on an emulated screen, "
            f"`pyte`) and {opts.get('settle', '?')} s more have passed, the bytes received over "
            f"{opts.get('seconds', '?')} s with the default refresh (5 s). "
            f"Stack: {stack}.",
            "",
        ]
        rows = []
        for r in idle:
            slots = r.get("bytes_per_5s_slot") or []
            rows.append(
                [
                    r["size"],
                    f"{r['window_s']:.1f} s",
                    f"{r['bytes']:,}",
                    f"{r['bytes_per_s']:,.0f}",
                    f"{r['target_bytes_per_s']:,}" if r.get("target_bytes_per_s") else "-",
                    f"{len(r['redraws']['bursts'])}",
                    ", ".join(f"{b:,}" for b in slots),
                ]
            )
        s1.lines += table(
            ["size", "window", "bytes", "B/s", "target B/s", "update bursts", "bytes per 5 s"],
            rows,
        )
        s1.lines += ["", machine]
        s3.lines += [
            "Method (`bench/bench_tui.py`, the same runs as figure 1): utime + stime of the TUI "
            "process (`/proc/<pid>/stat`, all its threads) over the idle window, as a share of "
            "one core; RSS from `/proc/<pid>/status`.",
            "",
        ]
        s3.lines += table(
            ["size", "window", "CPU s", "% of a core", "target", "RSS start → end"],
            [
                [
                    r["size"],
                    f"{r['window_s']:.1f} s",
                    f"{r['cpu_seconds']:.2f}",
                    f"{r['cpu_percent_of_core']:.2f} %",
                    f"≤ {r.get('target_cpu_percent', 1.0):g} %",
                    f"{r['rss_start_mib']:.0f} → {r['rss_end_mib']:.0f} MiB",
                ]
                for r in idle
            ],
        )
        s3.lines += ["", machine]
        for r in idle:
            missed_output = (
                r.get("target_bytes_per_s") and r["bytes_per_s"] > r["target_bytes_per_s"]
            )
            missed_cpu = r["cpu_percent_of_core"] > r.get("target_cpu_percent", 1.0)
            if missed_output:
                s1.lines += ["", f"**Profile, {r['size']}** (target missed): " + redraws(r)[0]]
                s1.lines += redraws(r)[1]
            if missed_cpu:
                s3.lines += [
                    "",
                    f"**Profile, {r['size']}** (target missed): the bench has no CPU profiler; "
                    f"what the TUI did in the window: {len(r['redraws']['bursts'])} update "
                    f"bursts, {r['bytes']:,} bytes written (figure 1 shows which rows).",
                ]

    s2 = Section("first-dashboard", "2. First complete dashboard")
    if first:
        ratio = first.get("median_pair_ratio")
        target = first.get("target_ratio", 1.2)
        figures.append(
            Figure(
                key="first_dashboard",
                family="first_dashboard",
                number="2",
                label="First complete dashboard",
                text=f"{first['median_tui_s']:.2f} s (cold `status --json` "
                f"{first['median_status_s']:.2f} s)",
                target=f"≤ {target}x a cold `status --json`",
                value=first["median_tui_s"],
                unit="s",
                ratio=ratio,
                met=ratio is not None and ratio <= target,
                anchor=s2.anchor,
            )
        )
        s2.lines += [
            f"Method (`bench/bench_tui.py`): {first['runs']} interleaved pairs (the order "
            "alternates) after one warm-up of each, at "
            f"{first['size']}: the TUI from just before its process starts to the read after "
            "which every pane shows its data or its error on the emulated screen (never a "
            "`loading…` placeholder), and a cold `magflow-console status --json` on the same "
            "stack. The ratio is the median of the per-pair ratios (TUI / status of the same "
            f"pair; the ratio of the medians is {first['ratio_of_medians']:.2f}x). "
            f"Stack: {stack}.",
            "",
        ]
        s2.lines += pane_timeline(first)
        s2.lines += [
            "",
            f"Pane that completed the dashboard (runs): {fmt_counts(first['last_pane_counts'])}. "
            f"Panes at the end: {fmt_counts(first['tui_pane_state'])}; "
            f"`status --json` exit {first['status_exit']}, sections "
            f"{fmt_counts(first['status_states'])}.",
            "",
            machine,
        ]
        if ratio is not None and ratio > target:
            s2.lines += ["", "**Profile** (target missed): " + first_frame_reading(first)]
    return figures, [s1, s2, s3]


def fmt_counts(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"


def pane_timeline(first: dict[str, Any]) -> list[str]:
    rows = [
        stat_row("TUI: first byte on the pty", first["tui_first_byte_s"], secs),
        stat_row("TUI: every pane drawn (loading or not)", first["tui_dashboard_drawn_s"], secs),
    ]
    for pane, values in first["tui_pane_s"].items():
        rows.append(stat_row(f"TUI: {pane} pane shows data or error", values, secs))
    rows += [
        stat_row("TUI: header shows the verdict", first["tui_header_verdict_s"], secs),
        stat_row("**TUI: first complete dashboard**", first["tui_complete_s"], secs),
        stat_row("**cold `status --json`**", first["status_s"], secs),
    ]
    return table(["pane timeline (from the spawn)", "median", "min", "max"], rows)


def first_frame_reading(first: dict[str, Any]) -> str:
    med = statistics.median
    first_byte = med([x for x in first["tui_first_byte_s"] if x is not None])
    drawn = med([x for x in first["tui_dashboard_drawn_s"] if x is not None])
    complete = first["median_tui_s"]
    status = first["median_status_s"]
    last = max(first["last_pane_counts"], key=first["last_pane_counts"].get)
    panes = {
        p: med([x for x in v if x is not None]) for p, v in first["tui_pane_s"].items() if any(v)
    }
    first_pane = min(panes, key=panes.get) if panes else "?"
    return (
        f"the first byte reaches the pty after {secs(first_byte)} (the program's start-up "
        f"before its first frame: {first_byte / status:.0%} of the whole cold `status --json`); "
        f"every pane is drawn at {secs(drawn)}, the first with its data ({first_pane}) at "
        f"{secs(panes.get(first_pane))}, and the last one, usually {last}, completes the "
        f"dashboard at {secs(complete)}: {secs(complete - first_byte)} after the first byte. "
        f"A cold `status --json` of the same stack takes {secs(status)}, so the TUI's frames "
        f"cost {secs(complete - status)} more than the headless read; the target allows "
        f"{secs(status * (first.get('target_ratio', 1.2) - 1))}."
    )


def redraws(r: dict[str, Any]) -> tuple[str, list[str]]:
    groups = r["redraws"]["groups"][:10]
    total = r["bytes"] or 1
    text = (
        "what was rewritten while idle, by screen rows of one owner rewritten alike "
        "(replayed through `pyte`; 'changed': rewrites in which the written cells differed "
        "from what was on screen), the costliest first:"
    )
    rows = []
    for g in groups:
        span = f"{g['first_row']}" + (
            f"-{g['last_row']}" if g["last_row"] != g["first_row"] else ""
        )
        rows.append(
            [
                span,
                g["owner"],
                str(g["rewrites"]),
                f"{g['cells_changed']}/{g['rewrites']}",
                f"{g['interval_s']:.1f} s" if g.get("interval_s") else "-",
                f"{g['bytes']:,}",
                f"{g['bytes'] / total:.0%}",
            ]
        )
    lines = [
        "",
        *table(["rows", "owner", "rewrites", "changed", "every", "bytes", "share"], rows),
        "",
        f"Bytes outside any row (modes, cursor): {r['redraws']['bytes_without_row']:,}. "
        f"Raw capture: `bench/results/tui-idle-{r['size']}.jsonl`.",
    ]
    return text, lines


# --------------------------------------------------------------------------- figure 4


def status_figures(st: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    sec = Section("status", "4. Cold `status --json`")
    target = st.get("target_ratio", 1.3)
    ratio = st["ratio"]
    fig = Figure(
        key="status_cold",
        family="status_cold",
        number="4",
        label="Cold `status --json`",
        text=f"{st['status_median_s']:.2f} s (import floor {st['floor_median_s']:.2f} s)",
        target=f"≤ {target}x the import floor",
        value=st["status_median_s"],
        unit="s",
        ratio=ratio,
        met=ratio <= target,
        anchor=sec.anchor,
    )
    sec.lines += [
        f"Method (`bench/bench_status.py`): {st['runs']} rounds, each running every variant "
        "once as a cold process (interleaved, so load drifts hit them alike; one warm-up "
        "round first, bytecode compiled), against the demo database (embedded PostgreSQL, one "
        "revision behind head, seeded), the stack-like containers on a real Docker engine and "
        "the fake MagFlow API on loopback. The import floor imports only the libraries a cold "
        f"`status` cannot do without: `{st['floor_code'].splitlines()[-1]}`. The ratio is the "
        "median of the per-round ratios `status --json` / floor (ratio of the medians: "
        f"{st['ratio_of_medians']:.2f}x; per-round range {st['ratio_min']:.2f}x-"
        f"{st['ratio_max']:.2f}x). Sections of the last report: {fmt_counts(st['sections'])}.",
        "",
    ]
    rows = [
        [
            name,
            f"{v['median_s']:.3f}",
            f"{v['min_s']:.3f}",
            f"{v['max_s']:.3f}",
            f"{v['ratio_to_python']:.1f}x",
            f"{v['ratio_to_floor']:.2f}x",
        ]
        for name, v in st["variants"].items()
    ]
    sec.lines += table(
        ["variant", "median (s)", "min (s)", "max (s)", "to `python -c pass`", "to the floor"],
        rows,
    )
    sec.lines += [
        "",
        f"`status --json` spends {st['status_median_s'] - st['floor_median_s']:.3f} s beyond "
        f"the floor (config, the console's own modules, connecting, querying, rendering). "
        f"The earlier absolute target, {st.get('reference_target_s', 0.35)} s, is "
        f"{st['status_median_s'] / st.get('reference_target_s', 0.35):.1f}x away.",
        "",
        machine_text(st),
    ]
    if not fig.met:
        imp = st["importtime"]
        sec.lines += [
            "",
            f"**Profile** (target missed): `python -X importtime -m magflow_console status "
            f"--json ...`, {imp['modules']} modules, top-level imports {imp['total_s']:.3f} s "
            "in all. The sources import their libraries in worker threads (a thread per "
            "source), so the import tree interleaves threads: a module's own time can "
            "include waiting for another thread's import.",
            "",
            *table(
                ["top-level module", "cumulative (s)"],
                [[f"`{r['module']}`", f"{r['cumulative_s']:.3f}"] for r in imp["top_cumulative"]],
            ),
            "",
            *table(
                ["module (any depth), by its own time", "self (s)", "cumulative (s)"],
                [
                    [f"`{r['module']}`", f"{r['self_s']:.3f}", f"{r['cumulative_s']:.3f}"]
                    for r in imp["top_self"]
                ],
            ),
        ]
    return [fig], [sec]


# --------------------------------------------------------------------------- figure 5


def scale_figures(sc: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    sec = Section("scale", "5a. Containers refresh at scale")
    figures = []
    opts = sc.get("options", {})
    rows = []
    tui_rows = []
    for n, level in sorted(sc["levels"].items(), key=lambda kv: int(kv[0])):
        f = level["fetch"]
        steady, aged = f["steady"], f.get("aged")
        forgotten = f.get("forgotten") or f.get("expired")
        text = f"steady {secs(steady['median_s'])}, {calls(steady['calls_median'])}"
        if aged:
            text += f"; aged {secs(aged['median_s'])}, {calls(aged['calls_median'])}"
        text += f"; first {secs(f['first_s'])}, {calls(f['first_calls'])}"
        figures.append(
            Figure(
                key=f"scale_{n}",
                family="scale",
                number="5",
                label=f"Containers refresh, {n} containers",
                text=text,
                target="none set (time and API calls reported)",
                value=steady["median_s"],
                unit="s",
                anchor=sec.anchor,
            )
        )

        def cell(s: dict[str, Any] | None) -> str:
            if not s:
                return "-"
            return (
                f"{secs(s['median_s'])} ({secs(s['min_s'])}-{secs(s['max_s'])}); "
                f"{calls(s['calls_median'])} (max {s['calls_max']})"
            )

        rows.append(
            [
                f"{n} ({f['containers_in_snapshot']} in the snapshot)",
                f"{secs(f['first_s'])}; {calls(f['first_calls'])}",
                cell(steady),
                cell(aged),
                cell(forgotten),
            ]
        )
        t = level.get("tui") or {}
        if t.get("first"):
            m = t.get("later_median") or {}
            mx = t.get("later_max") or {}
            tui_rows.append(
                [
                    str(n),
                    f"{secs(t['first']['loop_s'])}; {calls(t['first']['calls'])}",
                    f"{t.get('later_count', 0)} ({fmt_counts(t.get('later_triggers') or {})})",
                    f"{secs(m.get('loop_s'))} (fetch {secs(m.get('fetch_s'))}, apply "
                    f"{secs(m.get('apply_s'))})"
                    if m
                    else "-",
                    f"{m.get('calls', 0):.0f} (max {mx.get('calls')})" if m else "-",
                    secs(m.get("to_screen_s")) if m else "-",
                    secs(mx.get("loop_s")) if mx else "-",
                ]
            )
    sec.lines += [
        "Method (`bench/bench_scale.py`): on the test stack's engine, replicas of the worker "
        "(compose labels of the stack's project, as `docker compose up --scale` makes them, "
        "a healthcheck every 30 s, all healthy first) until the level's count of "
        "stack-labelled containers. `DockerSource.fetch()` in-process, every HTTP request of "
        "the docker SDK counted: the first refresh of a new source, then "
        f"{opts.get('refreshes', '?')} interleaved rounds of a steady refresh (inspects "
        "cached), one with every cached inspect aged past `INSPECT_MAX_AGE` (30 s: the "
        "source renews the oldest few), and one after `invalidate()` (every inspect "
        "forgotten, the worst case). Then the real TUI's containers loop through "
        f"`bench/tui_probe.py` in an 80x24 pty for {opts.get('tui_seconds', '?')} s. The issue "
        "sets no number here: the figures are reported, not judged.",
        "",
        *table(["containers", "first refresh", "steady", "inspects aged", "all forgotten"], rows),
    ]
    if tui_rows:
        sec.lines += [
            "",
            "The TUI's containers loop (probes: the worker's fetch, the app applying it, the "
            "first pty read after):",
            "",
            *table(
                [
                    "containers",
                    "first loop",
                    "later loops",
                    "later loop, median",
                    "API calls, median",
                    "on screen after",
                    "slowest later loop",
                ],
                tui_rows,
            ),
        ]
    sec.lines += ["", machine_text(sc)]
    return figures, [sec]


def ssh_figures(data: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    sec = Section("ssh", "7. The first Docker call over ssh:// (issue 14)")
    runs = data.get("runs", "?")
    inproc = data.get("in_process", {})
    cold = data.get("cold", {})
    labels = {
        "connect": "connect (SSH: login and one `/version`)",
        "first_fetch": "a new source's first refresh",
        "second_fetch": "its second refresh",
    }

    def cell(s: dict[str, Any] | None) -> str:
        if not s:
            return "-"
        return f"{secs(s['median_s'])} ({secs(s['min_s'])}-{secs(s['max_s'])})"

    rows = []
    for key, label in labels.items():
        r = inproc.get(key)
        if not r:
            continue
        sessions = r.get("ssh_sessions_median")
        rows.append(
            [
                label,
                cell(r.get("socket")),
                cell(r.get("ssh")),
                f"{r['ratio']:.2f}x",
                "-" if sessions is None else f"{sessions:.0f}",
            ]
        )
    login = (inproc.get("ssh_login") or {}).get("ssh")
    if login:
        rows.insert(
            1, ["of which the SSH login (paramiko, no engine yet)", "-", cell(login), "-", "-"]
        )
    if cold:
        rows.append(
            [
                "`containers --json`, cold process",
                cell(cold.get("socket")),
                cell(cold.get("ssh")),
                f"{cold['ratio']:.2f}x",
                "-",
            ]
        )
    figures = []
    first = inproc.get("first_fetch")
    if first:
        figures.append(
            Figure(
                key="ssh_first_call",
                family="ssh",
                number="7",
                label="First Docker call over ssh:// (a new source's first refresh)",
                text=f"{secs(first['ssh']['median_s'])} vs {secs(first['socket']['median_s'])} "
                f"through the socket",
                target="none set (measured beside the socket)",
                value=first["ssh"]["median_s"],
                unit="s",
                ratio=first["ratio"],
                anchor=sec.anchor,
            )
        )
    if cold:
        figures.append(
            Figure(
                key="ssh_cold_containers",
                family="ssh",
                number="7",
                label="Cold `containers --json` over ssh://",
                text=f"{secs(cold['ssh']['median_s'])} vs {secs(cold['socket']['median_s'])} "
                f"through the socket",
                target="none set (measured beside the socket)",
                value=cold["ssh"]["median_s"],
                unit="s",
                ratio=cold["ratio"],
                anchor=sec.anchor,
            )
        )
    warm = (data.get("warmup") or {}).get("ssh") or {}
    sec.lines += [
        "Method (`bench/bench_ssh.py`): the test stack's engine reached two ways in the same "
        "run: its unix socket, and a real OpenSSH sshd on loopback in front of it (the test "
        "suite's `ssh_docker`: ed25519 keys, the remote `DOCKER_HOST` at the engine's "
        "socket; the console's HOME holds `~/.ssh/config` and `known_hosts`). Loopback adds no "
        "network latency: the figures are what SSH itself costs (key exchange, login, and the "
        "`docker system dial-stdio` the remote side starts for every connection to the "
        f"engine). {runs} interleaved runs of each (which goes first alternates), after one "
        "warm-up round; medians (min-max); the ratio is SSH / socket of the medians. The SSH "
        "sessions column counts, from the sshd's log, the sessions (remote dial-stdio "
        "processes) one refresh started.",
        "",
        *table(["measured", "unix socket", "ssh://", "ratio", "SSH sessions"], rows),
    ]
    if warm:
        sec.lines += [
            "",
            f"The warm-up round over SSH (not counted; it imports paramiko): connect "
            f"{secs(warm.get('connect'))}, first refresh {secs(warm.get('first_fetch'))}.",
        ]
    sec.lines += ["", machine_text(data)]
    return figures, [sec]


def database_figures(db: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    sec = Section("database", "5b. Database queries at 1,000,000 products and orders")
    target = db.get("target_ms", 50.0)
    figures = []
    data = db.get("data", {})
    sizes = ", ".join(f"{t} {v['rows']:,} rows ({v['mib']:,} MiB)" for t, v in data.items())
    for q in db["queries"]:
        cached = ""
        if q.get("cached_by"):
            if q["cached"]:
                cached = ", cached" + (
                    f" (age in `{', '.join(q['ages'])}`)" if q["age_shown"] else ", age not shown"
                )
            else:
                cached = ", not cached"
        figures.append(
            Figure(
                key="db_" + slug(q["name"]),
                family="db_" + slug(q["name"]),
                number="5",
                label=f"DB: {q['name']}",
                text=f"{q['median_ms']:.1f} ms{cached}",
                target=f"≤ {target:g} ms median, or cached with its age shown",
                value=q["median_ms"],
                unit="ms",
                met=q["met"],
                anchor=sec.anchor,
            )
        )
    runs = db["queries"][0]["runs"] if db["queries"] else "?"
    sec.lines += [
        "Method (`bench/bench_database.py`): an embedded PostgreSQL "
        f"{db.get('server_version', '?')} with its default settings, seeded once into "
        f"`{db.get('options', {}).get('keep_dir')}` and reused ({sizes}; `VACUUM ANALYZE` "
        f"after seeding). Each query alone, {runs} calls after one warm-up, as the source "
        "calls it (its defaults) on one read-only connection in UTC; the statements it sends "
        "are traced and explained with `EXPLAIN (ANALYZE, BUFFERS)`. 'Cached': a second "
        "`fetch_sync` / `fetch_orders` of one `DatabaseSource` right after a first did not "
        "send it; 'age shown': the snapshot then carries the age of the reused figures (a "
        "set `*age_seconds` field).",
        "",
    ]
    rows = []
    for q in db["queries"]:
        cache = "-"
        if q.get("cached_by"):
            cache = f"{'yes' if q['cached'] else 'no'}, by `{q['cached_by']}`"
            cache += f"; age shown: {'yes' if q['age_shown'] else 'no'}"
        rows.append(
            [
                q["name"],
                ms(q["median_ms"]),
                ms(q["min_ms"]),
                ms(q["max_ms"]),
                cache,
                "yes" if q["met"] else "**no**",
            ]
        )
    sec.lines += table(["query", "median", "min", "max", "cached", "met"], rows)
    fetch_rows = [
        [
            f["name"],
            ms(f.get("median_ms")),
            ms(f.get("min_ms")),
            ms(f.get("max_ms")),
            str(f.get("statements", "-")),
            fmt_counts({k: f"{v:.1f} s" for k, v in (f.get("ages") or {}).items()}),
        ]
        if f.get("state") == "ok"
        else [f["name"], f"{f.get('state')}: {f.get('error')}", "", "", "", ""]
        for f in db.get("fetches", [])
        if f
    ]
    sec.lines += [
        "",
        "The source's fetches as a refresh runs them (warm: its caches on; cold: "
        "`counts_max_age_seconds=0`):",
        "",
        *table(["fetch", "median", "min", "max", "statements", "ages"], fetch_rows),
        "",
        machine_text(db),
        "",
        "Plans (`EXPLAIN (ANALYZE, BUFFERS)`, one per statement the query sends):",
        "",
    ]
    for q in db["queries"]:
        for i, plan in enumerate(q["explain"]):
            label = q["name"] + (f", statement {i + 1}" if len(q["explain"]) > 1 else "")
            execution = re.search(r"Execution Time: ([0-9.]+) ms", plan["plan"])
            took = f" ({execution.group(1)} ms)" if execution else ""
            sec.lines += [
                "<details>",
                f"<summary>{label}{took}{'' if q['met'] else ' (target missed)'}</summary>",
                "",
                "```sql",
                dedent_sql(plan["sql"]),
                "```",
                "",
                "```",
                plan["plan"],
                "```",
                "",
                "</details>",
            ]
    return figures, [sec]


# --------------------------------------------------------------------------- figure 6


def logs_figures(lg: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    sec = Section("logs", "6. Following a log at 5,000 lines/s")
    p95 = lg["latency_p95_ms"]
    missed = lg.get("keys_missed", 0)
    slope = lg.get("rss_slope_second_half_mib_per_min")
    buffer = max_lines()
    latency_met = p95 is not None and p95 <= LATENCY_P95_TARGET_MS and missed == 0
    memory_met = slope is not None and slope <= RSS_SLOPE_BOUNDED_MIB_PER_MIN
    figures = [
        Figure(
            key="logs_latency",
            family="logs_latency",
            number="6",
            label="Keystrokes while following 5,000 lines/s",
            text=f"p95 {p95:.0f} ms (median {lg['latency_median_ms']:.0f}, max "
            f"{lg['latency_max_ms']:.0f}; {missed} of {lg['keys']} unanswered)",
            target=f"p95 ≤ {LATENCY_P95_TARGET_MS:.0f} ms, none unanswered",
            value=p95,
            unit="ms",
            met=latency_met,
            anchor=sec.anchor,
        ),
        Figure(
            key="logs_memory",
            family="logs_memory",
            number="6",
            label="Memory while following 5,000 lines/s",
            text=f"RSS {lg['rss_start_mib']:.1f} → {lg['rss_end_mib']:.1f} MiB (max "
            f"{lg['rss_max_mib']:.1f}), {slope:+.2f} MiB/min over the second half",
            target=f"bounded by the buffer ({buffer}): ≤ {RSS_SLOPE_BOUNDED_MIB_PER_MIN:g} "
            "MiB/min over the second half",
            value=slope,
            unit="MiB/min",
            met=memory_met,
            anchor=sec.anchor,
        ),
    ]
    opts = lg.get("options", {})
    sec.lines += [
        "Method (`bench/bench_logs.py`): a stack container writes "
        f"{int(opts.get('rate', 5000)):,} numbered lines a second (busybox `awk`, 20 batches "
        "a second); the real program in an 80x24 pty, driven as a user: `/` filter, the "
        "service, enter, enter (the container detail, which follows the log). After "
        f"{opts.get('settle', '?')} s of load lines on screen, for {lg['window_s']:.0f} s: "
        f"{lg['keys']} presses of `t` (the log view's timestamp toggle), each timed from the "
        "write to the pty to the read after which the emulated screen shows its effect; RSS "
        "every second (`/proc/<pid>/status`); CPU; how far the screen lags the log. 'Bounded' "
        "is read from the RSS slope over the second half of the window (a least-squares "
        f"line): at most {RSS_SLOPE_BOUNDED_MIB_PER_MIN:g} MiB/min. A minute cannot prove a "
        "bound; it shows whether memory still grows once the buffer is full (it fills in "
        "2 s at this rate).",
        "",
    ]
    sec.lines += table(
        ["measured", "value"],
        [
            ["lines/s the container wrote", f"{lg['log_rate_lines_per_s']:,.0f}"],
            [
                "keystroke latency",
                f"median {lg['latency_median_ms']:.0f} ms, p95 {p95:.0f} ms, max "
                f"{lg['latency_max_ms']:.0f} ms ({lg['keys']} presses, {missed} not seen in 10 s)",
            ],
            [
                "RSS",
                f"{lg['rss_start_mib']:.1f} → {lg['rss_end_mib']:.1f} MiB (max "
                f"{lg['rss_max_mib']:.1f}); slope {lg['rss_slope_mib_per_min']:+.2f} MiB/min "
                f"over the window, {slope:+.2f} over the second half",
            ],
            ["RSS every 10 s (MiB)", ", ".join(f"{x:.1f}" for x in lg["rss_mib"][::10])],
            ["TUI CPU", f"{lg['cpu_percent_of_core']:.0f} % of a core"],
            ["output to the terminal", f"{lg['output_bytes_per_s']:,.0f} B/s"],
            [
                "screen behind the log",
                ", ".join(
                    f"{x['log'] - x['screen']:,} lines at {x['t']:.0f} s"
                    if x.get("screen") is not None and x.get("log") is not None
                    else f"no line number at {x['t']:.0f} s"
                    for x in lg.get("lag", [])
                )
                or "-",
            ],
        ],
    )
    sec.lines += ["", machine_text(lg)]
    if not latency_met:
        slowest = sorted(lg["latency_ms"], reverse=True)[:10]
        sec.lines += [
            "",
            "**Profile** (target missed): the slowest keystrokes (ms): "
            + ", ".join(f"{x:.0f}" for x in slowest)
            + f"; of {len(lg['latency_ms'])} answered, "
            f"{sum(x > LATENCY_P95_TARGET_MS for x in lg['latency_ms'])} took over "
            f"{LATENCY_P95_TARGET_MS:.0f} ms. While following, the TUI used "
            f"{lg['cpu_percent_of_core']:.0f} % of a core and wrote "
            f"{lg['output_bytes_per_s']:,.0f} B/s.",
        ]
    if not memory_met:
        sec.lines += [
            "",
            "**Profile** (target missed): RSS every second (MiB): "
            + ", ".join(f"{x:.1f}" for x in lg["rss_mib"]),
        ]
    return figures, [sec]


def dedent_sql(sql: str) -> str:
    """The statement as written in the source: its first line was stripped, the others
    keep the source's indentation."""
    first, _, rest = sql.partition("\n")
    return first + ("\n" + textwrap.dedent(rest) if rest else "")


def max_lines() -> str:
    try:
        sys.path.insert(0, str(ROOT))
        from magflow_console.tui.widgets.log_view import MAX_LINES

        return f"{MAX_LINES:,} lines"
    except Exception:
        return "the log view's line buffer"


# --------------------------------------------------------------------------- the report


BUILDERS: list[tuple[str, str, Callable[[dict[str, Any]], tuple[list[Figure], list[Section]]]]] = [
    ("tui", "1-3. Idle output, first complete dashboard, idle CPU", tui_figures),
    ("status", "4. Cold `status --json`", status_figures),
    ("scale", "5a. Containers refresh at scale", scale_figures),
    ("database", "5b. Database queries", database_figures),
    ("logs", "6. Following a log at 5,000 lines/s", logs_figures),
    ("ssh", "7. The first Docker call over ssh://", ssh_figures),
]
ORDER = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7}


def collect(run: dict[str, Any]) -> tuple[list[Figure], list[Section]]:
    figures: list[Figure] = []
    sections: list[Section] = []
    for name, title, build in BUILDERS:
        data = load(name)
        if data is None:
            state, lines = bench_failure(run, name)
            anchor = slug(name)
            figures.append(
                Figure(
                    key=f"bench_{name}",
                    family=name,
                    number=title.split(".")[0],
                    label=title.split(". ", 1)[1],
                    text=f"no result (`bench/{BENCH_SCRIPTS[name]}` {state})",
                    target="-",
                    state=state,
                    anchor=anchor,
                )
            )
            sections.append(Section(anchor, title, lines))
            continue
        figs, secs_ = build(data)
        note = earlier_note(run, name, data)
        for s in secs_:
            s.lines = note + s.lines
        figures += figs
        sections += secs_
    figures.sort(key=lambda f: ORDER.get(f.number[:1], 9))
    sections.sort(key=lambda s: s.title)
    return figures, sections


BENCH_SCRIPTS = {
    "tui": "bench_tui.py",
    "status": "bench_status.py",
    "scale": "bench_scale.py",
    "database": "bench_database.py",
    "logs": "bench_logs.py",
    "ssh": "bench_ssh.py",
}


def tried_notes() -> dict[str, list[str]]:
    if not TRIED.exists():
        return {}
    data = tomllib.loads(TRIED.read_text())
    return {k: list(v.get("tried", [])) for k, v in data.items() if isinstance(v, dict)}


def previous_report(run_id: str) -> dict[str, Any] | None:
    """The report to compare with: the last one, or the one before it when the last one
    is this very run (the report built again)."""
    if not LAST.exists():
        return None
    last = json.loads(LAST.read_text())
    if last.get("run", {}).get("id") == run_id:
        return last.get("previous")  # type: ignore[no-any-return]
    return last  # type: ignore[no-any-return]


def change_text(old: dict[str, Any] | None, new: Figure) -> tuple[str, str]:
    if old is None:
        return "-", "new figure"
    notes = []
    o = old.get("ratio") if new.ratio is not None else old.get("value")
    n = new.ratio if new.ratio is not None else new.value
    if isinstance(o, int | float) and isinstance(n, int | float) and o:
        what = "ratio" if new.ratio is not None else new.unit
        notes.append(f"{what} {(n - o) / abs(o):+.0%}")
    if old.get("met") != new.met and new.state == "ok":
        notes.append(
            f"met: {fmt_met(old.get('met'))} → {fmt_met(new.met)}"
            if old.get("state", "ok") == "ok"
            else f"was {old.get('state')}"
        )
    if old.get("state", "ok") != new.state:
        notes.append(f"{old.get('state', 'ok')} → {new.state}")
    old_text = old.get("text", "-")
    if old.get("ratio") is not None:
        old_text += f", {old['ratio']:.2f}x"
    return old_text, "; ".join(notes) or "unchanged"


def fmt_met(m: bool | None) -> str:
    return "-" if m is None else ("yes" if m else "no")


def build(run: dict[str, Any], record: bool) -> str:
    figures, sections = collect(run)
    run_id = run.get("id") or "manual"
    previous = previous_report(run_id)
    tried = tried_notes()
    git = run.get("git", {})
    machine = run.get("machine") or {}
    lines = [
        "# Benchmarks: Fast over SSH",
        "",
        "Generated by `make bench` (`bench/run_all.py`, then `bench/report.py`) from "
        "`bench/results/*.json`; do not edit by hand, run `make bench` again. Nothing in the "
        "benchmarks asserts a timing.",
        "",
        f"Run `{run_id}`: started {run.get('started_utc', '?')}, "
        f"{(run.get('seconds') or 0) / 60:.1f} min in all, at commit `{git.get('commit', '?')}`"
        + (" with uncommitted product changes" if git.get("dirty") else "")
        + f" ({git.get('branch', '?')}: {git.get('subject', '')}).",
        f"Machine: nproc {machine.get('nproc', '?')}, {machine.get('cpu_model', '?')}, "
        f"{machine.get('memory_gib', '?')} GiB, Linux {machine.get('kernel', '?')}, Python "
        f"{machine.get('python', '?')}, textual {machine.get('textual', '?')}; load average "
        f"{load_text(machine.get('loadavg_at_start'))} at the start, "
        f"{load_text(run.get('loadavg_at_end'))} at the end. The machine's 2 cores are shared "
        "with other jobs: absolute times drift by a third between runs, so the targets the "
        "issue sets as ratios are measured side by side in one run.",
    ]
    if run.get("quick"):
        lines += [
            "",
            "**Quick run** (`--quick`): shorter windows and fewer runs than the issue's; not "
            "comparable with a full run, and not recorded as the last report.",
        ]
    lines += ["", "## Summary", ""]
    lines += table(
        ["#", "figure", "value", "target", "ratio", "met"],
        [
            [
                f.number,
                f"[{f.label}](#{f.anchor})",
                f.text,
                f.target,
                f"{f.ratio:.2f}x" if f.ratio is not None else "-",
                f.met_text(),
            ]
            for f in figures
        ],
    )
    met = [f for f in figures if f.met is True]
    missed = [f for f in figures if f.met is False]
    other = [f for f in figures if f.met is None]
    lines += [
        "",
        f"{len(met)} met, {len(missed)} missed, {len(other)} without a target or a result.",
        "",
        "## What changed since the last report",
        "",
    ]
    if previous is None:
        lines.append(
            "No earlier report (`bench/last-report.json` is absent): this is the first one."
        )
    else:
        prev_run = previous.get("run", {})
        lines += [
            f"The last report: run `{prev_run.get('id') or '?'}` of "
            f"{prev_run.get('started_utc') or '?'} at commit `{prev_run.get('commit') or '?'}`"
            + (" (a quick run)" if prev_run.get("quick") else "")
            + ".",
            "",
        ]
        old_figs = previous.get("figures", {})
        rows = []
        for f in figures:
            old_text, change = change_text(old_figs.get(f.key), f)
            new_text = f.text + (f", {f.ratio:.2f}x" if f.ratio is not None else "")
            rows.append([f.label, old_text, new_text, change])
        gone = [k for k in old_figs if k not in {f.key for f in figures}]
        for k in gone:
            rows.append([old_figs[k].get("label", k), old_figs[k].get("text", "-"), "-", "gone"])
        lines += table(["figure", "last report", "this report", "change"], rows)
    lines += ["", "## Runs", ""]
    bench_rows = []
    for b in run.get("benches", []):
        status = b["status"] + (f" ({b['reason']})" if b.get("reason") else "")
        earlier = load(b["name"]) if b["status"] == "not run" else None
        if earlier is not None:  # its figures above are an earlier run's
            status = f"not re-run: results of {(earlier.get('machine') or {}).get('date_utc', '?')}"
        bench_rows.append(
            [
                b["name"],
                b.get("what", ""),
                status,
                f"{b['seconds']:.0f} s" if "seconds" in b else "-",
                f"`{b['command']}`" if b.get("command") else "-",
            ]
        )
    if bench_rows:
        lines += table(["bench", "measures", "status", "took", "command"], bench_rows)
    else:
        lines.append("No `bench/results/run.json`: the results were not made by `run_all.py`.")
    by_anchor: dict[str, list[Figure]] = {}
    for f in figures:
        by_anchor.setdefault(f.anchor, []).append(f)
    for s in sections:
        lines += ["", f'<a id="{s.anchor}"></a>', "", f"## {s.title}", ""]
        lines += s.lines
        shown: set[str] = set()
        for f in by_anchor.get(s.anchor, []):
            notes = tried.get(f.key) or tried.get(f.family) or []
            source = f.key if f.key in tried else f.family
            if f.met is not False or source in shown:
                continue
            shown.add(source)
            missed = [
                g.label
                for g in by_anchor[s.anchor]
                if g.met is False
                and (g.key == source or (g.family == source and g.key not in tried))
            ]
            lines += ["", f"**What was tried** ({', '.join(missed)}):", ""]
            lines += [f"- {n}" for n in notes] or [
                f"- nothing recorded yet (`bench/tried.toml`, key `{source}`)"
            ]
        if previous is not None:
            old_figs = previous.get("figures", {})
            changes = []
            for f in by_anchor.get(s.anchor, []):
                old_text, change = change_text(old_figs.get(f.key), f)
                changes.append(f"{f.label}: {old_text} → {f.text} ({change})")
            if changes:
                lines += ["", "Since the last report: " + "; ".join(changes) + "."]
    text = "\n".join(lines) + "\n"
    if record:
        payload = {
            "run": {
                "id": run_id,
                "started_utc": run.get("started_utc"),
                "commit": git.get("commit"),
                "quick": bool(run.get("quick")),
            },
            "figures": {f.key: f.record() for f in figures},
        }
        if previous is not None:
            payload["previous"] = {k: v for k, v in previous.items() if k != "previous"}
        LAST.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-record", action="store_true", help="leave bench/last-report.json as it is")
    p.add_argument("--out", type=Path, default=OUT, help="default: %(default)s")
    opts = p.parse_args(argv)
    run = load("run") or {}
    text = build(run, record=not opts.no_record)
    opts.out.write_text(text)
    print(f"written: {opts.out}" + ("" if opts.no_record else f" and {LAST.relative_to(ROOT)}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
