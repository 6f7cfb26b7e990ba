"""Desktop entry points: `run_demo` (all screens plus a simulated day on a scaled clock, with 办件 whose deadlines
fall during the day) and `run_role`."""
from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

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
from kiosk.ui.client import HallClient
from kiosk.ui.compat import guard_singleton_refcounts
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.evaluator import EvaluatorScreen
from kiosk.ui.fonts import setup_fonts
from kiosk.ui.inputs import DeviceInputs
from kiosk.ui.kiosk import KioskScreen

log = logging.getLogger(__name__)

ROLES = ("kiosk", "caller", "board", "dashboard", "evaluator")
CLERKS = ["王晓明", "李娜", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏", "周杰", "吴霞"]
# Demo citizens' ratings: mostly good, a few bad ones so the dashboard has something to show.
RATING_WEIGHTS = (55, 30, 9, 4, 2)
DEMO_APPLICANTS = ["张建华", "李秀英", "王志强", "刘桂兰", "陈国平", "杨丽娟", "赵德明", "黄淑珍", "周永刚", "吴海燕"]
CASE_PASS_S = 60.0  # the evaluate pass runs once a minute of hall time (and at once after a 差评)


# =====================================================================================================================
# clocks
# =====================================================================================================================
def scaled_clock(start: datetime, speed: float) -> Callable[[], datetime]:
    """Hall time that runs `speed` times faster than the wall, from `start` (a day in minutes at speed ≥ 60)."""
    m0 = time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - m0) * speed)


def demo_start(config: HallConfig, now: datetime | None = None, calendar: WorkCalendar | None = None) -> datetime:
    """Now, if the hall is open now; otherwise 08:30 local on the next working day (or today, if still ahead)."""
    cal = calendar or config.work_calendar()
    tz = config.tz
    local = (now or datetime.now(UTC)).astimezone(tz)
    first = min(s for b in config.businesses for s, _e in b.intervals())
    last = max(e for b in config.businesses for _s, e in b.intervals())
    if cal.is_working_day(local.date()) and first <= local.time() < last:
        return local.astimezone(UTC)
    return opening(config, cal, local.date() if local.time() < first else local.date() + timedelta(days=1))


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

    Runs on a QTimer in the Qt thread and goes through the HallClient like a screen does.  A window that has an
    EvaluatorScreen is rated by tapping its faces, so the tablet is seen working."""

    def __init__(self, client: HallClient, *, arrivals_per_hour: float = 90.0, seed: int | None = None,
                 evaluators: dict[int, EvaluatorScreen] | None = None, kiosk: KioskScreen | None = None,
                 rated_elsewhere: set[int] | None = None, tick_ms: int = 200, case_share: float = 0.3,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.rng = random.Random(seed)
        self.rate = arrivals_per_hour
        self.evaluators = evaluators or {}
        self.rated_elsewhere = (rated_elsewhere or set()) - set(self.evaluators)  # keypad sims rate these
        self.kiosk = kiosk
        now = client.now()
        self.last = now
        self.clerks = {w.number: _Clerk(w.number, CLERKS[i % len(CLERKS)], now + timedelta(seconds=5 * i))
                       for i, w in enumerate(client.config.windows)}
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
        screen = self.evaluators.get(c.window)
        if screen is not None and screen.ticket is not None and screen.ticket["id"] == tid:
            screen.choose(level)  # the tablet records it, exactly as a citizen's tap does
            if level.is_bad:
                self.rng.choice(screen.reason_buttons).setChecked(True)
                screen.submit_reason()
            return
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


def build_demo(config_path: str | Path, db_path: str | Path, speed: float = 60.0, *, start: datetime | None = None,
               seed: int | None = None, caller_window: int = 1, evaluator: bool = True, devices: bool = True,
               device_sections: dict[str, dict[str, Any]] | None = None, arrivals_per_hour: float = 90.0,
               show: bool = True) -> Demo:
    """Everything `run_demo` shows, without entering the event loop (tests and the benchmark use this).

    Devices: `device_sections` if given, else the config's [devices.*], else a simulated printer and LED."""
    app = _app()
    config = load(config_path)
    begin = start or demo_start(config)
    store = Store(Path(db_path))
    hall = Hall(config, store, clock=scaled_clock(begin, speed))
    sections = device_sections if device_sections is not None else (config.devices or DEFAULT_DEMO_DEVICES)
    supervisor = start_devices(hall, sections) if devices else None
    client = HallClient(hall, heartbeat_s=5.0)
    kiosk = KioskScreen(client, printer=_printer(supervisor), inputs=screen_inputs(supervisor, "kiosk"))
    caller = CallerScreen(client, caller_window, inputs=screen_inputs(supervisor, "caller", caller_window))
    board = BoardScreen(client)
    dashboard = DashboardScreen(client)
    ev_screen = EvaluatorScreen(client, caller_window, timeout_s=max(5.0, 60.0 / max(speed, 1.0) * 10)) \
        if evaluator else None
    sim = Simulation(client, arrivals_per_hour=arrivals_per_hour, seed=seed,
                     evaluators={caller_window: ev_screen} if ev_screen else {}, kiosk=kiosk,
                     rated_elsewhere=keypad_windows(sections) if devices else set())
    seed_demo_cases(client, random.Random(seed))
    supervision = Supervision(client, speed=speed)
    supervision.start()
    demo = Demo(hall, store, client, kiosk, caller, board, dashboard, ev_screen, sim, supervisor, supervision)
    if show:
        screen = app.primaryScreen().availableGeometry()
        kiosk.resize(min(620, screen.width() // 3), min(1040, screen.height() - 40))
        kiosk.move(screen.left(), screen.top())
        board.resize(960, 540)
        board.move(screen.left() + kiosk.width() + 10, screen.top())
        dashboard.resize(1280, 760)
        dashboard.move(screen.left() + kiosk.width() + 10, screen.top() + 580)
        caller.resize(900, 700)
        caller.move(screen.right() - 900, screen.top())
        if ev_screen is not None:
            ev_screen.resize(800, 480)
            ev_screen.move(screen.right() - 800, screen.top() + 740)
        for s in demo.screens:
            s.show()
    return demo


def run_demo(config_path: str | Path, db_path: str | Path, speed: float = 60.0, *, start: datetime | None = None,
             seed: int | None = None, caller_window: int = 1, evaluator: bool = True, devices: bool = True,
             arrivals_per_hour: float = 90.0, duration_s: float | None = None) -> int:
    """Open the kiosk, a caller, the evaluator, the board and the dashboard on one desktop over the embedded store,
    with simulated citizens and clerks; `speed` scales the hall clock (60 → an hour a minute)."""
    app = _app()
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
               sync: Any = None, inputs: DeviceInputs | None = None) -> QWidget:
    if role == "kiosk":
        return KioskScreen(client, printer=printer, inputs=inputs)
    if role == "caller":
        return CallerScreen(client, window or client.config.windows[0].number, inputs=inputs)
    if role == "evaluator":
        return EvaluatorScreen(client, window or client.config.windows[0].number)
    if role == "board":
        return BoardScreen(client)
    if role == "dashboard":
        return DashboardScreen(client, sync=sync)
    raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def run_role(role: str, config_path: str | Path, db_path: str | Path, *, window: int | None = None,
             fullscreen: bool = False, devices: bool | None = None, sync: Any = None,
             clock: Callable[[], datetime] | None = None, lan: str | Path | None = None) -> int:
    """One screen in this process: on the hall's own store, or — with `lan` (a client file: hall_id, client_id,
    [lan]) — as a LAN client of `hall run server` through the hall broker (sync/lan.py RemoteHall).

    Devices are the hall server's job; by default a kiosk drives only its own printers, ID card readers and
    scanners, and a caller its window's badge scanner (`screen_drives`), so that two role processes never drive
    the same device (devices=True starts every configured device here)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    app = _app()
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
    client = HallClient(hall)
    inputs = screen_inputs(supervisor, role, window or config.windows[0].number)
    screen = build_role(role, client, window=window, printer=_printer(supervisor), sync=sync, inputs=inputs)
    if fullscreen:
        screen.showFullScreen()
    else:
        screen.resize(1080, 1920) if role == "kiosk" else screen.resize(1920, 1080)
        screen.show()
    try:
        return app.exec()
    finally:
        stop_devices(supervisor)
        client.close()
        if store is not None:
            store.close()
        else:
            hall.close()
