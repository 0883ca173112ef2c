"""The benchmarks' probe (``bench/tui_probe.py``) hooks methods of the app by name: a
renamed method breaks ``make bench`` only, an hour later. This runs the probe against the
app (in a fresh interpreter: it patches classes for good) with the fake backend, and
checks that the loops' starts and the applied reads are recorded and the real backend's
reads are hooked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import asyncio, json, sys
sys.path.insert(0, "bench")
import tui_probe
from magflow_console.tui.app import MagflowApp
from tests.support.fake_backend import FakeBackend, frozen_clock

events = []
tui_probe.install(events.append)

async def main():
    app = MagflowApp(FakeBackend(), clock=frozen_clock, watch_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if {e["source"] for e in events if e["ev"] == "applied"} >= {"containers", "celery"}:
                break
            await pilot.pause(0.1)

asyncio.run(main())
from magflow_console.backend import Backend
fetches = [("fetch", s) for s in ("containers", "database", "sync", "api", "orders", "broker")
           if getattr(Backend, s).__name__ == "probed_fetch"]  # FakeBackend reads its own
print(json.dumps(sorted({(e["ev"], e.get("source") or e.get("loop") or "") for e in events})
                 + fetches))
"""


def test_the_bench_probe_still_hooks_the_app() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = {tuple(e) for e in json.loads(proc.stdout.strip().splitlines()[-1])}
    for loop in ("containers", "database", "sync", "api", "broker"):
        assert ("loop_start", loop) in seen, seen
    for source in ("containers", "database", "sync", "orders", "api", "broker"):
        assert ("fetch", source) in seen, seen
    for source in ("containers", "database", "migrations", "sync", "orders", "api", "redis"):
        assert ("applied", source) in seen, seen
