"""Cases (办件) and electronic supervision (电子监察): status flow, working-day deadlines with clock stops,
yellow/red cards, 差评 rectification, privacy-safe lookup, and the figures a hall reports."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, cast

from msgspec import Meta

from kiosk.core import evaluation
from kiosk.core import events as ev
from kiosk.core.calendar import WorkCalendar
from kiosk.core.errors import HallError, TicketNotFound
from kiosk.core.figures import BY_COLUMNS, compute_figures
from kiosk.core.privacy import mask_id, mask_name
from kiosk.core.rating import Level
from kiosk.core.sections import Section

# --- event kinds this module appends (the sync outbox publishes them like every other event) -------------------
CASE_UPDATED = "case.updated"  # created or changed by central / intake: {case, created, source}
CASE_STATUS_CHANGED = "case.status_changed"  # {case, from, to, reason}
CASE_CARD_CHANGED = "case.card_changed"  # {case_no, from, to, due_at, status, department, window, clerk}
CASE_LINKED = "case.linked"  # {case_no, ticket_id, number, window}
CASE_LOOKUP_LOCKED = "case.lookup_locked"  # {case_no, until}
CASE_FIGURES = "case.figures"  # {day, by, rows}

STATUS_LABELS: dict[str, str] = {
    "received": "收件", "correction": "补齐补正", "accepted": "受理", "not_accepted": "不予受理",
    "in_progress": "在办", "suspended": "挂起", "done": "办结", "withdrawn": "退件", "voided": "作废",
}
_FROM_LABEL = {v: k for k, v in STATUS_LABELS.items()}
TERMINAL = frozenset({"not_accepted", "done", "withdrawn", "voided"})
STOPPED = frozenset({"correction", "suspended"})  # the deadline clock does not run
RUNNING = frozenset({"accepted", "in_progress"})
# Allowed moves.  补齐补正 before acceptance returns to 收件/受理; after acceptance it returns to 在办 only.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"correction", "accepted", "not_accepted", "voided"}),
    "correction": frozenset({"received", "accepted", "not_accepted", "in_progress", "withdrawn", "voided"}),
    "accepted": frozenset({"in_progress", "correction", "suspended", "done", "withdrawn", "voided"}),
    "in_progress": frozenset({"correction", "suspended", "done", "withdrawn", "voided"}),
    "suspended": frozenset({"in_progress", "withdrawn", "voided"}),
    "not_accepted": frozenset(), "done": frozenset(), "withdrawn": frozenset(), "voided": frozenset(),
}
CASE_TYPES = {1: "即办件", 2: "承诺件", 9: "其他"}
CARD_LABELS = {"none": "正常", "yellow": "黄牌预警", "red": "红牌超期"}
BASIS_LABELS = {"promised_at": "承诺时限", "promise": "承诺时限", "instant": "即办", "legal": "法定时限"}
_CASE_NO = re.compile(r"^[0-9A-Za-z_\-]{1,50}$")
_EPS = 1e-9


# --- typed refusals -------------------------------------------------------------------------------------------
def _err(name: str, key: str, template: str) -> type[HallError]:
    return type(name, (HallError,), {"key": key, "template": template, "__doc__": template})


CaseNotFound = _err("CaseNotFound", "case_not_found", "没有找到办件 {case_no}")
InvalidCase = _err("InvalidCase", "case_invalid", "办件数据不正确：{field}{problem}")
IllegalTransition = _err(
    "IllegalTransition", "case_illegal_transition", "办件 {case_no} 当前为「{current}」，不能改为「{target}」"
)
TicketAlreadyLinked = _err("TicketAlreadyLinked", "case_ticket_linked", "这个号码已关联办件 {case_no}")
CaseCheckFailed = _err(
    "CaseCheckFailed", "case_check_failed", "办件编号或查询码不正确，还可以再试 {left} 次"
)
CaseLookupLocked = _err(
    "CaseLookupLocked", "case_lookup_locked", "查询码错误次数过多，请于 {until} 后再试，或到服务台咨询"
)


# --- settings: the hall TOML's [cases] table -----------------------------------------------------------------
class CaseSettings(Section, frozen=True, kw_only=True):
    """[cases]: 办件 deadlines, 差评 rectification and the public case lookup."""

    MOVED: ClassVar[Mapping[str, str]] = {"calendar_overrides": "holiday overrides are [calendar] overrides now"}

    yellow_margin_days: Annotated[float, Meta(ge=0, le=10, description=(
        "yellow card when this many working days (or fewer) are left"))] = 1.0
    rectify_days: Annotated[Literal[5, 7, 15], Meta(description=(
        "差评 rectification deadline in working days: 5, 7 or 15 by region"))] = 5
    lookup_max_failures: Annotated[int, Meta(ge=1, le=100, description=(
        "wrong checks per case number within the window before it locks"))] = 5
    lookup_window_minutes: Annotated[int, Meta(ge=1, le=1440, description=(
        "the window for lookup_max_failures, minutes"))] = 60
    keep_full_name: Annotated[bool, Meta(description=(
        "keep the applicant's full name for the clerk's view (public views always mask)"))] = False
    report_daily_figures: Annotated[bool, Meta(description=(
        "emit case.figures for yesterday on the first pass of each day"))] = True


# --- pure helpers ---------------------------------------------------------------------------------------------
def card_for(now_ts: float, yellow_ts: float | None, due_ts: float | None) -> str:
    """The card a running case shows at `now_ts`: red once the due moment has come, yellow inside the margin."""
    if due_ts is None:
        return "none"
    if now_ts >= due_ts:
        return "red"
    if yellow_ts is not None and now_ts >= yellow_ts:
        return "yellow"
    return "none"


def next_change(card: str, yellow_ts: float | None, due_ts: float | None) -> float | None:
    """When the scheduler must look at this row again (None: no further change without a command)."""
    if due_ts is None or card == "red":
        return None
    if card == "none" and yellow_ts is not None and yellow_ts < due_ts:
        return yellow_ts
    return due_ts


def deadline_basis(row: Mapping[str, Any]) -> str | None:
    """What a case's deadline counts from: `promised_at` (a 承诺办结时间 given), `promise` (承诺办结时限 days),
    `instant` (即办件: the day of acceptance), `legal` (only a 法定办结时限: it is the deadline, with its own cards),
    or None (no limit at all)."""
    keys = row.keys()
    if "promised_given" in keys and row["promised_given"]:
        return "promised_at"
    if "promise_days" in keys and row["promise_days"] is not None:
        return "promise"
    if "case_type" in keys and row["case_type"] == 1:
        return "instant"
    if "legal_days" in keys and row["legal_days"] is not None:
        return "legal"
    return None


def check_digest(key: bytes, case_no: str, check: str) -> str:
    """Keyed hash of a 4-character check, salted with the case number: the clear digits are never stored."""
    return hmac.new(key, f"{case_no}|{check.strip().upper()}".encode(), hashlib.sha256).hexdigest()


def _last4(value: str) -> str | None:
    s = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return s[-4:] if len(s) >= 4 else None


def _dt(value: Any, tz: tzinfo, field: str) -> datetime:
    if isinstance(value, datetime):
        d = value
    elif isinstance(value, str):
        try:
            d = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidCase(field=field, problem=f" 不是有效的时间：{value!r}") from exc
    else:
        raise InvalidCase(field=field, problem=f" 不是有效的时间：{value!r}")
    return d.replace(tzinfo=tz) if d.tzinfo is None else d  # a naive time from central is the hall's local time


def _last_day(due_at: str | None, tz: tzinfo) -> str | None:
    """The last local day of a deadline ("办结期限"): a due moment of midnight belongs to the day before."""
    if not due_at:
        return None
    return (datetime.fromisoformat(due_at).astimezone(tz) - timedelta(microseconds=1)).date().isoformat()


_ISO_CACHE: dict[tuple[float, str], str] = {}


def _iso(ts: float, tz: tzinfo) -> str:
    """ISO text of a due moment in the hall's zone.  Due moments cluster on midnights, so a small cache saves
    most of the formatting in a full recompute."""
    key = (ts, str(tz))
    s = _ISO_CACHE.get(key)
    if s is None:
        if len(_ISO_CACHE) > 4096:
            _ISO_CACHE.clear()
        s = _ISO_CACHE[key] = datetime.fromtimestamp(ts, tz).isoformat()
    return s


def _as_day(d: date | str) -> str:
    return d.isoformat() if isinstance(d, date) else date.fromisoformat(d).isoformat()


class Cases:
    """办件 commands and queries on top of a Hall.  Every write is a `hall.run` command; time is `hall.clock()`."""

    def __init__(self, hall: Any, settings: CaseSettings | None = None) -> None:
        self.hall = hall
        self.settings: CaseSettings = settings or hall.config.cases
        self.tz: tzinfo = hall.config.tz
        self._key = self._check_key()
        from kiosk.core.rectify import Rectifications  # it builds on this module's card rules

        self.rect = Rectifications(self)
        self._calendar_checked = ""  # the calendar fingerprint the stored deadlines were last checked against

    @property
    def cal(self) -> WorkCalendar:
        cal: WorkCalendar = self.hall.calendar
        return cal

    def _check_key(self) -> bytes:
        key = self.hall.store.meta_get("case_check_key")
        if not key:
            def body(tx: Any) -> str:
                row = tx.one("SELECT value FROM meta WHERE key = 'case_check_key'")
                if row is not None:
                    return str(row[0])
                k = secrets.token_hex(32)
                tx.exec("INSERT INTO meta(key, value) VALUES ('case_check_key', ?)", k)
                return k

            key = self.hall.run("cases_init", None, body).value
        return str(key).encode()

    # ============================================================================================================
    # deadlines
    # ============================================================================================================
    def _pos(self, moment: datetime) -> float:
        return self.cal.position_ts(moment.timestamp(), self.tz)

    def _deadline(self, row: dict[str, Any]) -> tuple[float | None, str | None, float | None, float | None]:
        """(due position, due_at ISO, due_ts, yellow_ts) of a case from its acceptance, promise (or legal limit)
        and stops."""
        basis = deadline_basis(row)
        if basis is None or not row.get("accepted_at"):
            return None, None, None, None
        cal, tz = self.cal, self.tz
        accepted_ts = datetime.fromisoformat(row["accepted_at"]).timestamp()
        if basis == "promised_at":
            base = cal.position_ts(datetime.fromisoformat(row["promised_given"]).timestamp(), tz)
        elif basis == "promise":
            base = cal.end_of_day_position_ts(accepted_ts, tz) + int(row["promise_days"])
        elif basis == "instant":  # 即办件: within the day of acceptance
            base = float(cal.end_of_day_position_ts(accepted_ts, tz))
        else:  # 法定时限 only: no promise was made, the law's limit is the deadline
            base = cal.end_of_day_position_ts(accepted_ts, tz) + int(row["legal_days"])
        due_pos = base + float(row.get("stopped_days") or 0.0)
        yellow_pos = max(cal.position_ts(accepted_ts, tz), due_pos - self.settings.yellow_margin_days)
        due_ts = cal.moment_ts(due_pos, tz)
        return due_pos, _iso(due_ts, tz), due_ts, cal.moment_ts(yellow_pos, tz)

    def _promised(self, row: dict[str, Any]) -> str | None:
        """承诺办结时间: the promise given or computed; none for a case that has only a 法定时限."""
        if row.get("promised_given"):
            return str(row["promised_given"])
        if deadline_basis(row) == "legal":
            return None
        saved = row.get("stopped_days")
        row["stopped_days"] = 0.0
        try:
            _, due_at, _, _ = self._deadline(row)
        finally:
            row["stopped_days"] = saved
        return due_at

    def _reschedule(self, tx: Any, row: dict[str, Any], reason: str) -> None:
        """Recompute the deadline of `row` (a dict, updated in place and written) and emit a card change."""
        now_ts = tx.now.timestamp()
        old = row.get("card") or "none"
        if row["status"] in TERMINAL or not row.get("accepted_at"):
            due_pos, due_at, due_ts, yellow_ts = (row.get("due_pos"), row.get("due_at"), row.get("due_ts"),
                                                  row.get("yellow_ts"))
            new, nxt = "none", None
        else:
            due_pos, due_at, due_ts, yellow_ts = self._deadline(row)
            if row["status"] in STOPPED:
                new, nxt = old, None  # a stopped clock freezes the card where it is
            else:
                new = card_for(now_ts, yellow_ts, due_ts)
                nxt = next_change(new, yellow_ts, due_ts)
        row.update(due_pos=due_pos, due_at=due_at, due_ts=due_ts, yellow_ts=yellow_ts, card=new, next_ts=nxt)
        tx.exec("UPDATE cases SET due_pos = ?, due_at = ?, due_ts = ?, yellow_ts = ?, card = ?, next_ts = ? "
                "WHERE case_no = ?", due_pos, due_at, due_ts, yellow_ts, new, nxt, row["case_no"])
        if new != old:
            tx.emit(CASE_CARD_CHANGED, self._card_payload(row, old, new, reason))

    def _card_payload(self, row: Any, old: str, new: str, reason: str) -> dict[str, Any]:
        basis = deadline_basis(row)
        return {"case_no": row["case_no"], "from": old, "to": new, "label": CARD_LABELS[new], "reason": reason,
                "due_at": row["due_at"], "status": row["status"], "department": row["department"],
                "window": row["window"], "clerk": row["clerk"], "item_name": row["item_name"],
                "basis": basis, "basis_label": BASIS_LABELS.get(basis or "", "")}

    # ============================================================================================================
    # commands: intake, central updates, transitions, linking
    # ============================================================================================================
    def apply_central_update(self, payload: dict[str, Any], message_id: str) -> Any:
        """Create or update a case from a central message; applied once per message_id (idempotent)."""
        if not message_id:
            raise InvalidCase(field="message_id", problem=" 不能为空")
        res = self.hall.run("case_central_update", f"case:{message_id}",
                            lambda tx: self._upsert(tx, payload, "central"))
        return self._replayed(res, payload.get("case_no") if isinstance(payload, dict) else None)

    def _replayed(self, res: Any, case_no: Any) -> Any:
        """A replayed idem_key gives back the first events but no value: answer with the case as it is now."""
        if res.value is None and isinstance(case_no, str):
            row = self.hall.store.conn().execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
            if row is not None:
                return type(res)(self._public(dict(row)), res.events)
        return res

    def register(self, payload: dict[str, Any], *, idem_key: str | None = None) -> Any:
        """收件 at the window (same fields as a central update)."""
        res = self.hall.run("case_register", idem_key, lambda tx: self._upsert(tx, payload, "window"))
        return self._replayed(res, payload.get("case_no") if isinstance(payload, dict) else None)

    def transition(self, case_no: str, status: str, *, reason: str = "", at: datetime | None = None,
                   idem_key: str | None = None) -> Any:
        """Move a case along the status flow; an illegal move raises IllegalTransition and changes nothing."""
        target = self._status(status)

        def body(tx: Any) -> dict[str, Any]:
            row = self._row(tx, case_no)
            self._move(tx, row, target, at or tx.now, reason)
            return self._public(row)

        return self._replayed(self.hall.run("case_transition", idem_key, body), case_no)

    def link_ticket(self, case_no: str, ticket_id: str) -> Any:
        """The ticket served at the window belongs to this case: its rating (一事一评) is counted for the case."""

        def body(tx: Any) -> dict[str, Any]:
            row = self._row(tx, case_no)
            t = tx.one("SELECT id, number, window, clerk_id FROM tickets WHERE id = ?", ticket_id)
            if t is None:
                raise TicketNotFound(ticket=ticket_id)
            other = tx.one("SELECT case_no FROM cases WHERE ticket_id = ?", ticket_id)
            if other is not None and other["case_no"] != case_no:
                raise TicketAlreadyLinked(case_no=other["case_no"])
            if row.get("ticket_id") == ticket_id:
                return self._public(row)
            tx.exec("UPDATE cases SET ticket_id = ?, window = COALESCE(window, ?), updated_at = ? WHERE case_no = ?",
                    ticket_id, t["window"], tx.at, case_no)
            tx.exec("UPDATE ratings SET case_no = ? WHERE ticket_id = ? AND case_no IS NULL", case_no, ticket_id)
            tx.exec("UPDATE rectifications SET case_no = ? WHERE ticket_id = ? AND case_no IS NULL", case_no, ticket_id)
            tx.emit(CASE_LINKED, {"case_no": case_no, "ticket_id": ticket_id, "number": t["number"],
                                  "window": t["window"]})
            return self._public(self._row(tx, case_no))

        return self.hall.run("case_link_ticket", None, body)

    # --- internals ------------------------------------------------------------------------------------------------
    def _status(self, value: Any) -> str:
        s = str(value).strip()
        s = _FROM_LABEL.get(s, s)
        if s not in STATUS_LABELS:
            raise InvalidCase(field="status", problem=f" 不是已知的办件状态：{value!r}")
        return s

    def _row(self, tx: Any, case_no: str) -> dict[str, Any]:
        r = tx.one("SELECT * FROM cases WHERE case_no = ?", case_no)
        if r is None:
            raise CaseNotFound(case_no=case_no)
        return dict(r)

    def _validate(self, p: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        """Checks a payload and returns the column values it sets (clear ID and phone never leave this function)."""
        if not isinstance(p, dict):
            raise InvalidCase(field="payload", problem=" 应为对象")
        case_no = p.get("case_no")
        if not isinstance(case_no, str) or not _CASE_NO.match(case_no):
            raise InvalidCase(field="case_no", problem=" 应为 1–50 位字母、数字、- 或 _")
        cols: dict[str, Any] = {"case_no": case_no}
        for f, limit in (("basic_code", 64), ("impl_code", 64), ("item_name", 200), ("accept_unit", 200),
                         ("acceptor", 64), ("department", 100), ("clerk", 64), ("reason", 500)):
            if f in p and p[f] is not None:
                if not isinstance(p[f], str) or len(p[f]) > limit:
                    raise InvalidCase(field=f, problem=f" 应为不超过 {limit} 字的文本")
                cols[f] = p[f]
        if "case_type" in p:
            if p["case_type"] not in CASE_TYPES or isinstance(p["case_type"], bool):
                raise InvalidCase(field="case_type", problem=" 应为 1（即办件）、2（承诺件）或 9（其他）")
            cols["case_type"] = int(p["case_type"])
        elif existing is None:
            raise InvalidCase(field="case_type", problem=" 缺少")
        for f in ("legal_days", "promise_days"):
            if f in p and p[f] is not None:
                v = p[f]
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3650:
                    raise InvalidCase(field=f, problem=" 应为 0–3650 的工作日数")
                cols[f] = v
        if cols.get("promise_days") is not None and cols.get("legal_days") is not None \
                and cols["promise_days"] > cols["legal_days"]:
            raise InvalidCase(field="promise_days", problem=" 不能超过法定办结时限")
        if "window" in p and p["window"] is not None:
            if not isinstance(p["window"], int) or isinstance(p["window"], bool) or p["window"] < 0:
                raise InvalidCase(field="window", problem=" 应为窗口号")
            cols["window"] = p["window"]
        if "ticket_id" in p and p["ticket_id"] is not None:
            if not isinstance(p["ticket_id"], str):
                raise InvalidCase(field="ticket_id", problem=" 应为文本")
            cols["ticket_id"] = p["ticket_id"]
        if p.get("applicant_name"):
            name = p["applicant_name"]
            if not isinstance(name, str) or len(name) > 64:
                raise InvalidCase(field="applicant_name", problem=" 应为不超过 64 字的文本")
            cols["applicant_masked"] = mask_name(name)
            cols["applicant_name"] = name.strip() if self.settings.keep_full_name else None
        for f, col in (("applicant_id", "check_id"), ("applicant_phone", "check_phone")):
            if p.get(f):
                if not isinstance(p[f], str) or len(p[f]) > 40 or _last4(p[f]) is None:
                    raise InvalidCase(field=f, problem=" 不完整")
                cols[col] = check_digest(self._key, case_no, _last4(p[f]) or "")
                if f == "applicant_id":
                    cols["id_masked"] = mask_id(p[f])
        for f, col in (("accepted_at", "accepted_at"), ("promised_at", "promised_given"),
                       ("received_at", "received_at"), ("finished_at", "finished_at"), ("status_at", "status_at")):
            if p.get(f):
                cols[col] = _dt(p[f], self.tz, f).isoformat()
        if "status" in p:
            cols["status"] = self._status(p["status"])
        if "version" in p:
            if not isinstance(p["version"], int) or isinstance(p["version"], bool) or p["version"] < 0:
                raise InvalidCase(field="version", problem=" 应为非负整数")
            cols["version"] = p["version"]
        typ = cols.get("case_type", existing["case_type"] if existing else None)
        if typ == 2 and cols.get("promise_days") is None and not cols.get("promised_given") and (
                existing is None or (existing.get("promise_days") is None and not existing.get("promised_given"))):
            raise InvalidCase(field="promise_days", problem=" 承诺件需要承诺办结时限或承诺办结时间")
        return cols

    def _upsert(self, tx: Any, payload: dict[str, Any], source: str) -> dict[str, Any]:
        existing_row = tx.one("SELECT * FROM cases WHERE case_no = ?", payload.get("case_no")) \
            if isinstance(payload, dict) and isinstance(payload.get("case_no"), str) else None
        existing = dict(existing_row) if existing_row is not None else None
        cols = self._validate(payload, existing)
        status_at = datetime.fromisoformat(cols.pop("status_at")) if cols.get("status_at") else tx.now
        target = cols.pop("status", None)
        if existing is not None and cols.get("version") is not None and cols["version"] <= existing["version"]:
            return self._public(existing)  # stale or repeated message from a retained topic: nothing to change
        if cols.get("ticket_id"):
            other = tx.one("SELECT case_no FROM cases WHERE ticket_id = ?", cols["ticket_id"])
            if other is not None and other["case_no"] != cols["case_no"]:
                raise TicketAlreadyLinked(case_no=other["case_no"])
        if existing is None:
            row: dict[str, Any] = {
                "case_no": cols["case_no"], "case_type": cols["case_type"], "status": "received",
                "received_at": cols.get("received_at") or status_at.isoformat(), "stopped_days": 0.0,
                "card": "none", "version": cols.get("version", 0), "updated_at": tx.at,
            }
            row.update({k: v for k, v in cols.items() if k not in ("received_at",)})
            row["status"] = "received"
            names = list(row)
            tx.exec(f"INSERT INTO cases({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    *[row[n] for n in names])
            row = self._row(tx, cols["case_no"])
            initial = target or ("accepted" if row.get("accepted_at") else "received")
            if initial != "received":
                self._enter(tx, row, initial, status_at, str(cols.get("reason") or ""), created=True)
            else:
                self._reschedule(tx, row, "收件")
            created = True
        else:
            row = existing
            changes = {k: v for k, v in cols.items() if k != "case_no" and row.get(k) != v}
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                tx.exec(f"UPDATE cases SET {sets}, updated_at = ? WHERE case_no = ?", *changes.values(), tx.at,
                        row["case_no"])
                row.update(changes)
            if row.get("accepted_at") and changes.keys() & {"promise_days", "promised_given", "case_type",
                                                            "accepted_at"}:
                row["promised_at"] = self._promised(row)  # central changed the promise itself
                tx.exec("UPDATE cases SET promised_at = ? WHERE case_no = ?", row["promised_at"], row["case_no"])
            if target and target != row["status"]:
                self._move(tx, row, target, status_at, str(cols.get("reason") or ""))
            elif changes:
                self._reschedule(tx, row, "办件信息更新")
            else:
                return self._public(row)  # a repeat of what the hall already has: no event
            created = False
        row = self._row(tx, cols["case_no"])
        if row.get("ticket_id"):
            tx.exec("UPDATE ratings SET case_no = ? WHERE ticket_id = ? AND case_no IS NULL", row["case_no"],
                    row["ticket_id"])
        pub = self._public(row)
        tx.emit(CASE_UPDATED, {"case": pub, "created": created, "source": source})
        return pub

    def _move(self, tx: Any, row: dict[str, Any], target: str, at: datetime, reason: str) -> None:
        cur = row["status"]
        ok = target in TRANSITIONS[cur]
        if ok and cur == "correction":  # back to where the correction was asked for
            ok = target in (("in_progress", "withdrawn", "voided") if row.get("accepted_at") else
                            ("received", "accepted", "not_accepted", "withdrawn", "voided"))
        if not ok:
            raise IllegalTransition(case_no=row["case_no"], current=STATUS_LABELS[cur], target=STATUS_LABELS[target])
        self._enter(tx, row, target, at, reason, created=False)

    def _enter(self, tx: Any, row: dict[str, Any], target: str, at: datetime, reason: str, *, created: bool) -> None:
        """Apply a status change (already checked): clock stops and restarts, acceptance, conclusion, events."""
        old = row["status"]
        iso = at.isoformat()
        if row.get("stop_started_at") and target not in STOPPED:
            began = datetime.fromisoformat(row["stop_started_at"])
            row["stopped_days"] = float(row.get("stopped_days") or 0.0) + max(0.0, self._pos(at) - self._pos(began))
            row["stop_started_at"] = None
            tx.exec("UPDATE case_stops SET ended_at = ? WHERE case_no = ? AND ended_at IS NULL", iso, row["case_no"])
        if target == "accepted" and not row.get("accepted_at"):
            row["accepted_at"] = iso
        if target in ("in_progress", "suspended", "done") and not row.get("accepted_at"):
            row["accepted_at"] = iso  # central may report a later state of a case it accepted itself
        if target in STOPPED and row.get("accepted_at") and not row.get("stop_started_at"):
            row["stop_started_at"] = iso
            tx.exec("INSERT INTO case_stops(case_no, kind, started_at) VALUES (?, ?, ?)", row["case_no"], target, iso)
        row["prev_status"] = old if old != target else row.get("prev_status")
        row["status"] = target
        if row.get("accepted_at") and not row.get("promised_at"):
            row["promised_at"] = self._promised(row)
        if target in TERMINAL:
            fin = datetime.fromisoformat(row["finished_at"]) if created and row.get("finished_at") else at
            row["finished_at"] = fin.isoformat()
            row["finished_date"] = fin.astimezone(self.tz).date().isoformat()
            if target == "done":
                self._conclude(row, fin)
        if reason:
            row["reason"] = reason
        tx.exec("UPDATE cases SET status = ?, prev_status = ?, accepted_at = ?, promised_at = ?, stopped_days = ?, "
                "stop_started_at = ?, finished_at = ?, finished_date = ?, used_days = ?, on_time = ?, early = ?, "
                "on_spot = ?, reason = ?, updated_at = ? WHERE case_no = ?",
                row["status"], row["prev_status"], row.get("accepted_at"), row.get("promised_at"),
                row.get("stopped_days") or 0.0, row.get("stop_started_at"), row.get("finished_at"),
                row.get("finished_date"), row.get("used_days"), row.get("on_time"), row.get("early"),
                row.get("on_spot"), row.get("reason"), tx.at, row["case_no"])
        self._reschedule(tx, row, STATUS_LABELS[target])
        if not created or target != "received":
            tx.emit(CASE_STATUS_CHANGED, {"case": self._public(row), "from": None if created else old,
                                          "to": target, "label": STATUS_LABELS[target], "reason": reason})

    def _conclude(self, row: dict[str, Any], fin: datetime) -> None:
        """办结: working days used, on time (before the due moment), early (a working day or more to spare), on the
        spot (即办件 finished the day it was accepted)."""
        accepted = datetime.fromisoformat(row["accepted_at"]) if row.get("accepted_at") else fin
        due_pos, _, due_ts, _ = self._deadline(row)
        fpos = self._pos(fin)
        row["used_days"] = round(max(0.0, fpos - self._pos(accepted) - float(row.get("stopped_days") or 0.0)), 4)
        row["on_time"] = None if due_ts is None else int(fin.timestamp() < due_ts)
        row["early"] = None if due_pos is None else int(due_pos - fpos >= 1.0 - _EPS)
        acc_day = accepted.astimezone(self.tz).date()
        row["on_spot"] = int(row["case_type"] == 1 and fin.astimezone(self.tz).date() == acc_day)

    # ============================================================================================================
    # the scheduler pass
    # ============================================================================================================
    def evaluate_cards(self) -> list[ev.Event]:
        """Called by a timer (e.g. every minute): cards due to change, rectifications for new 差评, ratings linked
        to cases, daily figures.  Touches only due rows (an index range), so a quiet pass costs almost nothing;
        a busy one (the midnight when thousands of deadlines fall) runs in chunks of `BATCH` rows, each its own
        transaction, so a ticket call never waits behind the whole pass."""
        out: list[ev.Event] = []
        if self._calendar_checked != self.cal.fingerprint():  # a new override file or published calendar
            out += self._check_calendar()
        conn = self.hall.store.conn()
        while True:
            now_ts = self.hall.clock().timestamp()
            cursor = int(self.hall.store.meta_get("cases_rating_cursor") or 0)
            busy = (
                conn.execute("SELECT 1 FROM cases WHERE next_ts <= ? LIMIT 1", (now_ts,)).fetchone()
                or conn.execute("SELECT 1 FROM rectifications WHERE next_ts <= ? LIMIT 1", (now_ts,)).fetchone()
                or conn.execute("SELECT 1 FROM events WHERE seq > ? AND kind IN (?, ?) LIMIT 1",
                                (cursor, ev.RATING_RECORDED, ev.RATING_REASON_COMPLETED)).fetchone()
                or (self.settings.report_daily_figures and self._figures_due())
            )
            if not busy:
                return out
            res = self.hall.run("cases_evaluate", None, self._evaluate)
            out += res.events
            if not res.value:  # this chunk finished the due rows
                return out

    BATCH: ClassVar[int] = 5000

    def _figures_due(self) -> bool:
        yesterday = (self.hall.clock().astimezone(self.tz).date() - timedelta(days=1)).isoformat()
        last = self.hall.store.meta_get("cases_figures_day")
        return last is None or last < yesterday

    def _evaluate(self, tx: Any) -> bool:
        """One chunk of the pass; True if more due rows remain."""
        now_ts = tx.now.timestamp()
        self._ratings(tx)
        rows = tx.conn.execute(
            "SELECT rowid, case_no, card, yellow_ts, due_ts, due_at, status, department, window, clerk, item_name, "
            "case_type, promise_days, promised_given, legal_days FROM cases WHERE next_ts <= ? ORDER BY next_ts "
            "LIMIT ?", (now_ts, self.BATCH + 1)).fetchall()
        more = len(rows) > self.BATCH
        updates = []
        for r in rows[: self.BATCH]:
            new = card_for(now_ts, r["yellow_ts"], r["due_ts"])
            updates.append((new, next_change(new, r["yellow_ts"], r["due_ts"]), r["rowid"]))
            if new != r["card"]:
                tx.emit(CASE_CARD_CHANGED, self._card_payload(r, r["card"], new, "时限"))
        tx.conn.executemany("UPDATE cases SET card = ?, next_ts = ? WHERE rowid = ?", updates)
        self.rect.cards_in(tx, now_ts)
        tx.exec("DELETE FROM case_lookup_fails WHERE at_ts < ?", now_ts - self.settings.lookup_window_minutes * 60)
        if self.settings.report_daily_figures:
            self._daily_figures(tx)
        return more

    def _ratings(self, tx: Any) -> int:
        """New rating.recorded events since the durable cursor: link to the case, open rectification for 差评."""
        row = tx.one("SELECT value FROM meta WHERE key = 'cases_rating_cursor'")
        cursor = int(row[0]) if row else 0
        opened = 0
        last = cursor
        for e in tx.conn.execute("SELECT seq, kind, payload FROM events WHERE seq > ? AND kind IN (?, ?) ORDER BY seq",
                                 (cursor, ev.RATING_RECORDED, ev.RATING_REASON_COMPLETED)).fetchall():
            last = e["seq"]
            r = json.loads(e["payload"]).get("rating", {})
            rid = r.get("id")
            if not rid:
                continue
            if e["kind"] == ev.RATING_REASON_COMPLETED:  # the 差评 reason came later: the item shows it
                tx.exec("UPDATE rectifications SET reason = ? WHERE rating_id = ?", r.get("reason"), rid)
                self._evaluation(tx, rid, revision=2)  # and the evaluation record is sent again with it
                continue
            case = tx.one("SELECT case_no FROM cases WHERE ticket_id = ?", r.get("ticket_id"))
            if case is not None:
                tx.exec("UPDATE ratings SET case_no = ? WHERE id = ? AND case_no IS NULL", case["case_no"], rid)
            self._evaluation(tx, rid, revision=1)
            try:
                bad = Level(r.get("level")).is_bad
            except ValueError:
                bad = False
            if bad:
                opened += self.rect.open_in(tx, rid)
        if last != cursor:
            tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('cases_rating_cursor', ?)", str(last))
        return opened

    def _evaluation(self, tx: Any, rating_id: str, *, revision: int) -> None:
        """Every on-site rating's GB/T 39046 evaluation record goes up in the sync stream (kiosk/core/evaluation.py);
        in the pass's transaction with its cursor, so once per rating and revision."""
        rec = evaluation.record(tx.conn, rating_id, self.hall.config.hall.region, self.tz, revision)
        if rec is not None:
            tx.emit(evaluation.EVALUATION_RECORDED, {"record": rec})

    def _daily_figures(self, tx: Any) -> None:
        yesterday = (tx.local.date() - timedelta(days=1)).isoformat()
        row = tx.one("SELECT value FROM meta WHERE key = 'cases_figures_day'")
        if row is not None and row[0] >= yesterday:
            return
        tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('cases_figures_day', ?)", yesterday)
        if row is None:
            return  # first run on this store: start reporting from tomorrow, no backfill of unknown days
        rows = compute_figures(tx.conn, "department", yesterday, yesterday)
        tx.emit(CASE_FIGURES, {"day": yesterday, "by": "department", "rows": rows,
                               "hall": compute_figures(tx.conn, "hall", yesterday, yesterday)})

    def _check_calendar(self) -> list[ev.Event]:
        """A changed override file moves deadlines: recompute every open case once, at the first pass."""
        events: list[ev.Event] = []
        fp = self.cal.fingerprint()
        if self.hall.store.meta_get("cases_calendar") != fp:
            events = list(self.recompute_deadlines().events)
        self._calendar_checked = fp
        return events

    def recompute_deadlines(self) -> Any:
        """Full pass: stopped time and deadlines of every open case redone from the recorded stops."""
        fp = self.cal.fingerprint()
        open_states = tuple(RUNNING | STOPPED)
        marks = ", ".join("?" * len(open_states))

        def body(tx: Any) -> int:
            now_ts = tx.now.timestamp()
            stops: dict[str, float] = {}
            for s in tx.conn.execute(f"SELECT st.case_no, st.started_at, st.ended_at FROM case_stops st JOIN cases c "
                                     f"ON c.case_no = st.case_no WHERE st.ended_at IS NOT NULL AND c.status IN "
                                     f"({marks})", open_states):
                a = self._pos(datetime.fromisoformat(s[1]))
                b = self._pos(datetime.fromisoformat(s[2]))
                stops[s[0]] = stops.get(s[0], 0.0) + max(0.0, b - a)
            updates = []
            for r in tx.conn.execute(
                "SELECT rowid, case_no, case_type, promise_days, promised_given, legal_days, accepted_at, status, "
                "card, due_at, department, window, clerk, item_name, stopped_days, due_ts AS old_due, "
                "yellow_ts AS old_yellow "
                f"FROM cases WHERE accepted_at IS NOT NULL AND status IN ({marks})", open_states).fetchall():
                row = dict(r)
                old_stopped = row["stopped_days"]
                row["stopped_days"] = total = stops.get(row["case_no"], 0.0)
                due_pos, due_at, due_ts, yellow_ts = self._deadline(row)
                if due_ts == row["old_due"] and yellow_ts == row["old_yellow"] and abs(total - old_stopped) < 1e-12:
                    continue  # most cases do not span the changed days: leave their rows alone
                old = row["card"]
                if row["status"] in STOPPED:
                    new, nxt = old, None
                else:
                    new = card_for(now_ts, yellow_ts, due_ts)
                    nxt = next_change(new, yellow_ts, due_ts)
                promised = row["promised_given"] or (
                    _iso(self.cal.moment_ts(due_pos - total, self.tz), self.tz)
                    if due_pos is not None and deadline_basis(row) != "legal" else None)
                updates.append((total, promised, due_pos, due_at, due_ts, yellow_ts, new, nxt, row["rowid"]))
                if new != old:
                    row["due_at"] = due_at
                    tx.emit(CASE_CARD_CHANGED, self._card_payload(row, old, new, "工作日历调整"))
            tx.conn.executemany("UPDATE cases SET stopped_days = ?, promised_at = ?, due_pos = ?, due_at = ?, "
                                "due_ts = ?, yellow_ts = ?, card = ?, next_ts = ? WHERE rowid = ?", updates)
            tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('cases_calendar', ?)", fp)
            return len(updates)

        return self.hall.run("cases_recompute", None, body)

    def attach(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Subscribe to ratings: every rating (and a late 差评 reason) calls `wake()` — which must only schedule
        `evaluate_cards()` on the app's timer thread (e.g. a queued Qt signal) — so a 差评's item opens and every
        rating's evaluation record goes up within moments, not at the next tick.  Returns the unsubscribe
        function."""

        def on_event(e: ev.Event) -> None:
            wake()

        return cast(Callable[[], None],
                    self.hall.subscribe(on_event, {ev.RATING_RECORDED, ev.RATING_REASON_COMPLETED}))

    # ============================================================================================================
    # 差评 rectification
    # ============================================================================================================
    def open_rectification(self, rating_id: str) -> Any:
        """Open the item for a 差评 now (the evaluate pass does it too); exactly once per rating."""
        return self.hall.run("rectify", f"rectify:{rating_id}", lambda tx: self.rect.open_in(tx, rating_id))

    def rectifications(self, open_only: bool = True) -> list[dict[str, Any]]:
        """The hall's 整改 items by deadline (kiosk/core/rectify.py), for the managers' dashboard."""
        return self.rect.items(open_only)

    def my_rectifications(self, clerk_id: str, open_only: bool = True) -> list[dict[str, Any]]:
        """One clerk's own items (the 差评 given at their window while they were signed in), for the caller."""
        return self.rect.items(open_only, clerk_id=clerk_id)

    def calendar_status(self) -> dict[str, Any]:
        """The published holiday calendar in use and a warning when the next 60 days lack official data."""
        from kiosk.core.holidays import status

        return status(self.hall)

    def rectification(self, item_id: str) -> dict[str, Any]:
        """One item with every step taken."""
        return self.rect.detail(item_id)

    def verify_rectification(self, item_id: str, *, valid: bool, note: str, evidence: str = "",
                             by: str | None = None) -> Any:
        return self.rect.verify(item_id, valid=valid, note=note, evidence=evidence, by=by)

    def rectify(self, item_id: str, *, action: str, responsible: str, by: str | None = None) -> Any:
        return self.rect.rectify(item_id, action=action, responsible=responsible, by=by)

    def revisit(self, item_id: str, *, contacted: bool, result: str, satisfied: bool | None = None,
                by: str | None = None) -> Any:
        return self.rect.revisit(item_id, contacted=contacted, result=result, satisfied=satisfied, by=by)

    def appeal_rectification(self, item_id: str, *, reason: str, by: str | None = None) -> Any:
        return self.rect.appeal(item_id, reason=reason, by=by)

    def decide_appeal(self, item_id: str, *, upheld: bool, note: str, by: str | None = None) -> Any:
        return self.rect.decide(item_id, upheld=upheld, note=note, by=by)

    # ============================================================================================================
    # privacy-safe lookup for the kiosk and public screens
    # ============================================================================================================
    def lookup(self, case_no: str, check: str) -> dict[str, Any]:
        """The case's public view if `check` (last 4 of the applicant's ID or phone) matches.  Wrong checks are
        counted durably per case number; too many within the window lock it (CaseLookupLocked)."""
        key = str(case_no or "").strip()[:50]
        given = str(check or "").strip().upper()
        s = self.settings
        window_s = s.lookup_window_minutes * 60

        def body(tx: Any) -> tuple[str, Any]:
            now_ts = tx.now.timestamp()
            fails = [f[0] for f in tx.conn.execute(
                "SELECT at_ts FROM case_lookup_fails WHERE case_no = ? AND at_ts > ? ORDER BY at_ts",
                (key, now_ts - window_s))]
            if len(fails) >= s.lookup_max_failures:
                return "locked", fails[-s.lookup_max_failures] + window_s
            row = tx.one("SELECT * FROM cases WHERE case_no = ?", key)
            ok = False
            if row is not None and len(given) == 4:
                digest = check_digest(self._key, key, given)
                ok = any(h and hmac.compare_digest(h, digest) for h in (row["check_id"], row["check_phone"]))
            if ok:
                return "ok", self._public(dict(row), now=tx.now)
            tx.exec("INSERT INTO case_lookup_fails(case_no, at_ts) VALUES (?, ?)", key, now_ts)
            left = s.lookup_max_failures - len(fails) - 1
            if left <= 0:  # this failure locks the case until the oldest counted one leaves the window
                oldest = fails[-(s.lookup_max_failures - 1)] if s.lookup_max_failures > 1 else now_ts
                tx.emit(CASE_LOOKUP_LOCKED, {"case_no": key, "until": self._local_hm(oldest + window_s)})
                return "locked", oldest + window_s
            return "wrong", left

        outcome, value = self.hall.run("case_lookup", None, body).value
        if outcome == "ok":
            return dict(value)
        if outcome == "locked":
            raise CaseLookupLocked(until=self._local_hm(float(value)))
        raise CaseCheckFailed(left=max(0, int(value)))

    def _local_hm(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz).strftime("%H:%M")

    def _public(self, row: Any, now: datetime | None = None) -> dict[str, Any]:
        """What any screen, ticket or outgoing event may carry: no full name, no ID, no check."""

        tz = self.tz
        basis = deadline_basis(row)

        def local(v: str | None) -> str | None:
            if not v:
                return None
            d = datetime.fromisoformat(v).astimezone(tz)
            return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"  # strftime is 5x slower

        out: dict[str, Any] = {
            "case_no": row["case_no"], "item_name": row["item_name"], "basic_code": row["basic_code"],
            "impl_code": row["impl_code"], "accept_unit": row["accept_unit"],
            "case_type": row["case_type"], "case_type_label": CASE_TYPES.get(row["case_type"], "其他"),
            "status": row["status"], "status_label": STATUS_LABELS[row["status"]],
            "applicant": row["applicant_masked"], "department": row["department"],
            "window": row["window"], "legal_days": row["legal_days"],
            "promise_days": row["promise_days"], "received_at": local(row["received_at"]),
            "accepted_at": local(row["accepted_at"]),
            "promised_at": local(row["promised_at"] or row["promised_given"]),
            "due_at": local(row["due_at"]), "due_day": _last_day(row["due_at"], self.tz),
            "finished_at": local(row["finished_at"]),
            "card": row["card"] or "none", "card_label": CARD_LABELS[row["card"] or "none"],
            "clock_stopped": row["status"] in STOPPED and bool(row["accepted_at"]),
            "deadline_basis": basis, "deadline_label": BASIS_LABELS.get(basis or "") if basis else None,
            "on_time": None if row["on_time"] is None else bool(row["on_time"]),  # 按时办结, once concluded
        }
        if now is not None and row["due_pos"] is not None and row["status"] in RUNNING | STOPPED:
            # a stopped clock (补齐补正, 挂起) is read where it stopped: the days left do not fall while it waits
            at = datetime.fromisoformat(row["stop_started_at"]) if row["stop_started_at"] else now
            out["working_days_left"] = round(float(row["due_pos"]) - self._pos(at), 2)
        return out

    # ============================================================================================================
    # queries for staff screens
    # ============================================================================================================
    def case(self, case_no: str) -> dict[str, Any]:
        """The clerk's view: the public fields plus acceptor, clerk, ticket, stops and the full name if kept."""
        r = self.hall.store.conn().execute("SELECT * FROM cases WHERE case_no = ?", (case_no,)).fetchone()
        if r is None:
            raise CaseNotFound(case_no=case_no)
        row = dict(r)
        out = self._public(row, now=self.hall.clock())
        out.update(acceptor=row["acceptor"], clerk=row["clerk"], ticket_id=row["ticket_id"],
                   applicant_name=row["applicant_name"], id_masked=row["id_masked"],
                   stopped_days=round(row["stopped_days"], 4), used_days=row["used_days"],
                   early=None if row["early"] is None else bool(row["early"]), reason=row["reason"])
        return out

    def cards(self, window: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Yellow and red cases (red first, then by deadline), for the dashboard and a window's screen."""
        now = self.hall.clock()
        out: list[dict[str, Any]] = []
        for card in ("red", "yellow"):  # one index range each (card, due_ts): no sort of the whole table
            # the card as a literal, not a parameter: only then can SQLite use the partial index
            sql = f"SELECT * FROM cases WHERE card != 'none' AND card = '{card}'"
            args: list[Any] = []
            if window is not None:
                sql += " AND window = ?"
                args.append(window)
            sql += " ORDER BY due_ts, case_no"
            if limit is not None:
                sql += " LIMIT ?"
                args.append(max(0, int(limit) - len(out)))
            for r in self.hall.store.conn().execute(sql, args):
                d = self._public(r, now=now)
                d["clerk"] = r["clerk"]
                out.append(d)
        return out

    def card_counts(self) -> dict[str, int]:
        """How many cases and open rectification items show each card (for a dashboard tile)."""
        conn = self.hall.store.conn()
        out = {"yellow": 0, "red": 0, "rectify_yellow": 0, "rectify_red": 0}
        for card, n in conn.execute("SELECT card, COUNT(*) FROM cases WHERE card != 'none' GROUP BY card"):
            out[card] = n
        for card, n in conn.execute("SELECT card, COUNT(*) FROM rectifications WHERE status = 'open' AND "
                                    "card != 'none' GROUP BY card"):
            out[f"rectify_{card}"] = n
        return out

    def figures(self, by: str, day_from: date | str, day_to: date | str | None = None) -> list[dict[str, Any]]:
        """按时/提前/现场办结率, average working days and 满意率 per department, window or clerk (or "hall"),
        over cases concluded (办结) between two local dates inclusive."""
        if by not in BY_COLUMNS:
            raise ValueError(f"by must be one of {sorted(BY_COLUMNS)}, not {by!r}")
        d1 = _as_day(day_from)
        d2 = _as_day(day_to) if day_to is not None else d1
        return compute_figures(self.hall.store.conn(), by, d1, d2)

    def publish_figures(self, by: str, day_from: date | str, day_to: date | str | None = None) -> Any:
        """Send figures to central as an event (the outbox publishes it)."""
        rows = self.figures(by, day_from, day_to)
        d1 = _as_day(day_from)
        d2 = _as_day(day_to) if day_to is not None else d1
        return self.hall.run("case_figures", None, lambda tx: tx.emit(
            CASE_FIGURES, {"day_from": d1, "day_to": d2, "by": by, "rows": rows}))

    def export(self, path: str | Path, by: str, day_from: date | str, day_to: date | str | None = None) -> Path:
        """Figures to CSV or XLSX, chosen by the file suffix."""
        from kiosk.core.export import write_csv, write_xlsx

        p = Path(path)
        rows = self.figures(by, day_from, day_to)
        d1 = _as_day(day_from)
        d2 = _as_day(day_to) if day_to is not None else d1
        title = f"{self.hall.config.name} 办件统计 {d1} 至 {d2}"
        names = {b.code: b.name for b in self.hall.config.businesses}  # figures by business say the name
        if p.suffix.lower() == ".xlsx":
            write_xlsx(p, rows, by, title, names)
        elif p.suffix.lower() == ".csv":
            write_csv(p, rows, by, names)
        else:
            raise ValueError(f"export to .csv or .xlsx, not {p.suffix!r}")
        return p
