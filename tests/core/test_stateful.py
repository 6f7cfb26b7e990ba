"""Property tests: random command sequences from several windows keep the hall's invariants."""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kiosk.core import errors as E
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import SMALL_CONFIG, FakeClock, make_id, staff

WINDOWS = [1, 2, 3, 9]
BUSINESSES = ["social", "housing", "tax"]


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.store = Store(Path(self.dir.name) / "h.db", synchronous="OFF")
        self.clock = FakeClock()
        self.hall = staff(Hall(loads(SMALL_CONFIG), self.store, clock=self.clock))
        self.ids = 0

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()

    def _waiting_ahead(self) -> dict[str, int]:
        return {t["id"]: self.hall.ahead_of(t["id"]) for t in self.hall.waiting()}

    @rule(business=st.sampled_from(BUSINESSES), green=st.booleans(), with_id=st.booleans())
    def issue(self, business: str, green: bool, with_id: bool) -> None:
        self.ids += 1
        id_number = make_id(self.ids) if (with_id or business == "housing") else None
        try:
            r = self.hall.issue_ticket(business, priority="green" if green else "normal", id_number=id_number)
        except (E.GreenChannelUnavailable, E.DailyCapReached, E.OutsideTicketHours, E.NoOpenWindow):
            return
        # the answer given to the citizen matches the queue at that moment
        assert r.value.ahead == self.hall.ahead_of(r.value.ticket["id"])

    @rule(window=st.sampled_from(WINDOWS))
    def call_next(self, window: int) -> None:
        before = self._waiting_ahead()
        try:
            t = self.hall.call_next(window).value
        except (E.QueueEmpty, E.WindowPaused):
            return
        except E.CalledNotStarted:  # 呼叫 never closes a ticket only called as 办结
            assert self.hall.window(window)["current"]["status"] == "called"
            return
        # call-next always takes a ticket that had nobody ahead of it in its own queue
        assert before[t["id"]] == 0, (t["number"], before[t["id"]])

    @rule(window=st.sampled_from(WINDOWS), data=st.data())
    def call_specific(self, window: int, data: st.DataObject) -> None:
        waiting = self.hall.waiting()
        if not waiting:
            return
        t = data.draw(st.sampled_from(waiting))
        try:
            self.hall.call_ticket(window, t["number"])
        except E.WindowPaused:
            return
        except E.CalledNotStarted:
            assert self.hall.window(window)["current"]["status"] == "called"
            return
        except E.WindowDoesNotServe:
            assert t["business"] not in self.hall.config.window_businesses(window)
            return
        except E.TransferredElsewhere:
            assert t["target_window"] not in (None, window)
            return

    @rule(window=st.sampled_from(WINDOWS), action=st.sampled_from(
        ["recall", "no_show", "start_service", "finish_service", "hold", "request_rating"]))
    def window_action(self, window: int, action: str) -> None:
        try:
            getattr(self.hall, action)(window)
        except (E.NoCurrentTicket, E.RecallLimit, E.TicketNotWaiting, E.NotRateable):
            pass

    @rule(window=st.sampled_from(WINDOWS), to=st.sampled_from([*BUSINESSES, 2, 3]))
    def transfer(self, window: int, to: str | int) -> None:
        try:
            if isinstance(to, int):
                self.hall.transfer(window, to_window=to)
            else:
                self.hall.transfer(window, to_business=to)
        except (E.NoCurrentTicket, E.WindowDoesNotServe):
            pass

    @rule(window=st.sampled_from(WINDOWS))
    def resume_held(self, window: int) -> None:
        held = self.hall.held(window)
        if held:
            try:
                self.hall.resume_ticket(window, held[0]["number"])
            except (E.WindowBusy, E.WindowPaused):
                pass

    @rule(window=st.sampled_from(WINDOWS), on=st.booleans())
    def pause(self, window: int, on: bool) -> None:
        try:
            if on:
                self.hall.pause(window, "休息")
            else:
                self.hall.resume_window(window)
        except (E.WindowBusy, E.WindowNotPaused):
            pass

    @precondition(lambda self: bool(self.hall.waiting()))
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        t = data.draw(st.sampled_from(self.hall.waiting()))
        self.hall.void(t["number"], "test")

    @rule(minutes=st.integers(1, 30))
    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def no_ticket_current_at_two_windows(self) -> None:
        cur = [w["current"]["id"] for w in self.hall.windows() if w["current"]]
        assert len(cur) == len(set(cur))
        active = self.store.conn().execute(
            "SELECT id, window FROM tickets WHERE status IN ('called', 'serving')").fetchall()
        assert sorted(cur) == sorted(r["id"] for r in active)

    @invariant()
    def numbers_unique_per_business_per_day(self) -> None:
        rows = self.store.conn().execute("SELECT local_date, number FROM tickets").fetchall()
        keys = [(r[0], r[1]) for r in rows]
        assert len(keys) == len(set(keys))

    @invariant()
    def event_sequence_gap_free(self) -> None:
        c = self.store.conn()
        n, lo, hi = c.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM events").fetchone()
        assert n == 0 or (lo == 1 and hi == n)


TestHallMachine = HallMachine.TestCase
TestHallMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])


def test_two_windows_calling_at_once_never_share_a_ticket(tmp_path: Path) -> None:
    """Two Hall objects on one file (as two processes would be): the store, not a sleep, serializes them."""
    cfg = loads(SMALL_CONFIG)
    clock = FakeClock()
    h0 = staff(Hall(cfg, Store(tmp_path / "h.db"), clock=clock), 1, 2)
    for _ in range(40):
        h0.issue_ticket("social")
    halls = [Hall(cfg, Store(tmp_path / "h.db"), clock=clock) for _ in range(2)]
    got: dict[int, list[str]] = {1: [], 2: []}
    barrier = threading.Barrier(2)

    def caller(h: Hall, window: int) -> None:
        barrier.wait()
        for _ in range(30):
            try:
                got[window].append(h.call_next(window).value["id"])
                h.start_service(window)
            except E.QueueEmpty:
                return

    threads = [threading.Thread(target=caller, args=(h, w)) for h, w in zip(halls, (1, 2), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    called = got[1] + got[2]
    assert len(called) == 40 and len(set(called)) == 40
