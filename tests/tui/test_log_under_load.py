"""The log view under a chatty container: the buffer stays at its limit, the view stays
at the newest line (or, paused, on the lines it showed), and keys are handled while
lines pour in. No timing is asserted (``bench/bench_logs.py`` measures the latency).

The first tests drive a bare ``LogView``; the last ones follow real containers on the
real Docker engine through the container detail (the follow worker, its bounded
buffer, the flush).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from textual.app import App, ComposeResult

from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.widgets.log_view import LOWER, MAX_LINES, TEXT, LogView
from tests.tui.helpers import real_app, wait_for

pytestmark = pytest.mark.anyio


class Host(App[None]):
    def __init__(self, log: LogView) -> None:
        super().__init__()
        self.log_view = log

    def compose(self) -> ComposeResult:
        yield self.log_view


def shown_on_screen(log: LogView) -> list[str]:
    """The text of each row of the view, as rendered."""
    return ["".join(seg.text for seg in log.render_line(y)) for y in range(log.size.height)]


async def test_a_burst_of_50000_lines_keeps_the_buffer_at_its_limit_and_the_view_at_the_end() -> (
    None
):
    log = LogView()
    async with Host(log).run_test(size=(80, 24)) as pilot:
        for start in range(0, 50_000, 500):  # as the flushes bring them
            log.add_lines(f"line {n}" for n in range(start + 1, start + 501))
        await pilot.pause()
        assert len(log.entries) == MAX_LINES and len(log.shown) == MAX_LINES
        assert log.entries[0][TEXT] == f"line {50_000 - MAX_LINES + 1}"
        assert log.shown[-1][TEXT] == "line 50000"
        assert log.following and log.scroll_y == log.max_scroll_y
        rows = shown_on_screen(log)
        assert "line 50000" in rows[-1] and "line 49999" in rows[-2], rows[-3:]

        log.add_lines(f"again {n}" for n in range(3 * MAX_LINES))  # more than it keeps
        await pilot.pause()
        assert len(log.entries) == MAX_LINES == len(log.shown)
        assert log.shown[0][TEXT] == f"again {2 * MAX_LINES}"
        assert "again 29999" in shown_on_screen(log)[-1]


async def test_the_filter_keeps_only_matching_lines_as_old_ones_fall_off() -> None:
    log = LogView(max_lines=300)
    rng = random.Random(7)
    async with Host(log).run_test(size=(80, 24)) as pilot:
        log.set_filter("even")
        n = 0
        for _ in range(60):
            size = rng.choice((1, 7, 50, 120, 299, 300, 450))
            batch = [f"{i} {'even' if i % 2 == 0 else 'odd'}" for i in range(n, n + size)]
            n += size
            log.add_lines(batch)
            assert len(log.entries) == min(n, 300)
            assert log.shown == [e for e in log.entries if "even" in e[LOWER]]
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y
        log.set_filter("")
        assert log.shown == list(log.entries)


async def test_a_paused_view_keeps_its_lines_while_older_ones_fall_off() -> None:
    log = LogView(max_lines=200)
    async with Host(log).run_test(size=(80, 12)) as pilot:
        log.add_lines(f"line {n}" for n in range(200))
        await pilot.pause()
        log.scroll_to(y=100, animate=False, immediate=True)  # the user scrolled up
        await pilot.pause()
        assert not log.following
        before = shown_on_screen(log)
        log.add_lines(f"later {n}" for n in range(40))  # 40 fall off the front
        await pilot.pause()
        assert not log.following and int(log.scroll_y) == 60
        assert shown_on_screen(log) == before

        await pilot.press("end")  # end resumes following
        log.add_lines(["newest"])
        await pilot.pause()
        assert log.following and "newest" in shown_on_screen(log)[-1]


async def test_a_search_hit_stays_on_its_line_until_the_line_falls_off() -> None:
    log = LogView(max_lines=200)
    async with Host(log).run_test(size=(80, 12)) as pilot:
        log.add_lines(f"line {n}" + (" NEEDLE" if n == 150 else "") for n in range(200))
        await pilot.pause()
        assert log.search("needle")
        await pilot.pause()
        assert log.match_index == 150 and not log.following
        log.add_lines(f"later {n}" for n in range(100))
        await pilot.pause()
        assert log.match_index == 50 and log.shown[50][TEXT] == "line 150 NEEDLE"
        top = int(log.scroll_y)
        assert top <= 50 < top + log.size.height
        assert any("line 150 NEEDLE" in row for row in shown_on_screen(log))
        log.add_lines(f"last {n}" for n in range(60))  # the hit falls off the front
        assert log.match_index is None


async def test_the_timestamps_toggle_redraws_the_lines() -> None:
    from magflow_console.models import LogLine
    from magflow_console.sources.docker_parse import parse_docker_time

    log = LogView()
    stamp = parse_docker_time("2026-12-04T06:25:01.5Z")
    async with Host(log).run_test(size=(80, 12)) as pilot:
        log.add_lines([LogLine(stamp, "hello", "stdout"), LogLine(None, "bare", "stderr")])
        await pilot.pause()
        rows = [row.strip() for row in shown_on_screen(log)[:2]]
        assert rows == ["12-04 06:25:01 hello", "bare"], rows
        await pilot.press("t")
        assert not log.timestamps
        rows = [row.strip() for row in shown_on_screen(log)[:2]]
        assert rows == ["hello", "bare"], rows
        assert log.visible_text() == "hello\nbare"


def status(screen: ContainerDetailScreen) -> str:
    return str(screen.query_one("#log-status").render())


@pytest.mark.docker
@pytest.mark.postgres
async def test_a_burst_through_the_container_detail_ends_at_the_newest_line(
    stack_config: Any, make_container: Any
) -> None:
    # the burst starts once the detail follows the log (a tail would skip most of it)
    burst = make_container(
        command=[
            "sh",
            "-c",
            "echo ready; while [ ! -e /tmp/go ]; do sleep 0.1; done; seq 1 50000; "
            "exec sleep 2147483647",
        ]
    )
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_container(burst.name)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerDetailScreen)
        log = screen.query_one(LogView)
        await wait_for(pilot, lambda: any(e[TEXT] == "ready" for e in log.entries), "ready")
        assert burst.exec_run(["touch", "/tmp/go"]).exit_code == 0
        await wait_for(
            pilot, lambda: bool(log.entries) and log.entries[-1][TEXT] == "50000", "line 50000"
        )
        await pilot.pause()
        assert len(log.entries) == MAX_LINES == len(log.shown)
        assert log.entries[0][TEXT] == str(50_000 - MAX_LINES + 1)
        assert log.following and log.scroll_y == log.max_scroll_y
        assert shown_on_screen(log)[-1].rstrip().endswith(" 50000")
        assert f"{MAX_LINES:,}/{MAX_LINES:,} lines" in status(screen)


@pytest.mark.docker
@pytest.mark.postgres
async def test_keys_are_handled_while_lines_pour_in(stack_config: Any, make_container: Any) -> None:
    # ~5,000 numbered lines a second, as long as the test runs
    chatty = make_container(
        command=[
            "awk",
            'BEGIN { while (1) { for (i = 0; i < 250; i++) print "line " ++n; '
            'fflush(); system("sleep 0.05") } }',
        ]
    )
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_container(chatty.name)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerDetailScreen)
        log = screen.query_one(LogView)
        await wait_for(pilot, lambda: len(log.entries) >= 2_000, "the log pouring in")

        newest = log.entries[-1][TEXT]
        await pilot.press("t")
        assert not log.timestamps
        await wait_for(pilot, lambda: "no timestamps" in status(screen), "the status line")
        await pilot.press("t")
        assert log.timestamps
        await wait_for(pilot, lambda: "no timestamps" not in status(screen), "the status")
        await wait_for(pilot, lambda: log.entries[-1][TEXT] != newest, "lines after the keys")

        await pilot.press("s", *"line", "enter")  # a search holds the view
        assert log.match_index is not None and not log.following
        await pilot.press("end")
        await wait_for(pilot, lambda: len(log.entries) == MAX_LINES, "a full buffer")
        await pilot.pause()
        assert log.following and log.scroll_y == log.max_scroll_y
        assert len(log.entries) == MAX_LINES == len(log.shown)
