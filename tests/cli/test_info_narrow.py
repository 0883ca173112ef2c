"""``info`` in a narrow terminal with a config file deep in a folder: the long source
(``file /a/long/path``) took every column it wanted and squeezed the values out of the
table (no value column at all at 120 columns), so what a user checks (the masked URL)
was not shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.mark.parametrize("columns", [80, 120])
def test_info_shows_the_values_beside_a_long_source(tmp_path: Path, columns: int) -> None:
    folder = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 6))
    folder.mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text(
        "[profiles.local.database]\n"
        'url = "postgresql+psycopg://app:S3cr%40t-pw@localhost:5433/magflow"\n'
    )
    proc = run_cli(["--config", str(config), "info"], {"COLUMNS": str(columns)}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("┃", "│"))]
    assert all(len(line) <= columns for line in rows)
    cells = [[c.strip() for c in line.strip("┃│").split(line[0])] for line in rows]
    assert all(len(c) == 3 for c in cells), rows[:3]
    assert cells[0] == ["setting", "value", "source"]
    # the URL's row and the lines it wraps onto, up to the next setting
    start = next(i for i, c in enumerate(cells) if c[0] == "database.url")
    end = next(i for i in range(start + 1, len(cells)) if cells[i][0])
    value = "".join(c[1] for c in cells[start:end])
    assert value == "postgresql+psycopg://app:***@localhost:5433/magflow"
    assert "S3cr" not in proc.stdout
