"""Running the real program in a subprocess, as a user or a script does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from magflow_console.reference import SCRIPTS_DIR

ROOT = Path(__file__).resolve().parent.parent.parent


def run_cli(
    args: list[str], env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_STATE_HOME": str(tmp_path / "state")}
    env |= env_extra
    return subprocess.run(
        [sys.executable, "-m", "magflow_console", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def stack_args(db_url: str, engine: Any, api_url: str) -> list[str]:
    return [
        "--db-url", db_url,
        "--docker-host", engine.base_url,
        "--api-url", api_url,
        "--scripts", str(SCRIPTS_DIR),
    ]  # fmt: skip
