"""The key bar (``widgets/key_bar.py``): which keys it shows, where, and when it repaints.

The placement is pure logic; the rest runs a small Textual app whose keys change."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget

from magflow_console.tui.widgets.key_bar import Key, KeyBar, place
from tests.tui.helpers import screen_text

pytestmark = pytest.mark.anyio


def key(display: str, description: str, action: str = "") -> Key:
    return Key(display, display, description, True, action or description.lower())


KEYS = [key("/", "Filter"), key("a", "Admins"), key("m", "Migrate"), key("?", "Help")]


def test_whole_keys_are_placed_in_order_and_none_is_cut() -> None:
    # " / Filter " is 10 columns, " a Admins " 10, " m Migrate " 11, " ? Help " 8
    assert [(p.key.display, p.start) for p in place(KEYS, 39)] == [
        ("/", 0),
        ("a", 10),
        ("m", 20),
        ("?", 31),
    ]
    assert [p.key.display for p in place(KEYS, 38)] == ["/", "a", "?"]  # m would be cut


def test_help_displaces_the_last_keys_when_the_line_is_short() -> None:
    assert [p.key.display for p in place(KEYS, 20)] == ["/", "?"]
    assert [p.key.display for p in place(KEYS, 8)] == ["?"]
    assert place(KEYS, 7) == []  # not even help fits: nothing half-drawn
    assert [p.key.display for p in place(KEYS[:3], 20)] == ["/", "a"]  # no help to keep


class Switchable(Widget, can_focus=True):
    """Offers "x Extra" only while ``extra`` is set (Textual asks ``check_action``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "extra", "Extra")]
    extra = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.extra if action == "extra" else True

    def action_extra(self) -> None:
        self.app.pressed.append("x")  # type: ignore[attr-defined]


class Keys(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("h", "help", "Help again"),  # the same action: shown once
        Binding("z", "hidden", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.pressed: list[str] = []

    def compose(self) -> ComposeResult:
        yield Switchable()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(Switchable).focus()

    def action_help(self) -> None:
        self.pressed.append("help")


def bar_line(app: App[Any]) -> str:
    return screen_text(app).splitlines()[-1]


async def test_the_bar_follows_the_keys_and_repaints_only_when_they_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repaints: list[KeyBar] = []
    refresh = Widget.refresh

    def recorded(self: Widget, *regions: Any, **kw: Any) -> Any:
        if isinstance(self, KeyBar):
            repaints.append(self)
        return refresh(self, *regions, **kw)

    monkeypatch.setattr(Widget, "refresh", recorded)
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = bar_line(app)
        assert " q Quit " in line and " ? Help " in line
        assert "Extra" not in line and "Hidden" not in line and "Help again" not in line
        assert line.rstrip().endswith("^p palette")  # the command palette's key, at the right

        repaints.clear()
        app.screen.refresh_bindings()  # the same keys
        await pilot.pause()
        assert repaints == []

        switchable = app.query_one(Switchable)
        switchable.extra = True
        app.screen.refresh_bindings()
        await pilot.pause()
        assert repaints
        assert " x Extra " in bar_line(app)


async def test_a_click_on_a_key_presses_it() -> None:
    app = Keys()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause()
        line = bar_line(app)
        await pilot.click(KeyBar, offset=(line.index("Help"), 0))
        await pilot.pause()
        assert app.pressed == ["help"]
        await pilot.click(KeyBar, offset=(line.index("Quit"), 0))
        await pilot.pause()
        assert app.return_code == 0  # quit was pressed
