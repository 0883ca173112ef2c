"""Every formatter of a number takes any float the database can hold: NaN, ±Infinity,
1e308, negatives. None of them raises, none of them prints a 300-digit number."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from magflow_console.render import fmt

FORMATTERS: dict[str, Callable[[float], str]] = {
    "span": fmt.span,
    "short_span": fmt.short_span,
    "duration": fmt.duration,
    "latency": fmt.latency,
    "coarse_latency": fmt.coarse_latency,
    "percent": fmt.percent,
    "size": fmt.size,
}
HOSTILE = [math.nan, math.inf, -math.inf, 1e308, -1e308, -5.0, 0.0, 5e-324, 4e9]


@pytest.mark.parametrize("name", sorted(FORMATTERS))
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_floats_are_worded_not_raised(name: str, value: float) -> None:
    shown = FORMATTERS[name](value)
    assert isinstance(shown, str) and 0 < len(shown) <= 12, shown
    if not math.isfinite(value):
        assert shown == "—"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_worded_briefly(value: float) -> None:
    for name, formatter in FORMATTERS.items():
        shown = formatter(value)
        assert len(shown) <= 12, (name, value, shown)


def test_durations_of_the_run_detail() -> None:
    assert fmt.duration(math.nan) == "—" and fmt.duration(math.inf) == "—"
    assert fmt.duration(-5) == "<0s" and fmt.duration(12.34) == "12.3s"
    assert fmt.duration(1e308) == f">{fmt.SPAN_DAYS_MAX}d"
    assert fmt.span(3 * 86400 + 7200) == "3d2h"


def test_a_start_far_ahead_shows_its_year() -> None:
    now = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
    assert fmt.stamp(now + dt.timedelta(days=3650), now) == "2036-11-19"
    assert fmt.stamp(now + dt.timedelta(minutes=3), now) == "11-22 03:03"  # a skewed clock
    assert fmt.stamp(now - dt.timedelta(days=400), now) == "10-18 03:00"
    assert fmt.stamp(now + dt.timedelta(days=3650)) == "11-19 03:00"  # without now: as before
