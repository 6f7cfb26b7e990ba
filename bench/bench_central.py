"""The province's collector on PostgreSQL: 1,000,000 events from 1,000 simulated halls (county halls, street centres
and village rooms across 2 provinces) stored through CentralStore.store_batch — the contract, the dedup, the
figures and records kept at intake — then the roll-up report timed at every level.

Each line prints the figure, the baseline measured in the same run, their ratio and the target.  Ingest: events/s
through store_batch against a plain INSERT of the same rows (the envelope's columns, batches of 500, one transaction
each) into a bare table on the same server.  Report: seconds for `sync.rollup.report` over the whole range and over
one week, against a plain GROUP BY of the raw event log by the same key (what a report without the intake's
figures would read).  A throwaway PostgreSQL is started from /usr/lib/postgresql/*/bin (or `--db URL`).  Asserts
nothing (tests check correctness); the 2 s target is the issue's."""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.core.events import Event
from sync import contract, rollup
from sync.central import CentralDB, CentralStore
from tests import pg

TZ = ZoneInfo("Asia/Shanghai")
REPORT_TARGET_S = 2.0
BATCH = 500  # the collector's batch
DAYS = 30
START = date(2026, 11, 1)
LEVELS = ["very_satisfied", "satisfied", "satisfied", "basic", "very_satisfied", "dissatisfied", "satisfied"]


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway server with room for the million events (fsync on: the ingest figure is durable)."""
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    try:
        with pg.server(base, options="-c shared_buffers=256MB") as url:
            yield url
    except pg.NoPostgres as exc:
        sys.exit(f"bench_central: {exc}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def halls(n: int) -> list[tuple[str, str]]:
    """n halls: per county one county hall (…000), street centres (…001…) and village rooms (12 digits)."""
    out: list[tuple[str, str]] = []
    i = 0
    while len(out) < n:
        province, city, county = ("51", "52")[i % 2], 1 + (i // 2) % 8, 1 + (i // 16) % 12
        code = f"{province}{city:02d}{county:02d}"
        kind = (i // 192) % 3
        region = (f"{code}000" if kind == 0 else f"{code}{1 + i % 7:03d}" if kind == 1
                  else f"{code}{1 + i % 7:03d}{1 + i % 19:03d}")
        out.append((f"h{i:04d}", region))
        i += 1
    return out


def events(hall_id: str, region: str, n: int, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """A hall's n events over DAYS days: tickets, finished services, ratings and their evaluation records, cases
    concluded and their cards, 整改 items — as the outbox publishes them."""
    seq = 0

    def msg(kind: str, day: date, payload: dict) -> tuple[str, bytes]:
        nonlocal seq
        seq += 1
        ev = Event(seq, uuid.uuid4().hex, kind, f"{day.isoformat()}T02:{seq % 60:02d}:00+00:00", day.isoformat(),
                   payload)
        return contract.event_topic(hall_id, kind), contract.encode(contract.event_message(ev, hall_id, region, TZ))

    k = 0
    while seq < n:
        day = START + timedelta(days=(seq * DAYS) // n)
        k += 1
        level = LEVELS[k % len(LEVELS)]
        batch = [("ticket.issued", {"ticket": {"number": f"A{k % 999:03d}"}}),
                 ("service.finished", {"wait_s": rng.expovariate(1 / 600)}),
                 ("rating.recorded", {"rating": {"id": f"r{k}", "level": level}})]
        if k % 4 == 0:
            batch.append(("evaluation.recorded", {"record": {
                "id": f"r{k}", "revision": 1, "project_no": f"T{k}", "project_kind": "ticket", "channel": 4,
                "evaluator": "匿名", "rated_at": day.strftime("%Y%m%dT100000"),
                "rated_at_utc": f"{day.isoformat()}T02:00:00+00:00", "count": 1, "satisfaction": 2,
                "level": level, "region": region}}))
        if k % 5 == 0:
            batch.append(("case.status_changed", {"to": "done", "case": {"on_time": k % 15 != 0}}))
        if k % 25 == 0:
            batch.append(("case.card_changed", {"to": "yellow" if k % 50 else "red"}))
        if level == "dissatisfied":
            item = {"id": f"i{k}", "stage": "verify", "status": "open", "card": "none", "level": level,
                    "opened_at": f"{day.isoformat()}T02:00:00+00:00", "opened_date": day.isoformat(),
                    "due_at": f"{(day + timedelta(days=7)).isoformat()}T00:00:00+08:00"}
            batch.append(("rectification.opened", {"item": item}))
        for kind, payload in batch:
            if seq >= n:
                return
            yield msg(kind, day, payload)


def ingest(store: CentralStore, n_halls: int, per_hall: int) -> tuple[float, int]:
    """Seconds spent in store_batch only (building the messages is not timed), and events stored."""
    rng = random.Random(7)
    spent, stored, pending = 0.0, 0, []
    for hall_id, region in halls(n_halls):
        pending.extend(events(hall_id, region, per_hall, rng))
        while len(pending) >= BATCH:
            chunk, pending = pending[:BATCH], pending[BATCH:]
            t = time.perf_counter()
            c = store.store_batch(chunk)
            spent += time.perf_counter() - t
            stored += c["new"]
    if pending:
        t = time.perf_counter()
        stored += store.store_batch(pending)["new"]
        spent += time.perf_counter() - t
    return spent, stored


def plain_insert(db: CentralDB, n: int) -> float:
    """Events/s of a plain INSERT of n envelopes' columns (no contract, no dedup, no figures), batches of BATCH."""
    with db.tx() as cur:
        cur.execute("CREATE TABLE plain_events (hall_id TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, "
                    "kind TEXT NOT NULL, region TEXT NOT NULL, at_utc TEXT NOT NULL, local_date TEXT NOT NULL, "
                    "payload TEXT NOT NULL)")
    rng = random.Random(8)
    rows = []
    for hall_id, region in halls(max(1, n // 1000)):
        for _topic, data in events(hall_id, region, 1000, rng):
            m = contract.decode_event(data)  # decoded before timing: the baseline stores rows, it reads nothing
            rows.append((m.hall_id, m.seq, m.id, m.kind, m.region, m.at_utc.isoformat(), m.local_date,
                         data.decode()))
    rows = rows[:n]
    t = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with db.tx() as cur:
            for r in rows[i:i + BATCH]:
                cur.execute("INSERT INTO plain_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", r)
    spent = time.perf_counter() - t
    return len(rows) / spent


def timed(fn: object, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def line(label: str, figure: float, baseline: float, ratio: float, target: str, unit: str) -> None:
    print(f"{label:34} {figure:>12.2f} {baseline:>12.2f} {ratio:>7.2f}  {target:<14} {unit}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--halls", type=int, default=1_000)
    ap.add_argument("--baseline-events", type=int, default=100_000, help="rows the plain insert baseline stores")
    ap.add_argument("--db", default="", help="an existing PostgreSQL URL (its central tables are dropped)")
    a, _ = ap.parse_known_args()
    per_hall = a.events // a.halls
    with (postgres() if not a.db else _given(a.db)) as url:
        db = CentralDB(url)
        with db.tx() as cur:
            for t in ("hall_events", "halls", "rejected", "plain_events", *rollup.TABLES):
                cur.execute(f"DROP TABLE IF EXISTS {t}")
        db.close()
        db = CentralDB(url)
        store = CentralStore(db)
        print(f"central on PostgreSQL: {a.halls:,} halls × {per_hall:,} events over {DAYS} days, batches of {BATCH}")
        print(f"{'':34} {'figure':>12} {'baseline':>12} {'ratio':>7}  {'target':<14} unit")
        plain = plain_insert(db, a.baseline_events)
        spent, stored = ingest(store, a.halls, per_hall)
        line("ingest (store_batch)", stored / spent, plain, stored / spent / plain, "—",
             f"events/s, {stored:,} stored in {spent:.0f} s (baseline: plain INSERT of {a.baseline_events:,})")
        with db.tx() as cur:
            cur.execute("ANALYZE")
        week = (START + timedelta(days=7)).isoformat(), (START + timedelta(days=13)).isoformat()
        for level, n in rollup.LEVELS.items():
            key = "hall_id" if n is None else f"SUBSTR(region, 1, {n})"
            base = timed(lambda key=key: db.query(  # type: ignore[misc]
                f"SELECT {key}, COUNT(*), AVG(wait_s) FROM hall_events GROUP BY {key}"))
            whole = timed(lambda level=level: rollup.report(db, level))  # type: ignore[misc]
            rows = len(rollup.report(db, level))
            line(f"report --level {level}", whole, base, base / whole, f"<= {REPORT_TARGET_S:.0f} s",
                 f"s, all {DAYS} days, {rows:,} rows (baseline: GROUP BY over the event log)")
            one = timed(lambda level=level: rollup.report(db, level, *week))  # type: ignore[misc]
            line(f"report --level {level}, a week", one, base, base / one, f"<= {REPORT_TARGET_S:.0f} s", "s")
        db.close()


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
