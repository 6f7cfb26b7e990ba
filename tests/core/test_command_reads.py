"""What issue and call-next read and write, statement by statement: issuing reads only the windows that serve the
business, by key; call-next reads the ticket it finishes once and writes the window row once; and the estimated wait
they carry is the formula's (kiosk/core/estimate.py ServiceTimes.average against phone.service_time)."""
from __future__ import annotations

import random
import re

from kiosk.core.estimate import DEFAULT_SERVICE_S, ServiceTimes
from kiosk.core.hall import Hall
from kiosk.core.phone import service_time
from tests.conftest import FakeClock
from tests.core.test_queries import plans, sign_in_all, traced


def test_issuing_reads_only_the_windows_serving_the_business(hall: Hall) -> None:
    sign_in_all(hall)
    with traced(hall) as statements:
        hall.issue_ticket("housing", id_number="11010519491231002X")  # windows 3 and 9 serve housing
    windows = {sql: lines for sql, lines in plans(hall, statements).items() if re.search(r"\bwindows\b", sql)}
    assert windows, "the open-window check reads the windows"
    lines = [line for found in windows.values() for line in found if "windows" in line]
    assert lines and all("INTEGER PRIMARY KEY" in line for line in lines), lines
    assert all(re.search(r"number IN \(3,9\)", sql) for sql in windows), list(windows)


def test_call_next_reads_the_finished_ticket_once_and_writes_the_window_once(hall: Hall, clock: FakeClock) -> None:
    sign_in_all(hall)
    for _ in range(3):
        hall.issue_ticket("tax")
    first = hall.call_next(2).value
    hall.start_service(2)
    clock.advance(minutes=3)
    with traced(hall) as statements:
        second = hall.call_next(2).value
    by_id = [s for s in statements if re.match(r"SELECT .* FROM tickets WHERE id = ", s)]
    assert len(by_id) == 1 and first["id"] in by_id[0], by_id
    assert len([s for s in statements if s.startswith("UPDATE windows")]) == 1
    w = hall.window(2)
    assert (w["current"]["id"], w["last_ticket"], w["state"]) == (second["id"], first["id"], "calling")
    assert hall.ticket(first["id"])["status"] == "done"


def test_the_average_is_the_formulas() -> None:
    rnd = random.Random(5)
    for _ in range(300):
        times = ServiceTimes("2026-11-24", [])
        for _ in range(rnd.randint(0, 12)):
            times.finished("2026-11-24", rnd.choice("abcd"), rnd.choice([0.0, rnd.uniform(1, 900)]))
        rows = times.rows("2026-11-24")
        for code in "abcde":
            assert times.average("2026-11-24", code) == service_time(rows, code, DEFAULT_SERVICE_S)
        assert times.average("2026-11-25", "a") == DEFAULT_SERVICE_S  # another day: nothing measured yet
