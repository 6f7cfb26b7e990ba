"""The hall's report (`hall report`, the dashboard's 报表 page): one Report of a date range grouped by business, window,
clerk or day, with a hall total — tickets issued, served, no-show and transferred; wait and service time as mean,
p50 and p90; 满意率 of queue ratings and of case ratings; 按时/提前/现场办结率; pause and idle time; 差评 and 整改.

Sources: the tickets, ratings, rectifications and cases tables by their date indexes, and the window events of the
log in order (transfers, sign-in, pause, calls) for what no table keeps.  Definitions: REPORT_NOTES."""
from __future__ import annotations

import bisect
import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import msgspec

from kiosk.core import events as ev
from kiosk.core.config import HallConfig
from kiosk.core.errors import HallError
from kiosk.core.figures import GOOD_LEVELS, compute_figures
from kiosk.store import first_seq_from

BY_CHOICES: tuple[str, ...] = ("business", "window", "clerk", "day")
BY_LABELS = {"business": "业务", "window": "窗口", "clerk": "工作人员", "day": "日期"}
PERCENTILE_RULE = "最近秩法：n 个值从小到大排列，第 p 百分位数是第 ⌈p × n / 100⌉ 个值"
WEEKDAYS = "一二三四五六日"
BAD_LEVELS = ("dissatisfied", "very_dissatisfied")
HIST_BIN_S = 300  # the wait distribution in 5-minute bins
HIST_LAST_S = 3600  # …and one bin for an hour or more
WINDOW_KINDS = (ev.WINDOW_SIGNED_IN, ev.WINDOW_SIGNED_OUT, ev.WINDOW_PAUSED, ev.WINDOW_RESUMED)
# the events that change who sits at a window, whether it is paused and whether it has a citizen
WALK_KINDS = (*WINDOW_KINDS, ev.TICKET_CALLED, ev.TICKET_RESUMED, ev.SERVICE_FINISHED, ev.TICKET_NO_SHOW,
              ev.TICKET_TRANSFERRED, ev.TICKET_HELD, ev.TICKET_VOIDED, ev.DAY_CLOSED)
_decode = msgspec.json.Decoder().decode


# --- typed figures -------------------------------------------------------------------------------------------------
def nearest_rank(ordered: Sequence[float], p: float) -> float | None:
    """The p-th percentile of values sorted ascending, by nearest rank (no interpolation: always a real value)."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1]


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds of one kind (wait or service) of a group's served tickets."""

    n: int = 0
    mean_s: float | None = None
    p50_s: float | None = None
    p90_s: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> Durations:
        v = sorted(values)
        if not v:
            return cls()
        return cls(len(v), sum(v) / len(v), nearest_rank(v, 50), nearest_rank(v, 90))


def _rate(n: int, d: int) -> float | None:
    return n / d if d else None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group's figures (or the hall's, `key` None and `total` set).  A count that does not belong to the kind
    of group is None: a ticket is taken for a business, not at a window; a window, not a business, pauses."""

    key: str | int | None
    label: str
    issued: int | None = 0
    served: int = 0
    no_show: int = 0
    transferred: int = 0
    wait: Durations = Durations()
    service: Durations = Durations()
    rated: int = 0  # queue ratings (一次一评) given
    satisfied: int = 0  # of them 非常满意, 满意 or 基本满意
    unrated: int = 0
    unrated_counted: int = 0  # unrated services counted as 满意 by the region's policy
    bad: int = 0  # 差评: 不满意, 非常不满意
    rectify_opened: int = 0  # 整改 items of those 差评
    rectify_closed: int = 0
    cases_done: int = 0  # 办件 concluded (办结) in the range
    cases_timed: int = 0  # …that had a deadline
    on_time: int = 0
    early: int = 0
    on_spot: int = 0
    case_rated: int = 0  # ratings of cases (一事一评)
    case_satisfied: int = 0
    pause_s: float | None = 0.0
    idle_s: float | None = 0.0
    total: bool = False

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 of queue ratings, with the unrated counted as 满意 only where the policy says so."""
        return _rate(self.satisfied + self.unrated_counted, self.rated + self.unrated_counted)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.cases_timed)

    @property
    def early_rate(self) -> float | None:
        return _rate(self.early, self.cases_timed)

    @property
    def on_spot_rate(self) -> float | None:
        return _rate(self.on_spot, self.cases_done)

    @property
    def case_satisfaction_rate(self) -> float | None:
        return _rate(self.case_satisfied, self.case_rated)


@dataclass(frozen=True, slots=True)
class HourRow:
    """Tickets by the local hour they were taken: when citizens arrive and how long they then waited."""

    hour: int
    issued: int
    wait: Durations


@dataclass(frozen=True, slots=True)
class WaitBin:
    lo_s: int
    hi_s: int | None  # None: and longer
    count: int

    @property
    def label(self) -> str:
        lo = self.lo_s // 60
        return f"≥{lo}" if self.hi_s is None else f"{lo}–{self.hi_s // 60}"


@dataclass(frozen=True, slots=True)
class Report:
    hall_name: str
    hall_id: str
    day_from: date
    day_to: date
    by: str
    generated_at: datetime  # the hall's local time
    rows: list[ReportRow]
    total: ReportRow
    hours: list[HourRow]
    wait_bins: list[WaitBin]
    windows: list[ReportRow]  # every window's row whatever the grouping: the 满意率 chart draws it
    policy_days: int  # unrated counted as 满意 after this many days; 0 = never

    @property
    def by_label(self) -> str:
        return BY_LABELS[self.by]

    @property
    def title(self) -> str:
        return f"{self.hall_name} 运行报表"

    @property
    def span(self) -> str:
        return (f"{self.day_from}" if self.day_from == self.day_to else f"{self.day_from} 至 {self.day_to}")

    @property
    def policy_note(self) -> str:
        t = self.total
        if self.policy_days:
            return (f"未评价 {t.unrated} 次：按本地规定，未评价超过 {self.policy_days} 天的按满意计入满意率"
                    f"（本期 {t.unrated_counted} 次），其余不计入")
        return f"未评价 {t.unrated} 次，不计入满意率（未设置未评价按满意计的规定）"

    # --- as plain data (a LAN dashboard's report is computed on the hall server: sync/lan.py report.build) -----------
    def to_builtins(self) -> dict[str, Any]:
        """JSON-ready: dates and datetimes as ISO text; each row as the list of its values in `row_fields` order
        (Durations as [n, mean_s, p50_s, p90_s]), so a year by day fits a LAN reply where named fields would not."""
        return {"hall_name": self.hall_name, "hall_id": self.hall_id, "day_from": self.day_from.isoformat(),
                "day_to": self.day_to.isoformat(), "by": self.by, "generated_at": self.generated_at.isoformat(),
                "policy_days": self.policy_days, "row_fields": list(ROW_FIELDS),
                "rows": [_row_values(r) for r in self.rows], "total": _row_values(self.total),
                "windows": [_row_values(r) for r in self.windows],
                "hours": [[h.hour, h.issued, _durations_values(h.wait)] for h in self.hours],
                "wait_bins": [[b.lo_s, b.hi_s, b.count] for b in self.wait_bins]}

    @classmethod
    def from_builtins(cls, d: Any) -> Report:
        """The Report `to_builtins` gave, typed and checked; anything else raises ReportDataError.  Rows are read by
        the sender's `row_fields`: a field it adds is ignored, one it lacks takes its default."""
        try:
            names = _items(_get(d, "row_fields"), "row_fields")
            if not all(isinstance(n, str) for n in names):
                raise ValueError("row_fields: not all names")

            def row(v: Any, where: str) -> dict[str, Any]:
                values = _items(v, where)
                if len(values) != len(names):
                    raise ValueError(f"{where}: {len(values)} values for {len(names)} row_fields")
                out = dict(zip(names, values, strict=True))
                for k in ("wait", "service"):
                    if k in out:
                        out[k] = _durations_named(out[k], f"{where}.{k}")
                return out

            named = {k: _get(d, k) for k in ("hall_name", "hall_id", "day_from", "day_to", "by", "generated_at",
                                               "policy_days")}
            named["rows"] = [row(v, f"rows[{i}]") for i, v in enumerate(_items(_get(d, "rows"), "rows"))]
            named["total"] = row(_get(d, "total"), "total")
            named["windows"] = [row(v, f"windows[{i}]") for i, v in enumerate(_items(_get(d, "windows"), "windows"))]
            named["hours"] = [{"hour": h, "issued": n, "wait": _durations_named(w, f"hours[{i}]")}
                              for i, (h, n, w) in enumerate(_triples(_get(d, "hours"), "hours"))]
            named["wait_bins"] = [{"lo_s": lo, "hi_s": hi, "count": n}
                                  for lo, hi, n in _triples(_get(d, "wait_bins"), "wait_bins")]
            report = msgspec.convert(named, cls)
        except (msgspec.ValidationError, ValueError) as e:
            raise ReportDataError(detail=str(e)[:300]) from None
        if report.by not in BY_CHOICES:
            raise ReportDataError(detail=f"by: {report.by[:40]!r} is not one of {', '.join(BY_CHOICES)}")
        return report


class ReportDataError(HallError):
    """A report's plain data (from the hall server) that is not a Report: said, never a crash."""

    key = "report_bad_data"
    template = "报表数据不正确，无法显示：{detail}"


ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ReportRow))
_DURATION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Durations))


def _durations_values(d: Durations) -> list[Any]:
    return [d.n, d.mean_s, d.p50_s, d.p90_s]


def _row_values(r: ReportRow) -> list[Any]:
    return [_durations_values(v) if isinstance(v, Durations) else v for v in (getattr(r, n) for n in ROW_FIELDS)]


def _get(d: Any, key: str) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"expected an object, got {type(d).__name__}")
    if key not in d:
        raise ValueError(f"missing {key}")
    return d[key]


def _items(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise ValueError(f"{where}: expected a list, got {type(v).__name__}")
    return v


def _triples(v: Any, where: str) -> list[list[Any]]:
    out = _items(v, where)
    for i, x in enumerate(out):
        if not isinstance(x, list) or len(x) != 3:
            raise ValueError(f"{where}[{i}]: expected 3 values")
    return out


def _durations_named(v: Any, where: str) -> dict[str, Any]:
    values = _items(v, where)
    if len(values) != len(_DURATION_FIELDS):
        raise ValueError(f"{where}: expected {len(_DURATION_FIELDS)} values")
    return dict(zip(_DURATION_FIELDS, values, strict=True))


def report_notes(policy_days: int) -> list[str]:
    """What each figure counts, said once for the PDF, the XLSX and the dashboard."""
    unrated = (f"未评价的服务超过 {policy_days} 天按满意计，计入分子和分母" if policy_days else
               "未评价的服务不计入")
    return [
        "取号数：所选日期内取的号（含预约签到）；按业务分组时计入取号时的业务，窗口和工作人员不分取号数。",
        "办结数、过号数：所选日期取的号中已办结、被过号的；转出数：从该窗口（业务、工作人员）转出的次数。",
        "等候时长：取号到首次叫号；办理时长：开始办理（未开始则叫号）到办结；均按已办结的号计。",
        f"P50、P90：{PERCENTILE_RULE}。",
        f"满意率（窗口评价，一次一评）：（非常满意＋满意＋基本满意）÷ 评价数；{unrated}。",
        "差评：不满意、非常不满意；整改件数、整改办结数：这些差评的整改事项及其中已办结的。",
        "按时办结率：期限前办结 ÷ 有期限的办结件；提前办结率：提前一个工作日以上办结 ÷ 同一分母；"
        "现场办结率：即办件受理当天办结 ÷ 办结件数；办件满意率：好评 ÷ 办件评价数（一事一评）。",
        "暂停时长：工作人员签到且窗口暂停；空闲时长：签到、未暂停、窗口没有叫号或办理中的号；"
        "只计窗口所办业务的取号时段（午休、下班后不计）。",
    ]


# --- building --------------------------------------------------------------------------------------------------------
@dataclass
class _Acc:
    """A group's running counts while the sources are read."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    transferred: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    rated: int = 0
    satisfied: int = 0
    unrated: int = 0
    unrated_counted: int = 0
    bad: int = 0
    rectify_opened: int = 0
    rectify_closed: int = 0
    cases: dict[str, Any] = field(default_factory=dict)
    pause_s: float = 0.0
    idle_s: float = 0.0


class _Groups:
    """Accumulators by group key, plus the hall's."""

    def __init__(self) -> None:
        self.by: dict[Any, _Acc] = {}
        self.hall = _Acc()

    def __call__(self, key: Any) -> _Acc:
        acc = self.by.get(key)
        if acc is None:
            acc = self.by[key] = _Acc()
        return acc

    def both(self, key: Any, attributed: bool = True) -> Iterator[_Acc]:
        """The hall's accumulator, and the group's when the figure belongs to this kind of group."""
        yield self.hall
        if attributed:
            yield self(key)


def build_report(conn: sqlite3.Connection, config: HallConfig, day_from: date, day_to: date, by: str,
                 now: datetime) -> Report:
    """The report of local dates day_from..day_to inclusive, grouped `by` one of BY_CHOICES; `now` (the hall's clock)
    ends today's pause and idle time and dates the unrated policy."""
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if day_to < day_from:
        raise ValueError(f"the range ends ({day_to}) before it starts ({day_from})")
    tz = config.tz
    d1, d2 = day_from.isoformat(), day_to.isoformat()
    groups, windows = _Groups(), _Groups()
    hours: dict[int, _Acc] = {}  # local hour taken → tickets issued then and their waits
    _tickets(conn, config, d1, d2, by, groups, hours)
    names = {b.code: b.name for b in config.businesses}
    clerk_names = _walk(conn, config, day_from, day_to, by, now, groups, windows)
    policy = config.rules.unrated_as_satisfied_days
    cutoff = (now.astimezone(tz).date() - timedelta(days=policy)).isoformat() if policy else ""
    _ratings(conn, d1, d2, by, cutoff, groups, windows)
    _cases(conn, d1, d2, by, groups)
    waits = sorted(groups.hall.waits)
    rows = [_row(k, _label(by, k, config, names, clerk_names), a, by) for k, a in _ordered(by, groups.by, config)]
    wrows = [_row(k, _label("window", k, config, names, clerk_names), a, "window")
             for k, a in _ordered("window", windows.by, config)]
    return Report(
        hall_name=config.name, hall_id=config.hall_id, day_from=day_from, day_to=day_to, by=by,
        generated_at=now.astimezone(tz), rows=rows, total=_row(None, "全厅合计", groups.hall, "hall", total=True),
        hours=[HourRow(h, a.issued, Durations.of(a.waits)) for h, a in sorted(hours.items())],
        wait_bins=_bins(waits), windows=wrows, policy_days=policy)


def report_for(hall: Any, day_from: date, day_to: date, by: str) -> Report:
    """The report from a running Hall (its store, configuration and clock)."""
    return build_report(hall.store.conn(), hall.config, day_from, day_to, by, hall.clock())


def _tickets(conn: sqlite3.Connection, config: HallConfig, d1: str, d2: str, by: str, groups: _Groups,
             hours: dict[int, _Acc]) -> None:
    """Issued, served, no-show, wait and service time, by the tickets table (its (local_date, …) index)."""
    tz = config.tz
    by_prefix = {b.prefix: b.code for b in config.businesses}  # a transferred ticket keeps the prefix it was taken with
    col = {"business": "business", "window": "window", "clerk": "clerk_id", "day": "local_date"}[by]
    for r in conn.execute(
        "SELECT business, prefix, status, window, clerk_id, local_date, issued_at, first_called_at, "
        "COALESCE(started_at, called_at) AS began, finished_at FROM tickets WHERE local_date BETWEEN ? AND ?",
        (d1, d2),
    ):
        issued = datetime.fromisoformat(r["issued_at"])
        taken_for = by_prefix.get(r["prefix"], r["business"])
        key = {"business": taken_for, "day": r["local_date"]}.get(by)
        for acc in groups.both(key, attributed=by in ("business", "day")):
            acc.issued += 1
        hour = hours.setdefault(issued.astimezone(tz).hour, _Acc())
        hour.issued += 1
        if r["status"] == "no_show":
            for acc in groups.both(r[col]):
                acc.no_show += 1
        if r["status"] != "done":
            continue
        wait = _secs(issued, r["first_called_at"])
        service = _secs(datetime.fromisoformat(r["began"]), r["finished_at"]) if r["began"] else None
        for acc in groups.both(r[col]):
            acc.served += 1
            if wait is not None:
                acc.waits.append(wait)
            if service is not None:
                acc.services.append(service)
        if wait is not None:
            hour.waits.append(wait)


def _secs(a: datetime, b: str | None) -> float | None:
    return (datetime.fromisoformat(b) - a).total_seconds() if b else None


def _ratings(conn: sqlite3.Connection, d1: str, d2: str, by: str, cutoff: str, groups: _Groups,
             windows: _Groups) -> None:
    """Queue ratings (一次一评), 差评 and their 整改 items, by the ratings' date index and the items' rating index."""
    col = {"business": "business", "window": "window", "clerk": "clerk_id", "day": "local_date"}[by]
    for r in conn.execute(
        "SELECT r.business, r.window, r.clerk_id, r.local_date, r.status, r.level, x.status AS item "
        "FROM ratings r LEFT JOIN rectifications x ON x.rating_id = r.id WHERE r.local_date BETWEEN ? AND ?",
        (d1, d2),
    ):
        for acc in (*groups.both(r[col]), windows(r["window"])):
            if r["status"] == "rated":
                acc.rated += 1
                acc.satisfied += r["level"] in GOOD_LEVELS
                acc.bad += r["level"] in BAD_LEVELS
            else:
                acc.unrated += 1
                acc.unrated_counted += bool(cutoff) and r["local_date"] <= cutoff
            acc.rectify_opened += r["item"] is not None
            acc.rectify_closed += r["item"] == "closed"


def _cases(conn: sqlite3.Connection, d1: str, d2: str, by: str, groups: _Groups) -> None:
    """按时/提前/现场办结率 and case 满意率 as the case figures count them (kiosk/core/figures.py)."""
    for row in compute_figures(conn, by, d1, d2):
        groups(row[by]).cases = row
    hall = compute_figures(conn, "hall", d1, d2)
    groups.hall.cases = hall[0] if hall else {}


# --- the window events: transfers, pause and idle time --------------------------------------------------------------
@dataclass
class _Desk:
    """One window as the log tells it."""

    since: datetime
    clerk: str | None = None
    paused: bool = False
    ticket: str | None = None


def _walk(conn: sqlite3.Connection, config: HallConfig, day_from: date, day_to: date, by: str, now: datetime,
          groups: _Groups, windows: _Groups) -> dict[str, str]:
    """Read the range's window events in order: transfers out (by window, its clerk then, the ticket's business
    before the move, the day), and each window's paused and idle seconds within its open hours.  Returns the
    clerks' names as they signed in."""
    tz = config.tz
    start = datetime.combine(day_from, time.min, tz)
    end = min(datetime.combine(day_to + timedelta(days=1), time.min, tz), now.astimezone(tz))
    lo, _ = first_seq_from(conn, day_from.isoformat())
    hi = first_seq_from(conn, (day_to + timedelta(days=1)).isoformat(), lo)[0] - 1
    names: dict[str, str] = {}
    desks = _desks_at(conn, config, lo, start, names)
    open_hours = {w.number: _open_hours(config, w.number, day_from, day_to, tz) for w in config.windows}
    business: dict[str, str] = {}  # ticket id → its business as last called (a transfer moves it)

    def close(n: int, at: datetime) -> None:
        d = desks.get(n)
        if d is None:
            return
        a, b = max(d.since, start), min(at, end)
        if d.clerk is not None and b > a:
            kind = "pause" if d.paused else "idle" if d.ticket is None else None
            if kind:
                for day, secs in _overlap(open_hours.get(n, []), a, b):
                    key = {"window": n, "clerk": d.clerk, "day": day.isoformat()}.get(by)
                    for acc in (*groups.both(key, attributed=by != "business"), windows(n)):
                        if kind == "pause":
                            acc.pause_s += secs
                        else:
                            acc.idle_s += secs
        d.since = max(d.since, at)

    if hi >= lo:
        marks = ",".join("?" * len(WALK_KINDS))
        for e in conn.execute(f"SELECT kind, at_utc, local_date, payload FROM events WHERE seq BETWEEN ? AND ? "
                              f"AND kind IN ({marks}) ORDER BY seq", (lo, hi, *WALK_KINDS)):
            kind, at, p = e["kind"], datetime.fromisoformat(e["at_utc"]), _decode(e["payload"])
            if kind == ev.DAY_CLOSED:
                for n, d in desks.items():
                    close(n, at)
                    d.ticket = None
                continue
            t = p.get("ticket") or {}
            n = p.get("from_window") if kind == ev.TICKET_TRANSFERRED else p.get("window")
            d = desks.get(n) if isinstance(n, int) else None
            if d is None:
                continue  # a window no longer configured
            if kind == ev.TICKET_VOIDED and d.ticket != t.get("id"):
                continue  # a held or waiting ticket voided: its window's citizen is another one
            close(n, at)
            if kind == ev.WINDOW_SIGNED_IN:
                d.clerk = p.get("clerk_id")
                names[str(d.clerk)] = str(p.get("clerk_name") or "")
            elif kind == ev.WINDOW_SIGNED_OUT:
                d.clerk = None
            elif kind in (ev.WINDOW_PAUSED, ev.WINDOW_RESUMED):
                d.paused = kind == ev.WINDOW_PAUSED
            elif kind in (ev.TICKET_CALLED, ev.TICKET_RESUMED):
                d.ticket = t.get("id")
                business[str(t.get("id"))] = str(t.get("business"))
            elif kind == ev.TICKET_TRANSFERRED:
                d.ticket = None
                was = business.get(str(t.get("id")), t.get("business"))
                key = {"window": n, "clerk": d.clerk, "business": was, "day": e["local_date"]}[by]
                for acc in (*groups.both(key), windows(n)):
                    acc.transferred += 1
            else:  # finished, no-show, held, voided: the window is free
                d.ticket = None
    for n in desks:
        close(n, end)
    return names


def _desks_at(conn: sqlite3.Connection, config: HallConfig, before_seq: int, start: datetime,
              names: dict[str, str]) -> dict[int, _Desk]:
    """Who was signed in at each window and whether it was paused when the range starts: the last such events
    before it, read backwards by the window events' own index (a clerk may stay signed in overnight)."""
    desks = {w.number: _Desk(start) for w in config.windows}
    todo_sign, todo_pause = set(desks), set(desks)
    kinds = ", ".join(f"'{k}'" for k in WINDOW_KINDS)  # literals, as the partial index says them
    for e in conn.execute(f"SELECT kind, payload FROM events WHERE kind IN ({kinds}) AND seq < ? ORDER BY seq DESC",
                          (before_seq,)):
        if not todo_sign and not todo_pause:
            break
        p = _decode(e["payload"])
        n = p.get("window")
        if e["kind"] in (ev.WINDOW_SIGNED_IN, ev.WINDOW_SIGNED_OUT) and n in todo_sign:
            todo_sign.discard(n)
            if e["kind"] == ev.WINDOW_SIGNED_IN:
                desks[n].clerk = p.get("clerk_id")
                names.setdefault(str(p.get("clerk_id")), str(p.get("clerk_name") or ""))
        elif e["kind"] in (ev.WINDOW_PAUSED, ev.WINDOW_RESUMED) and n in todo_pause:
            todo_pause.discard(n)
            desks[n].paused = e["kind"] == ev.WINDOW_PAUSED
    return desks


def _open_hours(config: HallConfig, window: int, day_from: date, day_to: date, tz: tzinfo
                ) -> list[tuple[date, datetime, datetime]]:
    """Each day's open spans of a window: the union of the ticket hours of the businesses it serves."""
    spans = sorted(i for code in config.window_businesses(window) if (b := config.business(code))
                   for i in b.intervals())
    out: list[tuple[date, datetime, datetime]] = []
    day = day_from
    while day <= day_to:
        merged: list[list[datetime]] = []
        for s, e in spans:
            a = datetime.combine(day, s, tz)
            # "24:00" is read as 23:59:59: the day's last second is open too
            b = datetime.combine(day + timedelta(days=1), time.min, tz) if e == time(23, 59, 59) else \
                datetime.combine(day, e, tz)
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out += [(day, a, b) for a, b in merged]
        day += timedelta(days=1)
    return out


def _overlap(spans: list[tuple[date, datetime, datetime]], a: datetime, b: datetime) -> Iterator[tuple[date, float]]:
    """The open seconds of a..b, per day.  `spans` are in time order and do not overlap (so their ends are in order
    too): a bisection finds the first one that ends after `a`, and the walk stops at the first that starts at `b`
    — a window's state changes thousands of times in a year, and each must not walk a year of open hours."""
    for k in range(bisect.bisect_right(spans, a, key=lambda sp: sp[2]), len(spans)):
        day, s, e = spans[k]
        if s >= b:
            break
        secs = (min(b, e) - max(a, s)).total_seconds()
        if secs > 0:
            yield day, secs


# --- rows ------------------------------------------------------------------------------------------------------------
def _row(key: Any, label: str, a: _Acc, by: str, *, total: bool = False) -> ReportRow:
    c = a.cases
    return ReportRow(
        key=key, label=label, issued=a.issued if by in ("business", "day", "hall") else None, served=a.served,
        no_show=a.no_show, transferred=a.transferred, wait=Durations.of(a.waits), service=Durations.of(a.services),
        rated=a.rated, satisfied=a.satisfied, unrated=a.unrated, unrated_counted=a.unrated_counted, bad=a.bad,
        rectify_opened=a.rectify_opened, rectify_closed=a.rectify_closed, cases_done=int(c.get("done", 0)),
        cases_timed=int(c.get("timed", 0)), on_time=int(c.get("on_time", 0)), early=int(c.get("early", 0)),
        on_spot=int(c.get("on_spot", 0)), case_rated=int(c.get("rated", 0)),
        case_satisfied=int(c.get("satisfied", 0)),
        pause_s=None if by == "business" else a.pause_s, idle_s=None if by == "business" else a.idle_s, total=total)


def _ordered(by: str, accs: dict[Any, _Acc], config: HallConfig) -> list[tuple[Any, _Acc]]:
    """Groups in reading order; every configured business or window has a row, even an empty one."""
    keys: list[Any] = list(accs)
    if by == "business":
        keys = [b.code for b in config.businesses] + sorted(k for k in keys if k and not config.business(k))
    elif by == "window":
        keys = [w.number for w in config.windows] + sorted(k for k in keys if k is not None and not config.window(k))
    else:
        keys = sorted(k for k in keys if k is not None)
    if None in accs:
        keys.append(None)
    return [(k, accs.get(k) or _Acc()) for k in keys]


def _label(by: str, key: Any, config: HallConfig, businesses: dict[str, str], clerks: dict[str, str]) -> str:
    if key is None:
        return "未指定"
    if by == "business":
        return businesses.get(str(key), str(key))
    if by == "window":
        w = config.window(int(key))
        return w.name if w else f"{key}号窗口"
    if by == "clerk":
        name = clerks.get(str(key))
        return f"{key} {name}" if name else str(key)
    d = date.fromisoformat(str(key))
    return f"{d.isoformat()} 周{WEEKDAYS[d.weekday()]}"


def _bins(waits: list[float]) -> list[WaitBin]:
    """The wait distribution: 5-minute bins up to the longest wait (at most an hour), then one bin for longer."""
    if not waits:
        return []
    top = min(HIST_LAST_S, int(waits[-1] // HIST_BIN_S + 1) * HIST_BIN_S)
    out = []
    for lo in range(0, top, HIST_BIN_S):
        out.append(WaitBin(lo, lo + HIST_BIN_S, sum(1 for w in waits if lo <= w < lo + HIST_BIN_S)))
    if waits[-1] >= HIST_LAST_S:
        out.append(WaitBin(HIST_LAST_S, None, sum(1 for w in waits if w >= HIST_LAST_S)))
    return out
