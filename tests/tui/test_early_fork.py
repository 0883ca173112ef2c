"""The TUI's process receives its profile from a forked child (``magflow_console.main``):
the real program in a pseudo-terminal. The child loads the profile (pydantic-settings)
and makes the first reads while the UI process imports Textual; a config error the child
meets is the same one line and exit 3 as without a fork (tests/cli/test_tracebacks.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from magflow_console.backend import FIRST_READS, Backend
from tests.support.cli import ROOT
from tests.support.fake_backend import fake_config
from tests.support.pty_run import run_in_pty

#: the program, with a record of what the UI process held when it took the child's reads
LAUNCHER = """
import json, sys
from magflow_console.backend import Backend
from magflow_console.main import main

adopt = Backend.adopt_first_reads
seen = {}

def recorded(self, forked):
    seen.update(
        settings_imported="pydantic_settings" in sys.modules,
        api_url=self.loaded.profile.api.url,
        read_only=self.loaded.profile.read_only,
        child=forked.pid,
    )
    adopt(self, forked)

Backend.adopt_first_reads = recorded
code = main(sys.argv[2:])
seen["forked"] = seen.get("child") is not None
open(sys.argv[1], "w").write(json.dumps(seen))
sys.exit(code)
"""


def test_the_ui_process_takes_the_profile_the_child_loaded(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    # nothing listens on these: every pane shows its error, quickly
    env |= {"MAGFLOW_CONSOLE_READ_ONLY": "true"}  # from the environment, read in the child
    record = tmp_path / "seen.json"
    run = run_in_pty(
        [sys.executable, "-c", LAUNCHER, str(record),
         "--db-url", "postgresql://app@127.0.0.1:9/magflow",
         "--docker-host", "unix:///nonexistent/docker.sock",
         "--api-url", "http://127.0.0.1:9/",
         "--redis-url", "redis://127.0.0.1:9/0"],
        env, cwd=ROOT, until=["Containers", "Migrations", "refused"], size=(80, 24),
    )  # fmt: skip
    assert run.seen, run.text[-2000:]
    assert run.returncode == 0, run.text[-2000:]
    seen = json.loads(record.read_text())
    assert seen["forked"] is True
    assert seen["api_url"] == "http://127.0.0.1:9/" and seen["read_only"] is True
    assert seen["settings_imported"] is False  # the UI process loaded no profile itself


def test_the_child_makes_every_first_read_the_ui_process_waits_for() -> None:
    assert tuple(Backend(fake_config()).first_read_jobs()) == FIRST_READS
