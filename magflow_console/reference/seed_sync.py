"""The sync-log history part of the seeder (one set-based INSERT), see ``seed`` for the shape."""

from __future__ import annotations

from typing import Any

from magflow_console.reference.sql_gen import sql_array

FBE_DARK_HOURS = 31.0  # fbe: no successful run for this long
MAIN_GAP_HOURS = (100.0, 106.0)
FBE_GAP_HOURS = (4.0, 12.0)
MAIN_EMPTY_HOURS = (300.0, 304.0)
STALE_RUNNING_HOURS = 216.0
MAIN_FAILED_HOURS = (50.0, 410.0)
PAGE_ERRORS = (
    "eMAG API error 429: Too Many Requests",
    "eMAG API error 502: Bad Gateway",
    "eMAG API error 503: Service Unavailable",
    "eMAG API error 429: Too Many Requests",
    "eMAG API error 504: Gateway Timeout",
    "Unhandled API error: Connection reset by peer",
)

_CLASSES = """
CASE
  WHEN acct = 'main' AND i = %(k)s - 1 THEN 'success'
  WHEN acct = 'main' AND i = %(running_i)s THEN 'running'
  WHEN acct = 'fbe' AND i = %(fbe_failed_i)s THEN 'failed'
  WHEN acct = 'fbe' AND hours_ago < %(fbe_dark)s THEN 'empty'
  WHEN acct = 'main' AND hours_ago >= %(main_empty_lo)s AND hours_ago < %(main_empty_hi)s
    THEN 'empty'
  WHEN acct = 'main' AND i = ANY(%(main_failed_i)s) THEN 'failed'
  WHEN r < CASE acct WHEN 'main' THEN 6 ELSE 2 END THEN 'failed'
  WHEN r < CASE acct WHEN 'main' THEN 95 ELSE 12 END THEN 'errors'
  ELSE 'success'
END
"""


def sync_logs_sql(g: Any) -> str:
    """``g`` is the seeder's ``_Gen``."""
    pick_err = f"({sql_array(PAGE_ERRORS)})[1 + mod(r3 + e.n, {len(PAGE_ERRORS)})]"
    iso = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"
    return f"""
WITH slots AS (
  SELECT a.acct, i,
    mod({g.r("l", "a.acct", "i")}, 1000) AS r,
    mod({g.r("l2", "a.acct", "i")}, 1000) AS r2,
    mod({g.r("l3", "a.acct", "i")}, 1000) AS r3,
    (%(k)s - i) * %(step)s / 3600.0 AS hours_ago,
    %(now)s::timestamp - make_interval(secs => (%(k)s - i) * %(step)s)
      + make_interval(secs => a.off * %(step)s
      + mod({g.r("lj", "a.acct", "i")}, 1000) / 1000.0 * %(step)s * 0.02) AS started_at
  FROM generate_series(0, %(k)s - 1) AS i
  CROSS JOIN (VALUES ('main', 0.0), ('fbe', 0.1)) AS a(acct, off)
), classified AS (
  SELECT *, {_CLASSES} AS cls,
    mod(r2, 24) = 0 AS full_run
  FROM slots
  WHERE NOT (acct = 'main' AND hours_ago >= %(main_gap_lo)s AND hours_ago < %(main_gap_hi)s)
    AND NOT (acct = 'fbe' AND hours_ago > %(fbe_gap_lo)s AND hours_ago <= %(fbe_gap_hi)s)
), sized AS (
  SELECT *,
    CASE WHEN full_run THEN %(n)s ELSE least(%(n)s, 500) END AS planned,
    CASE cls WHEN 'errors' THEN 1 + mod(r3, 2) ELSE 0 END AS bad_pages,
    CASE cls
      WHEN 'success' THEN CASE WHEN full_run THEN 240 + mod(r3, 300) ELSE 25 + mod(r3, 70) END
      WHEN 'errors' THEN 60 + mod(r3, 340)
      WHEN 'empty' THEN 0.2 + mod(r3, 10) / 10.0
      WHEN 'failed' THEN 600 + mod(r3, 50) / 10.0
    END::float8 AS dur
  FROM classified
), final AS (
  SELECT *,
    CASE cls WHEN 'success' THEN planned
      WHEN 'errors' THEN greatest(0, planned - bad_pages * 100)
      WHEN 'failed' THEN least(planned, 100 * (1 + mod(r3, 4)))
      ELSE 0 END AS processed,
    least(dur, greatest(0.1, extract(epoch FROM (%(now)s::timestamp - started_at))::float8))
      AS dur_capped
  FROM sized
)
INSERT INTO app.emag_sync_logs (
  id, sync_type, account_type, operation, sync_params, status, total_items, processed_items,
  created_items, updated_items, failed_items, errors, warnings, duration_seconds,
  pages_processed, api_requests_made, rate_limit_hits, started_at, completed_at, triggered_by,
  sync_version, created_at, updated_at)
SELECT {g.uuid("l", "acct", "i")}, 'products', acct,
  CASE WHEN full_run THEN 'full_sync' ELSE 'incremental_sync' END, NULL,
  CASE cls WHEN 'running' THEN 'running' WHEN 'failed' THEN 'failed' ELSE 'completed' END,
  CASE cls WHEN 'running' THEN 0 ELSE processed END,
  CASE cls WHEN 'running' THEN 0 ELSE processed END,
  CASE WHEN cls IN ('success', 'errors') AND mod(r2, 10) < 2 THEN least(processed, mod(r3, 20))
    ELSE 0 END,
  CASE WHEN cls IN ('success', 'errors')
    THEN processed - CASE WHEN mod(r2, 10) < 2 THEN least(processed, mod(r3, 20)) ELSE 0 END
    ELSE 0 END,
  0,
  CASE cls
    WHEN 'running' THEN NULL
    WHEN 'failed' THEN jsonb_build_array(jsonb_build_object(
      'error', 'Sync timeout after 600 seconds',
      'timestamp', to_char(started_at + make_interval(secs => dur_capped), {iso})))
    WHEN 'errors' THEN (
      SELECT jsonb_agg(jsonb_build_object(
        'error', 'Failed to fetch page ' || (1 + mod(r2 + e.n, 5)) || ' for ' || acct
          || ' account after 5 attempts: ' || {pick_err},
        'timestamp', to_char(started_at + make_interval(secs => 30 * e.n), {iso}))
        ORDER BY e.n)
      FROM generate_series(1, bad_pages) AS e(n))
    ELSE '[]'::jsonb
  END,
  NULL,
  CASE cls WHEN 'running' THEN NULL ELSE round(dur_capped::numeric, 3)::float8 END,
  0, 0, 0, started_at,
  CASE cls WHEN 'running' THEN NULL ELSE started_at + make_interval(secs => dur_capped) END,
  NULL, NULL, started_at,
  CASE cls WHEN 'running' THEN started_at ELSE started_at + make_interval(secs => dur_capped) END
FROM final
"""


def sync_log_params(k: int, step: float) -> dict[str, Any]:
    """Slot indexes for the fixed events (clamped into the history)."""

    def slot(hours: float) -> int:
        return max(0, min(k - 2, k - round(hours * 3600 / step)))

    return {
        "k": k,
        "step": step,
        "running_i": slot(min(STALE_RUNNING_HOURS, k * step / 3600 * 0.6)),
        "fbe_failed_i": slot(20.0),
        "main_failed_i": [slot(h) for h in MAIN_FAILED_HOURS],
        "fbe_dark": FBE_DARK_HOURS,
        "main_gap_lo": MAIN_GAP_HOURS[0],
        "main_gap_hi": MAIN_GAP_HOURS[1],
        "fbe_gap_lo": FBE_GAP_HOURS[0],
        "fbe_gap_hi": FBE_GAP_HOURS[1],
        "main_empty_lo": MAIN_EMPTY_HOURS[0],
        "main_empty_hi": MAIN_EMPTY_HOURS[1],
    }
