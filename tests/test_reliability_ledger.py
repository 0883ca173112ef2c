"""RELIABILITY.md is built from what the tests recorded, and a failed test's records
count as failures, never as held (pure logic: the report's rendering)."""

from __future__ import annotations

import datetime as dt

from tests.support.reliability import CaseRecords, Fault, Race, render

NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)


def test_a_failed_test_is_not_counted_as_held() -> None:
    ok = CaseRecords("t::ok", faults=[Fault("postgres", "server stopped", "TUI", 4.25)])
    ok.hostile = {"errors: 5 MB string": 2}
    ok.planted, ok.searched, ok.passed = 4, 30, True
    bad = CaseRecords("t::bad", faults=[Fault("docker", "engine restarted", "TUI", None)])
    bad.hostile = {"errors: 5 MB string": 1, "log: 1 MB line": 3}
    bad.races = [Race("sync main twice", 2, "console A", "already running")]
    bad.planted, bad.searched, bad.passed = 1, 2, False
    text = render([ok, bad], NOW)
    assert "| postgres | server stopped | TUI | 4.2 s | held |" in text
    assert "| docker | engine restarted | TUI | n/a | FAILED |" in text
    assert "2 faults injected, 1 recovered as expected." in text
    assert "| sync main twice | 2 | console A | already running | FAILED |" in text
    assert "| errors: 5 MB string | 3 | 1 |" in text and "| log: 1 MB line | 3 | 3 |" in text
    assert "6 hostile inputs tried, 4 crashes or misrenders found." in text
    assert "5 secrets planted, 32 outputs searched" in text and "hits in t::bad" in text


def test_an_empty_run_says_so() -> None:
    text = render([], NOW)
    assert "No fault was injected in this run." in text
    assert "No secret search ran in this run." in text
