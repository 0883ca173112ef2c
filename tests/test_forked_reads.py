"""The first reads in a forked child (``forked_reads``), with real forks.

Each case runs in a fresh interpreter (a single-threaded process, as the console is when
it forks; pytest's own process has other threads, so ``start`` would rightly refuse).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import json, os, sys, threading, time
from magflow_console import forked_reads
from magflow_console.models import ApiSnapshot, error_snapshot

def outcome(reads):
    values = {name: f.result(timeout=30) for name, f in reads.futures.items()}
    reads.join(30)
    try:
        os.waitpid(reads.pid, os.WNOHANG)
        reaped = False
    except ChildProcessError:
        reaped = True
    return values, reaped
"""


def run(body: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    script = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]), proc.stdout + proc.stderr


def test_each_result_comes_back_from_the_child(tmp_path: Path) -> None:
    result, _ = run(
        """
        snap = error_snapshot(ApiSnapshot, "refused", base_url="http://x")
        reads = forked_reads.start({
            "number": lambda: 42,
            "text": lambda: "é ✓",
            "snapshot": lambda: snap,
            "pid": os.getpid,
        })
        assert reads is not None
        values, reaped = outcome(reads)
        print(json.dumps({
            "number": values["number"], "text": values["text"],
            "snapshot_equal": values["snapshot"] == snap,
            "child_pid": values["pid"] == reads.pid, "parent": os.getpid() != reads.pid,
            "reaped": reaped,
        }))
        """,
        tmp_path,
    )
    assert result == {
        "number": 42,
        "text": "é ✓",
        "snapshot_equal": True,
        "child_pid": True,  # the jobs ran in the child
        "parent": True,
        "reaped": True,
    }


def test_a_failed_or_unsendable_result_is_none_and_the_others_arrive(tmp_path: Path) -> None:
    result, _ = run(
        """
        def boom():
            raise RuntimeError("source failed")
        reads = forked_reads.start({
            "fails": boom,
            "unpicklable": lambda: threading.Lock(),
            "fine": lambda: [1, 2],
        })
        values, reaped = outcome(reads)
        print(json.dumps({**values, "reaped": reaped}))
        """,
        tmp_path,
    )
    assert result == {"fails": None, "unpicklable": None, "fine": [1, 2], "reaped": True}


def test_a_child_that_dies_gives_none_for_what_it_did_not_send(tmp_path: Path) -> None:
    result, _ = run(
        """
        def first():
            return "sent"
        def die():
            time.sleep(0.5)  # after "first" was sent
            os._exit(7)
        reads = forked_reads.start({"first": first, "dies": die, "slow": lambda: time.sleep(5)})
        values, reaped = outcome(reads)
        print(json.dumps({**values, "reaped": reaped}))
        """,
        tmp_path,
    )
    assert result == {"first": "sent", "dies": None, "slow": None, "reaped": True}


def test_the_child_never_runs_the_callers_code_nor_writes_to_the_terminal(
    tmp_path: Path,
) -> None:
    result, output = run(
        """
        class Refuses:
            def __reduce__(self):
                raise SystemExit("not even this unwinds the child")
        def noisy():
            time.sleep(0.3)  # sent after "exits" has failed to pickle
            print("CHILD-STDOUT"); print("CHILD-STDERR", file=sys.stderr)
            return 1
        reads = forked_reads.start({"noisy": noisy, "exits": Refuses})
        with open("after-start", "a") as f:
            f.write(f"{os.getpid()}\\n")
        values, reaped = outcome(reads)
        print(json.dumps({"values": values, "after": open("after-start").read().split(),
                          "me": str(os.getpid()), "reaped": reaped}))
        """,
        tmp_path,
    )
    assert result["after"] == [result["me"]]  # only the parent went on after start()
    assert result["values"] == {"noisy": 1, "exits": None}
    assert result["reaped"] is True
    assert "CHILD-STDOUT" not in output and "CHILD-STDERR" not in output


def test_no_fork_while_another_thread_runs(tmp_path: Path) -> None:
    result, _ = run(
        """
        stop = threading.Event()
        t = threading.Thread(target=stop.wait); t.start()
        refused = forked_reads.start({"x": lambda: 1}) is None
        stop.set(); t.join()
        allowed = forked_reads.start({"x": lambda: 1})
        print(json.dumps({"refused": refused, "then": outcome(allowed)[0]}))
        """,
        tmp_path,
    )
    assert result == {"refused": True, "then": {"x": 1}}


def test_close_kills_a_child_that_is_still_reading(tmp_path: Path) -> None:
    result, _ = run(
        """
        reads = forked_reads.start({"hangs": lambda: time.sleep(60), "quick": lambda: 2})
        reads.futures["quick"].result(timeout=30)
        started = time.monotonic()
        reads.close()
        values, reaped = outcome(reads)
        print(json.dumps({**values, "reaped": reaped,
                          "closed_within_10s": time.monotonic() - started < 10}))
        """,
        tmp_path,
    )
    assert result == {"hangs": None, "quick": 2, "reaped": True, "closed_within_10s": True}


def test_libraries_are_imported_one_at_a_time(tmp_path: Path) -> None:
    """Three threads asking for the docker SDK, httpx and redis-py at once: each
    library's own modules load in one block, not interleaved (``lean_imports``)."""
    result, _ = run(
        """
        import importlib.abc
        from magflow_console.sources import lean_imports
        order = []
        LIBS = ("docker", "httpx", "httpcore", "redis")
        class Watch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                top = name.split(".")[0]
                if top in LIBS:
                    order.append("httpx" if top == "httpcore" else top)
                return None
        sys.meta_path.insert(0, Watch())
        go = threading.Barrier(3)
        def run(fn, **kw):
            go.wait(); fn(**kw)
        threads = [
            threading.Thread(target=run, args=(lean_imports.import_docker_sdk,),
                             kwargs={"ssh": False}),
            threading.Thread(target=run, args=(lean_imports.import_httpx,)),
            threading.Thread(target=run, args=(lean_imports.import_redis,)),
        ]
        for t in threads: t.start()
        for t in threads: t.join()
        blocks = [lib for i, lib in enumerate(order) if i == 0 or order[i - 1] != lib]
        print(json.dumps({"blocks": blocks, "count": len(order)}))
        """,
        tmp_path,
    )
    assert result["count"] > 30, result  # the libraries really were imported here
    assert sorted(result["blocks"]) == ["docker", "httpx", "redis"], result["blocks"]


def test_a_planned_child_sends_what_it_prepared_then_the_results(tmp_path: Path) -> None:
    result, _ = run(
        """
        def plan():
            # decided in the child: the parent learns the value and the jobs' results
            return forked_reads.Plan({"profile": "prod", "pid": os.getpid()},
                                     {"one": lambda: 1, "two": lambda: 2})
        reads = forked_reads.start_planned(plan, ["one", "two"])
        prepared = reads.prepared.result(timeout=30)
        values, reaped = outcome(reads)
        print(json.dumps({"prepared": prepared["profile"],
                          "in_child": prepared["pid"] == reads.pid, **values, "reaped": reaped}))
        """,
        tmp_path,
    )
    assert result == {"prepared": "prod", "in_child": True, "one": 1, "two": 2, "reaped": True}


def test_a_plan_that_raises_gives_its_exception_and_no_results(tmp_path: Path) -> None:
    result, _ = run(
        """
        class Unsendable(Exception):
            def __reduce__(self):
                raise TypeError("no")
        def plan(exc):
            def raises():
                raise exc
            return raises
        out = {}
        for label, exc in (("error", ValueError("config.toml: profiles.x.database.url: bad")),
                           ("unsendable", Unsendable("x")),
                           ("exits", SystemExit("not even this unwinds the child"))):
            reads = forked_reads.start_planned(plan(exc), ["one"])
            try:
                out[label] = ["value", reads.prepared.result(timeout=30)]
            except BaseException as got:
                out[label] = [type(got).__name__, str(got)]
            values, reaped = outcome(reads)
            out[label] += [values["one"], reaped]
        open("after-plans", "a").write("x")
        print(json.dumps(out))
        """,
        tmp_path,
    )
    assert result["error"] == [
        "ValueError",
        "config.toml: profiles.x.database.url: bad",
        None,
        True,
    ]
    assert result["unsendable"] == ["value", None, None, True]  # as if nothing came
    assert result["exits"] == ["SystemExit", "not even this unwinds the child", None, True]
    assert (tmp_path / "after-plans").read_text() == "x"  # written once: by the parent only


def test_a_prepared_value_that_does_not_pickle_ends_the_child(tmp_path: Path) -> None:
    result, _ = run(
        """
        reads = forked_reads.start_planned(
            lambda: forked_reads.Plan(threading.Lock(), {"one": lambda: 1}), ["one"])
        prepared = reads.prepared.result(timeout=30)
        values, reaped = outcome(reads)
        print(json.dumps({"prepared": prepared, **values, "reaped": reaped}))
        """,
        tmp_path,
    )
    assert result == {"prepared": None, "one": None, "reaped": True}
