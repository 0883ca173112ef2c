"""Repainting only what changed: Textual repaints a whole widget when its content is
replaced (``Static.update``, ``DataTable.update_cell``), which over slow SSH rewrites every
line of it. A ``PartialRepaint`` widget replaces its content inside ``named_repaints()``,
where those whole repaints are dropped, and then refreshes only the regions that changed
(``LiveTable``'s rows, ``Summary``'s lines). A layout is never dropped."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from textual.geometry import Region

if TYPE_CHECKING:
    from textual.widget import Widget

    _Base = Widget
else:  # a plain mixin: a Widget subclass in front would shadow what Textual sets per class
    _Base = object


class PartialRepaint(_Base):
    """Mixed in before a Textual widget class: ``class LiveTable(PartialRepaint, DataTable)``."""

    #: inside ``named_repaints`` (a class default: a widget may refresh before its
    #: ``__init__`` returns, as DataTable does)
    _named_only = False

    @contextlib.contextmanager
    def named_repaints(self) -> Iterator[None]:
        """Whole repaints asked for inside are dropped: refresh what changed after it."""
        self._named_only = True
        try:
            yield
        finally:
            self._named_only = False

    def refresh(self, *regions: Region, **kw: Any) -> Any:
        if self._named_only and not regions and not kw.get("layout"):
            return self
        return super().refresh(*regions, **kw)
