"""Start-up of every role on a store holding 1,000,000 events: a year of a big hall (25 businesses, 50 windows, about
490 tickets a day) and a busy today (20,000 waiting, every window calling).

The store is built in seconds through the store's own schema (Store() runs the migrations; rows go in with
executemany, payloads as the hall writes them, ids time-ordered as the store makes them).  Each role then starts in
a fresh process with the store's file evicted from the page cache (posix_fadvise DONTNEED: a cold start, as after
a reboot): server — Store and Hall open, the first tick, the outbox's position and first batch, the LAN hello's last
seq and the 办件 pass; kiosk, caller, board, dashboard, evaluator — the Qt screen built offscreen on an in-process
HallClient, which makes the queries that screen makes at start-up.  Figure: opening the store plus that load, the
median of RUNS; baseline: the same role on an empty store in the same run; target: 1 s.  Imports and the config
load do not depend on the store and are printed apart.  Asserts nothing."""
from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec  # noqa: E402
from bench_core import N_WINDOWS, config_text  # noqa: E402

from kiosk.core.config import loads  # noqa: E402
from kiosk.core.hall import Hall  # noqa: E402
from kiosk.store import Store  # noqa: E402

EVENTS = 1_000_000
DAYS = 365
WAITING_TODAY = 20_000
CALLED_TODAY = N_WINDOWS
RUNS = 3
TARGET_S = 1.0
ROLES = ("server", "kiosk", "caller", "board", "dashboard", "evaluator")
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14:00 in the hall
TZ_OFFSET = timedelta(hours=8)
CLERKS = ["王晓明", "李娜", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏", "周杰", "吴霞"]
LEVELS = ["very_satisfied"] * 55 + ["satisfied"] * 30 + ["basic"] * 9 + ["dissatisfied"] * 4 + \
    ["very_dissatisfied"] * 2
LABELS = {"very_satisfied": "非常满意", "satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意",
          "very_dissatisfied": "非常不满意"}
_V7_CLEAR = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1
_V7_SET = 0x7 << 76 | 0x2 << 62

ROLE_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
role, db, cfg_path, now_iso = sys.argv[1:5]
from datetime import datetime
from kiosk.schema import load
from kiosk.store import Store
from kiosk.core.hall import Hall
if role == "server":
    from kiosk.core.cases import Cases
    from sync.outbox import ACKED_KEY
else:
    from PySide6.QtWidgets import QApplication
    from kiosk.ui.compat import guard_singleton_refcounts
    guard_singleton_refcounts()
    app = QApplication(sys.argv[:1])
    from kiosk.ui.app import build_role
    from kiosk.ui.client import HallClient
now = datetime.fromisoformat(now_iso)
config = load(cfg_path)
t1 = time.perf_counter()
store = Store(db)
hall = Hall(config, store, clock=lambda: now)
t2 = time.perf_counter()
if role == "server":
    hall.tick()
    acked = int(store.meta_get(ACKED_KEY, "0") or 0)
    batch = store.events_after(acked, 100)  # the outbox's first batch after a restart
    hello = store.last_seq()  # what the LAN server says in hello and heartbeats
    Cases(hall).evaluate_cards()
    shown = len(batch)
else:
    client = HallClient(hall, heartbeat_s=0)
    screen = build_role(role, client, window=1)
    app.processEvents()
    shown = 1
t3 = time.perf_counter()
print(json.dumps({"setup": t1 - t0, "open": t2 - t1, "load": t3 - t2, "shown": shown}))
"""


def uuid7(ms: int, rnd: random.Random) -> str:
    return f"{((ms << 80) | rnd.getrandbits(80)) & _V7_CLEAR | _V7_SET:032x}"


class Builder:
    """Rows for a year of the hall, in time order, the way the hall would have written them."""

    def __init__(self, conn: Any, config: Any) -> None:
        self.conn = conn
        self.config = config
        self.rnd = random.Random(2026)
        self.enc = msgspec.json.Encoder()
        self.seq = 0
        self.events: list[tuple[Any, ...]] = []
        self.tickets: list[tuple[Any, ...]] = []
        self.ratings: list[tuple[Any, ...]] = []
        self.names = {b.code: b.name for b in config.businesses}
        self.serves: dict[str, list[int]] = {}
        for w in config.windows:
            for code in config.window_businesses(w.number):
                self.serves.setdefault(code, []).append(w.number)
        self.last_rating_seq = 0

    def event(self, kind: str, at: datetime, payload: dict[str, Any]) -> int:
        self.seq += 1
        local_date = (at + TZ_OFFSET).date().isoformat()
        ms = int(at.timestamp() * 1000)
        self.events.append((self.seq, uuid7(ms, self.rnd), kind, at.isoformat(), local_date,
                            self.enc.encode(payload).decode()))
        if len(self.events) >= 50_000:
            self.flush()
        return self.seq

    def flush(self) -> None:
        c = self.conn
        c.executemany("INSERT INTO events(seq, id, kind, at_utc, local_date, payload) VALUES (?, ?, ?, ?, ?, ?)",
                      self.events)
        c.executemany(
            "INSERT INTO tickets(id, number, business, prefix, seq, local_date, priority, rank, queue_pos, status, "
            "window, clerk_id, issued_at, called_at, first_called_at, started_at, finished_at, recalls, transfers, "
            "printed) VALUES (?, ?, ?, ?, ?, ?, 'normal', 3, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)", self.tickets)
        c.executemany(
            "INSERT INTO ratings(id, ticket_id, number, business, window, clerk_id, status, level, channel, "
            "reason_pending, rated_at, local_date) VALUES (?, ?, ?, ?, ?, ?, 'rated', ?, 'evaluator', 0, ?, ?)",
            self.ratings)
        self.events, self.tickets, self.ratings = [], [], []

    def ticket(self, day: date, code: str, seq: int, at: datetime, *, status: str, window: int | None) -> None:
        """One ticket's life and its events: issued, printed, called (sometimes recalled), then served or not."""
        b = self.config.business(code)
        tid = uuid7(int(at.timestamp() * 1000), self.rnd)
        number = f"{b.prefix}{seq:03d}"
        t = {"id": tid, "number": number, "business": code, "business_name": b.name, "prefix": b.prefix,
             "priority": "normal", "status": "waiting", "status_label": "等候中", "issued_at": at.isoformat(),
             "local_date": day.isoformat(), "id_masked": None, "appointment_code": None, "window": None,
             "target_window": None, "recalls": 0, "called_at": None, "started_at": None, "finished_at": None}
        qpos = self.event("ticket.issued", at, {"ticket": t, "ahead": self.rnd.randint(0, 40),
                                                "hall_name": self.config.name})
        self.event("print.done", at + timedelta(seconds=2), {"ticket": t, "device": "printer1", "reason": ""})
        called = started = finished = None
        recalls = 0
        clerk = CLERKS[(window or 0) % len(CLERKS)]
        wname = f"{window}号窗口"
        if status != "waiting":
            called = at + timedelta(seconds=self.rnd.randint(60, 2400))
            t = {**t, "status": "called", "status_label": "已叫号", "window": window, "called_at": called.isoformat()}
            self.event("ticket.called", called, {"window": window, "window_name": wname, "clerk": clerk, "ticket": t,
                                                 "recall": 0, "specific": False, "recalls_left": 5})
            if self.rnd.random() < 0.1:
                recalls = 1
                self.event("ticket.recalled", called + timedelta(seconds=40),
                           {"window": window, "window_name": wname, "clerk": clerk, "ticket": t, "recall": 1,
                            "recalls_left": 4})
        if status in ("done", "no_show"):
            end = called + timedelta(seconds=self.rnd.randint(120, 900))  # type: ignore[operator]
            if status == "no_show":
                finished = called + timedelta(seconds=90)  # type: ignore[operator]
                t = {**t, "status": "no_show", "status_label": "过号", "finished_at": finished.isoformat()}
                self.event("ticket.no_show", finished, {"window": window, "window_name": wname, "clerk": clerk,
                                                        "ticket": t})
            else:
                if self.rnd.random() < 0.8:
                    started = called + timedelta(seconds=60)  # type: ignore[operator]
                    t = {**t, "status": "serving", "status_label": "办理中", "started_at": started.isoformat()}
                    self.event("service.started", started, {"window": window, "window_name": wname,
                                                            "clerk": clerk, "ticket": t})
                finished = end
                t = {**t, "status": "done", "status_label": "已办结", "finished_at": finished.isoformat()}
                self.event("service.finished", finished, {
                    "window": window, "window_name": wname, "clerk": clerk, "ticket": t,
                    "wait_s": (called - at).total_seconds(),  # type: ignore[operator]
                    "service_s": (finished - (started or called)).total_seconds()})  # type: ignore[operator]
                if self.rnd.random() < 0.6:
                    level = self.rnd.choice(LEVELS)
                    rid = uuid7(int(finished.timestamp() * 1000), self.rnd)
                    rated = finished + timedelta(seconds=20)
                    r = {"id": rid, "ticket_id": tid, "number": number, "business": code, "window": window,
                         "clerk_id": f"S{window:03d}", "status": "rated", "level": level,
                         "level_label": LABELS[level], "channel": "evaluator", "reason": None, "text": None,
                         "reason_pending": False, "rated_at": rated.isoformat(), "local_date": day.isoformat(),
                         "case_no": None}
                    self.last_rating_seq = self.event("rating.recorded", rated, {"rating": r})
                    self.ratings.append((rid, tid, number, code, window, f"S{window:03d}", level, rated.isoformat(),
                                         day.isoformat()))
        self.tickets.append((tid, number, code, b.prefix, seq, day.isoformat(), qpos, status, window,
                             f"S{window:03d}" if window else None, at.isoformat(),
                             called.isoformat() if called else None, called.isoformat() if called else None,
                             started.isoformat() if started else None, finished.isoformat() if finished else None,
                             recalls))

    def day(self, day: date, n_tickets: int, *, waiting: int = 0, calling: int = 0) -> None:
        """A day: windows signed in, `n_tickets` served or missed, `calling` called and `waiting` still waiting
        (today), then — for a past day — the day closed at midnight."""
        opening = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=0, minutes=30)  # 08:30 local
        for w in self.config.windows:
            self.event("window.signed_in", opening, {"window": w.number, "window_name": f"{w.number}号窗口",
                                                     "clerk": None, "clerk_id": f"S{w.number:03d}",
                                                     "clerk_name": CLERKS[w.number % len(CLERKS)]})
        codes = [b.code for b in self.config.businesses]
        seqs = dict.fromkeys(codes, 0)
        total = n_tickets + calling + waiting
        span = (7 * 3600 if waiting else 8 * 3600) / max(1, total)
        for k in range(total):
            code = codes[k % len(codes)]
            seqs[code] += 1
            at = opening + timedelta(seconds=span * k + 30)
            if k < n_tickets:
                status = "no_show" if self.rnd.random() < 0.05 else "done"
            else:
                status = "called" if k < n_tickets + calling else "waiting"
            window = self.serves[code][k % len(self.serves[code])] if status != "waiting" else None
            if status == "called":
                window = 1 + (k - n_tickets) % N_WINDOWS
            self.ticket(day, code, seqs[code], at, status=status, window=window)
        if not waiting:
            close = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) - TZ_OFFSET
            self.event("day.closed", close, {"date": day.isoformat(), "new_date": (day + timedelta(days=1)).isoformat(),
                                             "expired": 0, "expired_numbers": {}})


def build(path: Path, config_path: Path, *, events: int) -> dict[str, Any]:
    """A store of `events` events: DAYS past days and today, through the store's own schema."""
    config = loads(config_path.read_text(encoding="utf-8"))
    store = Store(path, synchronous="OFF")
    Hall(config, store, clock=lambda: NOW)  # windows, business state, the ID-hash key: as a first start does
    conn = store.conn()
    today = (NOW + TZ_OFFSET).date()
    if events == 0:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('business_date', ?)", (today.isoformat(),))
        store.close()
        return {"events": 0, "tickets": 0}
    b = Builder(conn, config)
    conn.execute("BEGIN")
    # today's share first (to size the past days), then written in time order after them
    per_ticket = 5.35  # events per ticket over the mix below (issued, printed, called, recalled, served, rated)
    today_events = WAITING_TODAY * 2 + CALLED_TODAY * 3 + N_WINDOWS
    past_tickets = int((events - today_events - DAYS * (N_WINDOWS + 1)) / per_ticket)
    per_day = past_tickets // DAYS
    for i in range(DAYS, 0, -1):
        b.day(today - timedelta(days=i), per_day)
    b.day(today, 0, waiting=WAITING_TODAY, calling=CALLED_TODAY)
    b.flush()
    # daily numbers (and, by the triggers, today's waiting counts) as the issue command keeps them
    conn.execute("INSERT INTO counters(business, local_date, last_seq) SELECT business, local_date, MAX(seq) "
                 "FROM tickets WHERE true GROUP BY business, local_date "
                 "ON CONFLICT(business, local_date) DO UPDATE SET last_seq = excluded.last_seq")
    for w in range(1, N_WINDOWS + 1):  # every window calling its ticket
        row = conn.execute("SELECT id FROM tickets WHERE status = 'called' AND window = ? AND local_date = ?",
                           (w, today.isoformat())).fetchone()
        conn.execute("UPDATE windows SET current_ticket = ?, state = 'calling', clerk_id = ?, clerk_name = ? "
                     "WHERE number = ?", (row[0] if row else None, f"S{w:03d}", CLERKS[w % len(CLERKS)], w))
    # a running hall's progress markers: the day it is on, the outbox a little behind, the 办件 pass caught up
    for key, value in (("business_date", today.isoformat()), ("sync.acked_seq", str(b.seq - 50)),
                       ("cases_rating_cursor", str(b.last_rating_seq)),
                       ("cases_figures_day", (today - timedelta(days=1)).isoformat())):
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n_events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    n_tickets = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    store.close()
    return {"events": n_events, "tickets": n_tickets, "per_day": per_day}


def evict(path: Path) -> None:
    """Drop the store's files from the page cache: the next process reads them from the disk."""
    for p in (path, Path(f"{path}-wal")):
        if p.exists():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def start(role: str, db: Path, config_path: Path) -> dict[str, float]:
    evict(db)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", ROLE_SCRIPT, role, str(db), str(config_path), NOW.isoformat()],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        config_path = d / "hall.toml"
        config_path.write_text(config_text(), encoding="utf-8")
        t0 = time.perf_counter()
        info = build(d / "year.db", config_path, events=EVENTS)
        built = time.perf_counter() - t0
        build(d / "empty.db", config_path, events=0)
        size = (d / "year.db").stat().st_size / 1e6
        print(f"role start-up: {info['events']:,} events, {info['tickets']:,} tickets over {DAYS} days "
              f"(~{info['per_day']} a day) and today {WAITING_TODAY:,} waiting, {CALLED_TODAY} calling; "
              f"{size:.0f} MB, built in {built:.1f} s; cold page cache; median of {RUNS}")
        print(f"{'':22} {'figure':>8} {'baseline':>9} {'ratio':>6}  {'target':<9} unit")
        for role in ROLES:
            big = [start(role, d / "year.db", config_path) for _ in range(RUNS)]
            empty = [start(role, d / "empty.db", config_path) for _ in range(RUNS)]
            fig = statistics.median(r["open"] + r["load"] for r in big)
            base = statistics.median(r["open"] + r["load"] for r in empty)
            setup = statistics.median(r["setup"] for r in big)
            print(f"{role + ' start':22} {fig * 1000:>8.0f} {base * 1000:>9.0f} {base / fig:>6.2f}  "
                  f"{'<= ' + str(int(TARGET_S * 1000)):<9} ms: store open + the role's start-up queries and screen "
                  f"(baseline: an empty store; imports + config {setup * 1000:.0f} ms apart)")


if __name__ == "__main__":
    main()
