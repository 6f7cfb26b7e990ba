"""The audit (`hall audit`): who did what, from which terminal, over a date range — "who voided A012?".

A pure read of the event log (kiosk/store.py `events`): every event carries its `actor` and `terminal`
(kiosk/core/context.py, docs/events.md "Who and where").  The events table has no index on `local_date` or `actor`,
on purpose: an index would cost every command a page write for a question asked a few times a year.  Instead the
date range is turned into a seq range through the primary key — the business date only moves forward, so
`local_date` is non-decreasing in seq order and a binary search of a few dozen one-row probes finds where the range
starts and ends — and only that seq range is read."""
from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import msgspec

from kiosk.core.config import HallConfig
from kiosk.core.export import Sheet, write_sheet_csv, write_sheets_xlsx
from kiosk.core.staff import ROLES
from kiosk.store import first_seq_from

# Every event kind the hall records (kiosk/core/events.py, staff.py, cases.py, rectify.py, evaluation.py,
# holidays.py, retention.py; sync's catalog.updated), said in Chinese.  A kind not here is shown as it is.
KIND_LABELS: dict[str, str] = {
    "ticket.issued": "取号",
    "ticket.called": "叫号",
    "ticket.recalled": "重呼",
    "ticket.no_show": "过号",
    "ticket.transferred": "转办",
    "ticket.held": "挂起",
    "ticket.resumed": "恢复办理",
    "ticket.voided": "作废",
    "ticket.expired": "过期",
    "service.started": "开始办理",
    "service.finished": "办结",
    "appointment.booked": "预约",
    "appointment.cancelled": "取消预约",
    "appointment.refused": "预约被拒",
    "appointment.due": "预约到时",
    "appointment.no_show": "预约爽约",
    "day.closed": "日终结转",
    "window.paused": "窗口暂停",
    "window.resumed": "窗口恢复",
    "window.signed_in": "签到",
    "window.signed_out": "签退",
    "business.closed": "业务暂停取号",
    "business.opened": "业务恢复取号",
    "notice.changed": "公告变更",
    "rating.requested": "邀请评价",
    "rating.recorded": "评价",
    "rating.reason_completed": "补充差评原因",
    "rating.unrated": "未评价",
    "device.health": "设备状态",
    "print.done": "打印完成",
    "print.failed": "打印失败",
    "staff.added": "添加工作人员",
    "staff.disabled": "停用工作人员",
    "staff.pin_reset": "重置密码",
    "staff.roster_set": "设置排班",
    "staff.signin_refused": "签到被拒",
    "staff.signed_in_terminal": "登录管理终端",
    "case.updated": "办件更新",
    "case.status_changed": "办件状态变更",
    "case.card_changed": "办件亮牌变更",
    "case.linked": "办件关联号票",
    "case.lookup_locked": "办件查询锁定",
    "case.figures": "办件统计",
    "rectification.opened": "差评整改立项",
    "rectification.step": "差评整改进展",
    "rectification.closed": "差评整改办结",
    "rectification.card_changed": "整改亮牌变更",
    "evaluation.recorded": "好差评记录",
    "calendar.applied": "节假日安排更新",
    "retention.purged": "清除个人信息",
    "catalog.updated": "办事指南更新",
    "store.restored": "从备份恢复数据库",
}
# `--kind ticket`: a family is the part before the dot
FAMILIES = frozenset(k.split(".", 1)[0] for k in KIND_LABELS)

_ACTORS = {"citizen": "群众", "central": "省平台", "console": "管理终端(命令行)", "system": "系统",
           "anonymous": "未登录人员", "": "未记录"}
_TERMINALS = {"kiosk": "取号机", "board": "大屏", "dashboard": "管理看板", "phone": "手机", "cli": "命令行",
              "sync": "省平台同步", "demo": "演示", "sim": "模拟", "": "-"}
_REASONS = {  # reason codes some payloads carry (the rest are a person's words, shown as they are)
    "day_end": "日终自动签退", "disabled": "账号已停用", "unknown": "工号不存在", "locked": "账号已锁定",
    "wrong_pin": "密码错误", "role": "角色不可签到", "roster": "不在排班内", "elsewhere": "已在其他窗口签到",
}
_STATES = {"ok": "正常", "degraded": "降级", "offline": "离线"}
_NUMBER = re.compile(r"^([A-Za-z]+)0*(\d+)\Z")

HEADERS = ["序号", "时间", "日期", "事件", "事件代码", "操作人", "操作人代码", "终端", "终端代码", "票号", "窗口",
           "说明"]
TABLE_HEADERS = ["时间", "事件", "操作人", "终端", "票号", "窗口", "说明"]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One event as the audit shows it: `at` is the hall's local time ("2026-11-24 09:00:05")."""

    seq: int
    at: str
    local_date: str
    kind: str
    kind_label: str
    actor: str
    actor_label: str
    terminal: str
    terminal_label: str
    ticket: str | None
    window: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class SeqRange:
    """The seqs of a date range (first..last, inclusive; None when no event falls in it) and how many one-row
    probes the binary search made to find them."""

    first: int | None
    last: int | None
    probes: int = 0


def seq_range(conn: sqlite3.Connection, day_from: date, day_to: date) -> SeqRange:
    """The seqs whose local_date is within day_from..day_to, found through the primary key only."""
    first, p1 = first_seq_from(conn, day_from.isoformat())
    after, p2 = first_seq_from(conn, _next_day(day_to), first)
    if after <= first:
        return SeqRange(None, None, p1 + p2)
    return SeqRange(first, after - 1, p1 + p2)


def _next_day(d: date) -> str:
    return date.fromordinal(d.toordinal() + 1).isoformat()


def parse_kinds(kinds: Iterable[str] | None) -> tuple[set[str], set[str]]:
    """`--kind` values → (exact kinds, families).  ValueError (in Chinese) for a family the hall does not record."""
    exact: set[str] = set()
    families: set[str] = set()
    for k in kinds or ():
        k = k.strip().lower()
        fam = k.split(".", 1)[0]
        if fam not in FAMILIES:
            raise ValueError(f"没有这类事件：{k}（可用：{'、'.join(sorted(FAMILIES))}，或完整的事件代码如 "
                             f"ticket.voided）")
        (exact if "." in k else families).add(k)
    return exact, families


def audit(
    store_or_conn: Any,
    day_from: date,
    day_to: date,
    *,
    config: HallConfig | None = None,
    tz: tzinfo | None = None,
    staff: str | None = None,
    ticket: str | None = None,
    kinds: Iterable[str] | None = None,
    limit: int | None = None,
) -> list[AuditRow]:
    """The events of local dates day_from..day_to, in seq order, narrowed by the filters (all must match):

    - `staff`: the staff number (工号) whose events these are — the event's actor is "staff:<staff>".  The actor is
      who did it: a window command done by a manager at the dashboard is the manager's, not the clerk's signed in
      there (the clerk named in the payload is not matched);
    - `ticket`: a ticket number such as A012, any case: events whose payload names it (`ticket.number`,
      `rating.number`, `number`), and the day.closed that expired it.  A number repeats every day: the date range
      tells which day's;
    - `kinds`: exact kinds ("ticket.voided") or families ("ticket", "staff", "window"); ValueError for an unknown
      family.

    `tz` (or `config.tz`) is the hall's zone for the times shown.  `limit`: at most that many rows (the first)."""
    if day_to < day_from:
        raise ValueError(f"日期范围不正确：{day_to} 早于 {day_from}")
    zone = tz or (config.tz if config is not None else None)
    if zone is None:
        raise ValueError("audit needs the hall's time zone (config or tz)")
    exact, families = parse_kinds(kinds)
    number = ticket_number(ticket) if ticket else None
    conn: sqlite3.Connection = store_or_conn.conn() if hasattr(store_or_conn, "conn") else store_or_conn
    span = seq_range(conn, day_from, day_to)
    if span.first is None or span.last is None:
        return []
    sql = ("SELECT seq, kind, at_utc, local_date, payload, actor, terminal FROM events "
           "WHERE seq BETWEEN ? AND ? AND local_date BETWEEN ? AND ?")
    args: list[Any] = [span.first, span.last, day_from.isoformat(), day_to.isoformat()]
    if staff:
        sql += " AND actor = ?"
        args.append(f"staff:{staff.strip().removeprefix('staff:')}")  # "0012" or the actor as shown, "staff:0012"
    if exact or families:
        terms = [f"kind IN ({','.join('?' * len(exact))})"] if exact else []
        args += sorted(exact)
        for fam in sorted(families):
            terms.append("substr(kind, 1, ?) = ?")
            args += [len(fam) + 1, fam + "."]
        sql += f" AND ({' OR '.join(terms)})"
    if number:
        # narrowed in SQL to the events that can name it; day.closed is checked below against its ranges
        sql += (" AND (upper(json_extract(payload, '$.ticket.number')) = ? OR upper(json_extract(payload, "
                "'$.number')) = ? OR upper(json_extract(payload, '$.rating.number')) = ? OR kind = 'day.closed')")
        args += [number, number, number]
    sql += " ORDER BY seq"
    out: list[AuditRow] = []
    for r in conn.execute(sql, args):
        payload = msgspec.json.decode(r[4]) if r[4] else {}
        if not isinstance(payload, dict):
            payload = {}
        if number and r[1] == "day.closed" and not _expired(payload, number, day_from, day_to):
            continue
        out.append(_row(r, payload, zone))
        if limit is not None and len(out) >= limit:
            break
    return out


# --- one row --------------------------------------------------------------------------------------------------
def _row(r: Any, p: dict[str, Any], tz: tzinfo) -> AuditRow:
    kind, actor, terminal = str(r[1]), str(r[5] or ""), str(r[6] or "")
    at = datetime.fromisoformat(str(r[2])).astimezone(tz)
    return AuditRow(
        seq=int(r[0]), at=f"{at:%Y-%m-%d %H:%M:%S}", local_date=str(r[3]), kind=kind,
        kind_label=KIND_LABELS.get(kind, kind), actor=actor, actor_label=actor_label(actor), terminal=terminal,
        terminal_label=terminal_label(terminal), ticket=_number_of(p), window=_window_of(p), detail=detail(kind, p))


def actor_label(actor: str) -> str:
    if actor.startswith("staff:"):
        return f"工号 {actor[6:]}"
    if actor.startswith("device:"):
        return f"设备 {actor[7:]}"
    return _ACTORS.get(actor, actor)


def terminal_label(terminal: str) -> str:
    role, _, rest = terminal.partition("-")
    if role in ("caller", "evaluator") and rest.isdigit():
        return f"{rest}号窗口{'叫号器' if role == 'caller' else '评价器'}"
    if terminal.startswith("lan:"):
        return f"局域网 {terminal[4:]}"
    if terminal.startswith("device:"):
        return f"设备 {terminal[7:]}"
    return _TERMINALS.get(terminal, terminal)


def _number_of(p: dict[str, Any]) -> str | None:
    for holder in (p.get("ticket"), p.get("rating"), p):
        if isinstance(holder, dict) and isinstance(holder.get("number"), str) and holder["number"]:
            return str(holder["number"])
    return None


def _window_of(p: dict[str, Any]) -> int | None:
    t = p.get("ticket") if isinstance(p.get("ticket"), dict) else {}
    r = p.get("rating") if isinstance(p.get("rating"), dict) else {}
    for v in (p.get("window"), p.get("from_window"), r.get("window"), p.get("signed_out_window"),
              t.get("window")):
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        if isinstance(v, str) and v.isdigit():
            return int(v)
    return None


def _reason(v: Any) -> str:
    return _REASONS.get(str(v), str(v))


def detail(kind: str, p: dict[str, Any]) -> str:
    """A short Chinese summary of what the payload says (reason, business, message, level…)."""
    t = p.get("ticket") if isinstance(p.get("ticket"), dict) else {}
    parts: list[str] = []

    def add(label: str, v: Any) -> None:
        if v not in (None, "", [], {}):
            parts.append(f"{label}{v}")

    if kind == "ticket.issued":
        add("", t.get("business_name"))
        add("前面 ", f"{p['ahead']} 人" if isinstance(p.get("ahead"), int) else None)
    elif kind == "ticket.transferred":
        add("转至业务 ", p.get("to_business"))
        add("转至 ", f"{p['to_window']}号窗口" if p.get("to_window") else None)
    elif kind == "day.closed":
        add("", f"{p.get('date')} → {p.get('new_date')}")
        add("过期 ", f"{p['expired']} 张" if isinstance(p.get("expired"), int) else None)
    elif kind in ("window.signed_in", "window.signed_out"):
        add("", " ".join(str(x) for x in (p.get("clerk_id"), p.get("clerk_name")) if x))
    elif kind.startswith("staff."):
        add("工号 ", p.get("staff_no"))
        add("", p.get("name"))
        add("", ROLES.get(str(p.get("role")), p.get("role")) if p.get("role") else None)
        add("剩余 ", f"{p['tries_left']} 次" if isinstance(p.get("tries_left"), int) else None)
    elif kind in ("business.closed", "business.opened"):
        add("业务 ", p.get("business"))
        add("", "（省平台办事指南）" if p.get("source") == "catalog" else None)
    elif kind == "notice.changed":
        add("公告：", p.get("notice") or "（清空）")
    elif kind.startswith("rating."):
        r = p.get("rating") if isinstance(p.get("rating"), dict) else {}
        add("", r.get("level_label"))
        add("原因：", r.get("reason"))
    elif kind in ("device.health", "print.done", "print.failed"):
        add("设备 ", p.get("device"))
        add("", _STATES.get(str(p.get("state")), p.get("state")))
    elif kind.startswith("appointment."):
        a = p.get("appointment") if isinstance(p.get("appointment"), dict) else p
        add("预约号 ", a.get("code"))
        add("", " ".join(str(x) for x in (a.get("date"), a.get("slot_start")) if x))
    elif kind.startswith(("case.", "rectification.")):
        c = next((v for v in (p.get("case"), p.get("item")) if isinstance(v, dict)), p)
        add("办件 ", c.get("case_no") or p.get("case_no"))
        add("", p.get("label") or c.get("label"))
        add("→", p.get("to") if kind == "case.status_changed" else None)
    elif kind == "retention.purged":
        add("清除 ", f"{p.get('before')} 之前")
    elif kind == "store.restored":
        add("备份 ", p.get("backup"))
        if isinstance(p.get("skipped_from"), int) and isinstance(p.get("skipped_to"), int):
            add("跳过序号 ", f"{p['skipped_from']}–{p['skipped_to']}")
    elif kind == "catalog.updated":
        add("更新 ", p.get("updated"))
    if p.get("reason"):  # a code some payloads carry (said in Chinese), else a person's words
        parts.append(f"原因：{_reason(p['reason'])}")
    if p.get("message"):
        parts.append(str(p["message"]))
    return "；".join(parts)


# --- ticket numbers --------------------------------------------------------------------------------------------
def ticket_number(text: str) -> str:
    n = text.strip().upper()
    if not n or len(n) > 16:
        raise ValueError(f"票号不正确：{text!r}（应如 A012）")
    return n


def _expired(p: dict[str, Any], number: str, day_from: date, day_to: date) -> bool:
    """Whether day.closed's `expired_numbers` ({day: {status: {prefix: "31-480,482"}}}) names `number` on a day
    within the range (the number is that day's)."""
    m = _NUMBER.match(number)
    if not m:
        return False
    prefix, seq = m.group(1), int(m.group(2))
    days = p.get("expired_numbers")
    if not isinstance(days, dict):
        return False
    for day, by_status in days.items():
        if not (day_from.isoformat() <= str(day) <= day_to.isoformat()) or not isinstance(by_status, dict):
            continue
        for by_prefix in by_status.values():
            ranges = by_prefix.get(prefix) if isinstance(by_prefix, dict) else None
            if isinstance(ranges, str) and _in_ranges(seq, ranges):
                return True
    return False


def _in_ranges(n: int, ranges: str) -> bool:
    for part in ranges.split(","):
        a, _, b = part.strip().partition("-")
        if a.isdigit() and (int(a) == n if not b else b.isdigit() and int(a) <= n <= int(b)):
            return True
    return False


# --- output ----------------------------------------------------------------------------------------------------
def sheet(rows: list[AuditRow], title: str = "操作记录") -> Sheet:
    """For CSV and XLSX: seq and window stay numbers, the time a date-time cell (the hall's local time)."""
    return Sheet(title, HEADERS, [
        [r.seq, datetime.fromisoformat(r.at), date.fromisoformat(r.local_date), r.kind_label, r.kind,
         r.actor_label, r.actor, r.terminal_label if r.terminal else "", r.terminal, r.ticket, r.window, r.detail]
        for r in rows])


def write_csv(path: str | Path, rows: list[AuditRow]) -> None:
    write_sheet_csv(path, sheet(rows))  # UTF-8 with BOM: Excel opens the Chinese right


def write_xlsx(path: str | Path, rows: list[AuditRow], title: str | None = None) -> None:
    s = sheet(rows)
    write_sheets_xlsx(path, [s], titles={s.title: title} if title else None)


def _width(text: str) -> int:
    """Columns a terminal gives the text: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def table_text(rows: list[AuditRow]) -> str:
    """The rows as aligned columns (时间 事件 操作人 终端 票号 窗口 说明); the last column is not padded."""
    cells = [TABLE_HEADERS] + [[r.at, r.kind_label, r.actor_label, r.terminal_label, r.ticket or "-",
                                 str(r.window) if r.window is not None else "-", r.detail] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(TABLE_HEADERS) - 1)]
    return "\n".join("  ".join([_pad(c, w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]).rstrip()
                     for row in cells)
