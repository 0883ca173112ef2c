"""The screens' base classes: the app reference, typed, held once.

``AppScreen`` and ``AppModal`` give every screen ``self.mf`` (the ``MagflowApp``), so no
screen casts ``self.app`` on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from magflow_console.tui.app import MagflowApp

ResultT = TypeVar("ResultT")


class AppScreen(Screen[ResultT]):
    @property
    def mf(self) -> MagflowApp:
        return cast("MagflowApp", self.app)


class AppModal(ModalScreen[ResultT]):
    @property
    def mf(self) -> MagflowApp:
        return cast("MagflowApp", self.app)
