"""What the user asks of the eMAG product sync: the request, its checks and the strategy.

Part of the sync action (``magflow_console.actions.sync``, which re-exports these names).
No Textual import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from magflow_console.actions.guard import ActionContext

ACCOUNTS = ("main", "fbe")
ACCOUNT_CHOICES = ("main", "fbe", "both")
MODES = ("full", "incremental", "selective")
CONFLICT_STRATEGIES = ("emag_priority", "local_priority", "newest_wins", "manual")

Strategy = Literal["celery", "api"]


@dataclass(frozen=True)
class SyncRequest:
    """What the user asked for; ``validate()`` lists what is wrong with it."""

    account: str  # main | fbe | both
    max_pages: int | None = 5  # None = all pages (api only)
    mode: str = "full"
    items_per_page: int = 100
    include_inactive: bool = False
    conflict_strategy: str = "emag_priority"
    run_async: bool = True
    strategy: str | None = None  # None: the profile's

    def validate(self, strategy: str) -> list[str]:
        errors = []
        if self.account not in ACCOUNT_CHOICES:
            errors.append(f"account must be one of {', '.join(ACCOUNT_CHOICES)}")
        if strategy not in ("celery", "api"):
            errors.append("strategy must be celery or api")
        if self.max_pages is None:
            if strategy == "celery":
                errors.append("max pages must be a number >= 1 with the celery strategy")
        elif type(self.max_pages) is not int or self.max_pages < 1:
            errors.append("max pages must be an integer >= 1 (or empty for all pages)")
        if self.mode not in MODES:
            errors.append(f"mode must be one of {', '.join(MODES)}")
        if type(self.items_per_page) is not int or not 1 <= self.items_per_page <= 100:
            errors.append("items per page must be an integer between 1 and 100")
        if self.conflict_strategy not in CONFLICT_STRATEGIES:
            errors.append(f"conflict strategy must be one of {', '.join(CONFLICT_STRATEGIES)}")
        for flag in ("include_inactive", "run_async"):
            if not isinstance(getattr(self, flag), bool):
                errors.append(f"{flag} must be true or false")
        return errors

    def accounts(self) -> tuple[str, ...]:
        return ACCOUNTS if self.account == "both" else (self.account,)


def strategy_of(ctx: ActionContext, req: SyncRequest) -> str:
    return req.strategy or ctx.profile.sync.strategy
