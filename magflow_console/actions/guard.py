"""The safety policy every action goes through, whatever calls it (TUI or CLI).

- ``read_only`` (profile or --read-only) refuses every action here, in the action
  layer, not only in the UI;
- every attempt is audited, including refusals, cancellations and crashes;
- a ``protected`` profile needs its name typed to confirm (the UI and the CLI ask;
  ``--yes`` confirms only where it is allowed: see ``Confirmation``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from magflow_console.actions.audit import AuditLog
from magflow_console.render.text import scrub

if TYPE_CHECKING:  # annotations only: `magflow-console --help` need not load pydantic
    from magflow_console import config as cfg

Emit = Callable[[str], None]


class ActionRefused(Exception):
    """The action was not attempted; ``str()`` is the reason, one sentence."""


@dataclass(frozen=True)
class ActionPlan:
    """What the confirmation shows before anything changes."""

    action: str  # "migrate", "sync.trigger", "admin.create", "container.restart", ...
    operation: str  # the exact operation, e.g. "alembic upgrade head in magflow_app"
    changes: tuple[str, ...]  # what will change, one line each
    params: Mapping[str, Any] = field(default_factory=dict)  # audited; never secrets
    warnings: tuple[str, ...] = ()
    #: the action ends with a wait (a sync's outcome, a container's health) that the
    #: operator may stop early with ``ActionContext.stop``; what was done stays done
    stoppable: bool = False


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str  # one sentence
    details: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 2


@dataclass
class ActionContext:
    """Everything an action needs: the profile, its name, and the audit log."""

    loaded: cfg.LoadedConfig
    audit: AuditLog
    emit: Emit = field(default=lambda line: None)
    #: set by the UI to stop waiting (see ``ActionPlan.stoppable``); actions check it
    #: between steps and in their polling loops, never in the middle of a change
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def profile(self) -> cfg.Profile:
        return self.loaded.profile

    @property
    def profile_name(self) -> str:
        return self.loaded.profile_name

    @classmethod
    def from_config(cls, loaded: cfg.LoadedConfig, emit: Emit | None = None) -> ActionContext:
        return cls(
            loaded=loaded, audit=AuditLog(loaded.audit_log), emit=emit or (lambda line: None)
        )

    def database_url(self) -> str:
        """The profile's database URL for an action's own connection; ``SourceError``
        when it cannot be resolved or none is configured."""
        from magflow_console.config import database_url
        from magflow_console.config_sources import ConfigError
        from magflow_console.sources.pg_conn import SourceError

        try:
            url = database_url(self.profile)
        except ConfigError as exc:
            raise SourceError(str(exc)) from None
        if not url:
            raise SourceError("No database URL is configured for this profile.")
        return url

    def confirmation_word(self) -> str | None:
        """What the user must type to confirm: the profile name on a protected profile."""
        return self.profile_name if self.profile.protected else None

    def _audit(self, plan: ActionPlan, outcome: str, detail: str) -> None:
        self.audit.record(
            profile=self.profile_name,
            action=plan.action,
            params=plan.params,
            outcome=outcome,
            detail=detail,
        )

    def check_allowed(self, plan: ActionPlan) -> None:
        if self.profile.read_only:
            reason = f"Profile '{self.profile_name}' is read-only: {plan.action} refused."
            self._audit(plan, "refused", reason)
            raise ActionRefused(reason)

    def refuse(self, plan: ActionPlan, reason: str) -> ActionRefused:
        self._audit(plan, "refused", reason)
        return ActionRefused(reason)

    def cancelled(self, plan: ActionPlan, detail: str = "not confirmed") -> None:
        self._audit(plan, "cancelled", detail)

    def execute(self, plan: ActionPlan, run: Callable[[], ActionResult]) -> ActionResult:
        """Run a confirmed plan: re-check read-only, audit the outcome, never leak a traceback."""
        self.check_allowed(plan)
        try:
            result = run()
        except ActionRefused as exc:
            self._audit(plan, "refused", str(exc))
            raise
        except KeyboardInterrupt:  # Ctrl-C in the CLI: audited, then the CLI exits 130
            self._audit(plan, "cancelled", "interrupted while running (Ctrl-C)")
            raise
        except Exception as exc:
            detail = scrub(f"{type(exc).__name__}: {exc}")
            self._audit(plan, "error", detail[:500])
            return ActionResult(False, f"{plan.action} failed unexpectedly: {detail[:300]}")
        self._audit(plan, "ok" if result.ok else "failed", result.message[:500])
        return result
