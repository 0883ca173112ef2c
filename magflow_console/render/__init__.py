"""The one rendering layer of both faces (the headless CLI and the TUI): text made safe
to show (``text``), ages, percents and sizes (``fmt``), one style per state (``styles``)
and one sync run in full (``sync_run``). It imports rich at most, never Textual."""
