"""The desktop demo: every screen on one scaled-clock hall with simulated citizens, clerks and devices."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.config import HallConfig, load
from kiosk.core.privacy import valid_id
from kiosk.simulate import random_id_number
from kiosk.ui.app import (
    DEMO_SIZES,
    ROLES,
    build_demo,
    build_role,
    demo_clock,
    demo_layout,
    demo_period,
    demo_start,
    run_role,
    scaled_clock,
)
from tests.conftest import DEMO_CONFIG


@pytest.fixture
def demo_config() -> HallConfig:
    return load(DEMO_CONFIG)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # the hall is UTC+8: 01:00 UTC is 09:00 there


@pytest.mark.parametrize(("now_utc", "expected_start", "expected_close"), [
    (utc(24, 2), utc(24, 2), utc(24, 4)),  # Tue 10:00: open now, two hours to the lunch break
    (utc(23, 23), utc(24, 0, 30), utc(24, 4)),  # Tue 07:00: 08:30
    (utc(24, 3), utc(24, 5, 30), utc(24, 9, 30)),  # Tue 11:00: an hour left is too little, the afternoon
    (utc(24, 8), utc(25, 0, 30), utc(25, 4)),  # Tue 16:00: an hour and a half left, Wednesday morning
    (utc(24, 12), utc(25, 0, 30), utc(25, 4)),  # Tue 20:00: Wed 08:30
    (utc(28, 2), utc(30, 0, 30), utc(30, 4)),  # Sat: Mon 08:30
])
def test_the_demo_starts_in_an_open_period_with_time_left(demo_config: HallConfig, now_utc: datetime,
                                                         expected_start: datetime, expected_close: datetime) -> None:
    assert demo_period(demo_config, now_utc) == (expected_start, expected_close)
    assert demo_start(demo_config, now_utc) == expected_start


def test_the_demo_clock_slows_to_the_walls_pace_before_closing(monkeypatch) -> None:
    import kiosk.ui.app as app_module

    wall = [100.0]
    monkeypatch.setattr(app_module.time, "monotonic", lambda: wall[0])
    start = utc(24, 1)
    clock = demo_clock(start, 60.0, start + timedelta(hours=2))  # fast for two hours of hall time
    wall[0] += 60  # a minute: an hour of hall time
    assert clock() == start + timedelta(hours=1)
    wall[0] += 60 + 600  # two minutes in: at 11:00, then ten minutes at the wall's pace
    assert clock() == start + timedelta(hours=2, minutes=10)


def test_the_demo_windows_fit_one_1920x1080_monitor_at_half_scale() -> None:
    from PySide6.QtCore import QRect

    title, border = 64, 4
    avail = QRect(0, 0, 3840, 2160 - 80)  # a 1920×1080 monitor with a 40 px taskbar, at QT_SCALE_FACTOR 0.5
    tiles = demo_layout(avail, title=title, border=border)
    assert {n: (r.width(), r.height()) for n, r in tiles.items()} == DEMO_SIZES  # each at its real size
    frames = {n: r.adjusted(-border, -title, border, border) for n, r in tiles.items()}  # with its frame
    assert all(avail.contains(f) for f in frames.values())
    names = list(frames)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not frames[a].intersects(frames[b]), (a, b)
    small = demo_layout(QRect(0, 0, 1600, 900), title=title)  # a smaller screen: all shrunk alike, still apart
    assert all(QRect(0, 0, 1600, 900).contains(r) for r in small.values())
    assert not any(small[a].intersects(small[b]) for i, a in enumerate(names) for b in names[i + 1:])


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
    sections["evaluator1"] = {"kind": "evaluator", "url": f"sim://{sim}-ev?auto_key=1&auto_after=0.2",
                              "keypads": {"1": 1, "2": 2}}
    demo = build_demo(DEMO_CONFIG, tmp_path / "demo.db", speed=900.0, seed=5, show=True, device_sections=sections,
                      start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), arrivals_per_hour=240, keep_open=False)
    try:
        for s in demo.screens:
            qtbot.addWidget(s)
        demo.simulation.start()
        hall = demo.hall
        qtbot.waitUntil(lambda: hall.counts()["_total"].get("done", 0) >= 5, timeout=20000)
        qtbot.waitUntil(lambda: hall.rating_summary()["rated"] >= 2, timeout=20000)
        # window 1 is the person's: a demo clerk is signed in, and nothing simulated calls or rates there
        w1 = hall.window(1)
        assert w1["clerk_name"] == "王晓明" and w1["current"] is None and w1["last_ticket"] is None
        conn = hall.store.conn()
        assert conn.execute("SELECT COUNT(*) FROM ratings WHERE window = 1").fetchone()[0] == 0
        assert 1 not in demo.simulation.clerks and "evaluator1" in {d["name"] for d in hall.devices()}
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
    from kiosk.ui.app import for_the_person, keypad_windows

    assert keypad_windows(demo_config.devices) == ({1, 2, 3} if "evaluator1" in demo_config.devices else set())
    # the demo's person rates window 1 on the tablet: no simulated keypad answers there
    assert keypad_windows(for_the_person(demo_config.devices, 1)) == ({2, 3} if "evaluator1" in demo_config.devices
                                                                      else set())


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
                      start=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), arrivals_per_hour=300, evaluator=False,
                      keep_open=False)
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
        demo.dashboard.tabs.setCurrentIndex(demo.dashboard.tabs.indexOf(demo.dashboard.supervision))  # read when shown
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


DESKTOP_CHILD = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from kiosk.ui.app import build_demo, demo_app
app = demo_app()  # QT_SCALE_FACTOR 0.5 and the touch keyboard, as `hall demo` starts
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter
out = Path(sys.argv[1])
demo = build_demo(sys.argv[2], out / "demo.db", speed=120.0, seed=3, devices=False,
                  start=datetime(2026, 11, 24, 1, 30, tzinfo=UTC), arrivals_per_hour=200)
demo.simulation.start()
end = time.monotonic() + 6
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
screen = app.primaryScreen()
seen = {"screen": list(screen.geometry().getRect()), "avail": list(screen.availableGeometry().getRect()),
        "scale": screen.devicePixelRatio(),
        "frames": {s.windowTitle(): list(s.frameGeometry().getRect()) for s in demo.screens},
        "inside": {s.windowTitle(): list(s.geometry().getRect()) for s in demo.screens}}
# the desktop as a person sees it: each window drawn where it is, at the monitor's pixels
f = screen.devicePixelRatio()
desk = QImage(round(screen.geometry().width() * f), round(screen.geometry().height() * f), QImage.Format.Format_RGB32)
desk.fill(QColor("#2B2B2B"))
p = QPainter(desk)
for s in demo.screens:
    fr, g = s.frameGeometry(), s.geometry()
    p.fillRect(round(fr.x() * f), round(fr.y() * f), round(fr.width() * f), round((g.y() - fr.y()) * f), QColor("#555"))
    p.setPen(QColor("#FFF"))
    p.drawText(round(fr.x() * f) + 6, round(g.y() * f) - 4, s.windowTitle())
    pix = s.grab()
    pix.setDevicePixelRatio(1.0)
    p.drawPixmap(QPoint(round(g.x() * f), round(g.y() * f)), pix)
p.end()
desk.save(str(out / "demo-desktop.png"))
demo.close()
print(json.dumps(seen, ensure_ascii=False), flush=True)
"""


def test_the_demo_fits_a_1920x1080_monitor_without_overlap(tmp_path: Path) -> None:
    """`hall demo` on a 1920×1080 monitor (an offscreen screen that size, with window frames): five windows, each
    at its real size drawn at half scale, none over another, all on the screen."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"windowFrameMargins": True, "screens": [
        {"name": "monitor", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}", PYTHONPATH=str(root),
               HOME=str(tmp_path))
    for k in ("QT_SCALE_FACTOR", "QT_IM_MODULE"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-c", DESKTOP_CHILD, str(tmp_path), str(DEMO_CONFIG)], env=env, cwd=root,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["scale"] == 0.5
    x, y, w, h = seen["screen"]
    frames = {name: rect for name, rect in seen["frames"].items()}
    assert len(frames) == 5
    for name, (fx, fy, fw, fh) in frames.items():
        assert x <= fx and y <= fy and fx + fw <= x + w and fy + fh <= y + h, (name, frames[name])
    names = list(frames)
    for i, a in enumerate(names):
        ax, ay, aw, ah = frames[a]
        for b in names[i + 1:]:
            bx, by, bw, bh = frames[b]
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    sizes = sorted((iw, ih) for _x, _y, iw, ih in seen["inside"].values())
    assert sizes == sorted(DEMO_SIZES.values())  # every screen at its real size
    if os.environ.get("HALL_UPDATE_SCREENS") == "1":
        shutil.copy(tmp_path / "demo-desktop.png", root / "docs" / "screens" / "demo-desktop.png")
