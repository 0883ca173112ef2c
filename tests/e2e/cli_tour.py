"""Every command of the program, run as a user or a script runs it (a subprocess; the TUI
in a pseudo-terminal), against the planted stack.

``commands(parser)`` derives the commands from the argparse parser itself (every leaf
subcommand, and whether it takes ``--json``), so a command added later is one this
tour must run: ``missing(parser, runs)`` lists what the tour did not exercise (each
command, and for one with ``--json`` both its faces).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magflow_console.render.text import scrub
from tests.e2e import planted as p
from tests.e2e import proofs
from tests.support.pty_run import run_in_pty
from tests.support.secret_search import Outputs

PROGRAM = [sys.executable, "-m", "magflow_console"]


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # ("admin", "create")
    has_json: bool


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    found: list[Command] = []

    def walk(p: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and prefix:
            options = {o for a in p._actions for o in a.option_strings}
            found.append(Command(prefix, "--json" in options))
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*prefix, name))

    walk(parser, ())
    return found


@dataclass
class Ran:
    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str = ""


def runs_of(command: Command, ran: Sequence[Ran]) -> list[Ran]:
    n = len(command.path)
    return [r for r in ran if r.args[:n] == command.path]


def missing(parser: argparse.ArgumentParser, ran: Sequence[Ran]) -> list[str]:
    """Commands (or faces of one) the tour did not run."""
    gaps = []
    for command in commands(parser):
        mine = runs_of(command, ran)
        name = " ".join(command.path)
        if not mine:
            gaps.append(name)
        elif command.has_json:
            if not any("--json" in r.args for r in mine):
                gaps.append(f"{name} --json")
            if all("--json" in r.args for r in mine):
                gaps.append(f"{name} (human)")
    return gaps


class Tour:
    """Runs commands with the planted profile and keeps what they printed."""

    def __init__(self, config: Path, env: dict[str, str], outputs: Outputs, cwd: Path) -> None:
        """``cwd``: the commands' working directory (searched: a file written relative
        to it is one the console wrote)."""
        self.config = config
        self.env = env
        self.outputs = outputs
        self.cwd = cwd
        self.ran: list[Ran] = []

    def run(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
        proc = subprocess.run(
            [*PROGRAM, *args, "--config", str(self.config)],
            input=stdin, capture_output=True, text=True, env=self.env | (env or {}), cwd=self.cwd,
            timeout=600, stdin=None if stdin is not None else subprocess.DEVNULL,
        )  # fmt: skip
        return self._keep(Ran(tuple(args), proc.returncode, proc.stdout, proc.stderr))

    def _keep(self, ran: Ran) -> Ran:
        self.ran.append(ran)
        label = "$ magflow-console " + scrub(" ".join(ran.args))  # --db-url URL
        self.outputs.add(f"{label} (stdout)", ran.stdout)
        self.outputs.add(f"{label} (stderr)", ran.stderr)
        return ran

    def follow(self, *args: str, until: str, timeout: float = 120.0) -> Ran:
        """A command that runs until interrupted (``logs -f``): Ctrl-C once ``until``
        was printed (or after ``timeout``)."""
        proc = subprocess.Popen(
            [*PROGRAM, *args, "--config", str(self.config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env=self.env, cwd=self.cwd,
        )  # fmt: skip
        assert proc.stdout is not None
        out = b""
        deadline = time.monotonic() + timeout
        try:
            fd = proc.stdout.fileno()
            while time.monotonic() < deadline and until.encode() not in out:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    out += chunk
            proc.send_signal(signal.SIGINT)
            rest, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        text = (out + rest).decode("utf-8", "replace")
        return self._keep(Ran(tuple(args), proc.returncode, text, err.decode("utf-8", "replace")))

    def in_pty(self, *args: str, until: Sequence[str], env: dict[str, str] | None = None) -> Ran:
        """The TUI (``tui``, ``demo``) as a user at a terminal runs it: wait until the
        dashboard shows ``until``, then ``q``."""
        run = run_in_pty(
            [*PROGRAM, *args, "--config", str(self.config)],
            self.env | (env or {}),
            cwd=self.cwd,
            until=until,
        )
        label = "$ magflow-console " + " ".join(args) + " (terminal)"
        self.outputs.add_terminal(label, run.output)
        ran = Ran(tuple(args), run.returncode, run.text)
        self.ran.append(ran)
        assert run.seen, f"{label}: the dashboard never showed {list(until)}: {run.text[-600:]!r}"
        return ran


def dashboard_marks() -> list[str]:
    """What the TUI's dashboard shows once its sources are read: the header's verdict
    with the findings, the API's endpoints and a container row."""
    return [f"magflow {p.PROFILE}", "findings: d)", "/health/database", "extra"]


REPORTS = (0, 1, 2)  # ok, warning, critical: a report that ran (3 would be unknown)
CLI_ADMIN = "cli-planted@example.com"


def ok(ran: Ran, codes: Sequence[int] = (0,)) -> Ran:
    assert ran.returncode in codes, (
        f"magflow-console {' '.join(ran.args)} exited {ran.returncode}: {ran.stderr[-800:]}"
    )
    return ran


def reports(tour: Tour, run_id: str) -> dict[str, Any]:
    """The read-only commands, human and JSON; returns their JSON documents by command."""
    ok(tour.run("info"))
    docs: dict[str, Any] = {}
    for command in ("status", "doctor", "migrations", "containers", "sync-logs", "celery"):
        ok(tour.run(command), REPORTS)
        docs[command] = json.loads(ok(tour.run(command, "--json"), REPORTS).stdout)
    ok(tour.run("sync-logs", "--id", run_id[:8]), REPORTS)  # the run's outcome
    ok(tour.run("sync-logs", "--id", run_id, "--json"), REPORTS)
    # every profile at once: the standby's errors come from URLs carrying the passwords
    ok(tour.run("status", "--all"), REPORTS)
    every = json.loads(ok(tour.run("status", "--all", "--json"), REPORTS).stdout)
    by_name = {line["profile"]: line for line in every["profiles"]}
    assert set(by_name) == {p.PROFILE, p.STANDBY}, every
    assert by_name[p.STANDBY]["worst_code"] == "database_unreachable", by_name[p.STANDBY]
    return docs


def flags(tour: Tour, planted: p.Planted) -> None:
    """The URLs given on the command line (``--db-url``, ``--redis-url``) and in the
    console's own environment layer, rather than through the profile's ``url_env``."""
    given = ("--db-url", planted.cli_db_url, "--redis-url", planted.redis_url)
    wide = {"COLUMNS": "400"}  # each value and source on one line
    info = ok(tour.run("info", *given, env=wide)).stdout
    assert "database.url" in info and ":***@" in info, info[-800:]
    doc = json.loads(ok(tour.run("status", "--json", *given), REPORTS).stdout)
    assert doc["database"]["state"] == "ok" and doc["redis"]["state"] == "ok", doc["redis"]
    ok(tour.run("migrations", *given), REPORTS)
    layer = {f"MAGFLOW_CONSOLE_PROFILES__{p.PROFILE.upper()}__REDIS__URL": planted.redis_url}
    info = ok(tour.run("info", env=layer | wide)).stdout
    assert f"env MAGFLOW_CONSOLE_PROFILES__{p.PROFILE.upper()}__REDIS__URL" in info, info[-800:]


def logs(tour: Tour, planted: p.Planted) -> None:
    ok(tour.run("logs", "app", "--tail", "50"))
    ok(tour.run("logs", "worker", "--grep", "credentials"))
    ok(tour.run("logs", planted.extra.name))
    ok(tour.follow("logs", "app", "-f", until="Product sync failed"), (0, 130))


def actions(tour: Tour, planted: p.Planted) -> None:
    refused = ok(tour.run("migrate"), (3,))  # no --yes and no terminal: refused
    assert "--yes" in refused.stderr + refused.stdout
    ok(tour.run("migrate", "--backup", "--yes"))
    extra = planted.extra.name
    for verb in ("restart", "stop", "start"):
        ok(tour.run(verb, extra, "--yes"))
    create = ("admin", "create", "--email", CLI_ADMIN, "--full-name", "CLI Planted")
    ok(tour.run(*create, "--password-stdin", "--yes", stdin=p.ADMIN_PASSWORD_CLI + "\n"))
    assert proofs.password_is(planted.cli_db_url, CLI_ADMIN, p.ADMIN_PASSWORD_CLI)
    reset = ("admin", "reset-password", "--email", CLI_ADMIN, "--password-stdin", "--yes")
    ok(tour.run(*reset, stdin=p.RESET_PASSWORD_CLI + "\n"))
    ok(tour.run("admin", "deactivate", "--email", CLI_ADMIN, "--yes"))
    ok(tour.run("admin", "list"))
    ok(tour.run("admin", "list", "--json"))
    # the fake API's synchronous answer has 0 items: the console calls that run failed
    ok(tour.run("sync", "--account", "main", "--sync-call", "--yes"), (2,))
    ok(tour.run("sync", "--account", "fbe", "--yes"))
    ok(tour.run("audit"))
    ok(tour.run("audit", "--json"))
    seed_db = {p.ENV["db"]: planted.seed_db_url}  # a database at head with no data
    ok(tour.run("seed", "--products", "20", "--sync-logs", "10", env=seed_db))


def terminals(tour: Tour, short_tmp: Path) -> None:
    """The TUI and the demo (its human face is the TUI), at a terminal; the demo's JSON."""
    ok(tour.in_pty("tui", until=dashboard_marks()))
    demo_env = {"TMPDIR": str(short_tmp)}  # the demo server's socket path must be short
    ok(tour.run("demo", "--json", env=demo_env))
    ok(tour.in_pty("demo", until=dashboard_marks(), env=demo_env))
