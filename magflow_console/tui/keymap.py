"""Key remapping from the profile (``[profiles.X.keys]``: binding id -> key string).

Every binding in the TUI carries an ``id``; ``App.set_keymap`` (Textual's keymap API)
replaces the key of the bindings with that id. A value may list several keys
(``refresh = "r,f5"``). Unknown ids are reported once (as a notification) rather than
silently ignored, so a typo in the config is visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType


def binding_ids(bindings: Iterable[BindingType]) -> set[str]:
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


def known_binding_ids() -> set[str]:
    """Ids of every binding of the app and its screens (for validating the profile)."""
    from magflow_console.tui.app import MagflowApp
    from magflow_console.tui.screens import ALL_SCREENS
    from magflow_console.tui.widgets.log_view import LogView

    ids = binding_ids(MagflowApp.BINDINGS) | binding_ids(LogView.BINDINGS)
    for screen in ALL_SCREENS:
        ids |= binding_ids(screen.BINDINGS)
    return ids | {"command-palette"}


def build_keymap(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(keymap for ``App.set_keymap``, unknown ids). Blank values are dropped."""
    known = known_binding_ids()
    keymap: dict[str, str] = {}
    unknown: list[str] = []
    for binding_id, value in keys.items():
        cleaned = ",".join(k.strip() for k in str(value).split(",") if k.strip())
        if not cleaned:
            continue
        if binding_id not in known:
            unknown.append(binding_id)
            continue
        keymap[binding_id] = cleaned
    return keymap, sorted(unknown)
