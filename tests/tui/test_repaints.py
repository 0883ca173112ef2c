"""What a change repaints: an idle dashboard over SSH must rewrite only what changed
(issue 11; ``bench/bench_tui.py`` measures the bytes). Textual's ``refresh`` calls are
recorded at the widget's boundary; the screen must still show the new text."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from magflow_console.tui.widgets.header import StatusHeader
from magflow_console.tui.widgets.pane import Summary
from tests.tui.helpers import screen_text

pytestmark = pytest.mark.anyio

Refresh = tuple[str, tuple[Region, ...], bool]


def record_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[Refresh]:
    """Every ``Widget.refresh`` that reaches Textual for a Summary or the header: the
    widget's id, the regions (none: the whole widget) and whether a layout was asked."""
    calls: list[Refresh] = []
    refresh = Widget.refresh

    def recorded(self: Widget, *regions: Region, **kw: Any) -> Any:
        if isinstance(self, Summary | StatusHeader):
            calls.append((self.id or "", regions, bool(kw.get("layout"))))
        return refresh(self, *regions, **kw)

    monkeypatch.setattr(Widget, "refresh", recorded)
    return calls


class Panes(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusHeader(protected=False, id="header")
        yield Summary(id="summary")


def lines(*texts: str) -> Text:
    return Text("\n".join(texts), no_wrap=True)


async def test_a_changed_line_repaints_that_line_only_and_a_new_shape_lays_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = record_refreshes(monkeypatch)
    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        summary = app.query_one(Summary)
        summary.set_text(
            lines("worker  idle", "backlog empty", "beat    38s ago", "redis   1.0 MiB")
        )
        await pilot.pause()
        width = summary.size.width
        calls.clear()

        summary.set_text(
            lines("worker  idle", "backlog empty", "beat    38s ago", "redis   1.1 MiB")
        )
        await pilot.pause()
        assert calls == [("summary", (Region(0, 3, width, 1),), False)]
        shown = screen_text(app)
        assert "redis   1.1 MiB" in shown and "beat    38s ago" in shown
        assert "1.0 MiB" not in shown

        calls.clear()
        summary.set_text(
            lines("worker  idle", "backlog empty", "beat    38s ago", "redis   1.1 MiB")
        )
        await pilot.pause()
        assert calls == []  # the same text

        summary.set_text(
            lines("worker  busy", "backlog 2 queued", "beat    40s ago", "redis", "a fifth line")
        )
        await pilot.pause()
        assert calls[-1] == ("summary", (), True)  # a line more: its height changes
        shown = screen_text(app)
        assert "backlog 2 queued" in shown and "a fifth line" in shown


async def test_the_header_repaints_its_line_without_a_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = record_refreshes(monkeypatch)
    app = Panes()
    async with app.run_test(size=(40, 10)) as pilot:
        header = app.query_one(StatusHeader)
        header.set_text(Text("magflow local │ ● OK │ read 12:00 UTC"))
        await pilot.pause()
        calls.clear()
        header.set_text(Text("magflow local │ ● OK │ read 12:01 UTC"))
        await pilot.pause()
        assert [c for c in calls if c[0] == "header"] == [("header", (), False)]
        assert "read 12:01 UTC" in screen_text(app)
