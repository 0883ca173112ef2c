"""Every binding can be remapped from the profile (``keys``), and the list of what can be
is derived from the classes, never kept by hand."""

from __future__ import annotations

import pytest
from textual.binding import Binding

from magflow_console.tui.keymap import bindable_classes, build_keymap, known_binding_ids
from magflow_console.tui.screens.findings import FindingsScreen


def _every_binding() -> list[tuple[str, Binding]]:
    found = []
    for cls in bindable_classes():
        for b in vars(cls).get("BINDINGS", ()):  # its own, not Textual's inherited ones
            if isinstance(b, Binding):
                found.append((cls.__name__, b))
    return found


def test_every_binding_has_an_id() -> None:
    missing = [f"{owner}: {b.key} -> {b.action}" for owner, b in _every_binding() if not b.id]
    assert missing == []


@pytest.mark.parametrize("binding_id", sorted(known_binding_ids()))
def test_every_binding_id_is_accepted_by_the_keymap(binding_id: str) -> None:
    keymap, unknown = build_keymap({binding_id: "f12"})
    assert unknown == [] and keymap == {binding_id: "f12"}


def test_screens_are_found_without_a_list() -> None:
    """FindingsScreen was once missing from a hand-kept list: its keys were refused."""
    assert FindingsScreen in bindable_classes()
    keymap, unknown = build_keymap({"findings-refresh": "f5", "finding-copy": "c"})
    assert unknown == [] and keymap == {"findings-refresh": "f5", "finding-copy": "c"}


def test_an_unknown_id_is_reported() -> None:
    keymap, unknown = build_keymap({"refresh": "r,f5", "no-such-binding": "x", "quit": " "})
    assert keymap == {"refresh": "r,f5"} and unknown == ["no-such-binding"]
