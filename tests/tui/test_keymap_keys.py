"""Keys remapped from the profile must be keys a terminal can send: an impossible key
string (``ctrl+shift+banana``, ``f99``) is reported like an unknown id, and the binding
keeps its own key."""

from __future__ import annotations

import pytest
from textual.binding import Binding

from magflow_console.tui.app import MagflowApp
from magflow_console.tui.keymap import bindable_classes, build_keymap, is_key
from tests.support.fake_backend import FakeBackend, fake_config, frozen_clock

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "key",
    ["r", "S", "f5", "f24", "ctrl+shift+up", "question_mark", "slash", "ctrl+slash", "space",
     "ctrl+space", "enter", "escape", "tab", "home", "pageup", "ctrl+@", "alt+x", "€"],
)  # fmt: skip
def test_keys_a_terminal_sends(key: str) -> None:
    assert is_key(key)


@pytest.mark.parametrize(
    "key",
    ["ctrl+shift+banana", "f99", "ctrl+ctrl+a", "hyper+", "", "a b", "esc", "ctrl+enterr",
     "cmd+c", "ctrl+€"],
)  # fmt: skip
def test_impossible_keys(key: str) -> None:
    assert not is_key(key)


def test_every_key_the_tui_binds_is_a_key() -> None:
    for cls in bindable_classes():
        for binding in vars(cls).get("BINDINGS", ()):
            if isinstance(binding, Binding):
                for key in binding.key.split(","):
                    assert is_key(key), (cls.__name__, binding.key)


def test_an_impossible_key_is_reported_and_not_applied() -> None:
    keymap, unknown = build_keymap(
        {"refresh": "r,f5", "sync-account": "ctrl+shift+banana", "quit": "q,f99"}
    )
    assert keymap == {"refresh": "r,f5"}
    assert unknown == [
        "quit ('f99' is not a key)",
        "sync-account ('ctrl+shift+banana' is not a key)",
    ]


async def test_the_tui_says_so_at_start_and_keeps_the_binding() -> None:
    config = fake_config(profile_keys={"help": "ctrl+shift+banana", "refresh": "f5"})
    app = MagflowApp(FakeBackend(config), clock=frozen_clock, watch_events=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("help ('ctrl+shift+banana' is not a key)" in m for m in said), said
        await pilot.press("question_mark")  # help keeps its own key
        assert type(app.screen).__name__ == "HelpScreen"
