"""Property test: after any sequence of intake, transitions (legal or not), time travel and evaluate passes, every
running case shows the card a from-scratch recomputation gives, and each case's card events form one chain."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core import cases as C
from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.cases.conftest import payload
from tests.cases.test_workdays import ref_working_time
from tests.conftest import SMALL_CONFIG, FakeClock

TZ = ZoneInfo("Asia/Shanghai")
# biased towards the running states, so that most sequences end with cases whose clock runs
STATUSES = list(C.STATUS_LABELS) + ["accepted", "in_progress"] * 3 + ["correction", "suspended"]

ops = st.lists(st.one_of(
    st.tuples(st.just("register"), st.sampled_from([1, 2, 2, 2, 9]), st.integers(1, 6), st.booleans()),
    st.tuples(st.just("move"), st.integers(0, 5), st.sampled_from(STATUSES)),
    st.tuples(st.just("advance"), st.integers(1, 5 * 24 * 4)),  # quarter hours, up to 5 days
    st.tuples(st.just("eval"),),
), min_size=5, max_size=40)


def expected_card(cal: Any, c: dict[str, Any], now: datetime, margin: float) -> str | None:
    """None when the answer sits on a boundary within float noise (not worth asserting)."""
    if c["type"] == 9:
        return "none"
    midnight = datetime.combine(c["accepted"].astimezone(TZ).date() + timedelta(days=1), time(), TZ)
    budget = ref_working_time(cal, c["accepted"], midnight) + (c["promise"] if c["type"] == 2 else 0)
    stopped = sum(ref_working_time(cal, a, b) for a, b in c["stops"])
    left = budget - (ref_working_time(cal, c["accepted"], now) - stopped)
    if abs(left) < 1e-6 or abs(left - margin) < 1e-6:
        return None
    return "red" if left <= 0 else "yellow" if left <= margin else "none"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_cards_match_a_recomputation(seq: list[tuple]) -> None:
    store = Store(":memory:", synchronous="OFF")
    clock = FakeClock(datetime(2026, 9, 28, 1, 0, tzinfo=UTC))  # a week before National Day 2026
    hall = Hall(loads(SMALL_CONFIG, "t.toml"), store, clock=clock)
    cases = Cases(hall)
    mine: list[dict[str, Any]] = []
    try:
        for op in seq:
            if op[0] == "register":
                n = len(mine)
                p = payload(f"A{n}", case_type=op[1], promise_days=op[2] if op[1] == 2 else None, legal_days=None)
                cases.register(p)
                mine.append({"no": f"A{n}", "type": op[1], "promise": op[2], "status": "received",
                             "accepted": None, "stops": [], "stop_from": None})
                if op[3]:
                    cases.transition(f"A{n}", "accepted")
                    mine[-1].update(status="accepted", accepted=clock.t)
            elif op[0] == "move" and mine:
                c = mine[op[1] % len(mine)]
                try:
                    cases.transition(c["no"], op[2])
                except C.IllegalTransition:
                    continue
                now = clock.t
                if c["stop_from"] is not None and op[2] not in C.STOPPED:
                    c["stops"].append((c["stop_from"], now))
                    c["stop_from"] = None
                if c["accepted"] is None and op[2] in ("accepted", "in_progress", "suspended", "done"):
                    c["accepted"] = now
                if op[2] in C.STOPPED and c["accepted"] is not None:
                    c["stop_from"] = now
                c["status"] = op[2]
            elif op[0] == "advance":
                clock.advance(minutes=15 * op[1])
            else:
                cases.evaluate_cards()
        cases.evaluate_cards()
        for c in mine:
            got = cases.case(c["no"])
            if c["status"] in C.RUNNING and c["accepted"] is not None:
                want = expected_card(hall.calendar, c, clock.t, cases.settings.yellow_margin_days)
                if want is not None:
                    assert got["card"] == want, (c, got)
            elif c["status"] in C.TERMINAL:
                assert got["card"] == "none"
        chains: dict[str, str] = {}
        for e in store.events_after(0, 1_000_000, kinds={C.CASE_CARD_CHANGED}):
            no = e.payload["case_no"]
            assert e.payload["from"] == chains.get(no, "none") and e.payload["to"] != e.payload["from"]
            chains[no] = e.payload["to"]
        for c in mine:
            assert cases.case(c["no"])["card"] == chains.get(c["no"], "none")
    finally:
        store.close()
