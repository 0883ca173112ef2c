"""The orders part of the seeder (one set-based INSERT into ``app.emag_orders``).

Shaped for the order health of sheet §11.4 (the order sync every 300 s, the auto-acknowledge
every 600 s, which moves new orders, status 1, to in-progress, status 2), per account:
- a few *fresh* new orders (status 1, placed 1-9 minutes ago, not acknowledged yet);
- *stale* new orders (status 1, placed 25 minutes to 3 hours ago, never acknowledged;
  about half of them carry the acknowledge error in ``sync_error``): on ``fbe``, whose
  auto-acknowledge has been failing for more than 3 hours (main's works; a big seed has
  a few stale ones on main too, 1 in 1,000 orders);
- the history: canceled, in-progress, prepared, finalized and returned orders spread evenly
  over ``order_window`` seconds, acknowledged within one auto-ack interval of being first
  synced (canceled ones only half of the time), a few of them with a sync error.

Every new order is re-read by the order sync, so its ``last_synced_at`` is within the last
5 minutes. ``created_at`` (when MagFlow first saw the order) trails ``order_date`` by up to
4 minutes. The per-kind counts scale with the number of orders (``order_params``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from magflow_console.reference.sql_gen import ACCOUNTS, Gen, naive_utc, sql_array, sql_pick
from magflow_console.reference.urls import to_libpq

STATUS_NAMES = ("canceled", "new", "in_progress", "prepared", "finalized", "returned")
ACK_ERROR = "Failed to acknowledge order: eMAG API error 503: Service Unavailable"
SYNC_ERROR = "eMAG API error 429: Too Many Requests"
CUSTOMERS = (
    "Ion Popescu", "Maria Ionescu", "Andrei Georgescu", "Elena Dumitru", "Mihai Stan",
    "Ana Constantin", "SC Tehnic Pro SRL",
)  # fmt: skip
#: where each account's history starts (seconds before ``now``): main's acknowledged orders
#: go on to within the last hours, fbe's stop more than 3 hours ago (its auto-acknowledge
#: is failing)
HISTORY_OFFSET = {"main": 900, "fbe": 4 * 3600}


def order_params(orders_per_account: int, order_window: int) -> dict[str, Any]:
    """Counts of each kind of order for ``orders_per_account`` rows per account.

    Rows are picked by their number ``n`` (1..N) with ``mod(n, step)``, so the new ones are
    spread through the table rather than packed at its start (a fresh one wins over a
    stale one with the same ``n``). 250 orders per account give main 3 fresh new, no stale
    one and 2 sync errors; fbe 2 fresh new, 4 stale new (about half of them with the
    acknowledge error) and 2 other sync errors. 500,000 give 250 fresh new per account,
    500 stale on main, 2,500 on fbe and 1,250 other sync errors per account.
    """
    n = max(1, int(orders_per_account))

    def step(k: int) -> int:
        return max(2, n // k) if k > 0 else 0  # 0: none of that kind

    return {
        "orders": n,
        "order_window": int(order_window),
        "order_slot": max(1, int(order_window) // n),
        "main_fresh_step": step(max(3, n // 2000)),
        "fbe_fresh_step": step(max(2, n // 2000)),
        "main_stale_step": step(n // 1000),
        "fbe_stale_step": step(max(4, n // 200)),
        "error_step": step(max(2, n // 400)),
        "main_offset": HISTORY_OFFSET["main"],
        "fbe_offset": HISTORY_OFFSET["fbe"],
    }


def orders_sql(g: Any) -> str:
    """``g`` is the seeder's ``_Gen``; parameters: ``now``, ``n``, ``skuw`` and
    ``order_params``."""
    r = g.r("ord", "a.acct", "s.n")
    hist = g.r("ordst", "a.acct", "s.n")
    return f"""
INSERT INTO app.emag_orders (
  id, emag_order_id, account_type, status, status_name, type, is_complete, is_storno,
  customer_id, customer_name, customer_email, customer_phone, total_amount, currency,
  payment_method, payment_mode_id, payment_status, delivery_mode, shipping_tax,
  shipping_address, products, acknowledged_at, finalized_at, sync_status, last_synced_at,
  sync_error, sync_attempts, created_at, updated_at, order_date, emag_created_at,
  emag_modified_at)
SELECT id, emag_order_id, acct, st, ({sql_array(STATUS_NAMES)})[st + 1],
  CASE acct WHEN 'fbe' THEN 2 ELSE 3 END, st = 4, st = 5, cust, cname,
  'client' || cust || '@example.ro', '07' || lpad(mod(rr, 100000000)::text, 8, '0'),
  total, 'RON', CASE WHEN mod(rr, 3) = 0 THEN 'COD' ELSE 'online_card' END,
  CASE WHEN mod(rr, 3) = 0 THEN 1 ELSE 3 END, CASE WHEN st IN (0, 1) THEN 0 ELSE 1 END,
  CASE WHEN mod(rr, 4) = 0 THEN 'pickup' ELSE 'courier' END, 19.99,
  jsonb_build_object('city', 'Bucuresti', 'country', 'RO'),
  jsonb_build_array(jsonb_build_object('part_number', 'EMG' || lpad((1 + mod(rr, %(n)s))::text,
    %(skuw)s, '0'), 'quantity', 1 + mod(rr, 3), 'sale_price', total)),
  acked, CASE WHEN st = 4 THEN odate + make_interval(secs => 86400 + mod(rr, 86400)) END,
  CASE WHEN err IS NULL THEN 'synced' ELSE 'failed' END, synced, err,
  CASE WHEN err IS NULL THEN 1 ELSE 3 END, created, greatest(synced, acked), odate, odate,
  greatest(odate, acked)
FROM (
  SELECT *,
    CASE WHEN st IN (2, 3, 4, 5) OR (st = 0 AND mod(rr, 2) = 0)
      THEN created + make_interval(secs => 5 + mod(rr, 600)) END AS acked,
    CASE kind WHEN 'old' THEN least(%(now)s::timestamp, created + interval '5 minutes')
      ELSE greatest(created, %(now)s::timestamp - make_interval(secs => mod(rr, 300))) END
      AS synced,
    CASE WHEN kind = 'stale' AND mod(rr, 2) = 0 THEN '{ACK_ERROR}'
      WHEN kind = 'old' AND mod(n, %(error_step)s) = 2 THEN '{SYNC_ERROR}' END AS err
  FROM (
    SELECT *, least(%(now)s::timestamp, odate + make_interval(secs => mod(rr, 240))) AS created,
      CASE WHEN kind <> 'old' THEN 1
        WHEN hs < 8 THEN 0 WHEN hs < 14 THEN 2 WHEN hs < 19 THEN 3
        WHEN odate > %(now)s::timestamp - interval '2 days' THEN 3
        WHEN hs < 96 THEN 4 ELSE 5 END AS st
    FROM (
      SELECT *, %(now)s::timestamp - CASE kind
          WHEN 'fresh' THEN make_interval(secs => 60 + mod(rr, 480))
          WHEN 'stale' THEN make_interval(secs => 1500 + mod(rr, 9300))
          ELSE make_interval(secs => off + (n - 1)::float8 * %(order_window)s / %(orders)s
                                     + mod(rr, %(order_slot)s)) END AS odate
      FROM (
        SELECT a.acct, s.n, a.off, {r} AS rr, mod({hist}, 100) AS hs,
          {g.uuid("ord", "a.acct", "s.n")} AS id,
          (2200000000 + s.n * 2 + a.k)::bigint AS emag_order_id,
          CASE WHEN mod(s.n, a.fresh) = 0 THEN 'fresh'
            WHEN mod(s.n, nullif(a.stale, 0)) = 1 THEN 'stale' ELSE 'old' END AS kind,
          (3000000000 + mod({r}, 900000))::bigint AS cust, {sql_pick(CUSTOMERS, r)} AS cname,
          round((15 + mod({r}, 150000) / 100.0)::numeric, 2)::float8 AS total
        FROM generate_series(1, %(orders)s) AS s(n)
        CROSS JOIN (VALUES
          ('main', 0, %(main_fresh_step)s, %(main_stale_step)s, %(main_offset)s),
          ('fbe', 1, %(fbe_fresh_step)s, %(fbe_stale_step)s, %(fbe_offset)s)
        ) AS a(acct, k, fresh, stale, off)
      ) AS x
    ) AS y
  ) AS z
) AS w
"""


def seed_orders(
    url: str,
    *,
    orders_per_account: int,
    sync_days: int = 28,
    rng_seed: int = 42,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Insert ``orders_per_account`` orders per account into an ``app.emag_orders`` that has
    none yet (the unique key would clash), then ANALYZE it. Returns the count per account.

    For benchmarks on a database seeded earlier; ``seed`` does the same as part of a full
    seed. Product SKUs in the order lines assume ``seed``'s default catalogue size.
    """
    ref = naive_utc(now)
    params = {
        "now": ref,
        "n": 2500,
        "skuw": 6,
        **order_params(orders_per_account, sync_days * 86400),
    }
    with psycopg.connect(to_libpq(url)) as conn:
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(orders_sql(Gen(rng_seed)), params)
    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        conn.execute("ANALYZE app.emag_orders")
        counts = {a: 0 for a in ACCOUNTS}
        for acct, count in conn.execute(
            "SELECT account_type, count(*) FROM app.emag_orders GROUP BY account_type"
        ):
            counts[str(acct)] = int(count)
    return counts
