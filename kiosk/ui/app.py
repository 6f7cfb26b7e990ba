"""Desktop entry points: `run_demo` (all screens on one 1920×1080 monitor, a simulated hall around the window a
person drives, on a clock that keeps the hall open while they use it, with 办件 whose deadlines fall during the day)
and `run_role` (one screen; on the hall's own store it follows the events other processes write)."""
from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core import context as C
from kiosk.core.calendar import WorkCalendar
from kiosk.core.config import HallConfig
from kiosk.core.errors import HallError
from kiosk.core.hall import Hall
from kiosk.core.rating import ORDER, Level
from kiosk.schema import load  # the one schema: what `hall check-config` accepts, every screen accepts
from kiosk.simulate import opening, random_id_number
from kiosk.store import Store
from kiosk.ui.board import BoardScreen
from kiosk.ui.caller import CallerScreen
from kiosk.ui.client import ClientView, HallClient, screen_operator
from kiosk.ui.compat import guard_singleton_refcounts
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.evaluator import EvaluatorScreen
from kiosk.ui.fonts import setup_fonts
from kiosk.ui.inputs import DeviceInputs
from kiosk.ui.keyboard import use_touch_keyboard
from kiosk.ui.kiosk import KioskScreen

log = logging.getLogger(__name__)

ROLES = ("kiosk", "caller", "board", "dashboard", "evaluator")
CLERKS = ["王晓明", "李娜", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏", "周杰", "吴霞"]
# Demo citizens' ratings: mostly good, a few bad ones so the dashboard has something to show.
RATING_WEIGHTS = (55, 30, 9, 4, 2)
DEMO_APPLICANTS = ["张建华", "李秀英", "王志强", "刘桂兰", "陈国平", "杨丽娟", "赵德明", "黄淑珍", "周永刚", "吴海燕"]
CASE_PASS_S = 60.0  # the evaluate pass runs once a minute of hall time (and at once after a 差评)
DEMO_OPEN_H = 2.0  # the demo starts in an open period with at least this much left (hall time) …
DEMO_REAL_H = 1.0  # … and its last hour runs at real time, so the hall stays open while a person uses it
DEMO_SCALE = "0.5"  # the five screens at their real sizes, drawn at half size, fit one 1920×1080 monitor
DEMO_CLERK = ("c01", "王晓明")  # who is signed in at the window on screen (a person may sign in as someone else)


# =====================================================================================================================
# clocks
# =====================================================================================================================
def scaled_clock(start: datetime, speed: float) -> Callable[[], datetime]:
    """Hall time that runs `speed` times faster than the wall, from `start` (a day in minutes at speed ≥ 60)."""
    m0 = time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - m0) * speed)


def demo_clock(start: datetime, speed: float, slow_from: datetime) -> Callable[[], datetime]:
    """Hall time from `start`, `speed` times faster than the wall until `slow_from`, then at the wall's pace."""
    m0 = time.monotonic()
    fast_s = max(0.0, (slow_from - start).total_seconds()) / max(speed, 1e-9)

    def now() -> datetime:
        wall = time.monotonic() - m0
        if wall <= fast_s:
            return start + timedelta(seconds=wall * speed)
        return start + timedelta(seconds=fast_s * speed + (wall - fast_s))

    return now


def open_periods(config: HallConfig, day: date) -> list[tuple[datetime, datetime]]:
    """The day's ticket hours of all businesses together (overlaps merged), as UTC: when the hall is open."""
    spans = sorted((s, e) for b in config.businesses for s, e in b.intervals())
    merged: list[list[Any]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(datetime.combine(day, s, config.tz).astimezone(UTC), datetime.combine(day, e, config.tz).astimezone(UTC))
            for s, e in merged]


def demo_period(config: HallConfig, now: datetime | None = None,
                calendar: WorkCalendar | None = None) -> tuple[datetime, datetime]:
    """(start, close) of the demo: now, if the hall is open with at least DEMO_OPEN_H left in this period; else the
    next open period that long (today's afternoon, or the next working day's morning)."""
    cal = calendar or config.work_calendar()
    now = now or datetime.now(UTC)
    day = now.astimezone(config.tz).date()
    least = timedelta(hours=DEMO_OPEN_H)
    for _ in range(30):
        if cal.is_working_day(day):
            for s, e in open_periods(config, day):
                if s <= now < e and e - now >= least:
                    return now, e
                if s > now and e - s >= least:
                    return s, e
        day += timedelta(days=1)
    start = opening(config, cal, now.astimezone(config.tz).date())
    return start, start + least


def demo_start(config: HallConfig, now: datetime | None = None, calendar: WorkCalendar | None = None) -> datetime:
    """When the demo's hall clock starts (see `demo_period`)."""
    return demo_period(config, now, calendar)[0]


# =====================================================================================================================
# devices
# =====================================================================================================================
DEFAULT_DEMO_DEVICES: dict[str, dict[str, Any]] = {
    "printer1": {"kind": "printer", "url": "sim://demo-printer1", "mode": "text"},
    "led1": {"kind": "led", "url": "sim://demo-led1", "window": 1},
}


def start_devices(hall: Any, sections: dict[str, dict[str, Any]]) -> Any | None:
    """Build and start the drivers for `sections` under devices.supervisor (the one place that wires devices to the
    hall); a bad option fails at start-up, naming it."""
    from devices.supervisor import Supervisor, build_drivers

    sup = Supervisor(hall, build_drivers(hall.config, sections))
    sup.start()
    return sup


def stop_devices(supervisor: Any | None) -> None:
    if supervisor is None:
        return
    try:
        supervisor.stop()
    except Exception:
        log.exception("stopping devices")


def _printer(supervisor: Any | None) -> Any:
    return supervisor.printer() if supervisor is not None else None


def screen_drives(section: dict[str, Any], role: str, window: int | None) -> bool:
    """The [devices.*] a screen process drives itself when it runs on the hall's own store: a kiosk its printers,
    ID card readers and kiosk scanners; a caller its window's badge scanner (`window = N`)."""
    kind = section.get("kind")
    if role == "kiosk":
        return kind in ("printer", "idcard") or (kind == "scanner" and not section.get("window"))
    if role == "caller":
        return kind == "scanner" and section.get("window") == window
    return False


def screen_inputs(supervisor: Any | None, role: str, window: int | None = None) -> DeviceInputs:
    """The one doorway (kiosk/ui/inputs.py) for the reads of the input devices that belong to this screen: the
    kiosk takes the readers and scanners with no window, a caller the scanner of its window."""
    want = 0 if role == "kiosk" else window if role == "caller" else None
    drivers = supervisor.inputs() if supervisor is not None else []
    return DeviceInputs([d for d in drivers if want is not None and int(getattr(d, "window", 0) or 0) == want])


# =====================================================================================================================
# 办件 and 电子监察
# =====================================================================================================================
class Supervision(QObject):
    """Runs `Cases.evaluate_cards()` in the Qt thread: on a timer every `every_s` of hall time, and at once when
    `Cases.attach` says a 差评 came in (its wake only emits a queued signal: it runs inside the hall's bus delivery,
    in whatever thread committed the rating)."""

    _wake = Signal()

    def __init__(self, client: HallClient, *, every_s: float = CASE_PASS_S, speed: float = 1.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases = client.cases
        self.passes = 0
        self._wake.connect(self.evaluate, Qt.ConnectionType.QueuedConnection)
        self._detach: Callable[[], None] | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(max(200, int(every_s * 1000 / max(speed, 1e-6))))
        self.timer.timeout.connect(self.evaluate)

    def start(self) -> None:
        if self._detach is None:
            self._detach = self.cases.attach(self._wake.emit)
        self.evaluate()  # cards already due when the app starts show at once
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        if self._detach is not None:
            self._detach()
            self._detach = None

    def evaluate(self) -> None:
        try:
            self.cases.evaluate_cards()
        except Exception:  # a failed pass is retried at the next tick; the screens keep working
            log.exception("case evaluate pass failed")
        self.passes += 1


def seed_demo_cases(client: HallClient, rng: random.Random) -> list[str]:
    """Cases for the demo day, accepted earlier with promised deadlines spread over the day: some already overdue
    (red), several that turn from yellow to red during the day, one with time to spare, a 即办件 and a few concluded
    ones for the figures.  Skips cases already in the store (a demo database reused the same day)."""
    from kiosk.core.cases import CaseNotFound

    cases = client.cases
    now = client.now()
    tz = client.config.tz
    stamp = now.astimezone(tz).strftime("%Y%m%d")
    windows = [w.number for w in client.config.windows]
    names = {w.number: w.name for w in client.config.windows}
    businesses = client.config.businesses
    # (hours from now to the promised deadline or None, promise days, case type, status, finished days ago)
    plan: list[tuple[float | None, int | None, int, str, int | None]] = [
        (-20.0, None, 2, "在办", None), (-2.0, None, 2, "受理", None), (1.0, None, 2, "在办", None),
        (2.5, None, 2, "受理", None), (4.0, None, 2, "在办", None), (6.0, None, 2, "受理", None),
        (None, 10, 2, "受理", None), (None, None, 1, "受理", None), (None, 5, 2, "办结", 1), (None, 3, 2, "办结", 2),
        (None, None, 1, "办结", 0),
    ]
    made: list[str] = []
    for i, (due_in_h, days, case_type, status, done_ago) in enumerate(plan):
        case_no = f"DEMO{stamp}{i + 1:03d}"
        try:
            cases.case(case_no)
            continue
        except CaseNotFound:
            pass
        window = windows[i % len(windows)]
        b = businesses[i % len(businesses)]
        accepted = now - (timedelta(days=3) if case_type == 2 else timedelta(hours=2))
        payload: dict[str, Any] = {
            "case_no": case_no, "case_type": case_type, "item_name": f"{b.name}事项", "department": b.name,
            "window": window, "clerk": CLERKS[(window - 1) % len(CLERKS)], "acceptor": names[window],
            "applicant_name": rng.choice(DEMO_APPLICANTS), "applicant_id": random_id_number(rng),
            "accepted_at": accepted.isoformat(), "status": status,
        }
        if due_in_h is not None:
            payload["promised_at"] = (now + timedelta(hours=due_in_h)).isoformat()
        if days is not None:
            payload["promise_days"] = days
            payload["legal_days"] = days * 2
        if done_ago is not None:
            payload["finished_at"] = (now - timedelta(days=done_ago, hours=1)).isoformat()
        try:
            cases.register(payload, idem_key=f"demo-case:{case_no}")
            made.append(case_no)
        except HallError as exc:
            log.warning("demo case %s not registered: %s", case_no, exc.message)
    return made


# =====================================================================================================================
# the simulated day
# =====================================================================================================================
@dataclass
class _Clerk:
    window: int
    name: str
    next_at: datetime
    rating_for: str | None = None  # ticket id the citizen is about to rate


class Simulation(QObject):
    """Citizens arrive (Poisson, `arrivals_per_hour` of hall time) and simulated clerks press the caller's buttons.

    Runs on a QTimer in the Qt thread and goes through the HallClient like a screen does.  The windows in `on_screen`
    are a person's: no simulated clerk signs in, calls or rates there (their caller and evaluator are on screen)."""

    def __init__(self, client: HallClient, *, arrivals_per_hour: float = 90.0, seed: int | None = None,
                 kiosk: KioskScreen | None = None, rated_elsewhere: set[int] | None = None,
                 on_screen: set[int] | None = None, tick_ms: int = 200, case_share: float = 0.3,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.rng = random.Random(seed)
        self.rate = arrivals_per_hour
        self.on_screen = set(on_screen or ())
        self.rated_elsewhere = (rated_elsewhere or set()) - self.on_screen  # keypad sims rate these
        self.kiosk = kiosk
        now = client.now()
        self.last = now
        self.clerks = {w.number: _Clerk(w.number, CLERKS[i % len(CLERKS)], now + timedelta(seconds=5 * i))
                       for i, w in enumerate(client.config.windows) if w.number not in self.on_screen}
        for c in self.clerks.values():
            self._try(lambda c=c: client.sign_in(c.window, f"c{c.window:02d}", c.name))
        self.issued = 0
        self.case_share = case_share  # served tickets that were a 办件 (registered and linked: 一事一评)
        self.linked: list[str] = []
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.step)
        self.timer.setInterval(tick_ms)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _try(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except HallError as exc:
            log.debug("simulation: %s", exc.message)
        except Exception:
            log.exception("simulation step failed")
        return None

    def step(self) -> None:
        now = self.client.now()
        dt = (now - self.last).total_seconds()
        self.last = now
        self._arrivals(dt)
        for c in self.clerks.values():
            if now >= c.next_at:
                self._clerk(c, now)

    def _arrivals(self, dt: float) -> None:
        expected = self.rate * dt / 3600.0
        n = 0
        while self.rng.random() < expected - n:  # Poisson-ish: whole expected arrivals plus a fractional chance
            n += 1
        for _ in range(n):
            b = self.rng.choice(self.client.config.businesses)
            id_number = random_id_number(self.rng) if b.id_required else None
            prio = "green" if b.green_channel and self.rng.random() < 0.05 else "normal"
            if self._try(lambda b=b, i=id_number, p=prio: self.client.issue_ticket(
                    b.code, id_number=i, priority=p, idem_key=uuid.uuid4().hex)):
                self.issued += 1

    def _clerk(self, c: _Clerk, now: datetime) -> None:
        rng = self.rng
        w = self._try(lambda: self.client.window(c.window))
        if w is None:
            return
        state, cur = w["state"], w.get("current")
        wait = 20.0
        if c.rating_for:
            self._rate(c)
            wait = rng.uniform(5, 15)
        elif state == "paused":
            self._try(lambda: self.client.resume_window(c.window))
        elif cur is None:
            if rng.random() < 0.01:
                self._try(lambda: self.client.pause(c.window, rng.choice(["临时离开", "业务咨询", "会议"])))
                wait = rng.uniform(300, 900)
            elif self._try(lambda: self.client.call_next(c.window)):
                wait = rng.uniform(15, 60)
        elif cur["status"] == "called":
            roll = rng.random()
            if roll < 0.08 and (w.get("recalls_left") or 0) > 0:
                self._try(lambda: self.client.recall(c.window))
                wait = 20
            elif roll < 0.12:
                self._try(lambda: self.client.no_show(c.window))
            else:
                self._try(lambda: self.client.start_service(c.window))
                wait = rng.uniform(120, 720)
        elif cur["status"] == "serving":
            if rng.random() < 0.03:
                others = [b.code for b in self.client.config.businesses if b.code != cur["business"]]
                self._try(lambda: self.client.transfer(c.window, to_business=rng.choice(others)))
            else:
                t = self._try(lambda: self.client.request_rating(c.window))
                done = self._try(lambda: self.client.finish_service(c.window))
                if done is not None and rng.random() < self.case_share:
                    self._open_case(c, done.value)
                if t is not None and c.window not in self.rated_elsewhere and rng.random() < 0.9:
                    c.rating_for = t.value["id"]
                wait = rng.uniform(4, 10)
        c.next_at = now + timedelta(seconds=wait)

    def _open_case(self, c: _Clerk, ticket: dict[str, Any]) -> None:
        """The service was a 办件: the clerk registers it and links the ticket, so its rating counts for the case;
        half are 即办件 concluded on the spot, the rest 承诺件 with a few working days."""
        case_no = f"W{str(ticket.get('local_date', '')).replace('-', '')}{ticket['number']}"
        on_spot = self.rng.random() < 0.5
        payload: dict[str, Any] = {
            "case_no": case_no, "case_type": 1 if on_spot else 2, "item_name": f"{ticket['business_name']}事项",
            "department": ticket["business_name"], "window": c.window, "clerk": c.name, "status": "受理",
            "applicant_name": self.rng.choice(DEMO_APPLICANTS), "applicant_id": random_id_number(self.rng),
        }
        if not on_spot:
            payload["promise_days"] = self.rng.choice([1, 3, 5])
        cases = self.client.cases
        if self._try(lambda: cases.register(payload, idem_key=f"demo-case:{case_no}")) is None:
            return
        if self._try(lambda: cases.link_ticket(case_no, ticket["id"])) is not None:
            self.linked.append(case_no)
        if on_spot:
            self._try(lambda: cases.transition(case_no, "办结"))

    def _rate(self, c: _Clerk) -> None:
        tid, c.rating_for = c.rating_for, None
        level: Level = self.rng.choices(ORDER, weights=RATING_WEIGHTS)[0]
        reason = self.rng.choice(["办事效率低、等候时间长", "需要多次跑腿"]) if level.is_bad else None
        self._try(lambda: self.client.rate(tid, level, reason=reason, idem_key=uuid.uuid4().hex))


# =====================================================================================================================
# assembling
# =====================================================================================================================
@dataclass
class Demo:
    hall: Hall
    store: Store
    client: HallClient
    kiosk: KioskScreen
    caller: CallerScreen
    board: BoardScreen
    dashboard: DashboardScreen
    evaluator: EvaluatorScreen | None
    simulation: Simulation
    devices: Any = None  # devices.supervisor.Supervisor, when devices run
    supervision: Supervision | None = None  # the 办件 evaluate pass (cards, rectifications, linked ratings)

    @property
    def screens(self) -> list[QWidget]:
        return [s for s in (self.kiosk, self.caller, self.board, self.dashboard, self.evaluator) if s is not None]

    def close(self) -> None:
        self.simulation.stop()
        if self.supervision is not None:
            self.supervision.stop()
        for s in self.screens:
            s.close()
            s.deleteLater()  # Qt frees them in order, before Python's finaliser runs
        stop_devices(self.devices)
        self.client.close()
        self.store.close()


def _app() -> QApplication:
    guard_singleton_refcounts()
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication([])
    setup_fonts(app)
    if os.environ.get("HALL_HIDE_CURSOR") == "1":  # touch screens that also register as a mouse: no arrow
        app.setOverrideCursor(Qt.CursorShape.BlankCursor)
    return app


def keypad_windows(sections: dict[str, dict[str, Any]]) -> set[int]:
    """Windows whose citizens rate on a hardware keypad ([devices.*] of kind evaluator, `keypads` address → window)."""
    out: set[int] = set()
    for s in sections.values():
        if s.get("kind") == "evaluator":
            out |= {int(w) for w in dict(s.get("keypads") or {}).values()}
    return out


def for_the_person(sections: dict[str, dict[str, Any]], window: int) -> dict[str, dict[str, Any]]:
    """The demo's devices without a simulated keypad at the window a person rates on (its tablet is on screen)."""
    out: dict[str, dict[str, Any]] = {}
    for name, sec in sections.items():
        if sec.get("kind") == "evaluator" and sec.get("keypads"):
            sec = {**sec, "keypads": {a: w for a, w in dict(sec["keypads"]).items() if int(w) != window}}
        out[name] = sec
    return out


# the real size of each demo window (kiosk/ui/theme.py PANELS): laid out once, then drawn at the demo's scale
DEMO_SIZES = {"kiosk": (1080, 1920), "board": (1920, 1080), "evaluator": (800, 480), "dashboard": (1366, 768),
              "caller": (1366, 768)}


def demo_layout(avail: QRect, title: int = 64, border: int = 4) -> dict[str, QRect]:
    """Where each demo window's inside goes on `avail` (logical px; each window's frame adds `title` above and
    `border` on its other sides): the kiosk down the left, the board and the tablet along the top, the dashboard and
    the caller under the board.  At their real sizes when they fit (a 1920×1080 monitor at the demo's half scale);
    else all shrunk alike.  Frames may touch, never overlap."""
    (kw, kh), (bw, bh), (ew, eh), (dw, dh), (cw, ch) = (DEMO_SIZES[n] for n in
                                                        ("kiosk", "board", "evaluator", "dashboard", "caller"))
    side, top = 2 * border, title + border
    need_w = max(kw + bw + ew, kw + dw + cw) + 3 * side
    need_h = max(kh + top, bh + top + dh + top)
    f = min(1.0, avail.width() / need_w, avail.height() / need_h)

    def at(x: int, y: int, w: int, h: int) -> QRect:
        return QRect(avail.left() + int(x * f) + border, avail.top() + int(y * f) + title, int(w * f), int(h * f))

    col2, col3 = kw + side, kw + side + bw + side
    row2 = bh + top
    return {
        "kiosk": at(0, 0, kw, kh),
        "board": at(col2, 0, bw, bh),
        "evaluator": at(col3, 0, ew, eh),
        "dashboard": at(col2, row2, dw, dh),
        "caller": at(col2 + dw + side, row2, cw, ch),
    }


def build_demo(config_path: str | Path, db_path: str | Path, speed: float = 60.0, *, start: datetime | None = None,
               seed: int | None = None, caller_window: int = 1, evaluator: bool = True, devices: bool = True,
               device_sections: dict[str, dict[str, Any]] | None = None, arrivals_per_hour: float = 90.0,
               show: bool = True, keep_open: bool = True) -> Demo:
    """Everything `run_demo` shows, without entering the event loop (tests and the benchmark use this).

    Window `caller_window` is the person's: its caller and tablet are on screen, a demo clerk is signed in there,
    and no simulated clerk or keypad touches it.  With `keep_open` the hall clock runs at `speed` until an hour
    before the open period ends, then at the wall's pace (`demo_clock`), so the hall does not close on the person.
    Devices: `device_sections` if given, else the config's [devices.*], else a simulated printer and LED."""
    app = _app()
    config = load(config_path)
    begin, close = demo_period(config, start) if start is None else (start, _period_end(config, start))
    clock = demo_clock(begin, speed, close - timedelta(hours=DEMO_REAL_H)) if keep_open else scaled_clock(begin, speed)
    store = Store(Path(db_path))
    hall = Hall(config, store, clock=clock)
    sections = device_sections if device_sections is not None else (config.devices or DEFAULT_DEMO_DEVICES)
    sections = for_the_person(sections, caller_window)
    supervisor = start_devices(hall, sections) if devices else None
    client = HallClient(hall, heartbeat_s=5.0, operator=C.Operator("system", "demo"))
    try:
        client.sign_in(caller_window, *DEMO_CLERK)
    except HallError as exc:
        log.warning("demo clerk not signed in at window %s: %s", caller_window, exc.message)

    def view(role: str, window: int | None = None) -> Any:  # each screen's commands as that screen's operator
        return ClientView(client, screen_operator(role, window))

    kiosk = KioskScreen(view("kiosk"), printer=_printer(supervisor), inputs=screen_inputs(supervisor, "kiosk"))
    caller = CallerScreen(view("caller", caller_window), caller_window,
                          inputs=screen_inputs(supervisor, "caller", caller_window))
    board = BoardScreen(view("board"))
    dashboard = DashboardScreen(view("dashboard"))
    ev_screen = EvaluatorScreen(view("evaluator", caller_window), caller_window) if evaluator else None
    citizens = ClientView(client, C.Operator("citizen", "sim"))  # simulated arrivals; their clerks: the windows'
    sim = Simulation(citizens, arrivals_per_hour=arrivals_per_hour, seed=seed, kiosk=kiosk, on_screen={caller_window},
                     rated_elsewhere=keypad_windows(sections) if devices else set())
    seed_demo_cases(client, random.Random(seed))
    supervision = Supervision(client, speed=speed)
    supervision.start()
    demo = Demo(hall, store, client, kiosk, caller, board, dashboard, ev_screen, sim, supervisor, supervision)
    if show:
        tiles = demo_layout(app.primaryScreen().availableGeometry())
        for name, screen in (("kiosk", kiosk), ("board", board), ("dashboard", dashboard), ("caller", caller),
                             ("evaluator", ev_screen)):
            if screen is not None:
                screen.setGeometry(tiles[name])
                screen.show()
    return demo


def _period_end(config: HallConfig, at: datetime) -> datetime:
    """The end of the open period `at` falls in (or DEMO_OPEN_H later, if the hall is closed then)."""
    day = at.astimezone(config.tz).date()
    return next((e for s, e in open_periods(config, day) if s <= at < e), at + timedelta(hours=DEMO_OPEN_H))


def fresh_store(path: str | Path) -> None:
    """A new demo day: the demo's database and its WAL files go (each run starts clean rather than pile up)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def demo_app(scale: float | None = None) -> QApplication:
    """The demo's QApplication, drawn at `scale` (default DEMO_SCALE; QT_SCALE_FACTOR, if set, wins) and with the
    tablet's on-screen keyboard: both are chosen before the QApplication exists."""
    os.environ.setdefault("QT_SCALE_FACTOR", str(scale) if scale else DEMO_SCALE)
    use_touch_keyboard()
    return _app()


def run_demo(config_path: str | Path, db_path: str | Path, speed: float = 60.0, *, start: datetime | None = None,
             seed: int | None = None, caller_window: int = 1, evaluator: bool = True, devices: bool = True,
             arrivals_per_hour: float = 90.0, duration_s: float | None = None, scale: float | None = None,
             clean: bool = True) -> int:
    """Open the kiosk, a caller, the evaluator, the board and the dashboard on one desktop over the embedded store,
    with simulated citizens and clerks at the other windows; `speed` scales the hall clock (60 → an hour a minute)
    until the last hour of the open period.  `scale`: how large Qt draws (default DEMO_SCALE, so that the five
    screens at their real sizes fit one 1920×1080 monitor); `clean`: start from an empty database."""
    app = demo_app(scale)
    if clean:
        fresh_store(db_path)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    demo = build_demo(config_path, db_path, speed, start=start, seed=seed, caller_window=caller_window,
                      evaluator=evaluator, devices=devices, arrivals_per_hour=arrivals_per_hour)
    demo.simulation.start()
    if duration_s:
        QTimer.singleShot(int(duration_s * 1000), app.quit)
    try:
        return app.exec()
    finally:
        demo.close()


def build_role(role: str, client: HallClient, *, window: int | None = None, printer: Any = None,
               sync: Any = None, inputs: DeviceInputs | None = None, lang: str | None = None) -> QWidget:
    """`lang` (`hall run ROLE --lang`): the caller's and the dashboard's language, the evaluator's own (a citizen
    may choose another of the hall's for their turn), the board's language beside Chinese (else the board turns
    through all of [hall] languages); the kiosk offers the hall's languages on its buttons."""
    if role == "kiosk":
        return KioskScreen(client, printer=printer, inputs=inputs)
    if role == "caller":
        return CallerScreen(client, window or client.config.windows[0].number, inputs=inputs, lang=lang or "zh")
    if role == "evaluator":
        return EvaluatorScreen(client, window or client.config.windows[0].number, lang=lang or "zh")
    if role == "board":
        return BoardScreen(client, languages=[lang] if lang else None)
    if role == "dashboard":
        return DashboardScreen(client, sync=sync, lang=lang or "zh")
    raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


@dataclass
class RoleRun:
    """One role's screen and what it runs on, until `close()`."""

    screen: QWidget
    client: HallClient
    hall: Any
    store: Store | None
    supervisor: Any = None

    def close(self) -> None:
        stop_devices(self.supervisor)
        self.client.close()
        if self.store is not None:
            self.store.close()
        else:
            self.hall.close()


def open_role(role: str, config_path: str | Path, db_path: str | Path, *, window: int | None = None,
              devices: bool | None = None, sync: Any = None, clock: Callable[[], datetime] | None = None,
              lan: str | Path | None = None, lang: str | None = None) -> RoleRun:
    """Build one role's screen (a QApplication must exist): on the hall's own store — its HallClient follows the
    store's event log, so it sees what the other role processes and `hall run server` commit — or, with `lan`,
    as a LAN client.  See `run_role` for the devices."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    store: Store | None = None
    if lan is not None:
        from sync.lan import RemoteHall

        # short RPC timeouts: during an outage the screen says so quickly instead of freezing
        hall: Any = RemoteHall.from_file(str(lan), rpc_timeout=2.0, attempts=2)
        config = hall.config
    else:
        config = load(config_path)
        store = Store(Path(db_path))
        hall = Hall(config, store, clock=clock or (lambda: datetime.now(UTC)))
    if lan is not None:  # a screen PC drives only the devices that name it as their host
        sections = {n: s for n, s in config.devices.items() if s.get("host") == hall.client_id}
    elif devices is None:
        own = window or config.windows[0].number
        sections = {n: s for n, s in config.devices.items() if screen_drives(s, role, own)}
    else:
        sections = config.devices if devices else {}
    supervisor = start_devices(hall, sections) if sections else None
    client = HallClient(hall, operator=screen_operator(role, window or config.windows[0].number))
    inputs = screen_inputs(supervisor, role, window or config.windows[0].number)
    screen = build_role(role, client, window=window, printer=_printer(supervisor), sync=sync, inputs=inputs,
                        lang=lang)
    return RoleRun(screen, client, hall, store, supervisor)


def run_role(role: str, config_path: str | Path, db_path: str | Path, *, window: int | None = None,
             fullscreen: bool = False, devices: bool | None = None, sync: Any = None,
             clock: Callable[[], datetime] | None = None, lan: str | Path | None = None,
             lang: str | None = None) -> int:
    """One screen in this process: on the hall's own store, or — with `lan` (a client file: hall_id, client_id,
    [lan]) — as a LAN client of `hall run server` through the hall broker (sync/lan.py RemoteHall).

    Devices are the hall server's job; by default a kiosk drives only its own printers, ID card readers and
    scanners, and a caller its window's badge scanner (`screen_drives`), so that two role processes never drive
    the same device (devices=True starts every configured device here).  The evaluator types its comment on Qt
    Virtual Keyboard, chosen here before the QApplication exists."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == "evaluator":
        use_touch_keyboard()
    app = _app()
    run = open_role(role, config_path, db_path, window=window, devices=devices, sync=sync, clock=clock, lan=lan,
                    lang=lang)
    if fullscreen:
        run.screen.showFullScreen()
    else:
        w, h = (1080, 1920) if role == "kiosk" else (800, 480) if role == "evaluator" else (1920, 1080)
        run.screen.resize(w, h)
        run.screen.show()
    try:
        return app.exec()
    finally:
        run.close()
