"""Benchmark: electronic-supervision card evaluation over 100,000 open cases (target ≤ 1 s per full pass)."""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.core.cases import CASE_CARD_CHANGED, Cases, card_for, next_change
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store

CONFIG = """
[hall]
id = "bench"
name = "基准测试政务服务中心"
region = "510104000"
[[businesses]]
code = "social"
prefix = "A"
name = "社保"
[[windows]]
number = 1
businesses = ["social"]
"""


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def seed(cases: Cases, n: int, now: datetime, rng: random.Random) -> None:
    """Insert n accepted, running cases spread over the last 20 working days (deadline maths as in production)."""
    cal, tz = cases.cal, cases.tz
    rows = []
    now_ts = now.timestamp()
    for i in range(n):
        accepted = now - timedelta(days=rng.uniform(0, 28))
        row = {"case_no": f"B{i:07d}", "case_type": 2, "promise_days": rng.randint(1, 20), "stopped_days": 0.0,
               "accepted_at": accepted.isoformat(), "promised_given": None, "status": "in_progress"}
        due_pos, due_at, due_ts, yellow_ts = cases._deadline(row)
        card = card_for(now_ts, yellow_ts, due_ts)
        rows.append((row["case_no"], 2, row["promise_days"], "in_progress", accepted.isoformat(),
                     accepted.isoformat(), cal.moment_at(due_pos or 0, tz).isoformat(), due_pos, due_at, due_ts,
                     yellow_ts, next_change(card, yellow_ts, due_ts), card, f"部门{i % 12}", 1 + i % 40,
                     f"clerk{i % 150}", accepted.isoformat()))
    with cases.hall.store.write() as c:
        c.executemany(
            "INSERT INTO cases(case_no, case_type, promise_days, status, received_at, accepted_at, promised_at, "
            "due_pos, due_at, due_ts, yellow_ts, next_ts, card, department, window, clerk, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def full_scan(cases: Cases) -> list[str]:
    """What a pass without the next_ts index would do: read every open case and judge its card.  Also an audit:
    any disagreement with the incremental pass would be a missed card change."""
    now_ts = cases.hall.clock().timestamp()
    wrong = 0
    rows = cases.hall.store.conn().execute(
        "SELECT card, yellow_ts, due_ts FROM cases WHERE status IN ('accepted', 'in_progress')").fetchall()
    for card, yellow_ts, due_ts in rows:
        wrong += card_for(now_ts, yellow_ts, due_ts) != card
    print(f"  {'full scan of every open case (no index), audit':<58}", end="")
    return [f"{len(rows):,} judged, {wrong} disagree with the incremental pass"]


def timed(label: str, fn) -> float:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    if out and isinstance(out[0], str):
        print(f" {dt * 1000:9.1f} ms   {out[0]}")
        return dt
    changes = sum(1 for e in out if getattr(e, "kind", "") == CASE_CARD_CHANGED)
    print(f"  {label:<58} {dt * 1000:9.1f} ms   card events: {changes}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--synchronous", default="FULL")
    args = ap.parse_args()
    rng = random.Random(39046)
    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "bench.db", synchronous=args.synchronous)
        clock = Clock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
        hall = Hall(loads(CONFIG, "bench.toml"), store, clock=clock)
        cases = Cases(hall)
        t0 = time.perf_counter()
        seed(cases, args.cases, clock.t, rng)
        print(f"cases bench: {args.cases:,} open cases seeded in {time.perf_counter() - t0:.2f} s "
              f"(synchronous={args.synchronous})")
        timed("first pass (calendar fingerprint → full recompute)", cases.evaluate_cards)
        timed("quiet pass (nothing due)", cases.evaluate_cards)
        clock.t += timedelta(minutes=1)
        timed("pass after 1 minute", cases.evaluate_cards)
        clock.t += timedelta(hours=1)
        timed("pass after 1 hour", cases.evaluate_cards)
        clock.t += timedelta(days=1)
        timed("pass after 1 day (the midnight when ~10% change card)", cases.evaluate_cards)
        timed("", lambda: full_scan(cases))
        timed("full recompute of every open case (calendar changed)", lambda: cases.recompute_deadlines().events)
        clock.t += timedelta(days=60)
        timed("worst case: every open case changes card at once", cases.evaluate_cards)
        timed("quiet pass afterwards", cases.evaluate_cards)
        timed("", lambda: full_scan(cases))
        t = time.perf_counter()
        cards = cases.cards()
        print(f"  {'cards() query (all yellow/red, for the dashboard)':<58} {(time.perf_counter() - t) * 1000:9.1f} ms"
              f"   rows: {len(cards)}")
        for label, kw in (("cards(window=7)", {"window": 7}), ("cards(limit=50) (a dashboard page)", {"limit": 50})):
            t = time.perf_counter()
            cases.cards(**kw)
            print(f"  {label:<58} {(time.perf_counter() - t) * 1000:9.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
