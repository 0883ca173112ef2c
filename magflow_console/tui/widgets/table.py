"""A DataTable that is updated in place: only changed cells are redrawn.

Over slow SSH a full table rebuild on every refresh is a redraw storm; ``set_rows`` keeps
rows whose key and cells are unchanged, updates changed cells one by one and repaints
only their rows (``DataTable.update_cell`` alone repaints the whole table, header
included), and rebuilds only when the set or order of rows changed (keeping the cursor
on the same key).
A text filter hides rows whose plain text does not contain it (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from magflow_console.tui.widgets.partial import PartialRepaint

Row = tuple[str, Sequence[Text]]


class LiveTable(PartialRepaint, DataTable[Text]):
    """DataTable with keyed, diffed updates and an optional filter."""

    DEFAULT_CSS = """
    LiveTable { height: auto; max-height: 100%; }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, int | None]],
        *,
        cursor: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            cursor_type="row" if cursor else "none",
            zebra_stripes=False,
            cell_padding=0,
            show_cursor=cursor,
            id=id,
            classes=classes,
        )
        self.can_focus = cursor
        self._column_specs = list(columns)
        self._rows: list[Row] = []
        self._shown: list[Row] = []
        self.filter_text = ""

    def on_mount(self) -> None:
        for label, width in self._column_specs:
            self.add_column(Text(label, style="bold"), width=width, key=label)

    @property
    def selected_key(self) -> str | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row][0]

    def selected_text(self) -> str:
        if self.selected_key is None:
            return ""
        cells = self._shown[self.cursor_row][1]
        return "\t".join(c.plain.strip() for c in cells)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._apply()

    def set_rows(self, rows: Sequence[Row]) -> None:
        self._rows = list(rows)
        self._apply()

    def _visible(self) -> list[Row]:
        if not self.filter_text:
            return self._rows
        needle = self.filter_text
        return [r for r in self._rows if needle in " ".join(c.plain for c in r[1]).lower()]

    def _apply(self) -> None:
        new = self._visible()
        old = self._shown
        if [k for k, _ in new] == [k for k, _ in old]:
            changed: list[int] = []
            with self.named_repaints():  # update_cell repaints the whole table
                for index, ((key, cells), (_, old_cells)) in enumerate(zip(new, old, strict=True)):
                    for col, (cell, old_cell) in enumerate(zip(cells, old_cells, strict=False)):
                        if cell != old_cell:
                            self.update_cell(RowKey(key), self._column_specs[col][0], cell)
                            changed.append(index)
            self._shown = new
            for index in dict.fromkeys(changed):
                self.refresh_row(index)
            return
        keep = self.selected_key
        self.clear()
        for key, cells in new:
            self.add_row(*cells, key=key)
        self._shown = new
        if keep is not None:
            for index, (key, _) in enumerate(new):
                if key == keep:
                    self.move_cursor(row=index, animate=False)
                    break
