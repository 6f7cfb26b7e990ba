"""A simulated hall day without Qt: citizens arrive, clerks call, serve and ask for ratings, on a clock we move."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kiosk.calls import current_calls
from kiosk.core import errors as E
from kiosk.core.calendar import WorkCalendar
from kiosk.core.config import HallConfig
from kiosk.core.hall import Hall
from kiosk.core.privacy import check_digit
from kiosk.core.rating import Channel, Level

# Mean service minutes per business kind (rough figures from county halls) and the rating mix citizens give.
SERVICE_MINUTES = {"social": 6, "housing": 14, "market": 12, "tax": 8, "residence": 7, "fund": 6}
RATING_MIX = [(Level.VERY_SATISFIED, 0.62), (Level.SATISFIED, 0.27), (Level.BASIC, 0.07),
              (Level.DISSATISFIED, 0.03), (Level.VERY_DISSATISFIED, 0.01)]
BAD_REASONS = ["等候时间太长", "工作人员态度不好", "一次告知不清楚", "材料要求反复"]
# why the kiosk refused a simulated citizen, by the refusal's stable key (kiosk.core.errors), for the printed summary
REFUSAL_NAMES = {
    "outside_ticket_hours": "不在取号时间", "not_working_day": "非工作日", "not_business_day": "该业务当天不办理",
    "daily_cap_reached": "当日号已取完", "business_closed": "暂停取号", "no_open_window": "办理窗口都已暂停服务",
    "duplicate_open_ticket": "已有未办完的号", "id_required": "需要身份证", "invalid_id_number": "身份证号不正确",
    "green_channel_unavailable": "没有开通绿色通道",
}


def refusal_name(key: str) -> str:
    return REFUSAL_NAMES.get(key, "其他原因")


class SimClock:
    """A clock the simulation moves; the Hall reads it like any other clock."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@dataclass
class _Clerk:
    window: int
    state: str = "idle"  # idle | walking | serving
    until: datetime | None = None
    business: str = ""
    recalls: int = 0
    shows_up: bool = True


@dataclass
class DayStats:
    issued: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    rated: int = 0


class DaySimulator:
    """Drives a Hall through a working day.  `step()` advances the clock by `dt` seconds."""

    def __init__(self, hall: Hall, clock: SimClock, *, seed: int = 7, arrivals_per_hour: float = 60.0) -> None:
        self.hall, self.clock = hall, clock
        self.rng = random.Random(seed)
        self.rate_per_s = arrivals_per_hour / 3600.0
        self.stats = DayStats()
        self.clerks = [_Clerk(w.number) for w in hall.config.windows]
        names = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周涛", "吴霞"]
        for i, w in enumerate(hall.config.windows):
            hall.sign_in(w.number, f"c{w.number:02d}", names[i % len(names)])

    def step(self, dt: float = 10.0) -> None:
        self.clock.advance(dt)
        self.hall.tick()
        # arrivals: Poisson with the given hourly rate, spread over businesses
        n = _poisson(self.rng, self.rate_per_s * dt)
        for _ in range(n):
            self._arrive()
        for c in self.clerks:
            self._clerk(c)

    def run_until(self, end: datetime, dt: float = 10.0, on_tick: Any = None, every: float = 3600.0) -> None:
        next_report = self.clock() + timedelta(seconds=every)
        while self.clock() < end:
            self.step(dt)
            if on_tick and self.clock() >= next_report:
                on_tick()
                next_report += timedelta(seconds=every)

    def _arrive(self) -> None:
        b = self.rng.choice(self.hall.config.businesses)
        kw: dict[str, Any] = {}
        if b.id_required:
            kw["id_number"] = random_id_number(self.rng)
        if b.green_channel and self.rng.random() < 0.06:
            kw["priority"] = "green"
        try:
            self.hall.issue_ticket(b.code, **kw)
            self.stats.issued += 1
        except E.HallError as exc:
            self.stats.refused[exc.key] = self.stats.refused.get(exc.key, 0) + 1

    def _clerk(self, c: _Clerk) -> None:
        now = self.clock()
        if c.until and now < c.until:
            return
        try:
            if c.state == "idle":
                t = self.hall.call_next(c.window).value
                c.state, c.business, c.recalls = "walking", t["business"], 0
                c.shows_up = self.rng.random() > 0.04
                c.until = now + timedelta(seconds=self.rng.uniform(20, 70))
            elif c.state == "walking":
                if not c.shows_up:  # nobody came: recall twice, then 过号
                    if c.recalls < 2:
                        self.hall.recall(c.window)
                        c.recalls += 1
                        c.until = now + timedelta(seconds=30)
                        return
                    self.hall.no_show(c.window)
                    c.state, c.until = "idle", None
                    return
                self.hall.start_service(c.window)
                mean = SERVICE_MINUTES.get(c.business, 8) * 60
                c.state, c.until = "serving", now + timedelta(seconds=self.rng.expovariate(1 / mean) + 60)
            elif c.state == "serving":
                t = self.hall.finish_service(c.window).value
                self.hall.request_rating(c.window)
                self._rate(t["id"])
                c.state, c.until = "idle", now + timedelta(seconds=self.rng.uniform(5, 30))
        except (E.QueueEmpty, E.WindowPaused):
            c.until = now + timedelta(seconds=30)
        except E.HallError:
            c.state, c.until = "idle", now + timedelta(seconds=30)

    def _rate(self, ticket_id: str) -> None:
        if self.rng.random() < 0.12:
            self.hall.mark_unrated(ticket_id)
            return
        x, acc = self.rng.random(), 0.0
        level = Level.SATISFIED
        for lv, p in RATING_MIX:
            acc += p
            if x <= acc:
                level = lv
                break
        reason = self.rng.choice(BAD_REASONS) if level.is_bad and self.rng.random() < 0.7 else None
        self.hall.rate(ticket_id, level, channel=Channel.EVALUATOR, reason=reason)
        self.stats.rated += 1


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, 1.0, pow(2.718281828459045, -lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def random_id_number(rng: random.Random) -> str:
    """A checksum-valid, fictitious 18-digit ID for simulated citizens of businesses that require one."""
    body = f"510104{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + check_digit(body)


def opening(config: HallConfig, calendar: WorkCalendar, day: date) -> datetime:
    """When the first ticket hours start on the first working day from `day`, as UTC."""
    first = min(s for b in config.businesses for s, _e in b.intervals())
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, first, config.tz).astimezone(UTC)


def local_start(hall: Hall, day: datetime | None = None) -> datetime:
    """The opening of the hall's working day that `day` (default now) falls on, or of the next one, as UTC."""
    return opening(hall.config, hall.calendar, (day or datetime.now(UTC)).astimezone(hall.config.tz).date())


def board_text(hall: Hall) -> str:
    """The hall board as text: the numbers called now (as the board screen shows them), waiting per business,
    window states."""
    now = hall.now().astimezone(hall.config.tz)
    lines = [f"━━ {hall.config.name}  {now:%Y-%m-%d %H:%M} ━━"]
    calls = [c for c in current_calls(hall.windows()) if c["status"] == "called"][:6]
    lines.append("正在叫号: " + ("  ".join(f"{c['number']}→{c['window_name']}" for c in calls) or "（暂无）"))
    lines.append("等候人数: " + "  ".join(f"{w['name']} {w['waiting']}" for w in hall.waiting_counts()))
    states = {"idle": "空闲", "calling": "叫号中", "serving": "办理中", "paused": "暂停"}
    cells = []
    for w in hall.windows():
        cur = f"({w['current']['number']})" if w["current"] else ""
        cells.append(f"{w['number']}:{states.get(w['state'], w['state'])}{cur}")
    lines.append("窗口状态: " + "  ".join(cells))
    return "\n".join(lines)


def figures_text(hall: Hall) -> str:
    c = hall.counts()
    total = c.get("_total", {})
    names = {b.code: b.name for b in hall.config.businesses}
    lines = [f"== 今日统计 {hall.today()} ==",
             f"取号 {total.get('issued', 0)}  办结 {total.get('done', 0)}  过号 {total.get('no_show', 0)}  "
             f"等候 {total.get('waiting', 0)}"]
    for t in hall.times("business"):
        lines.append(f"  {names.get(t['business'], t['business'])}: 办结 {t['served']}  平均等候 "
                     f"{t['avg_wait_s'] / 60:.1f} 分钟  平均办理 {t['avg_service_s'] / 60:.1f} 分钟")
    clerks = {w["clerk_id"]: w["clerk_name"] for w in hall.windows()}
    for t in hall.times("clerk"):
        name = clerks.get(t["clerk"], t["clerk"])
        lines.append(f"  工作人员 {name}: 办结 {t['served']}  平均办理 {t['avg_service_s'] / 60:.1f} 分钟")
    s = hall.rating_summary()
    labels = {lv.value: lv.label for lv in Level}
    dist = "  ".join(f"{labels[k]} {v}" for k, v in s["distribution"].items())
    rate = f"{s['satisfaction_rate'] * 100:.1f}%" if s["satisfaction_rate"] is not None else "—"
    lines.append(f"好差评: {dist}  未评价 {s['unrated']}  满意率 {rate}  差评待补原因 {s['reason_pending']}")
    return "\n".join(lines)
