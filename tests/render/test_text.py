"""Text from outside is shown literally: no markup, no escape sequences, no control codes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from magflow_console.models import (
    ApiCheck,
    ContainerInfo,
    ContainersSnapshot,
    Finding,
    SyncSnapshot,
)
from magflow_console.render.styles import literal
from magflow_console.render.text import MASK, clean, one_line, scrub, tail
from magflow_console.tui.store import Store
from magflow_console.tui.widgets.api_pane import check_row
from magflow_console.tui.widgets.containers_pane import container_row
from magflow_console.tui.widgets.sync_pane import anomalies_text
from tests.support.fake_backend import FakeBackend

NOW = dt.datetime(2025, 10, 22, 12, tzinfo=dt.UTC)
HOSTILE = "\x1b[2J\x1b[H\x1b[31m[bold red]x[/bold red]\x1b]52;c;ZXZpbA==\x07\x9b1;31m\x1bPq#0\x1b\\ end\r\x08"


def test_clean_removes_escape_sequences_and_shows_control_characters() -> None:
    out = clean(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "[bold red]x[/bold red]" in out
    assert "52;c" not in out  # the OSC 52 clipboard write is gone entirely
    assert out == "[bold red]x[/bold red] end\\x0d\\x08"


def test_literal_never_parses_markup() -> None:
    text = literal("[bold red]boom[/bold red] :smile:")
    assert text.plain == "[bold red]boom[/bold red] :smile:"
    assert not text.spans
    console = Console(width=80, color_system="truecolor", force_terminal=True)
    with console.capture() as cap:
        console.print(text, end="")
    assert "\x1b[1" not in cap.get()  # not bold, not red


def test_one_line_and_tail() -> None:
    assert one_line("a\nb\tc", None) == "a b    c"
    assert one_line("abcdef", 4) == "abc…"
    assert tail("/very/long/path/to/alembic", 10) == "…o/alembic"


@given(st.text())
def test_clean_output_has_no_escape_or_c0_c1_controls(value: str) -> None:
    out = clean(value)
    assert not any(ord(ch) < 32 and ch != "\n" for ch in out)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in out)


def test_rows_built_from_hostile_data_are_literal() -> None:
    c = ContainerInfo(
        id="x",
        name="magflow_app",
        service="\x1b[2Japp",
        project="magflow",
        state="running",
        health="[red]healthy",
        restart_count=0,
        started_at=NOW,
        finished_at=None,
        exit_code=None,
        image="img",
    )
    _, cells = container_row(c, NOW)
    assert cells[0].plain == "app"
    assert cells[2].plain == "[red]healthy"
    _, api_cells = check_row(
        ApiCheck("/health/full", 200, False, 3.0, "unhealthy", "\x1b]0;t\x07[b]db down")
    )
    assert api_cells[3].plain.strip() == "[b]db down"
    snap = SyncSnapshot(
        "ok",
        None,
        NOW,
        1.0,
        {},
        anomalies=(Finding("x", "warning", "bad\x1b[2J [i]thing[/i]", account="fbe"),),
    )
    assert "bad [i]thing[/i]" in anomalies_text(snap).plain


def test_store_keeps_the_last_good_value_as_stale() -> None:
    store = Store(profile="local")
    good = ContainersSnapshot("ok", None, NOW, 1.0, docker_host="unix://x")
    store.update("containers", good, NOW)
    failed = ContainersSnapshot("error", "Docker engine is not reachable.", NOW, 1.0)
    store.update("containers", failed, NOW)
    assert store.containers is not None
    assert store.containers.state == "stale"
    assert store.containers.docker_host == "unix://x"
    assert store.containers.error == "Docker engine is not reachable."
    store.update("containers", good, NOW)
    assert store.containers.state == "ok"


def test_store_files_a_loops_reads_in_order_with_one_report() -> None:
    """``update_many``: a loop's reads in order (the database before its migrations: a
    graph read while the database is down is not "ok"), then the report, once."""
    backend, down = FakeBackend(), FakeBackend(db_down=True)
    redis, celery = backend.broker()
    store = Store(profile="local")
    store.update_many(
        [
            ("containers", backend.containers()),
            ("database", backend.database()),
            ("migrations", backend.migrations()),
            ("sync", backend.sync()),
            ("orders", backend.orders()),
            ("api", backend.api()),
            ("redis", redis),
            ("celery", celery),
        ],
        NOW,
    )
    first = store.report
    assert first is not None and store.migrations is not None
    assert store.migrations.state == "ok"
    database = down.database()
    assert database.state == "error"
    store.update_many([("database", database), ("migrations", backend.migrations())], NOW)
    assert store.database is not None and store.database.state == "stale"
    assert store.migrations.state == "stale"
    assert store.migrations.error == database.error
    assert store.report is not first and store.report is not None
    assert store.report.database.state == "stale"


# --------------------------------------------------------------------------- the masker
# (the one masker: it replaced the Docker source's, the config's, the containers action's
# and the database source's own; each of their cases is here)


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("postgresql+asyncpg://app:s3cret@db:5432/magflow", "s3cret"),
        ("redis://:s3cret@redis:6379/0", "s3cret"),
        ("ssh://deploy:s3cret@prod.example:22", "s3cret"),  # a Docker host
        ("connecting as app:s3cret@db failed", "s3cret"),
        ("host=db user=app password=s3cret dbname=magflow", "s3cret"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("{'password': 's3cret', 'user': 'x'}", "s3cret"),
        ('{"access_token": "s3cret-token"}', "s3cret-token"),
        # passwords holding URL-special characters, unencoded (what a .env often holds)
        ("https://emaguser:0000/?@marketplace-api.emag.ro/api-3", "0000/?"),
        ("https://u:S@e/cr#3?t@host/api", "e/cr#3?t"),
        ("postgresql://app:Pw%Kq@Xv9/Wm4#Hc2:@db:5432/magflow", "Xv9/Wm4#Hc2"),
    ],
)
def test_scrub_removes_credentials(text: str, leak: str) -> None:
    assert leak not in scrub(text)
    assert MASK in scrub(text)


def test_scrub_keeps_plain_text_and_the_shape_of_urls() -> None:
    assert scrub("database unhealthy: connection refused") == (
        "database unhealthy: connection refused"
    )
    assert scrub("http://127.0.0.1:8000/health") == "http://127.0.0.1:8000/health"
    assert scrub("redis://:pw@redis:6379/0") == "redis://:***@redis:6379/0"
    assert scrub("ssh://deploy:pw@host") == "ssh://deploy:***@host"
    # the mask stops at a quote or a space: the next field of a JSON line stays
    assert scrub('{"url":"redis://:pw@r:1/0","email":"a@b.c"}') == (
        '{"url":"redis://:***@r:1/0","email":"a@b.c"}'
    )
    assert scrub("https://host/x?email=a@b.c") == "https://host/x?email=a@b.c"


def test_scrub_masks_a_known_secret_wherever_it_is() -> None:
    """A password the caller holds (a URL's) is masked even where no shape shows it: in
    a server's error text, percent-encoded or not."""
    text = 'FATAL: password "p@ss w0rd" is wrong; p%40ss%20w0rd'
    masked = scrub(text, known=("p@ss w0rd", "p%40ss%20w0rd", None, ""))
    assert "p@ss w0rd" not in masked and "p%40ss%20w0rd" not in masked
    assert masked.count(MASK) == 2


@given(st.text())
def test_scrub_never_raises_and_never_grows_a_secret(value: str) -> None:
    secret = "Zq9-secret-Zq9"
    assert secret not in scrub(f"{value} password={secret} {value}")
    assert secret not in scrub(value + secret, known=(secret,))


# the fast path: a text without an ``@`` or a trigger word is returned untouched, which
# must be exactly what the patterns would have done


def _scrub_slowly(text: str) -> str:
    """The masker without its fast path."""
    from magflow_console.render.text import MASKS

    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def test_the_fast_path_folds_every_letter_the_patterns_match_case_blind() -> None:
    """Every code point ``re.IGNORECASE`` takes for an ASCII letter becomes that letter
    under the fast path's folding (else ``paſsword=x``, with a long s, would skip it)."""
    import re
    import string

    from magflow_console.render.text import FOLD

    letter = re.compile("(?i)[a-z]")
    for code in range(0x110000):
        ch = chr(code)
        if letter.fullmatch(ch):
            folded = ch.translate(FOLD).lower()
            assert folded in string.ascii_lowercase and re.fullmatch(f"(?i){folded}", ch), hex(code)


WORDS = ["password", "token", "bearer", "basic", "api_key", "authorization", "secret", "pwd"]
ODD = {"s": "\u017f", "i": "\u0131", "k": "\u212a"}


@st.composite
def disguised(draw: st.DrawFn) -> str:
    """A trigger word in mixed case, with letters ``re.IGNORECASE`` folds (ſ, ı, K)."""
    word = draw(st.sampled_from(WORDS))
    out = []
    for ch in word:
        choice = draw(st.integers(0, 2))
        out.append(ch.upper() if choice == 1 else ODD.get(ch, ch) if choice == 2 else ch)
    return "".join(out)


PIECES = st.one_of(
    disguised(),
    st.sampled_from(["@", ":", "=", " ", "'", '"', "://", "user:", "abcdefgh12", "\u0130"]),
    st.text(max_size=4),
)


SECRETISH = st.builds(
    lambda pre, word, sep, value: f"{pre}{word}{sep}{value}",
    st.sampled_from(["", " ", "x ", '{"']),
    disguised(),
    st.sampled_from(["=", ": ", '": "', " "]),
    st.text("abcdefgh12345", min_size=1, max_size=12),
)


@example("pa\u017fsword=x1")
@example("ba\u0131ic abcdefgh12")
@example("\u0130")
@given(st.one_of(SECRETISH, st.lists(PIECES, max_size=8).map("".join)))
def test_the_fast_path_changes_nothing(value: str) -> None:
    assert scrub(value) == _scrub_slowly(value)
