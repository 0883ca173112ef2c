"""Ages, times, percents, counts and sizes, worded once for both faces.

Times are shown in UTC (MagFlow stores naive UTC; the header says "UTC" once). Every
function that needs "now" takes it as an argument, so snapshots can freeze the clock.
Plain strings: no rich, no Textual.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def number(value: float | None) -> float | None:
    """``value`` when it is a finite number, else ``None`` (NaN and ±Infinity come from the
    database as readily as numbers do; every formatter shows them as unknown)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def as_utc(value: dt.datetime) -> dt.datetime:
    """Naive values are UTC (MagFlow's convention)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def hms(value: dt.datetime | None) -> str:
    return as_utc(value).strftime("%H:%M:%S") if value else "—"


def hm(value: dt.datetime | None) -> str:
    """``20:46``: to the minute (a line that must not change at every refresh)."""
    return as_utc(value).strftime("%H:%M") if value else "—"


#: a "latency" this long (a day and more: a bad value) is worded as a span
_LATENCY_SPAN_MS = 1e8


def coarse_latency(ms: float | None) -> str:
    """A latency that does not flicker between refreshes: ``<10ms``, ``40ms``, ``300ms``,
    ``1.2s`` (two significant figures at most; the JSON keeps the exact value)."""
    ms = number(ms)
    if ms is None:
        return "—"
    if ms >= _LATENCY_SPAN_MS:
        return span(ms / 1000)
    if ms < 10:
        return "<10ms"
    if ms < 100:
        return f"{round(ms, -1):.0f}ms"
    if ms < 1000:
        return f"{round(ms, -2):.0f}ms"
    return f"{ms / 1000:.1f}s"


def stamp(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``10-21 20:46`` (month-day, minutes): compact enough for 80 columns. With ``now``, a
    time more than a day ahead of it shows its date with the year (``2036-12-04``): a bad
    clock or a bad row, not a run of today."""
    if not value:
        return "—"
    if now is not None and far_ahead(value, now):
        return as_utc(value).strftime("%Y-%m-%d")
    return as_utc(value).strftime("%m-%d %H:%M")


def far_ahead(value: dt.datetime | None, now: dt.datetime) -> bool:
    """More than a day ahead of ``now``: ``stamp`` then shows the year."""
    return value is not None and as_utc(value) - as_utc(now) > dt.timedelta(days=1)


def session(
    pid: object, application_name: str | None, client_addr: str | None, seconds: float | None
) -> str:
    """``pid 4242 (alembic, from 10.0.0.5, for 12 s)``: a database session holding a lock.
    A session that began this instant can read as -0.1 s against ``now()``: 0 s."""
    since = f", for {max(float(seconds), 0.0):.0f} s" if seconds is not None else ""
    who = application_name or "unnamed client"
    return f"pid {pid} ({who}, from {client_addr or 'local socket'}{since})"


def full_stamp(value: dt.datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


#: the longest span worded in days (an absurd duration from the database stays short)
SPAN_DAYS_MAX = 99_999


def span(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h``, ``2d4h``: the most significant one or two units."""
    seconds = number(seconds)
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h{m:02d}m" if h < 10 and m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    if d > SPAN_DAYS_MAX:
        return f">{SPAN_DAYS_MAX}d"
    return f"{d}d{h}h" if h and d < 10 else f"{d}d"


def age(value: dt.datetime | None, now: dt.datetime) -> str:
    """``12m ago`` style, without the word (columns are labelled)."""
    if value is None:
        return "never"
    return span((now - as_utc(value)).total_seconds())


def short_span(seconds: float | None) -> str:
    """At most 4 characters, for the narrowest columns: ``45s``, ``99m``, ``1.7h``, ``13h``,
    ``1.3d``, ``12d``."""
    seconds = number(seconds)
    if seconds is None:
        return "—"
    s = max(seconds, 0.0)
    if s < 60:
        return f"{int(s)}s"
    if s < 100 * 60:
        return f"{int(s // 60)}m"
    if s < 10 * 3600:
        return f"{int(s / 360) / 10:.1f}h"  # truncated, like the other units
    if s < 86400:
        return f"{int(s // 3600)}h"
    if s < 10 * 86400:
        return f"{int(s / 8640) / 10:.1f}d"
    return f"{min(int(s // 86400), 999)}d"


def short_age(value: dt.datetime | None, now: dt.datetime) -> str:
    """``age`` in at most 4 characters (``never`` is 5: it is worth the overflow)."""
    if value is None:
        return "never"
    return short_span((now - as_utc(value)).total_seconds())


def percent(value: float | None) -> str:
    value = number(value)
    if value is None:
        return "—"
    if abs(value) >= 100:  # a ratio that is no ratio
        return ">9999%" if value > 0 else "<-9999%"
    return f"{round(value * 100):d}%"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def short_count(value: int | None, width: int) -> str:
    """A count in at most ``width`` characters (4 or more): ``9,999`` as is when it fits,
    else truncated to a unit (``40k``, ``1.2M``, ``3G``, up to ``E``). For the dashboard's
    narrow columns, where a count that does not fit would run into its neighbour."""
    if value is None:
        return "—"
    for whole in (f"{value:,}", str(value)):
        if len(whole) <= width:
            return whole
    sign = "-" if value < 0 else ""
    n = abs(value)
    for unit, size in (("k", 10**3), ("M", 10**6), ("G", 10**9), ("T", 10**12), ("P", 10**15)):
        if n >= 1000 * size:
            continue
        tenths = f"{sign}{n * 10 // size / 10:.1f}{unit}"  # truncated, never rounded up
        if n < 10 * size and len(tenths) <= width:
            return tenths
        return f"{sign}{n // size}{unit}"
    return f"{sign}{n // 10**18}E"


def duration(seconds: float | None) -> str:
    """``12.5s``, ``3m``...; ``—`` unknown (NaN, ±Infinity), ``<0s`` for a negative one."""
    seconds = number(seconds)
    if seconds is None:
        return "—"
    if seconds < 0:
        return "<0s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return span(seconds)


def latency(ms: float | None) -> str:
    ms = number(ms)
    if ms is None:
        return "—"
    if ms >= _LATENCY_SPAN_MS:
        return span(ms / 1000)
    if ms < 0:
        return "<0ms"
    return f"{ms:.0f}ms" if ms < 10_000 else f"{ms / 1000:.0f}s"


def ago(value: dt.datetime | None, now: dt.datetime) -> str:
    """``12m ago`` (``never``; ``in the future`` for a time ahead of ``now``)."""
    if value is None:
        return "never"
    seconds = (now - as_utc(value)).total_seconds()
    if seconds < 0:
        return "in the future"
    return f"{span(seconds)} ago"


def at_minute(value: dt.datetime | None) -> str:
    """`` at 2025-10-21 20:46 UTC`` (empty without a time): a finding's "last seen"."""
    return f" at {as_utc(value):%Y-%m-%d %H:%M} UTC" if value else ""


def size(n: float | None) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``256 MiB``, ``2.0 GiB``."""
    value = number(n)
    if value is None:
        return "—"
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    for unit in ("GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            break
        value /= 1024
    if abs(value) >= 10_000:
        return ">9999 PiB" if value > 0 else "<-9999 PiB"
    return f"{value:.1f} {unit}"
