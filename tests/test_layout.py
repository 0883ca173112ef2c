"""The house rules, checked: what each layer may import (at run time, in a fresh
interpreter, as harlequin checks it), and that every import names the module that
defines the name (no re-export shims, no other module's private names).

The static side of the first rule is ``lint-imports`` (contracts in pyproject.toml),
run by ``make test``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "magflow_console"

#: modules that must import without Textual (the core and the headless face)
HEADLESS = (
    "magflow_console.models",
    "magflow_console.config",
    "magflow_console.backend",
    "magflow_console.sources.database",
    "magflow_console.sources.docker",
    "magflow_console.sources.api",
    "magflow_console.sources.alembic_graph",
    "magflow_console.actions.migrate",
    "magflow_console.actions.sync",
    "magflow_console.actions.admins",
    "magflow_console.actions.containers",
    "magflow_console.diagnose.doctor",
    "magflow_console.diagnose.logs",
    "magflow_console.render.styles",
    "magflow_console.render.sync_run",
    "magflow_console.cli",
    "magflow_console.cli.tables",
    "magflow_console.main",
)


def _loaded_after(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def _has(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_modules_never_load_textual(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert module in loaded
    assert not _has(loaded, "textual"), f"importing {module} loads Textual"
    assert not _has(loaded, "magflow_console.tui"), f"importing {module} loads the TUI"


def test_the_cli_parses_a_command_without_the_tui() -> None:
    loaded = _loaded_after(
        "from magflow_console.cli import build_parser\nbuild_parser().parse_args(['status'])"
    )
    assert not _has(loaded, "textual") and not _has(loaded, "magflow_console.tui")


def test_the_text_layer_needs_no_rich() -> None:
    """Sources and ``status --json`` use ``render.text``: it must not pull rich in."""
    loaded = _loaded_after("import magflow_console.render.text, magflow_console.render.fmt")
    assert not _has(loaded, "rich")


# --------------------------------------------------------------------------- imports


def _module_file(module: str) -> Path | None:
    rel = Path(*module.split("."))
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _defined_names(path: Path) -> tuple[set[str], set[str]]:
    """(names a module defines at top level, names it only imports)."""
    defined: set[str] = set()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                defined |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return defined, imported


def _sources() -> list[Path]:
    found = []
    for folder in ("magflow_console", "tests", "bench", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if "reference/alembic/versions" not in str(path):
                found.append(path)
    return found


def import_problems(files: list[Path]) -> list[str]:
    """Imports of a console module's private name, or of a name the module only
    re-exports (``from a import x`` where ``a`` got ``x`` from ``b``), including the
    attribute form (``import a as m`` then ``m.x``)."""
    cache: dict[str, tuple[set[str], set[str]] | None] = {}

    def names_of(module: str) -> tuple[set[str], set[str]] | None:
        if module not in cache:
            path = _module_file(module)
            cache[module] = _defined_names(path) if path is not None else None
        return cache[module]

    def check(where: str, module: str, name: str) -> str | None:
        if _module_file(f"{module}.{name}") is not None or name.startswith("__"):
            return None  # a submodule, or a dunder such as __version__
        found = names_of(module)
        if found is None:
            return None
        defined, imported = found
        if name.startswith("_"):
            return f"{where}: private name {module}.{name}"
        if name not in defined and name in imported:
            return f"{where}: {module}.{name} is only re-exported there"
        return None

    problems: list[str] = []
    for path in files:
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "magflow_console"
            ):
                module = str(node.module)
                for a in node.names:
                    if _module_file(f"{module}.{a.name}") is not None:
                        aliases[a.asname or a.name] = f"{module}.{a.name}"
                    problem = check(f"{path.relative_to(ROOT)}:{node.lineno}", module, a.name)
                    if problem:
                        problems.append(problem)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("magflow_console") and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                problem = check(where, aliases[node.value.id], node.attr)
                if problem:
                    problems.append(problem)
    return sorted(set(problems))


def test_every_import_names_the_defining_module_and_no_private_name() -> None:
    assert import_problems(_sources()) == []


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    """The check above finds both faults when they are there."""
    shim = PACKAGE / "render" / "text.py"
    probe = ROOT / "tests" / "_layout_probe.py"
    probe.write_text(
        "from magflow_console.render.text import _visible, re\n"
        "from magflow_console.render import text as t\n"
        "t._CONTROL\n"
    )
    try:
        problems = import_problems([probe])
    finally:
        probe.unlink()
    assert shim.exists()
    assert any("private name magflow_console.render.text._visible" in p for p in problems)
    assert any("magflow_console.render.text.re is only re-exported" in p for p in problems)
    assert any("private name magflow_console.render.text._CONTROL" in p for p in problems)
