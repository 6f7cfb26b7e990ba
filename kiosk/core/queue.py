"""Queue reads that cost what they return: the SQL behind call-next's pick, "ahead", waiting counts, the board's
latest calls and the day rollover, each on an index that holds only the rows it reads (kiosk/store.py, 040).

A partial index is used only by a query that repeats its WHERE terms, so the terms below are spelled exactly as
the indexes declare them; tests/core/test_queries.py checks every plan."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

WAITING = "status = 'waiting'"  # tickets_waiting (and tickets_targeted with a target window)
HELD = "status = 'held'"  # tickets_held
CALLS = "kind IN ('ticket.called', 'ticket.recalled')"  # events_calls
# counters columns in rank order (kiosk.core.hall.RANK: transfer 0, green 1, appointment 2, normal 3), then the
# tickets sent to one window (kiosk/store.py WAITING_COLUMNS)
RANK_COLUMNS = ("waiting_transfer", "waiting_green", "waiting_appointment", "waiting_normal")
ALL_WAITING = " + ".join((*RANK_COLUMNS, "waiting_window"))
SEQ_MAX = 2**63 - 1


# --- call-next -------------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _heads_sql(n_codes: int) -> str:
    target = (f"SELECT * FROM (SELECT * FROM tickets WHERE {WAITING} AND target_window = ?1 AND local_date = ?2 "
              "ORDER BY rank, queue_pos LIMIT 1)")
    queues = [f"SELECT * FROM (SELECT * FROM tickets WHERE {WAITING} AND local_date = ?2 AND business = ?{i + 3} "
              "AND target_window IS NULL ORDER BY rank, queue_pos LIMIT 1)" for i in range(n_codes)]
    return " UNION ALL ".join([target, *queues])


def heads(conn: sqlite3.Connection, today: str, window: int, codes: Sequence[str]) -> list[sqlite3.Row]:
    """The head of the window's own queue (tickets transferred to it) and of each business queue it serves: one
    statement, one index step per queue, whatever the queues hold."""
    rows: list[sqlite3.Row] = conn.execute(_heads_sql(len(codes)), (window, today, *codes)).fetchall()
    return rows


# A queue position after every one given so far: the seq the command's next event will take.  Each position was
# given by a command that appended an event, so none is above the last seq; the rowid's last step costs nothing,
# where MAX(queue_pos) needs an index that every ticket writes.
NEXT_QUEUE_POS = "SELECT COALESCE(MAX(seq), 0) + 1 FROM events"


def next_queue_pos(conn: sqlite3.Connection) -> int:
    return int(conn.execute(NEXT_QUEUE_POS).fetchone()[0])


# --- how many are ahead --------------------------------------------------------------------------------------------
def ahead(conn: sqlite3.Connection, t: sqlite3.Row | dict[str, Any]) -> int:
    """Waiting tickets that call-next would take before `t` in its own queue: an index range over exactly them."""
    if t["target_window"]:
        sql = (f"SELECT COUNT(*) FROM tickets WHERE {WAITING} AND target_window = :key AND local_date = :day "
               "AND (rank, queue_pos) < (:rank, :pos)")
    else:
        sql = (f"SELECT COUNT(*) FROM tickets WHERE {WAITING} AND local_date = :day AND business = :key "
               "AND target_window IS NULL AND (rank, queue_pos) < (:rank, :pos)")
    args = {"key": t["target_window"] or t["business"], "day": t["local_date"], "rank": t["rank"],
            "pos": t["queue_pos"]}
    return int(conn.execute(sql, args).fetchone()[0])


def ahead_of_new(counts: sqlite3.Row | dict[str, Any], rank: int) -> int:
    """For a ticket about to join the end of its business queue: every waiting ticket of its rank or a better one
    is ahead of it (its queue position is the newest).  `counts`: the business's counters row before it joins."""
    return sum(int(counts[c]) for c in RANK_COLUMNS[: rank + 1])


# --- waiting counts --------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _oldest_sql(n_codes: int) -> str:
    """Per business, the earliest issued_at among its waiting tickets, by at most five index steps plus the few
    transferred ones: within an issued rank (green, appointment, normal) the queue position follows the issue, so
    the rank's head is its oldest (while the clock does not step back); transferred tickets (rank 0, or sent to a
    window) keep their first issue time and are read one by one, and so are appointments checked in early, whose
    queue position is the moment their slot came (kiosk/core/appointments.py): at most a slot's capacity each."""
    parts = []
    for i in range(n_codes):
        b = f"?{i + 2}"
        base = f"FROM tickets WHERE {WAITING} AND local_date = ?1 AND business = {b}"
        parts += [f"SELECT {b} AS k, issued_at FROM (SELECT issued_at {base} AND target_window IS NULL "
                  f"AND rank = {r} ORDER BY queue_pos LIMIT 1)" for r in (1, 2, 3)]
        parts.append(f"SELECT {b}, issued_at {base} AND target_window IS NULL AND rank = 0")
        parts.append(f"SELECT {b}, issued_at {base} AND target_window IS NULL AND rank = 2 AND due_at IS NOT NULL")
        parts.append(f"SELECT {b}, issued_at {base} AND target_window > 0")
    return f"SELECT k, MIN(issued_at) FROM ({' UNION ALL '.join(parts)}) GROUP BY k"


def waiting_summary(conn: sqlite3.Connection, today: str, codes: Sequence[str]) -> dict[str, tuple[int, str]]:
    """business → (waiting, earliest issued_at) for the businesses with someone waiting today."""
    if not codes:
        return {}
    marks = ",".join("?" * len(codes))
    counts = {r[0]: int(r[1]) for r in conn.execute(
        f"SELECT business, {ALL_WAITING} FROM counters WHERE business IN ({marks}) AND local_date = ?",
        (*codes, today)) if r[1]}
    if not counts:
        return {}
    busy = sorted(counts)
    oldest = dict(conn.execute(_oldest_sql(len(busy)), (today, *busy)).fetchall())
    return {code: (counts[code], oldest.get(code) or "") for code in busy}


# --- the hall board's latest calls -------------------------------------------------------------------------------
def latest_calls(conn: sqlite3.Connection, today: str, limit: int, before: int = SEQ_MAX) -> list[sqlite3.Row]:
    """The day's newest calls and recalls before seq `before` (seq, payload, at_utc), newest first: `limit` index
    entries and their rows, not the log."""
    rows: list[sqlite3.Row] = conn.execute(
        f"SELECT seq, payload, at_utc FROM events WHERE {CALLS} AND local_date = ? AND seq < ? "
        "ORDER BY seq DESC LIMIT ?", (today, before, limit)).fetchall()
    return rows


# --- the day rollover ------------------------------------------------------------------------------------------
# Open tickets of earlier days, each kind from where it is kept: waiting and held ones by their partial indexes;
# a called or serving ticket is its window's current ticket (every command keeps it so; tests/core/test_stateful.py
# checks it), and the previous business day's tickets are read once more as a safety net.  Nothing is written on
# a call for the rollover's sake.
_OPEN_BEFORE = (
    f"{WAITING} AND local_date < :today",
    "status = 'held' AND local_date < :today",
    "id IN (SELECT current_ticket FROM windows) AND status IN ('called', 'serving') AND local_date < :today",
    "local_date = :previous AND status IN ('called', 'serving')",
)


def open_before(conn: sqlite3.Connection, today: str, previous: str) -> list[sqlite3.Row]:
    """Open tickets of days before `today` (prefix, seq, status, local_date); `previous`: the business date the
    store was on."""
    # the first two kinds cannot overlap anything; only the last two can name one ticket twice, so only they are
    # deduplicated (a UNION of all four would sort 20,000 rows to find a duplicate among a few)
    one, two, three, four = (f"SELECT prefix, seq, status, local_date FROM tickets WHERE {w}" for w in _OPEN_BEFORE)
    sql = f"{one} UNION ALL {two} UNION ALL SELECT * FROM ({three} UNION {four})"
    rows: list[sqlite3.Row] = conn.execute(sql, {"today": today, "previous": previous}).fetchall()
    return rows


def expire_before(conn: sqlite3.Connection, today: str, previous: str, at: str) -> None:
    """Close every open ticket of earlier days as 'expired', set-based: four statements, whatever their number."""
    for where in _OPEN_BEFORE:
        conn.execute(f"UPDATE tickets SET status = 'expired', finished_at = :at WHERE {where}",
                     {"today": today, "previous": previous, "at": at})


def number_ranges(seqs: Iterable[int]) -> str:
    """Daily sequence numbers as compact ranges: [1, 2, 3, 5, 7, 8] → "1-3,5,7-8"."""
    out: list[str] = []
    run: list[int] = []
    for s in sorted(set(seqs)):
        if run and s == run[-1] + 1:
            run.append(s)
            continue
        if run:
            out.append(_span(run))
        run = [s]
    if run:
        out.append(_span(run))
    return ",".join(out)


def _span(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def expand_ranges(text: str) -> list[int]:
    """The inverse of number_ranges: "1-3,5" → [1, 2, 3, 5].  Raises ValueError on anything else."""
    out: list[int] = []
    for part in filter(None, text.split(",")):
        m = _RANGE.match(part)
        a = int(m[1]) if m else 0
        z = int(m[2] or a) if m else 0
        if a < 1 or z < a:
            raise ValueError(f"bad number range {part!r}")
        out.extend(range(a, z + 1))
    return out


_RANGE = re.compile(r"([0-9]{1,6})(?:-([0-9]{1,6}))?\Z")


def expired_numbers(rows: Iterable[sqlite3.Row | dict[str, Any]]) -> dict[str, dict[str, str]]:
    """day.closed's `expired_numbers`: previous status → ticket prefix → number ranges, e.g.
    {"waiting": {"A": "31-480", "C": "12-15,17"}, "serving": {"A": "30"}}.  A ticket number is its prefix and its
    daily sequence (A031), unique in its day, so the ranges name every ticket closed, in a few bytes each."""
    grouped: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        grouped.setdefault(r["status"], {}).setdefault(r["prefix"], []).append(int(r["seq"]))
    return {status: {prefix: number_ranges(seqs) for prefix, seqs in sorted(by_prefix.items())}
            for status, by_prefix in sorted(grouped.items())}
