"""Key remapping from the profile (``[profiles.X.keys]``: binding id -> key string).

Every binding in the TUI carries an ``id``; ``App.set_keymap`` (Textual's keymap API)
replaces the key of the bindings with that id. A value may list several keys
(``refresh = "r,f5"``). Unknown ids are reported once (as a notification) rather than
silently ignored, so a typo in the config is visible; so is a key no terminal can send
(``ctrl+shift+banana``, ``f99``), and the binding keeps its own key.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from types import ModuleType

from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.keys import KEY_ALIASES, REPLACED_KEYS, Keys, key_to_character

#: modifiers a key string may carry (each at most once)
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
#: the keys with names (f1-f24, arrows, home, enter, space ...), from Textual's own list
NAMED_KEYS = frozenset(
    {k.value.rpartition("+")[2] for k in Keys if not k.value.startswith("<")}
    | {alias.rpartition("+")[2] for aliases in KEY_ALIASES.values() for alias in aliases}
    | set(KEY_ALIASES)
)


def is_key(key: str) -> bool:
    """Whether a terminal can send ``key`` (one key of a binding: ``r``, ``f5``,
    ``ctrl+shift+up``, ``question_mark``). A character may be named (``slash``); with a
    modifier it must be an ASCII one: ``ctrl+shift+banana`` is no key (🍌 alone is)."""
    *mods, base = key.strip().split("+")
    if not base or len(set(mods)) != len(mods) or not set(mods) <= MODIFIERS:
        return False
    if base in NAMED_KEYS:
        return True
    char = base if len(base) == 1 else key_to_character(REPLACED_KEYS.get(base, base))
    if char is None or len(char) != 1 or not char.isprintable() or char.isspace():
        return False
    return not mods or char.isascii()


def binding_ids(bindings: Iterable[BindingType]) -> set[str]:
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


def bindable_classes() -> list[type[DOMNode]]:
    """The app and every screen and widget class the TUI defines (found by walking the
    ``screens`` and ``widgets`` packages, not listed by hand)."""
    from magflow_console.tui import app, screens, widgets

    found: list[type[DOMNode]] = [app.MagflowApp]
    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found += _defined_nodes(module)
    return found


def _defined_nodes(module: ModuleType) -> list[type[DOMNode]]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, DOMNode) and obj.__module__ == module.__name__
    ]


def known_binding_ids() -> set[str]:
    """Ids of every binding of the app, its screens and its widgets (for validating the
    profile's ``keys``)."""
    ids = {"command-palette"}
    for cls in bindable_classes():
        ids |= binding_ids(vars(cls).get("BINDINGS", ()))
    return ids


def build_keymap(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(keymap for ``App.set_keymap``, what was not applied: unknown ids, and
    ``id ('key' is not a key)`` for a value holding a key no terminal can send). Blank
    values are dropped. Without keys to remap nothing is imported (finding the ids imports
    every screen: a fifth of the TUI's start)."""
    if not keys:
        return {}, []
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
        bad = [k for k in cleaned.split(",") if not is_key(k)]
        if bad:
            unknown.append(f"{binding_id} ({', '.join(repr(k) for k in bad)} is not a key)")
            continue
        keymap[binding_id] = cleaned
    return keymap, sorted(unknown)
