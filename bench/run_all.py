"""Run every benchmark of issue "Fast over SSH" and build ``BENCHMARKS.md`` (``make bench``).

Each bench runs as a subprocess with this interpreter (the venv's), one after the other,
in this order: ``bench_status.py`` (cold start, the most sensitive to a busy machine),
``bench_tui.py``, ``bench_logs.py``, ``bench_scale.py``, ``bench_ssh.py``,
``bench_database.py`` (last: on
first use it seeds 1,000,000 products, 1,000,000 orders and ~100,000 sync logs into
``--keep-dir``, a few minutes, and reuses them on later runs). Their output goes to the
terminal and to ``bench/results/<name>.log``; each writes ``bench/results/<name>.json``
(removed before it starts, so a failed bench never leaves an older result behind).

A bench that fails (non-zero exit, no results file, or longer than ``--timeout``
minutes: then it gets SIGINT so pytest tears its stack down, SIGTERM and SIGKILL after)
is recorded as failed with its last output lines, and the others still run. The run
(order, commands, exit codes, durations, load average around each bench) is written to
``bench/results/run.json``, then ``bench/report.py`` builds ``BENCHMARKS.md`` and records
the figures in ``bench/last-report.json`` for the next report's "what changed".

    .venv/bin/python bench/run_all.py [--quick] [--only tui --only logs]
        [--keep-dir /tmp/mfc-bench-db] [--args 'tui=--size 80x24'] [--timeout 45]

``--quick`` shortens every window for iterating (not the issue's 60 s; the report says
so and does not replace ``bench/last-report.json``). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from pty_screen import machine_info  # noqa: E402

TAIL_LINES = 40


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    what: str = ""


def benches(keep_dir: Path) -> list[Bench]:
    return [
        Bench(
            "status",
            "bench_status.py",
            quick=("--runs", "5"),
            what="cold `status --json` against the import floor (figure 4)",
        ),
        Bench(
            "tui",
            "bench_tui.py",
            quick=("--seconds", "15", "--runs", "3", "--settle", "3"),
            what="idle output, first complete dashboard, idle CPU (figures 1-3)",
        ),
        Bench(
            "logs",
            "bench_logs.py",
            quick=("--seconds", "15", "--keys", "12", "--settle", "3"),
            what="keystrokes and memory while following 5,000 lines/s (figure 6)",
        ),
        Bench(
            "scale",
            "bench_scale.py",
            quick=("--levels", "10,100", "--refreshes", "3", "--tui-seconds", "10"),
            what="a containers refresh with 10, 100, 300 containers (figure 5)",
        ),
        Bench(
            "ssh",
            "bench_ssh.py",
            quick=("--runs", "5"),
            what="the first Docker call over ssh:// beside the unix socket (issue 14)",
        ),
        Bench(
            "database",
            "bench_database.py",
            args=("--keep-dir", str(keep_dir), "--orders-per-account", "500000"),
            quick=("--runs", "3"),
            what="sync, product and order queries at 1M products/orders (figure 5)",
        ),
    ]


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "subject": git("log", "-1", "--format=%s")[:120],
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        # product code only: bench/ and the generated report change on every run
        "dirty": bool(git("status", "--porcelain", "--", "magflow_console", "pyproject.toml")),
    }


def stop(proc: subprocess.Popen[str], grace: float = 60.0) -> None:
    """SIGINT (pytest tears its fixtures down), then SIGTERM, then SIGKILL, to the
    bench's own process group (it was started in a session of its own)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(bench: Bench, args: list[str], timeout_s: float) -> dict[str, Any]:
    out_json = RESULTS / f"{bench.name}.json"
    out_json.unlink(missing_ok=True)
    if bench.name == "status":
        (RESULTS / "status.md").unlink(missing_ok=True)
    cmd = [sys.executable, str(BENCH / bench.script), *args]
    shown = " ".join(shlex.quote(a) for a in [".venv/bin/python", f"bench/{bench.script}", *args])
    print(f"\n==== {bench.name}: {bench.what}\n$ {shown}", flush=True)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    load_before = os.getloadavg()
    started = time.monotonic()
    log_path = RESULTS / f"{bench.name}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    timed_out = interrupted = False
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,
        )

        def pump() -> None:
            assert proc.stdout is not None
            for text in proc.stdout:
                sys.stdout.write(text)
                sys.stdout.flush()
                log.write(text)
                tail.append(text.rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            print(f"\n{bench.name}: still running after {timeout_s / 60:.0f} min: stopping it")
            stop(proc)
        except KeyboardInterrupt:
            interrupted = True
            stop(proc)
        reader.join(10)
    seconds = time.monotonic() - started
    written = out_json.exists()
    ok = proc.returncode == 0 and written and not timed_out
    reason = None
    if timed_out:
        reason = f"stopped after the {timeout_s / 60:.0f} min timeout"
    elif interrupted:
        reason = "interrupted"
    elif proc.returncode != 0:
        reason = f"exit code {proc.returncode}"
    elif not written:
        reason = f"exit 0 but {out_json.relative_to(ROOT)} was not written"
    print(
        f"==== {bench.name}: {'ok' if ok else 'FAILED (' + str(reason) + ')'} in {seconds:.0f} s",
        flush=True,
    )
    result = {
        "name": bench.name,
        "what": bench.what,
        "command": shown,
        "status": "ok" if ok else "failed",
        "reason": reason,
        "exit_code": proc.returncode,
        "seconds": seconds,
        "results": str(out_json.relative_to(ROOT)) if written else None,
        "log": str(log_path.relative_to(ROOT)),
        "last_lines": list(tail),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }
    if interrupted:
        raise KeyboardInterrupt(result)
    return result


def parse_extra(values: list[str]) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep:
            raise SystemExit(f"--args wants NAME=ARGUMENTS, got {value!r}")
        extra.setdefault(name, []).extend(shlex.split(rest))
    return extra


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short windows, for iterating")
    p.add_argument(
        "--only", action="append", help="run only this bench (repeatable): "
        "status, tui, logs, scale, ssh, database; the others' last results are reported as such",
    )  # fmt: skip
    p.add_argument(
        "--keep-dir",
        type=Path,
        default=Path("/tmp/mfc-bench-db"),
        help="the big database's data folder, seeded once and reused (default %(default)s)",
    )
    p.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="more arguments for one bench, e.g. 'tui=--size 80x24' (repeatable)",
    )
    p.add_argument(
        "--timeout", type=float, default=45.0, help="minutes one bench may take (default 45)"
    )
    p.add_argument("--no-report", action="store_true", help="run the benches only")
    opts = p.parse_args(argv)
    every = benches(opts.keep_dir)
    names = [b.name for b in every]
    unknown = set(opts.only or ()) - set(names)
    if unknown:
        raise SystemExit(f"unknown bench {sorted(unknown)}: choose from {names}")
    extra = parse_extra(opts.args)
    if set(extra) - set(names):
        raise SystemExit(f"--args for an unknown bench: {sorted(set(extra) - set(names))}")
    RESULTS.mkdir(exist_ok=True)
    started_utc = dt.datetime.now(dt.UTC)
    run: dict[str, Any] = {
        "id": started_utc.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}",
        "started_utc": started_utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "argv": sys.argv[1:] if argv is None else argv,
        "quick": opts.quick,
        "python": sys.executable,
        "git": git_state(),
        "machine": machine_info(),
        "benches": [],
    }
    t0 = time.monotonic()
    interrupted = False
    for bench in every:
        if opts.only and bench.name not in opts.only:
            run["benches"].append({"name": bench.name, "what": bench.what, "status": "not run"})
            continue
        args = [*bench.args, *(bench.quick if opts.quick else ()), *extra.get(bench.name, ())]
        try:
            run["benches"].append(run_one(bench, args, opts.timeout * 60))
        except KeyboardInterrupt as exc:
            if exc.args and isinstance(exc.args[0], dict):
                run["benches"].append(exc.args[0])
            interrupted = True
            break
    run["seconds"] = time.monotonic() - t0
    run["finished_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    run["loadavg_at_end"] = os.getloadavg()
    (RESULTS / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"\nall benches: {run['seconds'] / 60:.1f} min")
    for b in run["benches"]:
        took = f" in {b['seconds']:.0f} s" if "seconds" in b else ""
        why = f" ({b['reason']})" if b.get("reason") else ""
        print(f"  {b['name']:9} {b['status']}{why}{took}")
    if interrupted:
        print("interrupted: no report")
        return 130
    failed = any(b["status"] == "failed" for b in run["benches"])
    if opts.no_report:
        return int(failed)
    cmd = [sys.executable, str(BENCH / "report.py"), *(["--no-record"] if opts.quick else [])]
    reported = subprocess.call(cmd, cwd=ROOT)
    return reported or int(failed)


if __name__ == "__main__":
    sys.exit(main())
