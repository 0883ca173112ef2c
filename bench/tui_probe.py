"""``magflow-console`` with timing probes: a launcher for the benchmarks, and the Docker
API call counter they share. The product's code is not changed: the probes wrap a few
methods from outside before the CLI starts.

    python bench/tui_probe.py [magflow-console arguments]    (BENCH_PROBE_FILE=path)

appends one JSON object a line to ``$BENCH_PROBE_FILE`` (default:
``bench/results/probe-<pid>.jsonl``; times: ``time.monotonic()``,
the same clock in every process, so they line up with ``pty_screen`` reads):

- ``docker_call``: one HTTP request of the docker SDK (``APIClient.send``): method,
  path without the API version and query, thread, start and duration (streams such as
  ``/events`` count once, when their headers arrive);
- ``loop_start``: ``RefreshingApp.run_loop(loop)`` starting a fetch (not when it only
  flags a busy loop to run again, or is paused);
- ``events_flush``: a burst of Docker events starting a containers refresh;
- ``fetch``: ``Backend.<source>()`` in its worker thread (start, end, thread);
- ``applied``: ``MagflowApp.on_snapshots_ready`` for a loop's sources (one event per
  source, the same times): the store update, the report and the dashboard's widgets
  updated (start, end), on the app's thread.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Record = Callable[[dict[str, Any]], None]


def count_docker_calls(record: Record) -> Callable[[], None]:
    """Wrap the docker SDK's ``APIClient.send`` so every request is ``record``-ed;
    returns a function that undoes it."""
    from docker.api.client import APIClient

    original = APIClient.send

    def send(self: Any, request: Any, **kw: Any) -> Any:
        started = time.monotonic()
        try:
            return original(self, request, **kw)
        finally:
            path = request.path_url.split("?", 1)[0]
            if path.startswith("/v1."):
                path = "/" + path.split("/", 2)[2]
            record(
                {
                    "ev": "docker_call",
                    "t": started,
                    "dur": time.monotonic() - started,
                    "method": request.method,
                    "path": path,
                    "thread": threading.current_thread().name,
                }
            )

    APIClient.send = send  # type: ignore[method-assign]

    def undo() -> None:
        APIClient.send = original  # type: ignore[method-assign]

    return undo


def path_kind(path: str) -> str:
    """``/containers/<id>/json`` -> ``/containers/{id}/json`` (calls grouped by kind)."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "containers" and parts[2] != "json":
        parts[2] = "{id}"
    return "/".join(parts)


def install(record: Record) -> None:
    count_docker_calls(record)
    from magflow_console.backend import Backend
    from magflow_console.tui.app import MagflowApp
    from magflow_console.tui.loops import RefreshLoops

    run_loop = RefreshLoops.run

    def probed_run_loop(self: Any, loop: str) -> None:
        starts = loop not in self._busy and not self.app.paused
        if starts:
            record({"ev": "loop_start", "loop": loop, "t": time.monotonic()})
        run_loop(self, loop)

    RefreshLoops.run = probed_run_loop  # type: ignore[method-assign]

    flush = RefreshLoops._flush_events

    def probed_flush(self: Any) -> None:
        record({"ev": "events_flush", "t": time.monotonic()})
        flush(self)

    RefreshLoops._flush_events = probed_flush  # type: ignore[method-assign]

    for source in ("containers", "database", "sync", "api", "orders", "broker"):
        fetch = getattr(Backend, source)

        def probed_fetch(self: Any, *a: Any, _fetch: Any = fetch, _s: str = source) -> Any:
            t0 = time.monotonic()
            try:
                return _fetch(self, *a)
            finally:
                record(
                    {
                        "ev": "fetch",
                        "source": _s,
                        "t0": t0,
                        "t1": time.monotonic(),
                        "thread": threading.current_thread().name,
                    }
                )

        setattr(Backend, source, probed_fetch)

    applied = MagflowApp.on_snapshots_ready

    def probed_applied(self: Any, message: Any) -> None:
        t0 = time.monotonic()
        try:
            applied(self, message)
        finally:
            t1 = time.monotonic()
            for source in message.sources:
                record({"ev": "applied", "source": source, "t0": t0, "t1": t1})

    MagflowApp.on_snapshots_ready = probed_applied  # type: ignore[method-assign]


def file_recorder(path: str) -> Record:
    lock = threading.Lock()
    out = open(path, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    def record(event: dict[str, Any]) -> None:
        line = json.dumps(event)
        with lock:
            out.write(line + "\n")

    return record


def read_probe_file(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    default = Path(__file__).resolve().parent / "results" / f"probe-{os.getpid()}.jsonl"
    target = Path(os.environ.get("BENCH_PROBE_FILE") or default)
    target.parent.mkdir(exist_ok=True)
    install(file_recorder(str(target)))
    # the program as installed: the headless CLI with the TUI plugged in (cli.main alone
    # has no TUI and would only say so)
    from magflow_console.main import main as console_main

    return console_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
