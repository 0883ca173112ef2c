"""Static Alembic graph: parsing without import, shapes of the real history, Alembic parity,
problem codes, tar/container reading."""

from __future__ import annotations

import io
import secrets
import sys
import time
import warnings
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.script.revision import Revision as AlembicRevision
from alembic.script.revision import RevisionMap
from hypothesis import given, settings
from hypothesis import strategies as st

from magflow_console.models import DatabaseSnapshot, Revision, utcnow
from magflow_console.sources.alembic_graph import (
    analyze,
    build_snapshot,
    pending_for_target,
    pending_upgrade,
)
from magflow_console.sources.alembic_parse import (
    parse_scripts,
    parse_source,
    parse_tar,
    read_scripts_from_container,
)
from magflow_console.sources.alembic_structure import (
    ScriptGraph,
    find_cycles,
    heads,
    merge_points,
    roots,
)
from tests.support.alembic_trees import (
    ALEMBIC_LOADABLE,
    CURRENT_IDS,
    DOCSTRING_MISMATCHES,
    SHAPE_FACTS,
    SHAPES,
    Mig,
    tar_tree,
    write_tree,
)
from tests.support.docker_engine import DockerEngine, StackContainers, put_alembic_tree

APP = ("app.alembic_version",)


def graph_of(tmp_path: Path, shape: str) -> ScriptGraph:
    return parse_scripts(write_tree(tmp_path, shape, importable=False))


def codes(findings: object) -> list[str]:
    return [f.code for f in findings]  # type: ignore[attr-defined]


def alembic_dir(folder: Path) -> ScriptDirectory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate revision warning
        sd = ScriptDirectory(str(folder))
        sd.revision_map.heads  # noqa: B018 - load now, under the filter
    return sd


def alembic_upgrade(sd: ScriptDirectory, target: str, current: tuple[str, ...]) -> list[str]:
    return [step.revision.revision for step in sd._upgrade_revs(target, current)]  # type: ignore[attr-defined]


def db_snapshot(**kw: object) -> DatabaseSnapshot:
    base: dict[str, object] = {
        "state": "ok",
        "error": None,
        "fetched_at": utcnow(),
        "duration_ms": 1.0,
        "version_tables": APP,
        "current_revisions": (),
        "schema_empty": False,
    }
    base.update(kw)
    return DatabaseSnapshot(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsing


def test_files_are_read_without_importing_them(tmp_path: Path) -> None:
    before = set(sys.modules)
    graph = graph_of(tmp_path, "current")  # every file has `raise SystemExit` + `import app.db`
    assert graph.error is None
    assert [r.revision for r in graph.revisions] == sorted(
        CURRENT_IDS, key=lambda rid: next(r.path for r in graph.revisions if r.revision == rid)
    )
    assert set(graph.ids) == set(CURRENT_IDS)
    assert "app" not in sys.modules and "app.db" not in sys.modules
    assert not {m for m in set(sys.modules) - before if "fix_account" in m or "86f7" in m}
    assert graph.parse_problems == ()


def test_a_local_scripts_folder_is_read_without_importing_tarfile() -> None:
    """tarfile is for archives from a container only: a local folder (``status``, every
    refresh) does not import it (a fresh interpreter; pytest has it loaded already)."""
    import subprocess

    probe = (
        "import sys\n"
        "from magflow_console.sources.alembic_parse import parse_scripts\n"
        "from magflow_console.reference import SCRIPTS_DIR\n"
        "graph = parse_scripts(SCRIPTS_DIR)\n"
        "print(graph.error, len(graph.revisions), 'tarfile' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out[0] == "None" and int(out[1]) > 0
    assert out[2] == "False"


def test_current_chain_fields(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "current")
    rev = graph.by_id["20251013_fix_account_type"]
    assert rev.path == "20251013_fix_emag_sync_logs_account_type.py"  # file name is not the id
    assert rev.down_revisions == ("20251013_fix_all_tz",)
    assert rev.message == "fix emag sync logs account type"
    assert rev.doc_revision_id == "20251013_fix_account_type"
    assert graph.by_id["86f7456767fd"].down_revisions == ()
    assert graph.by_id["6d303f2068d4"].doc_revises == "1519392e1e24"
    assert graph.by_id["20251021_eliminated_suggest"].doc_revision_id == (
        "20251021_add_eliminated_suggestions"
    )
    assert graph.by_id["20251010_add_auxiliary"].down_revisions == ("6d303f2068d4",)  # untyped
    result = analyze(graph, current=None, version_tables=None)
    mismatched = [f.revisions[0] for f in result.findings if f.code == "docstring_mismatch"]
    assert sorted(mismatched) == sorted(DOCSTRING_MISMATCHES)
    assert all(f.severity == "info" for f in result.findings)
    assert "from_pycache" not in graph.ids  # __pycache__ and __init__.py skipped
    assert "__init__.py" not in graph.file_names and "README" not in graph.file_names


def test_versions_folder_itself_is_accepted(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "0927_linear")
    assert parse_scripts(folder / "versions").ids == parse_scripts(folder).ids
    assert len(parse_scripts(str(folder / "versions")).revisions) == 9


def test_missing_folder_gives_error_not_exception(tmp_path: Path) -> None:
    graph = parse_scripts(tmp_path / "nope")
    assert graph.error is not None and "does not exist" in graph.error
    assert graph.revisions == ()
    snap = build_snapshot(graph, None, started=time.perf_counter())
    assert snap.state == "error" and snap.error == graph.error
    assert snap.scripts_location == str(tmp_path / "nope")


def test_variable_forms() -> None:
    src = '''"""Merge heads

Revision ID: abc123456789
Revises: aaa, bbb
"""
revision = "old"
revision: str = "abc123456789"
down_revision = ["aaa", "bbb"]
branch_labels = ("main_line",)
depends_on: str = "ccc"
'''
    rev, problems = parse_source(src, "abc.py")
    assert problems == []
    assert rev == Revision(
        revision="abc123456789",
        down_revisions=("aaa", "bbb"),
        path="abc.py",
        branch_labels=("main_line",),
        depends_on=("ccc",),
        message="Merge heads",
        doc_revision_id="abc123456789",
        doc_revises="aaa, bbb",
    )


@pytest.mark.parametrize(
    ("source", "code", "severity"),
    [
        ("revision = 'x'\ndef broken(:\n", "script_parse_error", "critical"),
        ("down_revision = None\n", "script_missing_revision", "critical"),
        ("revision = make_id()\n", "script_unreadable_value", "critical"),
        ("revision = 'abc'\ndown_revision = compute()\n", "script_unreadable_value", "warning"),
        ("revision = None\n", "script_missing_revision", "critical"),
    ],
)
def test_bad_files_become_findings(tmp_path: Path, source: str, code: str, severity: str) -> None:
    folder = write_tree(tmp_path, "0927_linear")
    (folder / "versions" / "zz_bad.py").write_text(source)
    graph = parse_scripts(folder)
    assert len(graph.ids) in (9, 10)  # the good files still count
    bad = [p for p in graph.parse_problems if p.code == code]
    assert bad and bad[0].severity == severity and "zz_bad.py" in bad[0].message
    assert code in codes(analyze(graph, current=None, version_tables=None).findings)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("shape", sorted(SHAPE_FACTS))
def test_shape_facts(tmp_path: Path, shape: str) -> None:
    expected_heads, n_roots, n_merges, n_files = SHAPE_FACTS[shape]
    graph = graph_of(tmp_path, shape)
    assert len(graph.revisions) == n_files
    assert sorted(heads(graph)) == sorted(expected_heads)
    assert len(roots(graph)) == n_roots
    assert len(merge_points(graph)) == n_merges


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_parses_cleanly(tmp_path: Path, shape: str) -> None:
    graph = graph_of(tmp_path, shape)
    assert graph.parse_problems == () and graph.error is None
    assert [r.revision for r in graph.revisions] == [
        m.revision for m in sorted(SHAPES[shape], key=lambda m: m.filename)
    ]
    assert [r.down_revisions for r in graph.revisions] == [
        m.parents for m in sorted(SHAPES[shape], key=lambda m: m.filename)
    ]


def test_real_merge_parent_counts(tmp_path: Path) -> None:
    g1002 = graph_of(tmp_path / "a", "1002_four_roots")
    parents = {rid: len(g1002.by_id[rid].down_revisions) for rid in merge_points(g1002)}
    assert parents == {"0eae9be5122f": 3, "940c1544dd7b": 2, "3880b6b52d31": 3, "9986388d397d": 5}
    assert set(roots(g1002)) == {
        "86f7456767fd",
        "add_emag_v449_fields",
        "add_invoice_names",
        "supplier_matching_001",
    }
    g1013b = graph_of(tmp_path / "b", "1013b_eleven_parent_merge")
    assert len(g1013b.by_id["20251013_merge_heads"].down_revisions) == 11
    g1013c = graph_of(tmp_path / "c", "1013c_six_heads")
    assert len(g1013c.by_id["20251013_merge_heads"].down_revisions) == 9
    g0927 = graph_of(tmp_path / "d", "0927_linear")
    assert g0927.by_id["1519392e1e24"].message == "merge heads"
    assert "1519392e1e24" not in merge_points(g0927)  # merge-named, one parent


@pytest.mark.parametrize("shape", ALEMBIC_LOADABLE)
def test_matches_alembic(tmp_path: Path, shape: str) -> None:
    folder = write_tree(tmp_path, shape, importable=True)
    graph = parse_scripts(folder)
    sd = alembic_dir(folder)
    assert set(heads(graph)) == set(sd.get_heads())
    assert list(roots(graph)) == list(sd.get_bases())
    if shape != "duplicate_revision":  # alembic lists the duplicated head twice
        assert list(heads(graph)) == list(sd.get_heads())
    assert list(pending_upgrade(graph, ())) == alembic_upgrade(sd, "heads", ())
    for rid in graph.ids:  # every single current revision, and every target
        assert list(pending_upgrade(graph, (rid,))) == alembic_upgrade(sd, "heads", (rid,)), rid
        assert list(pending_for_target(graph, (), rid)) == alembic_upgrade(sd, rid, ()), rid
    hs = heads(graph)
    if len(hs) > 1:  # a multi-head stamp
        current = tuple(
            [graph.by_id[h].down_revisions[0] for h in hs if graph.by_id[h].down_revisions][:2]
        )
        if not any(a != b and a in _ancestors(graph, b) for a in current for b in current):
            assert list(pending_upgrade(graph, current)) == alembic_upgrade(sd, "heads", current)


def _ancestors(graph: ScriptGraph, rid: str) -> set[str]:
    out, todo = set(), list(graph.by_id[rid].down_revisions)
    while todo:
        r = todo.pop()
        if r in graph.by_id and r not in out:
            out.add(r)
            todo.extend(graph.by_id[r].down_revisions)
    return out


def test_production_db_five_behind(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "current")
    result = analyze(graph, current=("bf06b4dee948",), version_tables=APP, schema_empty=False)
    assert result.pending == CURRENT_IDS[8:]
    pending = [f for f in result.findings if f.code == "pending_migrations"]
    assert pending[0].revisions == CURRENT_IDS[8:] and "bf06b4dee948" in pending[0].message


def test_pending_for_target(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "current")
    assert pending_for_target(graph, ("bf06b4dee948",), "72ba0528563c") == (
        "f6bd35df0c64",
        "72ba0528563c",
    )
    assert pending_for_target(graph, ("bf06b4dee948",), "72ba") == ("f6bd35df0c64", "72ba0528563c")
    assert pending_for_target(graph, ("bf06b4dee948",), "head") == CURRENT_IDS[8:]
    assert pending_for_target(graph, ("bf06b4dee948",), "32b7be1a5113") == ()  # already applied
    with pytest.raises(ValueError, match="No revision 'nope_nope'"):
        pending_for_target(graph, (), "nope_nope")
    with pytest.raises(ValueError, match="ambiguous"):
        pending_for_target(graph, (), "2025102")
    with pytest.raises(ValueError, match="eef6ff065ce9"):
        pending_for_target(graph, ("eef6ff065ce9",), "heads")
    forked = graph_of(tmp_path / "f", "fork_at_fix_account_type")
    with pytest.raises(ValueError, match="Multiple head revisions"):
        pending_for_target(forked, (), "head")
    assert len(pending_for_target(forked, (), "heads")) == 13
    with pytest.raises(ValueError, match="cycle"):
        pending_for_target(graph_of(tmp_path / "c", "cycle"), (), "heads")


# --------------------------------------------------------------------------- problems

# code -> (shape that triggers it, shape that does not, analyze kwargs)
TRIGGERS: dict[str, tuple[str, str, dict[str, object]]] = {
    "multiple_heads": ("1013c_six_heads", "1013b_eleven_parent_merge", {}),
    "multiple_roots": ("1002_four_roots", "current", {}),
    "missing_parent": ("missing_parent_filename", "current", {}),
    "duplicate_revision": ("duplicate_revision", "current", {}),
    "revision_id_too_long": ("long_id_35", "current", {}),
    "invalid_revision_id": ("hyphenated_id", "current", {}),
    "docstring_mismatch": ("current", "0927_linear", {}),
    "cycle": ("cycle", "1013b_eleven_parent_merge", {}),
    "unknown_current_revision": ("current", "current", {"current": ("eef6ff065ce9",)}),
    "version_table_missing": ("current", "current", {"version_tables": ()}),
    "version_table_ambiguous": (
        "current",
        "current",
        {"version_tables": ("app.alembic_version", "public.alembic_version")},
    ),
    "pending_migrations": ("current", "current", {"current": ("bf06b4dee948",)}),
}
AT_HEAD = {"current": ("20251021_eliminated_suggest",), "version_tables": APP}


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_problem_code_has_trigger_and_clean_case(tmp_path: Path, code: str) -> None:
    bad_shape, good_shape, kwargs = TRIGGERS[code]
    bad_kwargs = {**AT_HEAD, **kwargs}
    if bad_shape != "current" and code != "pending_migrations":
        bad_kwargs = {"current": None, "version_tables": None}
    bad = analyze(graph_of(tmp_path / "bad", bad_shape), **bad_kwargs)  # type: ignore[arg-type]
    good_graph = graph_of(tmp_path / "good", good_shape)
    good_head = heads(good_graph)[-1]
    good = analyze(good_graph, current=(good_head,), version_tables=APP, schema_empty=False)
    hits = [f for f in bad.findings if f.code == code]
    assert hits, f"{code} not raised by {bad_shape}"
    assert code not in codes(good.findings)
    for finding in hits:
        assert finding.message.endswith(".") and len(finding.message) > 30
        # the pane's short form: a few words, shorter than the sentence
        assert finding.short and len(finding.short) < len(finding.message), finding
    if code not in ("version_table_missing", "version_table_ambiguous"):
        assert all(f.revisions for f in hits)
        assert any(r in hits[0].message for r in hits[0].revisions)


def test_missing_parent_names_the_file(tmp_path: Path) -> None:
    result = analyze(
        graph_of(tmp_path, "missing_parent_filename"), current=None, version_tables=None
    )
    [finding] = [f for f in result.findings if f.code == "missing_parent"]
    assert finding.severity == "critical"
    assert "20251013_fix_emag_sync_logs_account_type" in finding.message
    assert "file name of revision 20251013_fix_account_type" in finding.message
    assert "KeyError" in finding.message
    other = analyze(
        graph_of(tmp_path / "n", "missing_parent_nonexistent"), current=(), version_tables=APP
    )
    [finding] = [f for f in other.findings if f.code == "missing_parent"]
    assert "20251020_add_emag_price_columns" in finding.revisions
    assert "file name" not in finding.message
    assert other.pending  # still computed on the known part, never crashes


def test_long_ids_severity_depends_on_stamping(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "1002_four_roots")
    unchecked = analyze(graph, current=None, version_tables=None)
    long_ = [f for f in unchecked.findings if f.code == "revision_id_too_long"]
    assert [f.revisions for f in long_] == [("20251001_add_unique_constraint_sync_progress",)]
    assert long_[0].severity == "critical" and "44 characters" in long_[0].message
    past = analyze(graph, current=("t10000000003",), version_tables=APP, schema_empty=False)
    assert [f.severity for f in past.findings if f.code == "revision_id_too_long"] == ["warning"]
    g35 = graph_of(tmp_path / "l", "long_id_35")
    behind = analyze(g35, current=("20251021_add_price_fields",), version_tables=APP)
    [f35] = [f for f in behind.findings if f.code == "revision_id_too_long"]
    assert f35.severity == "critical" and "35 characters" in f35.message
    g33 = graph_of(tmp_path / "m", "0929_three_parent_merge")
    [f33] = [
        f
        for f in analyze(g33, current=(), version_tables=APP).findings
        if f.code == "revision_id_too_long"
    ]
    assert f33.revisions == ("20250929_add_enhanced_emag_models",)


def test_hyphen_is_critical_because_alembic_refuses_it(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "hyphenated_id")
    with pytest.raises(Exception, match="not allowed in revision identifier"):
        alembic_dir(folder)
    result = analyze(parse_scripts(folder), current=None, version_tables=None)
    [finding] = [f for f in result.findings if f.code == "invalid_revision_id"]
    assert finding.severity == "critical" and "20251020-add-supplier-id" in finding.message
    spaced = parse_scripts(write_tree(tmp_path / "s", [Mig("has space", None)]))
    [soft] = [f for f in analyze(spaced, current=None, version_tables=None).findings]
    assert (soft.code, soft.severity) == ("invalid_revision_id", "warning")


def test_cycle_never_hangs(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "cycle")
    assert find_cycles(graph) == [("c1c1c1c1c1c1", "c2c2c2c2c2c2", "c3c3c3c3c3c3")]
    result = analyze(graph, current=(), version_tables=APP)
    assert result.pending == ()
    assert result.findings[0].code == "cycle" and result.findings[0].severity == "critical"
    self_loop = parse_scripts(write_tree(tmp_path / "s", [Mig("aaaa", "aaaa")]))
    assert find_cycles(self_loop) == [("aaaa",)]


def test_unknown_and_multi_current(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "current")
    stale = analyze(graph, current=("20251013_merge_heads",), version_tables=APP)
    assert stale.unknown_current == ("20251013_merge_heads",)
    assert stale.pending == ()  # nobody can tell what is applied
    [f] = [f for f in stale.findings if f.code == "unknown_current_revision"]
    assert f.severity == "critical" and "Can't locate revision" in f.message
    mixed = analyze(graph, current=("bf06b4dee948", "eef6ff065ce9"), version_tables=APP)
    assert mixed.pending == CURRENT_IDS[8:]
    assert mixed.unknown_current == ("eef6ff065ce9",)
    fresh = analyze(graph, current=(), version_tables=(), schema_empty=True)
    assert fresh.pending == CURRENT_IDS
    [missing] = [f for f in fresh.findings if f.code == "version_table_missing"]
    assert missing.severity == "warning"
    tables = analyze(graph, current=(), version_tables=(), schema_empty=False)
    assert [f.severity for f in tables.findings if f.code == "version_table_missing"] == [
        "critical"
    ]
    public_only = analyze(graph, current=(), version_tables=("public.alembic_version",))
    [p] = [f for f in public_only.findings if f.code == "version_table_missing"]
    assert "public.alembic_version" in p.message
    forked = graph_of(tmp_path / "f", "fork_at_add_supplier_id")
    both = analyze(forked, current=tuple(heads(forked)), version_tables=APP)
    assert both.pending == () and "pending_migrations" not in codes(both.findings)
    assert "multiple_heads" in codes(both.findings)


def test_findings_sorted_by_severity(tmp_path: Path) -> None:
    result = analyze(
        graph_of(tmp_path, "missing_parent_filename"), current=("x",), version_tables=()
    )
    order = {"critical": 0, "warning": 1, "info": 2}
    ranks = [order[f.severity] for f in result.findings]
    assert ranks == sorted(ranks) and ranks[0] == 0 and ranks[-1] == 2


# --------------------------------------------------------------------------- snapshot


def test_build_snapshot_states(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, "current")
    started = time.perf_counter()
    nodb = build_snapshot(graph, None, started=started)
    assert (nodb.state, nodb.db_checked, nodb.pending, nodb.current) == ("ok", False, (), ())
    assert nodb.heads == ("20251021_eliminated_suggest",) and len(nodb.revisions) == 13
    assert "pending_migrations" not in codes(nodb.problems)
    behind = build_snapshot(
        graph, db_snapshot(current_revisions=("bf06b4dee948",)), started=started
    )
    assert behind.db_checked and behind.pending == CURRENT_IDS[8:]
    assert behind.current == ("bf06b4dee948",) and behind.version_tables == APP
    down = db_snapshot(state="error", error="Connection refused by 127.0.0.1:5433.")
    broken = build_snapshot(graph, down, started=started)
    assert broken.state == "ok" and not broken.db_checked and broken.pending == ()
    assert broken.problems[0].code == "database_unchecked"
    assert "Connection refused" in broken.problems[0].message
    err = build_snapshot("Container magflow_app does not exist.", None, started=started)
    assert err.state == "error" and err.error == "Container magflow_app does not exist."


# --------------------------------------------------------------------------- tar


def test_parse_tar_chunks_filelike_and_versions_dir(tmp_path: Path) -> None:
    folder = write_tree(tmp_path, "1013c_six_heads", importable=False)
    data = tar_tree(folder)
    local = parse_scripts(folder)
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    from_chunks = parse_tar(iter(chunks), location="magflow_app:/app/alembic")
    assert from_chunks.error is None
    assert from_chunks.revisions == local.revisions
    assert from_chunks.location == "magflow_app:/app/alembic"
    assert parse_tar(io.BytesIO(data), location="x").revisions == local.revisions
    only_versions = parse_tar([tar_tree(folder / "versions")], location="c:/app/alembic/versions")
    assert only_versions.revisions == local.revisions
    broken = parse_tar([b"this is not a tar archive" * 40], location="c:/p")
    assert broken.error is not None and broken.revisions == ()
    assert build_snapshot(broken, None, started=time.perf_counter()).state == "error"


# --------------------------------------------------------------------------- properties


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Mig], list[str]]:
    n = draw(st.integers(1, 14))
    ids = draw(
        st.lists(
            st.text("abcdef0123456789", min_size=6, max_size=8), min_size=n, max_size=n, unique=True
        )
    )
    migs = []
    for i, rid in enumerate(ids):
        parents = draw(st.lists(st.sampled_from(ids[:i]), max_size=3, unique=True)) if i else []
        migs.append(
            Mig(rid, tuple(parents) if len(parents) > 1 else (parents[0] if parents else None))
        )
    files = draw(st.permutations(ids))  # file order differs from creation order
    current = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    order = {rid: f"{k:03d}" for k, rid in enumerate(files)}
    return [
        Mig(m.revision, m.down, file=f"{order[m.revision]}_{m.revision}") for m in migs
    ], current


def _graph_from(migs: list[Mig]) -> ScriptGraph:
    revs = tuple(
        Revision(m.revision, m.parents, m.filename) for m in sorted(migs, key=lambda m: m.filename)
    )
    return ScriptGraph("mem", revs)


@settings(max_examples=200, deadline=None)
@given(dags())
def test_random_dags_match_alembic_and_invariants(case: tuple[list[Mig], list[str]]) -> None:
    migs, current = case
    graph = _graph_from(migs)
    # keep only a consistent multi-head stamp: no current row may be an ancestor of another
    current = [c for c in current if not any(c in _ancestors(graph, o) for o in current)]
    pending = pending_upgrade(graph, tuple(current))
    applied = set(current).union(*(_ancestors(graph, c) for c in current))
    # 1. pending is a topological order of exactly the unapplied revisions
    assert set(pending) == set(graph.ids) - applied and len(pending) == len(set(pending))
    pos = {rid: i for i, rid in enumerate(pending)}
    for rid in pending:
        for parent in graph.by_id[rid].down_revisions:
            assert parent in applied or pos[parent] < pos[rid]
    # 2. no pending revision is an ancestor of (or equal to) a current one
    assert not set(pending) & applied
    # 3. heads have no children
    for h in heads(graph):
        assert not any(h in graph.by_id[r].down_revisions for r in graph.ids)
    # 4. same order as Alembic's own RevisionMap
    revmap = RevisionMap(
        lambda: [AlembicRevision(r.revision, r.down_revisions or None) for r in graph.revisions]
    )
    expected = [
        r.revision
        for r in reversed(
            list(revmap.iterate_revisions("heads", tuple(current), implicit_base=True))
        )
    ]
    assert list(pending) == expected
    assert list(heads(graph)) == list(revmap.heads)


# --------------------------------------------------------------------------- container (real Docker)


@pytest.mark.docker
def test_read_scripts_from_running_container(
    tmp_path: Path, docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    client = docker_engine.client
    app = stack_containers.names["app"]
    folder = write_tree(tmp_path, "1002_four_roots", importable=False)
    dest = f"/tmp/mfc_alembic_{secrets.token_hex(4)}/alembic"
    put_alembic_tree(client.containers.get(app), folder, dest)
    graph = read_scripts_from_container(client, app, dest)
    assert graph.error is None, graph.error
    assert graph.location == f"{app}:{dest}"
    assert graph.revisions == parse_scripts(folder).revisions
    assert len(roots(graph)) == 4 and heads(graph) == ("t10000000003",)
    versions_only = read_scripts_from_container(client, app, dest + "/versions")
    assert versions_only.revisions == graph.revisions
    snap = build_snapshot(graph, db_snapshot(current_revisions=("t10000000002",)), started=0.0)
    assert snap.state == "ok" and snap.pending == ("t10000000003",)
    assert snap.scripts_location == f"{app}:{dest}"


@pytest.mark.docker
def test_container_errors_are_data(
    docker_engine: DockerEngine, stack_containers: StackContainers
) -> None:
    client = docker_engine.client
    missing = read_scripts_from_container(
        client, f"mfc-no-such-{secrets.token_hex(3)}", "/app/alembic"
    )
    assert missing.error is not None and "does not exist" in missing.error
    assert missing.revisions == ()
    app = stack_containers.names["app"]
    no_path = read_scripts_from_container(client, app, "/definitely/not/here")
    assert no_path.error is not None and "has no /definitely/not/here" in no_path.error
    snap = build_snapshot(no_path, None, started=time.perf_counter())
    assert snap.state == "error" and snap.error == no_path.error
    import docker

    dead = docker.DockerClient(
        base_url="unix:///nonexistent/mfc-docker.sock", version="1.41", timeout=2
    )
    unreachable = read_scripts_from_container(dead, app, "/app/alembic")
    assert unreachable.error is not None and unreachable.revisions == ()
    assert "not reachable" in unreachable.error
