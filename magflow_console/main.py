"""The program: the headless command line with the TUI plugged in.

``magflow-console`` runs ``main()``. The TUI (and with it Textual) is imported only when
it opens, so a headless command starts without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from magflow_console.config import LoadedConfig
    from magflow_console.environments import Profiles


def open_tui(loaded: LoadedConfig, profiles: Profiles) -> int:
    """The first reads start before Textual is imported: they overlap its start-up. The
    cyclic garbage collector is paused until the first frame (``MagflowApp``): what
    start-up builds lives as long as the app, and the collector's passes over it while
    Textual is imported and the screen composed are wasted work (bench/tried.toml)."""
    import gc

    from magflow_console.backend import Backend

    gc.disable()
    backend = Backend(loaded)
    try:
        backend.prefetch()
        from magflow_console.tui.app import run_tui

        return run_tui(loaded, backend=backend, profiles=profiles)
    finally:
        gc.enable()  # the app did at its first frame, unless it ended before
        backend.close()


def main(argv: Sequence[str] | None = None) -> int:
    from magflow_console.cli import main as cli_main

    return cli_main(argv, open_tui=open_tui)
