"""The masker through a JSON value (a sync run's ``errors`` and ``sync_params``), and the
masker's shortcut: each pattern runs only on text holding what it needs, which changes
nothing it masks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from magflow_console.render import text as masker
from magflow_console.render.text import MASK, SCRUB_DEPTH, scrub, scrub_json


def test_secret_keys_strings_and_keys_are_masked() -> None:
    value = {
        "error": "POST https://api:Pw-1a@h/x failed; password=Pw-2b",
        "request": {"headers": {"Authorization": "Bearer eyJabcdefghijkl", "x_api_key": 7}},
        "password": {"nested": "Pw-3c"},
        "token": None,
        "Bearer eyJkeyinakey123": [1, 2.5, True, None, "fine"],
    }
    masked = scrub_json(value)
    flat = repr(masked)
    for secret in ("Pw-1a", "Pw-2b", "Pw-3c", "eyJabcdefghijkl", "eyJkeyinakey123"):
        assert secret not in flat
    assert masked["request"]["headers"] == {"Authorization": MASK, "x_api_key": MASK}
    assert masked["password"] == MASK and masked["token"] is None
    assert masked["Bearer ***"] == [1, 2.5, True, None, "fine"]


def test_nesting_beyond_the_depth_followed_becomes_a_note() -> None:
    deep: list[object] = ["password=Pw-4d"]
    for _ in range(SCRUB_DEPTH + 50):
        deep = [deep]
    out = scrub_json(deep)
    for _ in range(SCRUB_DEPTH):
        out = out[0]
    assert out == f"(nested deeper than {SCRUB_DEPTH} levels: not shown)"


def reference(text: str) -> str:
    """The masker without its shortcut: every pattern on every text."""
    for pattern, replacement in masker.MASKS:
        text = pattern.sub(replacement, text)
    return text


PIECES = st.sampled_from(
    ["password", "PASSWORD", "paſſword", "api_\u212aey", "Token", "bearer", "BASIC", "pwd",
     "secret", "authorization", "private_key", "=", ": ", ":", "@", "://", "https", "user",
     "'", '"', " ", "abcdefghij", "x", "/", "\n", "é", "[b]"]
)  # fmt: skip


@settings(max_examples=500)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_shortcut_masks_what_every_pattern_masks(text: str) -> None:
    assert scrub(text) == reference(text)
