"""The program: the headless command line with the TUI plugged in.

``magflow-console`` runs ``main()``. The TUI (and with it Textual) is imported only when
it opens, so a headless command starts without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from magflow_console.backend import Backend
    from magflow_console.config import LoadedConfig
    from magflow_console.environments import Profiles
    from magflow_console.forked_reads import ForkedReads, Plan


def open_tui(
    load: Callable[[], LoadedConfig], profiles_of: Callable[[LoadedConfig], Profiles]
) -> int:
    """Open the TUI on the profile ``load`` loads.

    Start-up is CPU work on two cores. What both processes need (the backend, the setting
    models, pydantic) is imported once, before the fork. Then a forked child loads the
    profile (importing pydantic-settings) and makes the first reads, while this process
    imports Textual; it then receives the loaded profile, and the reads overlap the
    screen's composition (bench/tried.toml). A config error the child met is raised here,
    before the terminal is taken, as if loading had failed here. Where a fork is not safe,
    or the child sent nothing, this process loads the profile itself.

    The cyclic garbage collector is paused until the first frame (``MagflowApp``): what
    start-up builds lives as long as the app, and the collector's passes over it while
    Textual is imported and the screen composed are wasted work."""
    import gc

    from magflow_console import forked_reads
    from magflow_console.backend import FIRST_READS  # imports what both processes need

    gc.disable()
    backend: Backend | None = None
    early = forked_reads.start_planned(lambda: _load_and_read(load), FIRST_READS)
    try:
        from magflow_console.tui.app import run_tui

        backend = _backend(load, early)
        loaded = backend.loaded
        return run_tui(loaded, backend=backend, profiles=profiles_of(loaded))
    finally:
        gc.enable()  # the app did at its first frame, unless it ended before
        if backend is not None:
            backend.close()
        if early is not None:
            early.close()


def _load_and_read(load: Callable[[], LoadedConfig]) -> Plan:
    """The forked child's plan: load the profile, send it, then make the first reads."""
    from magflow_console.backend import Backend
    from magflow_console.forked_reads import Plan

    backend = Backend(load())
    return Plan(backend.loaded, backend.first_read_jobs(), backend.closer_of_new_sources())


def _backend(load: Callable[[], LoadedConfig], early: ForkedReads | None) -> Backend:
    """The backend of the profile the early child loaded (raising its config error),
    with its first reads; else of the profile loaded here, with ``prefetch``'s."""
    from magflow_console.backend import Backend

    if early is not None:
        loaded = _prepared(early)
        if loaded is not None:
            backend = Backend(loaded)
            backend.adopt_first_reads(early)
            return backend
        early.close()
    backend = Backend(load())
    backend.prefetch()
    return backend


def _prepared(early: ForkedReads) -> LoadedConfig | None:
    """The profile the child loaded; its config error; or None (it sent nothing, or
    failed otherwise: loading it here shows what went wrong as it would without a fork)."""
    from magflow_console.config_sources import ConfigError

    try:
        loaded: LoadedConfig | None = early.prepared.result()
    except ConfigError:
        raise
    except Exception:
        return None
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    from magflow_console.cli import main as cli_main

    return cli_main(argv, open_tui=open_tui)
