"""Durable issue and call-next against a raw SQLite insert+commit (WAL, synchronous=FULL), interleaved op by op in
the same run, with 2,000 and with 20,000 tickets waiting; and the day rollover closing 20,000 open tickets.

Each line prints the figure, the baseline measured in the same run, their ratio and the target.  The baseline is
plain SQLite appending one event: one INSERT of a row as big as a ticket.issued event into a table of the event
log's own shape (its CREATE TABLE, read from the hall's store: the seq primary key and the unique id with it), in its
own BEGIN IMMEDIATE … COMMIT, in its own database file in the same directory, holding as many rows as the hall's
log, under the pragmas the hall's connection runs with (read from it: WAL, synchronous=FULL, the same
wal_autocheckpoint).  Its values are made before the clock starts; the hall's command makes its own (ids, the
payload) and runs whole: the public method, its checks, the ticket and its event, the commit, the publication.

Every hall command is timed between two baseline transactions, so a load that comes and goes on the machine weighs
on both alike.  Two ratios: the rates' (total time of the baseline over the hall's), the target's figure, and the
median of the per-command ratios (each command against the mean of the two baseline transactions beside it), which
a few slow fsyncs do not move.  Asserts nothing (tests check correctness); the targets are the issue's.

Under each command a floor line: the same store, after the hall's rounds, changed by the hall's own write statements
bare (kiosk/core/command.py, kiosk/store.py INSERT_EVENT) with their values made before the clock starts, plus the one
read call-next cannot do without (the heads of its queues), each between two baseline transactions as the commands
are.  No checks, no payload built, no event published: what any code writing the rows this schema keeps for the
screens (the ticket and its indexes, the waiting counts, the window, the events and the board's call index) pays on
this machine.  The command's ratio cannot pass its floor's."""
from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.core import queue as Q
from kiosk.core.command import _CALL_TICKET, _CALL_WINDOW, _FINISH_TICKET, _INSERT_TICKET, _NEXT_NUMBER
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import INSERT_EVENT, WAL_AUTOCHECKPOINT, Store
from tests.conftest import FakeClock

N_BUSINESSES = 25  # 20,000 waiting needs 21 businesses at most 999 numbers a day each
N_WINDOWS = 50
SCALES = (2_000, 20_000)
OPS = 1500
WARMUP = 200
ROLLOVER_OPEN = 20_000
ROLLOVER_RUNS = 3
RATE_TARGET = 0.5  # of the raw transaction rate
ROLLOVER_TARGET_S = 0.5


def config_text() -> str:
    head = '[hall]\nid = "bench"\nname = "基准大厅"\nregion = "510104000"\n'
    biz = "".join(
        f'[[businesses]]\ncode = "b{i}"\nprefix = "{chr(65 + i)}"\nname = "业务{i}"\ndays = "all"\n'
        f'hours = ["00:00-24:00"]\ndaily_cap = 999\n' for i in range(N_BUSINESSES))
    win = "".join(f'[[windows]]\nnumber = {w}\nbusinesses = ["b{w % N_BUSINESSES}", '
                  f'"b{(w + 3) % N_BUSINESSES}"]\n' for w in range(1, N_WINDOWS + 1))
    return head + biz + win


# the connection's pragmas, read from the hall's (page size and journal_mode first: before anything is written)
PRAGMAS = ("page_size", "journal_mode", "synchronous", "wal_autocheckpoint", "cache_size", "foreign_keys",
           "busy_timeout")
RAW_INSERT = "INSERT INTO events(id, kind, at_utc, local_date, payload) VALUES (?, 'ticket.issued', ?, ?, ?)"


class Raw:
    """The baseline: one event-shaped row, one durable transaction, under the hall connection's pragmas."""

    def __init__(self, path: Path, hall: sqlite3.Connection, payload_size: int) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        pragmas = {p: hall.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
        self.conn.execute("PRAGMA synchronous=OFF")  # while it is filled
        self.conn.execute(f"PRAGMA page_size={pragmas['page_size']}")  # before anything is written
        self.conn.execute(f"PRAGMA journal_mode={pragmas['journal_mode']}")
        self.conn.execute(hall.execute("SELECT sql FROM sqlite_schema WHERE name = 'events'").fetchone()[0])
        rows = hall.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        payload = "x" * payload_size
        self.conn.executemany(RAW_INSERT, ((Store.new_id(), "2026-11-24T01:00:00+00:00", "2026-11-24", payload)
                                           for _ in range(rows)))
        for p, v in pragmas.items():
            if p not in ("synchronous", "page_size"):
                self.conn.execute(f"PRAGMA {p}={v}")
        self.payload = payload
        while not wal_settled(self.conn, path):  # as the hall's: a log that is reused, no longer grown
            self.op()
        self.conn.execute(f"PRAGMA synchronous={pragmas['synchronous']}")
        got = {p: self.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
        assert got == pragmas, (got, pragmas)

    def op(self) -> float:
        row = (Store.new_id(), "2026-11-24T01:00:00+00:00", "2026-11-24", self.payload)
        s = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(RAW_INSERT, row)
        self.conn.execute("COMMIT")
        return time.perf_counter() - s

    def close(self) -> None:
        self.conn.close()


class Floor:
    """The floor under issue and call-next (see the module's doc): their rows changed by the hall's own statements,
    bare.  Runs on the hall's store after the hall's rounds; the windows it calls at were left by the hall with a
    ticket each, started (untimed) before each call as in the hall's rounds."""

    def __init__(self, hall: Hall, conn: sqlite3.Connection) -> None:
        self.conn, self.hall = conn, hall
        self.at = hall.clock().isoformat()
        self.today = hall.today()
        size = {k: len(p.encode()) for k, p in conn.execute(
            "SELECT kind, payload FROM events WHERE seq > (SELECT MAX(seq) - 500 FROM events) "
            "AND kind IN ('ticket.issued', 'ticket.called', 'service.finished')")}
        # payloads as big as the hall's own of each kind (what is written, not what it says, is the floor's cost)
        self.payload = {k: '{"pad":"' + "x" * max(0, n - 10) + '"}' for k, n in size.items()}
        self.windows = {r["number"]: (r["clerk_id"], r["current_ticket"])
                        for r in conn.execute("SELECT number, clerk_id, current_ticket FROM windows")}

    def issue(self, business: str) -> float:
        b = self.hall._businesses[business]
        tid, eid, payload = Store.new_id(), Store.new_id(), self.payload["ticket.issued"]
        c = self.conn
        s = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        seq = c.execute(_NEXT_NUMBER, (b.code, self.today)).fetchone()[0]
        c.execute(_INSERT_TICKET, (tid, f"{b.prefix}{seq:03d}", b.code, b.prefix, seq, self.today, "normal", 3,
                                   None, None, None, self.at, None)).fetchone()
        c.execute(INSERT_EVENT, (eid, "ticket.issued", self.at, self.today, payload, "citizen", "kiosk"))
        c.execute("COMMIT")
        return time.perf_counter() - s

    def call(self, window: int) -> float:
        clerk, cur = self.windows[window]
        codes = self.hall._serves[window]
        e1, e2 = Store.new_id(), Store.new_id()
        finished, called = self.payload["service.finished"], self.payload["ticket.called"]
        c, at, today = self.conn, self.at, self.today
        s = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        t = min(Q.heads(c, today, window, codes), key=lambda r: (r["rank"], r["queue_pos"]))
        if cur:
            c.execute(_FINISH_TICKET, (at, cur))
            c.execute(INSERT_EVENT, (e1, "service.finished", at, today, finished, f"staff:{clerk}", "caller"))
        c.execute(_CALL_TICKET, (window, clerk, at, at, t["id"]))
        c.execute(_CALL_WINDOW, (t["id"], cur, at, window))
        c.execute(INSERT_EVENT, (e2, "ticket.called", at, today, called, f"staff:{clerk}", "caller"))
        c.execute("COMMIT")
        elapsed = time.perf_counter() - s
        self.windows[window] = (clerk, t["id"])
        return elapsed


def fill(d: Path, waiting: int) -> tuple[Path, int]:
    """A store with `waiting` tickets waiting today, written fast (synchronous=OFF) through the hall itself.
    Returns its path and the size of a ticket.issued payload (the baseline row's size)."""
    path = d / f"hall-{waiting}.db"
    store = Store(path, synchronous="OFF")
    hall = Hall(loads(config_text()), store, clock=FakeClock())
    size = 0
    for i in range(waiting):
        r = hall.issue_ticket(f"b{i % N_BUSINESSES}")
        size = size or len(store.conn().execute("SELECT payload FROM events WHERE seq = ?",
                                                (r.events[0].seq,)).fetchone()[0].encode())
    store.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path, size


def wal_settled(conn: sqlite3.Connection, path: Path | str) -> bool:
    """Whether the write-ahead log has grown to the size its checkpoints keep it at: from then on a commit writes
    over an old frame, where before it made the file longer (and its fsync wrote the file's new size too).  Both
    sides are measured so, the baseline included."""
    frames = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    wal = Path(f"{path}-wal")
    return wal.exists() and wal.stat().st_size >= 32 + frames * (page + 24)


def staffed(hall: Hall) -> Hall:
    """A clerk signed in at every window: window commands need one."""
    for w in range(1, N_WINDOWS + 1):
        hall.sign_in(w, f"S{w:03d}", f"工作人员{w}")
    return hall


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def commands(d: Path, waiting: int) -> dict[str, list[float]]:
    path, size = fill(d, waiting)
    store = Store(path)  # synchronous=FULL, as the hall runs
    hall = staffed(Hall(loads(config_text()), store, clock=FakeClock()))
    raw = Raw(d / f"raw-{waiting}.db", store.conn(), size)
    t: dict[str, list[float]] = {"raw": [], "issue": [], "call": [], "issue_pair": [], "call_pair": []}
    r1 = raw.op()
    warm = 0  # rounds of warm-up: at least WARMUP, and until the hall's log is reused as the baseline's is
    i = 0
    while len(t["issue"]) < OPS:
        # raw, issue, raw, call-next, raw …: each hall command between two baseline transactions, its pair; the
        # queue stays at `waiting`
        window = 1 + i % N_WINDOWS
        s = time.perf_counter()
        hall.issue_ticket(f"b{i % N_BUSINESSES}")
        issue = time.perf_counter() - s
        r2 = raw.op()
        if i >= N_WINDOWS:  # the citizen called last round came: 开始办理 (a call closes the current one as served)
            hall.start_service(window)
        s = time.perf_counter()
        hall.call_next(window)
        call = time.perf_counter() - s
        r3 = raw.op()
        if not warm and i >= WARMUP and wal_settled(store.conn(), path):
            warm = i
        if warm:
            t["raw"] += [r1, r2]
            t["issue"].append(issue)
            t["call"].append(call)
            t["issue_pair"].append((r1 + r2) / 2 / issue)
            t["call_pair"].append((r2 + r3) / 2 / call)
        r1 = r3
        i += 1
    left = sum(c["waiting"] for c in hall.waiting_counts())
    assert left == waiting, left  # the bench measured the scale it says
    # the floor, on the same store and against the same baseline, as many rounds, the same way
    floor = Floor(hall, store.conn())
    t |= {"raw_floor": [], "floor_issue": [], "floor_call": []}
    r1 = raw.op()
    for i in range(OPS):
        window = 1 + i % N_WINDOWS
        t["floor_issue"].append(floor.issue(f"b{i % N_BUSINESSES}"))
        r2 = raw.op()
        hall.start_service(window)  # untimed, as in the hall's rounds: the call closes a service given
        t["floor_call"].append(floor.call(window))
        r3 = raw.op()
        t["raw_floor"] += [r1, r2]
        r1 = r3
    left = sum(c["waiting"] for c in hall.waiting_counts())
    assert left == waiting, left
    raw.close()
    store.close()
    t["warm"] = [warm]
    return t


def rollover(d: Path) -> tuple[list[float], list[float], int]:
    """The first command of a new day closing ROLLOVER_OPEN open tickets; baseline: a raw UPDATE of as many rows
    of a plain table (same shape of row: id, status, finished_at) in one durable transaction."""
    src, _ = fill(d, ROLLOVER_OPEN - 2 * N_WINDOWS)
    store = Store(src, synchronous="OFF")
    hall = staffed(Hall(loads(config_text()), store, clock=FakeClock()))
    for w in range(1, N_WINDOWS + 1):  # every window busy: some called, some serving, some held
        hall.call_next(w)
        hall.hold(w)
        hall.call_next(w)
        if w % 2:
            hall.start_service(w)
        hall.issue_ticket(f"b{w % N_BUSINESSES}")
        hall.issue_ticket(f"b{(w + 1) % N_BUSINESSES}")
    n_open = store.conn().execute(
        "SELECT COUNT(*) FROM tickets WHERE status IN ('waiting', 'called', 'serving', 'held')").fetchone()[0]
    store.conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    hall_s: list[float] = []
    raw_s: list[float] = []
    for run in range(ROLLOVER_RUNS):
        copy = d / f"rollover-{run}.db"
        shutil.copy(src, copy)
        clock = FakeClock()
        store = Store(copy)
        hall = Hall(loads(config_text()), store, clock=clock)
        clock.advance(days=1)
        s = time.perf_counter()
        events = hall.tick()
        hall_s.append(time.perf_counter() - s)
        assert events[0].payload["expired"] == n_open
        store.close()
        conn = sqlite3.connect(d / f"raw-rollover-{run}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, status TEXT NOT NULL, finished_at TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, 'waiting', NULL)", ((f"{i:032x}",) for i in range(n_open)))
        s = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE t SET status = 'expired', finished_at = '2026-11-25T00:00:00+00:00'")
        conn.execute("COMMIT")
        raw_s.append(time.perf_counter() - s)
        conn.close()
    return hall_s, raw_s, n_open


def line(label: str, figure: float, baseline: float, ratio: float, target: str, unit: str) -> None:
    print(f"{label:34} {figure:>12.1f} {baseline:>12.1f} {ratio:>7.2f}  {target:<14} {unit}")


def main() -> None:
    print(f"hall core: {N_WINDOWS} windows, {N_BUSINESSES} businesses, WAL + synchronous=FULL, the store's "
          f"wal_autocheckpoint ({WAL_AUTOCHECKPOINT:,} pages) on both sides; {OPS} of each command after at least "
          f"{WARMUP} rounds of warm-up and until both logs are reused, each between two raw transactions")
    print(f"{'':34} {'figure':>12} {'baseline':>12} {'ratio':>7}  {'target':<14} unit")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for waiting in SCALES:
            t = commands(d, waiting)
            raw_rate = len(t["raw"]) / sum(t["raw"])
            floor_raw = len(t["raw_floor"]) / sum(t["raw_floor"])
            for key, name in (("issue", "issue"), ("call", "call-next")):
                rate = len(t[key]) / sum(t[key])
                line(f"{name}, {waiting:,} waiting", rate, raw_rate, rate / raw_rate,
                     f">= {RATE_TARGET:.2f}", "durable commands/s (baseline: raw transactions/s)")
                rate = len(t[f"floor_{key}"]) / sum(t[f"floor_{key}"])
                line("  floor: its statements bare", rate, floor_raw, rate / floor_raw, "(no target)",
                     "the rows it changes, by the hall's statements, no hall code (baseline: raw, same rounds)")
            print(f"{'':34} p50/p99 ms: raw {pct(t['raw'], .5):.2f}/{pct(t['raw'], .99):.2f}, "
                  f"issue {pct(t['issue'], .5):.2f}/{pct(t['issue'], .99):.2f}, "
                  f"call-next {pct(t['call'], .5):.2f}/{pct(t['call'], .99):.2f}; median of per-command ratios: "
                  f"issue {statistics.median(t['issue_pair']):.2f}, call-next {statistics.median(t['call_pair']):.2f} "
                  f"(after {int(t['warm'][0])} rounds of warm-up)")
        hall_s, raw_s, n_open = rollover(d)
        h, r = statistics.median(hall_s), statistics.median(raw_s)
        line(f"day rollover, {n_open:,} open", h * 1000, r * 1000, r / h, f"<= {ROLLOVER_TARGET_S * 1000:.0f} ms",
             f"ms, median of {ROLLOVER_RUNS} (baseline: raw UPDATE of as many rows, one transaction)")


if __name__ == "__main__":
    main()
