"""SQL generation shared by the seeders (``seed``, ``seed_sync``, ``seed_orders``):
deterministic pseudo-random values computed by PostgreSQL itself, and array literals."""

from __future__ import annotations

import datetime as dt

#: the eMAG seller accounts, in the order the seeders fill them
ACCOUNTS = ("main", "fbe")


def sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def sql_pick(values: tuple[str, ...], rnd: str) -> str:
    return f"({sql_array(values)})[1 + mod({rnd}, {len(values)})]"


class Gen:
    """SQL snippets for deterministic pseudo-random integers in [0, 2**31)."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def r(self, tag: str, *parts: str) -> str:
        key = " || ':' || ".join(f"({p})::text" for p in parts)
        return f"(hashtext('{self.seed}:{tag}:' || {key}) & 2147483647)"

    def uuid(self, tag: str, *parts: str) -> str:
        key = " || ':' || ".join(f"({p})::text" for p in parts)
        return f"md5('{self.seed}:{tag}:' || {key})::uuid"


def naive_utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if now.tzinfo is not None:
        return now.astimezone(dt.UTC).replace(tzinfo=None)
    return now
