"""Hostile data through every headless command, human and ``--json``: sync-log ``errors``
in a real PostgreSQL that are null, a string, a dict, nested 5,000 deep, 5 MB long, or
hold Rich markup, escape sequences and bidi controls; a compose label, a health probe's
output and log lines (non-UTF-8 bytes, a 1 MB line) of real containers on the real
engine; a migration folder with a syntax error, a missing parent and a cycle.

Every command must exit with its documented code (never a traceback), print nothing a
terminal would act on (escape sequences, control characters, bidi controls), show
markup literally, keep what it prints of a huge value short, and print strict JSON.

The scenario (``hostile_scenario``) is shared with tests/tui/test_hostile_data.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from tests.render.test_sync_run import page_errors
from tests.sources.test_database import connect, insert_sync_log
from tests.sources.test_docker_logs import octal, pad, text
from tests.sources.test_sync_bad_values import strict_loads
from tests.support.alembic_trees import SHAPES, Mig, render, write_tree
from tests.support.cli import run_cli
from tests.support.docker_engine import DockerEngine, compose_labels, healthcheck

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

#: Rich markup, CSI/OSC sequences, a C1 CSI, a right-to-left override: what data may hold
MARKUP = "[bold red]boom[/bold red]"
HOSTILE = (
    f"{MARKUP} \x1b[2J\x1b[31m \x1b]0;pwned\x07 \x9b5m \u202eevil\u202c [link=http://x]y[/link]"
)
#: what must never reach the terminal (written by a command or drawn by the TUI)
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\x00")
SECRET = "Hostile-pass-8d3e"


def raw_controls(out: str) -> list[str]:
    """Control characters a terminal would act on (newline and tab are text)."""
    return sorted({c for c in out if c in RAW or (ord(c) < 32 and c not in "\n\t")})


@dataclass
class Scenario:
    db_url: str
    engine: DockerEngine
    scripts: Path
    project: str
    prefix: str
    app: str  # the hostile "app" container
    odd: str  # a container whose compose service label is hostile
    runs: dict[str, str] = field(default_factory=dict)  # kind -> sync-log id
    #: hostile inputs planted, per kind (for the report)
    planted: dict[str, int] = field(default_factory=dict)

    @property
    def args(self) -> list[str]:
        return [
            "--db-url", self.db_url, "--docker-host", self.engine.base_url,
            "--scripts", str(self.scripts), "--api-url", "http://127.0.0.1:1",
            "--redis-url", "redis://127.0.0.1:1/0",
        ]  # fmt: skip

    @property
    def env(self) -> dict[str, str]:
        return {
            "MAGFLOW_CONSOLE_DOCKER__PROJECT": self.project,
            "MAGFLOW_CONSOLE_DOCKER__PREFIX": self.prefix,
            "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps({"app": self.app}),
        }


def plant_runs(db_url: str) -> dict[str, str]:
    """One sync-log row per hostile shape of ``errors`` (and text columns)."""
    deep = "[" * 5000 + json.dumps(HOSTILE) + "]" * 5000
    with connect(db_url) as conn:
        insert_sync_log(conn, account_type="fbe", hours_ago=3)
        runs = {
            "null": insert_sync_log(conn, hours_ago=0.9, errors=None),
            "string": insert_sync_log(conn, hours_ago=0.8),
            "dict": insert_sync_log(conn, hours_ago=0.7),
            "deep": insert_sync_log(conn, hours_ago=0.6),
            "5mb": insert_sync_log(conn, hours_ago=0.5, errors=["e" * 5_000_000 + HOSTILE]),
            "40k entries": insert_sync_log(conn, hours_ago=0.4, errors=page_errors(40_000)),
            "markup": insert_sync_log(
                conn,
                hours_ago=0.3,
                status="failed",
                errors=[{"error": HOSTILE, "timestamp": "2025-10-21T10:00:00"}] * 3,
                operation=HOSTILE[:50],
                triggered_by=HOSTILE[:100],
                sync_version="\x1b[5m[b]v[/b]\u202e",
                sync_params=Jsonb({"mode": HOSTILE, "password": SECRET}),
            ),
            "nan, infinity": insert_sync_log(conn, hours_ago=0.2),
        }
        conn.execute(
            "UPDATE app.emag_sync_logs SET duration_seconds = 'NaN', started_at = 'infinity'"
            " WHERE id = %s",
            [runs["nan, infinity"]],
        )
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s WHERE id = %s",
            [Jsonb(HOSTILE), runs["string"]],
        )
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s WHERE id = %s",
            [Jsonb({"error": HOSTILE, "detail": {"password": SECRET, "n": [1, {"x": None}]}}),
             runs["dict"]],
        )  # fmt: skip
        conn.execute(
            "UPDATE app.emag_sync_logs SET errors = %s::jsonb WHERE id = %s", [deep, runs["deep"]]
        )
    return runs


def app_script() -> str:
    """The hostile app's log: markup and escapes, bytes that are not UTF-8, a NUL, a line
    of a megabyte (with a secret after its first 64 KB), a MagFlow failure line quoting
    hostile text (doctor reads it), a password; then it sleeps."""
    return (
        octal(HOSTILE.encode()) + "echo; "
        + octal(b"not utf-8: \xff\xfe\xc3( and a NUL \x00 here") + "echo; "
        + text("big line ") + pad(1 << 20) + text(f" password={SECRET}") + "echo; "
        + octal(f"2025-10-21 20:46:52,720 - app.services.emag.sync - ERROR - Product sync "
                f"failed: {HOSTILE} password={SECRET}".encode()) + "echo; "
        + "echo after; exec sleep 2147483647"
    )  # fmt: skip


def hostile_scripts(root: Path) -> Path:
    """A migration folder with a cycle, a missing parent, a file that does not parse and
    messages holding markup and escape sequences."""
    folder = write_tree(root, "cycle")
    versions = folder / "versions"
    orphan = Mig("o1o1o1o1o1o1", "nowhere0000", message=HOSTILE.replace("\x07", ""))
    (versions / orphan.filename).write_text(render(orphan))
    (versions / "b4d5yntax_broken.py").write_text(
        f'"""{MARKUP} \x1b[2J broken"""\nrevision = "b4d5yntax"\ndown_revision = (\n'
    )
    assert len(SHAPES["cycle"]) == 6
    return folder


@pytest.fixture
def hostile_scenario(
    head_db_url: str,
    docker_engine: DockerEngine,
    make_container: Callable[..., Any],
    tmp_path: Path,
) -> Scenario:
    tag = secrets.token_hex(3)
    project, prefix = f"mfchostile{tag}", f"h{tag}_"
    probe = "printf '" + "".join(f"\\{b:03o}" for b in HOSTILE.encode()) + "'; exit 1"
    app = make_container(
        name=f"{prefix}app",
        labels=compose_labels(project, "app"),
        command=["sh", "-c", app_script()],
        healthcheck=healthcheck(probe, retries=1),
    )
    odd = make_container(
        name=f"{prefix}odd",
        labels={**compose_labels(project, HOSTILE), "note": HOSTILE},
    )
    scenario = Scenario(
        db_url=head_db_url,
        engine=docker_engine,
        scripts=hostile_scripts(tmp_path / "scripts"),
        project=project,
        prefix=prefix,
        app=app.name,
        odd=odd.name,
        runs=plant_runs(head_db_url),
    )
    scenario.planted = {
        "sync-log errors (null, string, dict, 5,000 deep, 5 MB, 40,000 entries, markup)": 7,
        "sync-log numbers and times (NaN duration, 'infinity' start)": 2,
        "sync-log text columns with markup/escapes (operation, triggered_by, version, params)": 4,
        "compose labels with markup/escapes/bidi (service, other)": 2,
        "health-probe output with markup/escapes": 1,
        "log lines (markup+escapes+bidi, non-UTF-8+NUL, 1 MB, a failure quoting them)": 4,
        "migration folder problems (cycle of 3, missing parent, syntax error, markup message)": 4,
    }
    # wait until the engine has the log and the failed probe
    for _ in range(100):
        app.reload()
        health = (app.attrs["State"].get("Health") or {}).get("Log") or []
        if health and b"after" in app.logs(tail=1):
            break
        __import__("time").sleep(0.2)
    else:
        pytest.fail("the hostile app did not log its lines and fail a probe within 20 s")
    return scenario


#: (arguments, the exit codes the command documents for this data)
COMMANDS: list[tuple[list[str], set[int]]] = [
    (["status"], {1, 2}),
    (["status", "--json"], {1, 2}),
    (["doctor"], {1, 2}),
    (["doctor", "--json"], {1, 2}),
    (["sync-logs"], {1, 2}),
    (["sync-logs", "--json"], {1, 2}),
    (["containers"], {1, 2}),
    (["containers", "--json"], {1, 2}),
    (["migrations"], {1, 2}),
    (["migrations", "--json"], {1, 2}),
    (["logs", "app", "--tail", "500"], {0}),
]


def check_output(
    name: str, proc: Any, codes: set[int], *, is_json: bool, limit: int = 400_000
) -> list[str]:
    """What is wrong with one command's run (empty: nothing)."""
    out = proc.stdout + proc.stderr
    wrong = []
    if proc.returncode not in codes:
        wrong.append(f"{name}: exit {proc.returncode} (want {sorted(codes)}): {proc.stderr[-300:]}")
    if "Traceback" in out:
        wrong.append(f"{name}: a traceback: {proc.stderr[-500:]}")
    if found := raw_controls(out):
        wrong.append(f"{name}: control characters reached the terminal: {found}")
    if SECRET in out:
        wrong.append(f"{name}: the planted password leaked")
    if is_json:
        try:
            strict_loads(proc.stdout)
        except ValueError as exc:
            wrong.append(f"{name}: not strict JSON: {exc}")
    if len(out) > limit:
        wrong.append(f"{name}: printed {len(out):,} characters")
    return wrong


def test_every_command_survives_hostile_data(
    hostile_scenario: Scenario, tmp_path: Path, reliability: Any
) -> None:
    s = hostile_scenario
    for kind, count in s.planted.items():  # held only if every command below survives them
        reliability.hostile(f"{kind}, through {len(COMMANDS) + 2 * len(s.runs)} commands", count)
    wrong: list[str] = []
    outputs: dict[str, str] = {}
    commands = list(COMMANDS)
    for kind, run_id in s.runs.items():
        # completed with errors (1), failed (2); the null and deep ones have no error count
        codes = {0, 1, 2}
        commands.append((["sync-logs", "--id", run_id], codes))
        commands.append((["sync-logs", "--id", run_id, "--json"], codes))
        del kind
    for args, codes in commands:
        name = " ".join(a if len(a) < 20 else a[:8] for a in args)
        proc = run_cli([*args, *s.args], s.env | {"COLUMNS": "120"}, tmp_path)
        outputs[name] = proc.stdout
        # `sync-logs --id X --json` is where all of a huge value is
        limit = 12_000_000 if args[:2] == ["sync-logs", "--id"] and "--json" in args else 400_000
        wrong += check_output(name, proc, codes, is_json="--json" in args, limit=limit)
    assert not wrong, "\n".join(wrong)

    # every source read its hostile data: none is in error because of it
    status = strict_loads(outputs["status --json"])
    for section in ("sync", "database", "containers", "migrations"):
        assert status[section]["state"] == "ok", (section, status[section]["error"])
    listed = strict_loads(outputs["sync-logs --json"])
    assert set(s.runs.values()) <= {r["id"] for r in listed["recent"]}

    # markup is shown as text where the data is shown
    assert MARKUP in outputs["sync-logs --id " + s.runs["markup"][:8]]
    assert MARKUP in outputs["logs app --tail 500"]
    assert MARKUP in outputs["containers"]  # the hostile service label
    assert "\\u202e" in outputs["logs app --tail 500"]  # shown as its code
    # huge values are cut short, with the way to all of them
    for kind in ("5mb", "40k entries"):
        human = outputs["sync-logs --id " + s.runs[kind][:8]]
        assert len(human) < 30_000, (kind, len(human))
        assert "--json" in human
    assert len(strict_loads(outputs["sync-logs --id " + s.runs["40k entries"][:8] + " --json"])
               ["errors"]) == 40_000  # fmt: skip
    deep = strict_loads(outputs["sync-logs --id " + s.runs["deep"][:8] + " --json"])
    assert isinstance(deep["errors"], str) and "nested too deeply" in deep["errors"]
    # the megabyte line: its first 64 KB, then how much was cut
    big = next(x for x in outputs["logs app --tail 500"].splitlines() if "big line" in x)
    assert len(big) < 70_000 and "more bytes of this line not shown" in big
    # the broken migration folder is described, not fatal
    problems = {p["code"] for p in strict_loads(outputs["migrations --json"])["problems"]}
    assert {"cycle", "missing_parent", "script_parse_error"} <= problems, problems
