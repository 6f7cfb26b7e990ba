"""Power-cut test: a child issuing and calling tickets is SIGKILLed at random moments, 200 times."""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from kiosk.core.config import loads
from kiosk.core.errors import DailyCapReached
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import SMALL_CONFIG, FakeClock, staff

KILLS = 200


def _child(db: Path, wfd: int, day: int) -> None:
    """Runs in the forked child: issue/call forever, reporting each committed ticket on the pipe.
    Each run starts a new day and so crosses a rollover; a run that fills the day's cap (200 tax numbers) goes on
    to the next day, another rollover, rather than end.  Days are spaced so that runs never go back in time."""
    try:
        store = Store(db)
        clock = FakeClock()
        clock.advance(days=day)
        hall = staff(Hall(loads(SMALL_CONFIG), store, clock=clock), 2)
        rnd = random.Random(os.getpid())
        while True:
            try:
                t = hall.issue_ticket("tax").value.ticket  # tax is open around the clock
            except DailyCapReached:
                clock.advance(days=1)
                continue
            os.write(wfd, f"{t['id']} {t['number']}\n".encode())
            if rnd.random() < 0.5:
                hall.call_next(2)
                hall.start_service(2)  # the next call closes it as served (a ticket only called would be refused)
    except Exception as exc:  # reported so the parent fails loudly instead of seeing a quiet child
        os.write(wfd, f"ERR {exc!r}\n".encode())
    finally:
        os._exit(0)


def test_sigkill_200_times_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    Store(db).close()
    reported: dict[str, str] = {}
    rnd = random.Random(1234)
    for i in range(KILLS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(db, w, i * 10)
        os.close(w)
        time.sleep(rnd.uniform(0.005, 0.06))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(r, "rb") as f:
            for line in f.read().decode().splitlines():
                assert not line.startswith("ERR"), line
                parts = line.split()
                if len(parts) == 2:  # a line cut by the kill was never fully reported: ignore it
                    reported[parts[0]] = parts[1]
        store = Store(db)  # opens cleanly: WAL recovery, migrations check
        c = store.conn()
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = c.execute("SELECT id, number, local_date FROM tickets").fetchall()
        numbers = [(row["local_date"], row["number"]) for row in rows]
        assert len(numbers) == len(set(numbers)), "a ticket number was issued twice"
        n, hi = c.execute("SELECT COUNT(*), MAX(seq) FROM events").fetchone()
        assert n == (hi or 0), "the event sequence has a gap"
        drift = c.execute(  # the waiting counts kept by triggers commit with the tickets or not at all
            "SELECT COUNT(*) FROM counters c WHERE waiting_transfer + waiting_appointment + waiting_green "
            "+ waiting_normal + waiting_window != (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
            "AND t.business = c.business AND t.local_date = c.local_date)").fetchone()[0]
        assert drift == 0, "waiting counts differ from the waiting tickets"
        have = {row["id"]: row["number"] for row in rows}
        missing = {k: v for k, v in reported.items() if have.get(k) != v}
        assert not missing, f"tickets reported as issued are gone: {list(missing.values())[:5]}"
        store.close()
    assert len(reported) > KILLS  # the child really made progress between kills
