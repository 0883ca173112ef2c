"""doctor's steps name `sync --account` only with an account the command takes (main or
fbe): a finding about another account value (a legacy name, 'both', markup, nothing)
gets main and fbe, one after the other, never a command the console would refuse."""

from __future__ import annotations

import re

import pytest

from magflow_console.cli import build_parser
from magflow_console.diagnose import remedies
from magflow_console.models import Finding
from tests.support.snapshots import report_of

ACCOUNTS = ["main", "fbe", "both", "legacy", "[bold]x[/]", "", None]
SYNC_COMMAND = re.compile(r"`magflow-console (sync --account [^`]*)`")


def sync_commands(account: str | None) -> list[str]:
    found = []
    report = report_of()
    for code, remedy in remedies.REMEDIES.items():
        finding = Finding(code, "warning", "x", account=account, subject="0b6f3c2e-5a1d")
        for step in remedy(finding, report):
            found += SYNC_COMMAND.findall(step)
    return found


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_advised_sync_command_is_one_the_console_takes(account: str | None) -> None:
    commands = sync_commands(account)
    assert commands, "some remedies advise a sync"
    parser = build_parser()
    for command in commands:
        assert re.fullmatch(r"sync --account (main|fbe)( --wait)?", command), command
        args = parser.parse_args(command.split())  # argparse would exit on a bad account
        assert args.account in ("main", "fbe")


def test_a_known_account_is_advised_as_itself() -> None:
    assert set(sync_commands("fbe")) >= {"sync --account fbe --wait"}
    assert "sync --account main --wait" not in sync_commands("fbe")[:1]
    legacy = sync_commands("legacy")
    assert "sync --account main --wait" in legacy and "sync --account fbe --wait" in legacy
