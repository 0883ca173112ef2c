"""The search behind ``test_secrets_everywhere`` finds a secret in every shape it can
leave in (so its zero hits mean something), and nothing where the secret is masked."""

from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.support.secret_search import Outputs, Secret, forms, hits

PASSWORD = "DbPw%Kq7Lzx@Xv9Rtq/Wm4Njr#Hc2Pbt:"
SECRET = Secret("database password", PASSWORD, "a test")


@pytest.mark.parametrize(
    ("shape", "text"),
    [
        ("raw", f"postgresql://app:{PASSWORD}@db/magflow"),
        ("url-encoded", f"postgresql://app:{quote(PASSWORD, safe='')}@db/magflow"),
        ("form-encoded", f"password={quote_plus(PASSWORD, safe='')}"),
        ("html-escaped", f"<text>{html.escape(PASSWORD)}</text>"),
        ("json-escaped", json.dumps({"url": f"x:{PASSWORD}@y"})),
        ("cut at the #", "postgresql://app:DbPw%Kq7Lzx@Xv9Rtq/Wm4Njr***@db"),
        ("cut at the @", "password Kq7Lzx then ***"),
        ("partly encoded", "DbPw%25Kq7Lzx%40Xv9Rtq/Wm4Njr%23Hc2Pbt:"),
        ("the tail only", "…#Hc2Pbt:@db"),
    ],
)
def test_a_secret_in_any_shape_is_a_hit(shape: str, text: str) -> None:
    outputs = Outputs()
    outputs.add("a screen", "before\n" + text + "\nafter")
    found = hits(outputs, [SECRET])
    assert found, shape
    assert all(f.startswith("database password (") and " in a screen: " in f for f in found)


def test_masked_or_absent_is_no_hit() -> None:
    outputs = Outputs()
    outputs.add("masked", "postgresql://app:***@db/magflow")
    outputs.add("bytes", b"\x00\xff nothing here")
    outputs.add("short pieces", "DbPw Kq7Lz Xv9Rt")  # pieces under 6 characters
    assert hits(outputs, [SECRET]) == []


def test_forms_are_distinct_and_cover_the_fragments() -> None:
    found = forms(PASSWORD)
    assert len(set(found.values())) == len(found)
    assert {"Kq7Lzx", "Xv9Rtq", "Wm4Njr", "Hc2Pbt"} <= set(found.values())
    assert "DbPw" not in found.values()  # too short to be telling
    assert set(forms("Plain-secret-no-punctuation").values()) == {"Plain-secret-no-punctuation"}


def test_files_written_since_a_time_are_searched_except_those_excluded(tmp_path: Path) -> None:
    old = tmp_path / "old.log"
    old.write_text(PASSWORD)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    since = time.time() - 1
    (tmp_path / "state").mkdir()
    new = tmp_path / "state" / "audit.jsonl"
    new.write_text(json.dumps({"url": f"x:{quote(PASSWORD, safe='')}@y"}))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "screen.svg").write_text(PASSWORD)
    outputs = Outputs()
    added = outputs.add_files(tmp_path, since, exclude=[mine])
    assert added == [new]
    found = hits(outputs, [SECRET])
    assert found and all(") in file state/audit.jsonl: " in f for f in found)
