"""The bidirectional controls (U+202A-202E, U+2066-2069, U+200E/200F, U+061C) are made
visible by the one sanitizer like the other controls: a U+202E in a log line or a name
cannot reverse what is shown after it ("Trojan Source")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magflow_console.render.text import clean, excerpt, one_line
from tests.support.cli import run_cli
from tests.support.docker_engine import DockerEngine

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]


@pytest.mark.parametrize("char", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_each_bidi_control_is_shown_as_its_code(char: str) -> None:
    shown = clean(f"user{char}gnp.exe")
    assert char not in shown and shown == f"user\\u{ord(char):04x}gnp.exe"
    assert char not in one_line(f"a{char}b") and char not in excerpt(f"a{char}b")


def test_right_to_left_text_itself_is_kept() -> None:
    assert clean("שלום مرحبا") == "שלום مرحبا"
    assert clean("\x07 \x9b") == "\\x07 \\x9b"  # the C0/C1 form is unchanged


@pytest.mark.docker
def test_logs_shows_the_override_not_acts_on_it(
    docker_engine: DockerEngine, make_container: Callable[..., Any], tmp_path: Path
) -> None:
    line = "invoice\u202efdp.exe done"
    app = make_container(command=["sh", "-c", f"printf '%s\\n' '{line}'; exec sleep 2147483647"])
    env = {
        "MAGFLOW_CONSOLE_DOCKER__SERVICES": json.dumps({"app": app.name}),
        "MAGFLOW_CONSOLE_DOCKER__HOST": docker_engine.base_url,
    }
    for _ in range(50):
        proc = run_cli(["logs", "app", "--no-timestamps"], env, tmp_path)
        if proc.stdout:
            break
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "invoice\\u202efdp.exe done\n"
