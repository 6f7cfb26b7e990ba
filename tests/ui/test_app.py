"""The desktop demo: every screen on one scaled-clock hall with simulated citizens, clerks and devices."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.config import HallConfig, load
from kiosk.core.privacy import valid_id
from kiosk.simulate import random_id_number
from kiosk.ui.app import ROLES, build_demo, build_role, demo_start, run_role, scaled_clock
from tests.conftest import DEMO_CONFIG


@pytest.fixture
def demo_config() -> HallConfig:
    return load(DEMO_CONFIG)


@pytest.mark.parametrize(("now_utc", "expected_utc"), [
    (datetime(2026, 11, 24, 2, 0, tzinfo=UTC), datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),  # Tue 10:00: open now
    (datetime(2026, 11, 23, 23, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 30, tzinfo=UTC)),  # Tue 07:00: 08:30
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), datetime(2026, 11, 25, 0, 30, tzinfo=UTC)),  # Tue 20:00: Wed 08:30
    (datetime(2026, 11, 28, 2, 0, tzinfo=UTC), datetime(2026, 11, 30, 0, 30, tzinfo=UTC)),  # Sat: Mon 08:30
])
def test_demo_starts_when_the_hall_is_open(demo_config: HallConfig, now_utc: datetime, expected_utc: datetime) -> None:
    assert demo_start(demo_config, now_utc) == expected_utc


def test_scaled_clock_runs_faster() -> None:
    import time

    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    clock = scaled_clock(start, 600.0)
    time.sleep(0.05)
    assert 20 <= (clock() - start).total_seconds() <= 600


def test_demo_ids_are_valid() -> None:
    import random

    rng = random.Random(3)
    assert all(valid_id(random_id_number(rng)) for _ in range(200))


def test_demo_runs_a_day_with_every_screen(qtbot, tmp_path: Path) -> None:
    import uuid

    sim = f"ui-demo-{uuid.uuid4().hex[:6]}"  # the config's devices, minus the loudspeaker
    sections = {"printer1": {"kind": "printer", "url": f"sim://{sim}-p"},
                "led-w1": {"kind": "led", "role": "window", "window": 1, "url": f"sim://{sim}-led"}}
    demo = build_demo(DEMO_CONFIG, tmp_path / "demo.db", speed=900.0, seed=5, show=True, device_sections=sections,
                      start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), arrivals_per_hour=240)
    try:
        for s in demo.screens:
            qtbot.addWidget(s)
        demo.simulation.start()
        hall = demo.hall
        qtbot.waitUntil(lambda: hall.counts()["_total"].get("done", 0) >= 5, timeout=20000)
        qtbot.waitUntil(lambda: hall.rating_summary()["rated"] >= 2, timeout=20000)
        # the screens followed: the board shows real calls, the dashboard the real total
        qtbot.waitUntil(lambda: demo.board.rows[0][1].text() != "", timeout=5000)
        demo.dashboard.refresh()
        assert demo.dashboard.kpis["issued"].text() == str(hall.counts()["_total"]["issued"])
        qtbot.waitUntil(lambda: {d["name"] for d in hall.devices()} >= {"printer1", "led-w1"}, timeout=5000)
        assert demo.kiosk.printer is not None
    finally:
        demo.close()


def test_every_role_builds(qtbot, client) -> None:
    for role in ROLES:
        w = build_role(role, client, window=1)
        qtbot.addWidget(w)
        assert w.windowTitle()
    with pytest.raises(ValueError, match="unknown role"):
        build_role("printer", client)
    with pytest.raises(ValueError, match="unknown role"):
        run_role("projector", DEMO_CONFIG, "/nonexistent.db")


def test_keypad_windows_come_from_evaluator_devices(demo_config: HallConfig) -> None:
    from kiosk.ui.app import keypad_windows

    assert keypad_windows(demo_config.devices) == ({1, 2, 3} if "evaluator1" in demo_config.devices else set())


def test_tablet_stops_asking_when_the_keypad_rated(qtbot, client, hall) -> None:
    from kiosk.ui.evaluator import FACES, THANKS, EvaluatorScreen

    hall.issue_ticket("social")
    hall.call_next(1)
    hall.start_service(1)  # a service is rated once it has started
    e = EvaluatorScreen(client, 1)
    qtbot.addWidget(e)
    t = hall.request_rating(1).value
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    hall.rate(t["id"], "satisfied")  # from the window's keypad
    qtbot.waitUntil(lambda: e.stack.currentIndex() == THANKS)
    assert e.ticket is None and hall.rating_summary()["rated"] == 1


def test_demo_cases_turn_red_during_the_day_and_ratings_belong_to_cases(qtbot, tmp_path: Path) -> None:
    """The demo seeds cases whose promised deadlines fall during the day; the evaluate pass (a QTimer, woken at once
    by a 差评) turns them yellow then red on the caller, and served tickets are linked to cases (一事一评)."""
    demo = build_demo(DEMO_CONFIG, tmp_path / "demo.db", speed=3600.0, seed=11, show=False, devices=False,
                      start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), arrivals_per_hour=300, evaluator=False)
    try:
        for s in demo.screens:
            qtbot.addWidget(s)
        cases = demo.client.cases
        assert demo.supervision is not None and demo.supervision.timer.interval() == 200  # a minute, clamped
        first = cases.card_counts()
        assert first["red"] >= 2 and first["yellow"] >= 4  # overdue ones red at once; 即办件 yellow from acceptance
        qtbot.waitUntil(lambda: any(c["card"] == "red" for c in demo.caller.cards), timeout=3000)  # window 1's
        demo.simulation.start()
        qtbot.waitUntil(lambda: cases.card_counts()["red"] >= first["red"] + 2, timeout=15000)  # due at +1 h, +2.5 h
        def shown(cards: list[dict]) -> list[tuple[str, str]]:
            return [(c["case_no"], c["card"]) for c in cards]

        qtbot.waitUntil(lambda: shown(demo.caller.cards) == shown(cases.cards(window=demo.caller.window_no, limit=50)),
                        timeout=3000)
        conn = demo.hall.store.conn()
        qtbot.waitUntil(lambda: conn.execute("SELECT COUNT(*) FROM ratings WHERE case_no LIKE 'W%'").fetchone()[0]
                        >= 1, timeout=15000)
        assert demo.simulation.linked and demo.supervision.passes >= 2
        demo.dashboard.tabs.setCurrentIndex(1)  # the page is read when it is shown
        assert demo.dashboard.sup_kpis["red"].text() == str(cases.card_counts()["red"])
    finally:
        demo.close()


def test_a_bad_rating_wakes_the_evaluate_pass_at_once(qtbot, client, hall) -> None:
    from kiosk.ui.app import Supervision

    sup = Supervision(client, every_s=3600, speed=1.0)  # the timer alone would wait an hour
    sup.start()
    try:
        assert sup.passes == 1 and client.cases.rectifications() == []
        hall.issue_ticket("social")
        hall.call_next(1)
        t = hall.finish_service(1).value
        hall.rate(t["id"], "dissatisfied", reason="需要多次跑腿")
        qtbot.waitUntil(lambda: len(client.cases.rectifications()) == 1, timeout=3000)
        assert sup.passes == 2 and client.cases.rectifications()[0]["number"] == t["number"]
    finally:
        sup.stop()
    hall.issue_ticket("social")
    hall.call_next(1)
    t2 = hall.finish_service(1).value
    hall.rate(t2["id"], "very_dissatisfied", reason="需要多次跑腿")
    qtbot.wait(100)
    assert sup.passes == 2  # detached: no more passes after stop()
