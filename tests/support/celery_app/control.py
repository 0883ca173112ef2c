"""How a test tells the stand-in's tasks what to do, without changing their messages.

The worker's environment holds ``MAGFLOW_TEST_CELERY_CONTROL``: the path of a JSON file
that every task reads when it starts (and a sleeping task re-reads while it sleeps). The
file maps a task name to a behaviour, or to a list of behaviours indexed by the attempt
(``request.retries``; the last one repeats)::

    {"emag.sync_products": {"action": "sleep", "seconds": 60},
     "emag.sync_orders": {"action": "fail", "exc": "ConnectionError", "message": "..."},
     "emag.auto_acknowledge_orders": [{"action": "retry"}, {"action": "succeed"}]}

Actions:
- ``succeed`` (the default for a task not in the file): return MagFlow's result shape;
  ``result`` (a dict) is merged into it (e.g. ``{"products_synced": 120, "failed": 3}``).
- ``sleep``: hold the worker ``seconds`` (default 3600), then succeed. It ends early when
  the task's entry no longer says ``sleep`` (``Control.release``), so a test never waits
  for a long task to finish on its own.
- ``fail``: raise ``exc`` (a builtin exception name, default ``RuntimeError``) with
  ``message``.
- ``retry``: ``self.retry(exc=...)`` with the task's own delay and retry limit (MagFlow's
  ``default_retry_delay``); ``countdown`` overrides the delay.

The messages MagFlow sends are unchanged: no task takes an argument it would not send.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "MAGFLOW_TEST_CELERY_CONTROL"


def read_all() -> dict[str, Any]:
    path = os.environ.get(ENV)
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def behaviour(task: str, attempt: int) -> dict[str, Any]:
    """What ``task`` should do on attempt ``attempt`` (0 for the first run)."""
    entry = read_all().get(task)
    if isinstance(entry, list) and entry:
        entry = entry[min(attempt, len(entry) - 1)]
    return entry if isinstance(entry, dict) else {"action": "succeed"}


class Control:
    """The test side: writes the control file atomically (the worker may read at any time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] = {}
        self._write()

    def set(self, task: str, action: str = "succeed", **options: Any) -> None:
        self._data[task] = {"action": action, **options}
        self._write()

    def set_attempts(self, task: str, *behaviours: dict[str, Any]) -> None:
        self._data[task] = list(behaviours)
        self._write()

    def release(self, task: str | None = None) -> None:
        """End the sleep of ``task`` (every task when ``None``): they succeed now."""
        if task is None:
            self._data.clear()
        else:
            self._data.pop(task, None)
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data))
        tmp.replace(self.path)
