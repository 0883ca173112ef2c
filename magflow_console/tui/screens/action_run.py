"""Runs a confirmed action plan and shows its live output and result.

``ctx.execute(plan, run)`` (guarded and audited by the action layer) runs in a thread
worker. The action's ``ctx.emit`` lines go into a lock-protected buffer that the screen
drains every ``FLUSH_SECONDS`` into a ``Log`` (batched: a chatty migration causes a few
redraws a second, not one per line); every line is cleaned of escape sequences first.
When the worker ends, the final ``ActionResult`` (message and details), or the refusal,
is shown and ``on_done`` is called (the flow refreshes the affected sources there).
Closing is possible once the action has finished: a running migration cannot be
abandoned half-way from the UI. An action whose plan is ``stoppable`` (a sync waiting for
its outcome, a container waiting to be healthy) can be told to stop waiting with ``x``:
it sets ``ctx.stop``; the action ends at its next check, and what it already did (the
trigger, the restart) stays done and is said so in the result. Leaving the app does the
same, so a quit never leaves a worker polling in the background.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Log, Static

from magflow_console.actions.guard import ActionContext, ActionPlan, ActionRefused, ActionResult
from magflow_console.render.text import clean, one_line, scrub
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar

FLUSH_SECONDS = 0.08
MAX_LINES = 5000

Runner = Callable[[], ActionResult]


class ActionRunScreen(AppScreen[ActionResult | None]):
    DEFAULT_CSS = """
    ActionRunScreen #run-title { height: auto; background: $panel; }
    ActionRunScreen #run-status { height: auto; padding: 0 1; }
    ActionRunScreen #run-status.-ok { color: $success; }
    ActionRunScreen #run-status.-failed { color: $error; }
    ActionRunScreen #run-log { height: 1fr; border: round $panel-lighten-2; }
    ActionRunScreen #run-details { height: auto; max-height: 10; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="run-close"),
        Binding("x", "stop_waiting", "Stop waiting", id="run-stop"),
        Binding("y", "copy", "Copy output", id="run-copy"),
    ]

    def __init__(
        self,
        ctx: ActionContext,
        plan: ActionPlan,
        runner: Runner,
        *,
        on_done: Callable[[ActionResult | None], None] | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.plan = plan
        self._runner: Runner | None = runner
        self._on_done = on_done
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self.output: list[str] = []
        self.finished = False
        self.result: ActionResult | None = None
        self.refused: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                (" Running ", "bold"),
                (one_line(self.plan.operation), "bold"),
                no_wrap=True,
                overflow="ellipsis",
            ),
            id="run-title",
        )
        yield Static(Text("● running…", style="bold yellow"), id="run-status")
        yield Log(max_lines=MAX_LINES, id="run-log")
        yield Static(id="run-details")
        yield KeyBar()

    def on_mount(self) -> None:
        self.ctx.emit = self._emit
        self.set_interval(FLUSH_SECONDS, self._flush)
        self._run()

    def on_unmount(self) -> None:
        self.ctx.stop.set()  # the app is closing: let a waiting action end now

    # ------------------------------------------------------------------ worker side

    def _emit(self, line: str) -> None:
        """Called from the worker thread: buffer only, never touch widgets."""
        with self._lock:
            self._pending.append(line)

    @work(thread=True, exclusive=True, exit_on_error=False, group="action:run")
    def _run(self) -> None:
        runner = self._runner
        result: ActionResult | None = None
        refused: str | None = None
        try:
            if runner is not None:
                result = self.ctx.execute(self.plan, runner)
        except ActionRefused as exc:
            refused = str(exc)
        except Exception as exc:  # execute() already turns errors into a result
            result = ActionResult(False, f"{self.plan.action} failed: {scrub(str(exc))[:300]}")
        finally:
            self._runner = None  # drop the closure (it may hold a password)
        self.app.call_from_thread(self._finished, result, refused)

    # ------------------------------------------------------------------ UI side

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            lines = [clean(scrub(line)) for line in batch]
            self.output.extend(lines)
            self.query_one("#run-log", Log).write_lines(lines)

    def _finished(self, result: ActionResult | None, refused: str | None) -> None:
        self._flush()
        self.finished = True
        self.refresh_bindings()
        self.result = result
        self.refused = refused
        self.ctx.emit = lambda line: None
        status = self.query_one("#run-status", Static)
        if refused is not None:
            status.update(Text(f"✗ Refused: {one_line(refused)}"))
            status.add_class("-failed")
        elif result is not None:
            mark = "✓ " if result.ok else "✗ "
            status.update(Text(mark + one_line(result.message)))
            status.add_class("-ok" if result.ok else "-failed")
        details = Text()
        for line in result.details if result is not None else ():
            details.append(f"  {one_line(line)}\n")
        details.append("esc closes", style="dim")
        self.query_one("#run-details", Static).update(details)
        if self._on_done is not None:
            self._on_done(result)

    def status_text(self) -> str:
        return str(self.query_one("#run-status", Static).render())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_waiting":
            return self.plan.stoppable and not self.finished and not self.ctx.stop.is_set()
        return True

    def action_stop_waiting(self) -> None:
        if self.finished or not self.plan.stoppable:
            return
        self.ctx.stop.set()
        self.query_one("#run-status", Static).update(
            Text("● stopping at the next check… (what was done stays done)", style="bold yellow")
        )
        self.refresh_bindings()

    def action_close(self) -> None:
        if not self.finished:
            if self.plan.stoppable:
                hint = "press x to stop waiting (what was done stays done)."
            else:
                hint = "it cannot be stopped half-way; wait for it to finish."
            self.notify(f"The action is still running: {hint}", timeout=4)
            return
        self.dismiss(self.result)

    def action_copy(self) -> None:
        if self.output:
            self.app.copy_to_clipboard("\n".join(self.output))
            self.notify("Copied the output (OSC 52).", timeout=2)
