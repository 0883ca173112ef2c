"""Docker's log stream, read from real containers on the real engine: lines longer than
16 KB (which Docker cuts into parts, each with its own timestamp) come back whole and
masked whole, bytes that are not UTF-8 and lines of a megabyte do no harm."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from docker.models.containers import Container

from magflow_console.models import LogLine
from magflow_console.sources.docker import DockerSource
from tests.support.docker_engine import DockerEngine

pytestmark = pytest.mark.docker

MakeContainer = Callable[..., Container]
PART = 16 * 1024  # Docker's log copier cuts lines into parts of this many bytes
JWT = "eyJhbGciOiJIUzI1NiJ9.Ym91bmRhcnktdG9rZW4.c2lnbmF0dXJlLWF0LXRoZS1lZGdl"
PASSWORD = "Straddling-pass-5e7d"
#: a Docker timestamp anywhere in a line's text: a part boundary that was not joined
STAMP_IN_TEXT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


def pad(n: int) -> str:
    """Shell: ``n`` letters 'a' (no newline)."""
    return f"head -c {n} /dev/zero | tr '\\0' a; "


def text(s: str) -> str:
    """Shell: ``s`` as is (no quote of its own inside)."""
    assert "'" not in s
    return f"printf '%s' '{s}'; "


def octal(data: bytes) -> str:
    """Shell: raw bytes (printf's octal escapes)."""
    return "printf '" + "".join(f"\\{b:03o}" for b in data) + "'; "


def boundary_line() -> tuple[str, int]:
    """Shell printing one line whose bearer token straddles the first 16 KB boundary and
    whose password straddles the second, then 'after'; and the line's length in bytes."""
    head = "Authorization: Bearer "
    first = PART - len(head) - 10  # the boundary falls 10 characters into the token
    key = " password="
    second = 2 * PART - (first + len(head) + len(JWT) + 1 + len(key)) - 7
    script = (
        pad(first)
        + text(head + JWT + " ")
        + pad(second)
        + text(key + PASSWORD + " end")  # the boundary falls 7 characters into the password
        + "echo; echo after; "
    )
    length = first + len(head) + len(JWT) + 1 + second + len(key) + len(PASSWORD) + len(" end")
    return script, length


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def source(docker_engine: DockerEngine) -> Iterator[DockerSource]:
    src = DockerSource(docker_engine.base_url, project="mfc-none", prefix="mfc-none-")
    yield src
    src.close()


def run(make_container: MakeContainer, script: str, **kw: Any) -> str:
    container = make_container(command=["sh", "-c", script + "exec sleep 2147483647"], **kw)
    assert container.name is not None
    return container.name


def lines_until(source: DockerSource, name: str, last: str) -> list[LogLine]:
    return wait_for(
        lambda: (got := source.logs(name)) and got[-1].text.rstrip("\r") == last and got,
        f"the log of {name} up to {last!r}",
    )


def assert_joined_and_masked(line: LogLine, length: int) -> None:
    assert JWT[:8] not in line.text and JWT[-12:] not in line.text, "the bearer token leaked"
    assert PASSWORD not in line.text and PASSWORD[-6:] not in line.text, "the password leaked"
    assert "Authorization: Bearer *** aaa" in line.text and "a password=*** end" in line.text
    assert not STAMP_IN_TEXT.search(line.text), "a part's timestamp was left in the line"
    masked = length - len(JWT) - len(PASSWORD) + 2 * len("***")
    assert len(line.text.rstrip("\r")) == masked
    assert line.timestamp is not None


#: the engine's log drivers that can be read back (both cut lines into 16 KB parts)
DRIVERS = ("json-file", "local")


def driver(name: str) -> dict[str, Any]:
    return {"log_config": {"type": name, "config": {}}}


@pytest.mark.parametrize("log_driver", DRIVERS)
def test_a_secret_across_docker_parts_is_joined_then_masked(
    source: DockerSource, make_container: MakeContainer, log_driver: str
) -> None:
    script, length = boundary_line()
    name = run(make_container, script, **driver(log_driver))
    got = lines_until(source, name, "after")
    assert [len(x.text) > PART for x in got] == [True, False]  # one line, then "after"
    assert_joined_and_masked(got[0], length)
    assert got[0].stream == "stdout"


def test_following_joins_the_parts_too(source: DockerSource, make_container: MakeContainer) -> None:
    script, length = boundary_line()
    name = run(make_container, "sleep 1; " + script)
    stop = threading.Event()
    seen: list[LogLine] = []

    def follow() -> None:
        for line in source.follow(name, stop, tail=0):
            seen.append(line)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        wait_for(lambda: any(x.text == "after" for x in seen), "the followed lines")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert len(seen) == 2
    assert_joined_and_masked(seen[0], length)


def test_a_tty_container_joins_its_parts(
    source: DockerSource, make_container: MakeContainer
) -> None:
    script, length = boundary_line()
    name = run(make_container, script, tty=True)
    got = lines_until(source, name, "after")
    assert len(got) == 2 and got[0].stream is None
    assert_joined_and_masked(got[0], length)


def test_a_character_across_a_boundary_stays_whole(
    source: DockerSource, make_container: MakeContainer
) -> None:
    """With the local driver (json-file replaces the half characters of each part by
    U+FFFD when it stores them: nothing to join then)."""
    script = pad(PART - 1) + octal("é".encode()) + text(" tail") + "echo; "
    name = run(make_container, script, **driver("local"))
    (line,) = wait_for(lambda: source.logs(name), "the line")
    assert line.text == "a" * (PART - 1) + "é tail"


def test_bytes_that_are_not_utf8_and_a_megabyte_line(
    source: DockerSource, make_container: MakeContainer
) -> None:
    name = run(
        make_container,
        octal(b"bad \xff\xfe\xc3 bytes")
        + "echo; "
        + text("password=Not-shown-1a2b ")
        + pad(1 << 20)
        + text(" password=Never-reached-3c4d")
        + "echo; echo after; ",
    )
    got = lines_until(source, name, "after")
    assert len(got) == 3
    assert got[0].text == "bad \ufffd\ufffd\ufffd bytes"
    big = got[1].text
    assert big.startswith("password=*** aaaa") and "Not-shown" not in big
    assert "Never-reached" not in big and not STAMP_IN_TEXT.search(big)
    kept, cut = re.fullmatch(r"(.*) … \[([\d,]+) more bytes of this line not shown\]", big).groups()  # type: ignore[union-attr]
    total = len("password=Not-shown-1a2b ") + (1 << 20) + len(" password=Never-reached-3c4d")
    assert len(kept.encode()) == 64 * 1024 - len("Not-shown-1a2b") + len("***")
    assert int(cut.replace(",", "")) == total - 64 * 1024
