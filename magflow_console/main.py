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
    """The first reads start before Textual is imported: they overlap its start-up."""
    from magflow_console.backend import Backend

    backend = Backend(loaded)
    try:
        backend.prefetch()
        from magflow_console.tui.app import run_tui

        return run_tui(loaded, backend=backend, profiles=profiles)
    finally:
        backend.close()


def main(argv: Sequence[str] | None = None) -> int:
    from magflow_console.cli import main as cli_main

    return cli_main(argv, open_tui=open_tui)
