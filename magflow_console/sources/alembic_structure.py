"""The shape of an Alembic history: :class:`ScriptGraph` and its structural queries.

Pure (no I/O): heads, roots, merge points, branch-label lookup, ``depends_on``
resolution, Alembic's normalized parents, reachability and cycles. The graphs are
built by the static readers in :mod:`magflow_console.sources.alembic_parse`, which
re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from magflow_console.models import Finding, Revision

__all__ = [
    "ScriptGraph",
    "closure",
    "dependencies",
    "find_cycles",
    "heads",
    "merge_points",
    "normalized_parents",
    "real_heads",
    "resolve_name",
    "roots",
]


@dataclass(frozen=True)
class ScriptGraph:
    """The migration scripts found in one location, in Alembic's file order.

    ``revisions`` keeps every parsed file (duplicates included) sorted by file name,
    which is the order Alembic loads them in. ``error`` is set when the location
    itself could not be read (then ``revisions`` is empty).
    """

    location: str
    revisions: tuple[Revision, ...]
    parse_problems: tuple[Finding, ...] = ()
    error: str | None = None
    file_names: tuple[str, ...] = field(default=(), compare=False)  # every .py seen

    @cached_property
    def by_id(self) -> Mapping[str, Revision]:
        """Revision id -> revision; for duplicates the later file wins, as in Alembic."""
        return {r.revision: r for r in self.revisions}

    @property
    def ids(self) -> tuple[str, ...]:
        """Distinct revision ids in first-seen file order."""
        return tuple(dict.fromkeys(r.revision for r in self.revisions))

    @cached_property
    def children(self) -> Mapping[str, tuple[str, ...]]:
        """Revision id -> ids naming it in ``down_revision`` (known revisions only)."""
        out: dict[str, list[str]] = {rid: [] for rid in self.ids}
        for rid in self.ids:
            for parent in self.by_id[rid].down_revisions:
                if parent in out and rid not in out[parent]:
                    out[parent].append(rid)
        return {k: tuple(v) for k, v in out.items()}

    def get(self, revision: str) -> Revision | None:
        return self.by_id.get(revision)


# --------------------------------------------------------------------------- structure


def heads(graph: ScriptGraph) -> tuple[str, ...]:
    """Revisions no other revision names as ``down_revision`` (Alembic's ``get_heads()``)."""
    return tuple(rid for rid in graph.ids if not graph.children[rid])


def roots(graph: ScriptGraph) -> tuple[str, ...]:
    """Revisions with ``down_revision = None`` (Alembic's ``get_bases()``)."""
    return tuple(rid for rid in graph.ids if not graph.by_id[rid].down_revisions)


def merge_points(graph: ScriptGraph) -> tuple[str, ...]:
    """Revisions with more than one parent."""
    return tuple(rid for rid in graph.ids if len(graph.by_id[rid].down_revisions) > 1)


def resolve_name(graph: ScriptGraph, name: str) -> str | None:
    if name in graph.by_id:
        return name
    for rid in graph.ids:
        if name in graph.by_id[rid].branch_labels:
            return rid
    return None


def dependencies(graph: ScriptGraph) -> dict[str, tuple[str, ...]]:
    return {
        rid: tuple(d for d in (resolve_name(graph, n) for n in graph.by_id[rid].depends_on) if d)
        for rid in graph.ids
    }


def normalized_parents(graph: ScriptGraph) -> dict[str, tuple[str, ...]]:
    """Alembic's ``_normalized_down_revisions``: down revisions plus the depends_on
    entries that no versioned ancestor already depends on; unknown ids dropped."""
    deps = dependencies(graph)
    out: dict[str, tuple[str, ...]] = {}
    for rid in graph.ids:
        down = tuple(p for p in graph.by_id[rid].down_revisions if p in graph.by_id)
        own = set(deps[rid])
        if own:
            for anc in closure(graph, [rid], lambda r: graph.by_id[r].down_revisions):
                if anc != rid:
                    own.difference_update(deps[anc])
        out[rid] = tuple(dict.fromkeys(down + tuple(d for d in deps[rid] if d in own)))
    return out


def closure(
    graph: ScriptGraph, start: Iterable[str], step: Callable[[str], Iterable[str]]
) -> set[str]:
    """Nodes reachable from ``start`` (inclusive) following ``step(rid)``; unknown ids skipped."""
    seen: set[str] = set()
    todo = [s for s in start if s in graph.by_id]
    while todo:
        rid = todo.pop()
        if rid in seen:
            continue
        seen.add(rid)
        todo.extend(p for p in step(rid) if p in graph.by_id and p not in seen)
    return seen


def real_heads(graph: ScriptGraph) -> tuple[str, ...]:
    """Heads counting depends_on too (what ``upgrade heads`` targets)."""
    parents = normalized_parents(graph)
    used = {p for ps in parents.values() for p in ps}
    deps = {d for ds in dependencies(graph).values() for d in ds}
    return tuple(rid for rid in graph.ids if rid not in used and rid not in deps)


def find_cycles(graph: ScriptGraph) -> list[tuple[str, ...]]:
    """Strongly connected groups of revisions that reach themselves (Tarjan, iterative)."""
    parents = {rid: graph.by_id[rid].down_revisions for rid in graph.ids}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[tuple[str, ...]] = []
    counter = 0
    for start in graph.ids:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = [p for p in parents[node] if p in parents]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in parents[node]:
                    order = {rid: n for n, rid in enumerate(graph.ids)}
                    cycles.append(tuple(sorted(group, key=order.__getitem__)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return cycles
