"""The parsed migration folder kept on disk: used while the files are unchanged, parsed
again when one changes, is added or removed, and never in the way when it is damaged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from magflow_console.reference import SCRIPTS_DIR
from magflow_console.sources import alembic_cache
from magflow_console.sources.alembic_parse import parse_scripts


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "alembic"
    shutil.copytree(SCRIPTS_DIR, folder)
    return folder


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    from magflow_console.sources import alembic_parse

    real = alembic_parse.parse_scripts

    def counting(folder: Path | str) -> object:
        seen.append(Path(folder))
        return real(folder)

    monkeypatch.setattr(alembic_parse, "parse_scripts", counting)
    return seen


def test_an_unchanged_folder_is_read_from_the_cache(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = _parses(monkeypatch)
    first = alembic_cache.cached_parse(tree)
    second = alembic_cache.cached_parse(tree)
    assert len(parses) == 1 and alembic_cache.cache_file(tree).is_file()
    assert second == first == parse_scripts(tree)
    assert second.by_id.keys() == first.by_id.keys()


def test_a_changed_added_or_removed_script_is_parsed_again(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = _parses(monkeypatch)
    alembic_cache.cached_parse(tree)
    script = next((tree / "versions").glob("bf06b4dee948*.py"))
    text = script.read_text()
    script.write_text(
        text.replace('revision: str = "bf06b4dee948"', 'revision: str = "bf06b4dee949"')
    )
    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = alembic_cache.cached_parse(tree)
    assert len(parses) == 2 and "bf06b4dee949" in changed.by_id
    (tree / "versions" / "zz_new.py").write_text('revision = "zz"\ndown_revision = None\n')
    assert "zz" in alembic_cache.cached_parse(tree).by_id and len(parses) == 3
    (tree / "versions" / "zz_new.py").unlink()
    assert "zz" not in alembic_cache.cached_parse(tree).by_id and len(parses) == 4


def test_a_damaged_cache_is_ignored(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alembic_cache.cached_parse(tree)
    alembic_cache.cache_file(tree).write_text("{not json")
    parses = _parses(monkeypatch)
    assert alembic_cache.cached_parse(tree) == parse_scripts(tree) and len(parses) == 1
