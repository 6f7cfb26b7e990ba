"""差评 rectification (整改, 国办发〔2019〕51号): 核实 → 整改 → 回访 → closed, and a staff 申诉 decided by a manager.
Each step is one Hall command and one `rectification.step` event naming who took it; items carry working-day
deadlines (5, 7 or 15 by region) with yellow and red cards like cases."""
from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kiosk.core import context as C
from kiosk.core.cases import CARD_LABELS, _err, card_for, next_change
from kiosk.core.privacy import scrub_text
from kiosk.core.rating import Level

# --- event kinds --------------------------------------------------------------------------------------------------
RECTIFICATION_OPENED = "rectification.opened"  # {item}
RECTIFICATION_STEP = "rectification.step"  # {id, step, label, by, at, detail, item}
RECTIFICATION_CLOSED = "rectification.closed"  # {item}, after the step that closed it
RECTIFICATION_CARD_CHANGED = "rectification.card_changed"  # {id, from, to, label, due_at, window, clerk_id, case_no}

STAGES: dict[str, str] = {"verify": "待核实", "rectify": "整改中", "revisit": "待回访", "appeal": "申诉复核中",
                          "closed": "已办结"}
STEPS: dict[str, str] = {"verify": "核实", "rectify": "整改", "revisit": "回访", "appeal": "申诉", "decide": "申诉复核"}
OUTCOMES: dict[str, str] = {"rectified": "已整改并回访", "invalid": "核实不属实", "appeal_upheld": "申诉成立",
                            "responded": "已答复"}  # responded: closed with one reply, before the loop existed
# The steps each stage takes.  申诉 is open until the rectification is reported: after that the clerk has accepted it.
ALLOWED: dict[str, frozenset[str]] = {
    "verify": frozenset({"verify", "appeal"}), "rectify": frozenset({"rectify", "appeal"}),
    "revisit": frozenset({"revisit"}), "appeal": frozenset({"decide"}), "closed": frozenset(),
}
MAX_TEXT = 500
_STAFF = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")

# --- refusals -----------------------------------------------------------------------------------------------------
RectificationNotFound = _err("RectificationNotFound", "rectification_not_found", "没有找到这条整改")
RectificationClosed = _err("RectificationClosed", "rectification_closed", "这条整改已经办结")
WrongStage = _err("WrongStage", "rectification_wrong_stage", "这条整改当前为「{stage}」，不能进行「{step}」")
FieldRequired = _err("FieldRequired", "rectification_field_required", "请填写{field}")
FieldTooLong = _err("FieldTooLong", "rectification_field_too_long", "{field}不能超过 {limit} 字")
OperatorRequired = _err("OperatorRequired", "rectification_operator_required",
                        "请填写{field}的工号（字母、数字、- 或 _，最多 32 位）")
AppealUsed = _err("AppealUsed", "rectification_appeal_used", "这条差评已经申诉过一次，不能再次申诉")
NotOwnItem = _err("NotOwnItem", "rectification_not_own", "只能对自己受理的差评申诉（这条差评属于 {clerk}）")
SelfDecision = _err("SelfDecision", "rectification_self_decision", "申诉须由申诉人以外的负责人复核")
NotContacted = _err("NotContacted", "rectification_not_contacted", "未联系上群众，不能记录群众是否满意")
NotSignedInAs = _err("NotSignedInAs", "rectification_not_signed_in_as",
                     "已登录的是工号 {signed_in}，不能以工号 {given} 的名义填写{field}")


def _text(value: Any, field: str, *, required: bool = True) -> str:
    """A step's free text, ID and mobile numbers masked: a 回访 note naming the citizen's phone is kept (and sent
    to central) as 138****5678, never in clear."""
    s = scrub_text(value.strip()) if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise FieldRequired(field=field)
    if not s and required:
        raise FieldRequired(field=field)
    if len(s) > MAX_TEXT:
        raise FieldTooLong(field=field, limit=MAX_TEXT)
    return s


def _staff(value: Any, field: str) -> str:
    """A staff number (工号) named in a step (the 整改责任人, or who took it when nobody is signed in)."""
    s = value.strip() if isinstance(value, str) else ""
    if not _STAFF.match(s):
        raise OperatorRequired(field=field)
    return s


def _by(value: Any, field: str) -> str:
    """Who takes a step: the person the command context names (kiosk/core/context.py: the signed-in manager at the
    dashboard, the clerk at the caller); `by` only where nobody is signed in (the CLI, a hall without accounts),
    and never someone other than the signed-in person."""
    op = C.current()
    if op is not None and op.staff_no is not None:
        if value not in (None, "") and (not isinstance(value, str) or value.strip() != op.staff_no):
            raise NotSignedInAs(signed_in=op.staff_no, given=str(value)[:32], field=field)
        return op.staff_no
    return _staff(value, field)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise FieldRequired(field=field)
    return value


class Rectifications:
    """The items and their steps, on top of a Cases (its hall, settings and calendar)."""

    def __init__(self, cases: Any) -> None:
        self.cases = cases
        self.hall = cases.hall

    # ============================================================================================================
    # opening and cards: run inside the Cases pass's transaction
    # ============================================================================================================
    def open_in(self, tx: Any, rating_id: str) -> int:
        """Open the item for a 差评 (exactly once per rating); 1 if opened."""
        if tx.one("SELECT id FROM rectifications WHERE rating_id = ?", rating_id) is not None:
            return 0  # exactly once per 差评, however often the rating is seen
        r = tx.one("SELECT * FROM ratings WHERE id = ?", rating_id)
        if r is None or r["status"] != "rated" or not Level(r["level"]).is_bad:
            return 0
        cal, tz, settings = self.cases.cal, self.cases.tz, self.cases.settings
        opened = datetime.fromisoformat(r["rated_at"]) if r["rated_at"] else tx.now
        days = settings.rectify_days
        due_pos = float(cal.end_of_day_position(opened, tz) + days)
        yellow_pos = max(cal.position(opened, tz), due_pos - settings.yellow_margin_days)
        due = cal.moment_at(due_pos, tz)
        due_ts, yellow_ts = due.timestamp(), cal.moment_at(yellow_pos, tz).timestamp()
        card = card_for(tx.now.timestamp(), yellow_ts, due_ts)
        case_no = r["case_no"]
        if case_no is None:
            c = tx.one("SELECT case_no FROM cases WHERE ticket_id = ?", r["ticket_id"])
            case_no = c["case_no"] if c is not None else None
        iid = uuid.uuid4().hex
        tx.exec("INSERT INTO rectifications(id, rating_id, ticket_id, case_no, number, window, clerk_id, level, "
                "reason, status, stage, opened_at, opened_date, days, due_pos, due_at, due_ts, yellow_ts, next_ts, "
                "card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', 'verify', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                iid, rating_id, r["ticket_id"], case_no, r["number"], r["window"], r["clerk_id"], r["level"],
                r["reason"], opened.isoformat(), opened.astimezone(tz).date().isoformat(), days, due_pos,
                due.isoformat(), due_ts, yellow_ts, next_change(card, yellow_ts, due_ts), card)
        item = item_dict(tx.conn, iid)
        tx.emit(RECTIFICATION_OPENED, {"item": item})
        if card != "none":
            tx.emit(RECTIFICATION_CARD_CHANGED, _card_change(item, "none", card))
        return 1

    def cards_in(self, tx: Any, now_ts: float) -> None:
        """The items whose card is due to change (an index range on next_ts)."""
        rows = tx.conn.execute("SELECT id, card, yellow_ts, due_ts, due_at, window, clerk_id, case_no "
                               "FROM rectifications WHERE next_ts <= ?", (now_ts,)).fetchall()
        updates = []
        for r in rows:
            new = card_for(now_ts, r["yellow_ts"], r["due_ts"])
            updates.append((new, next_change(new, r["yellow_ts"], r["due_ts"]), r["id"]))
            if new != r["card"]:
                tx.emit(RECTIFICATION_CARD_CHANGED, _card_change(r, r["card"], new))
        tx.conn.executemany("UPDATE rectifications SET card = ?, next_ts = ? WHERE id = ?", updates)

    # ============================================================================================================
    # the steps
    # ============================================================================================================
    def verify(self, item_id: str, *, valid: bool, note: str, evidence: str = "", by: str | None = None) -> Any:
        """核实: the 差评 is valid (→ 整改) or not (→ closed as 核实不属实, with the reason and the evidence)."""
        ok = _flag(valid, "核实结论（属实或不属实）")
        note_s = _text(note, "核实情况" if ok else "不属实的理由")
        ev_s = _text(evidence, "证据（如监控、录音、材料编号）", required=not ok)
        detail = {"valid": ok, "note": note_s, "evidence": ev_s}

        def apply(r: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
            return ("rectify", None, {"valid": 1}) if ok else ("closed", "invalid", {"valid": 0})

        return self._step("verify", item_id, _by(by, "核实人"), detail, apply)

    def rectify(self, item_id: str, *, action: str, responsible: str, by: str | None = None) -> Any:
        """整改: what was done, and the staff member responsible (→ 待回访)."""
        detail = {"action": _text(action, "整改措施"), "responsible": _staff(responsible, "整改责任人")}
        return self._step("rectify", item_id, _by(by, "经办人"), detail,
                          lambda r: ("revisit", None, {"responsible": detail["responsible"]}))

    def revisit(self, item_id: str, *, contacted: bool, result: str, satisfied: bool | None = None,
                by: str | None = None) -> Any:
        """回访: the citizen contacted (or not), what they said, satisfied or not (→ closed)."""
        reached = _flag(contacted, "是否联系上群众")
        if reached:
            happy: bool | None = _flag(satisfied, "群众是否满意")
        elif satisfied is not None:
            raise NotContacted()
        else:
            happy = None
        detail = {"contacted": reached, "result": _text(result, "回访情况"), "satisfied": happy}
        return self._step("revisit", item_id, _by(by, "回访人"), detail, lambda r: (
            "closed", "rectified", {"contacted": int(reached), "satisfied": None if happy is None else int(happy)}))

    def appeal(self, item_id: str, *, reason: str, by: str | None = None) -> Any:
        """申诉: the clerk the 差评 is about contests it, once, before the rectification is reported (→ 复核)."""
        who = _by(by, "申诉人")
        detail = {"reason": _text(reason, "申诉理由")}

        def apply(r: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
            if r["appeals"]:
                raise AppealUsed()
            if r["clerk_id"] != who:
                raise NotOwnItem(clerk=r["clerk_id"] or "未签到人员")
            return "appeal", None, {"appeal_from": r["stage"], "appeal_by": who, "appeals": r["appeals"] + 1}

        return self._step("appeal", item_id, who, detail, apply)

    def decide(self, item_id: str, *, upheld: bool, note: str, by: str | None = None) -> Any:
        """申诉复核 by a manager: upheld (→ closed as 申诉成立) or rejected (→ back to where the appeal was made)."""
        who = _by(by, "复核人")
        up = _flag(upheld, "复核结论（申诉成立或不成立）")
        detail = {"upheld": up, "note": _text(note, "复核意见")}

        def apply(r: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
            if r["appeal_by"] == who:
                raise SelfDecision()
            return ("closed", "appeal_upheld", {}) if up else (r["appeal_from"] or "verify", None, {})

        return self._step("decide", item_id, who, detail, apply)

    def _step(self, step: str, item_id: str, by: str, detail: dict[str, Any],
              apply: Callable[[dict[str, Any]], tuple[str, str | None, dict[str, Any]]]) -> Any:
        def body(tx: Any) -> dict[str, Any]:
            row = tx.one("SELECT * FROM rectifications WHERE id = ?", item_id)
            if row is None:
                raise RectificationNotFound()
            r = dict(row)
            if r["stage"] == "closed":
                raise RectificationClosed()
            if step not in ALLOWED[r["stage"]]:
                raise WrongStage(stage=STAGES[r["stage"]], step=STEPS[step])
            stage, outcome, cols = apply(r)
            cols["stage"] = stage
            if stage == "closed":
                cols.update(status="closed", outcome=outcome, closed_at=tx.at, next_ts=None, card="none",
                            closed_on_time=int(tx.now.timestamp() < r["due_ts"]))
            sets = ", ".join(f"{k} = ?" for k in cols)
            tx.exec(f"UPDATE rectifications SET {sets} WHERE id = ?", *cols.values(), item_id)
            n = tx.one("SELECT COUNT(*) FROM rectification_steps WHERE item_id = ?", item_id)[0] + 1
            tx.exec("INSERT INTO rectification_steps(item_id, n, step, stage, by_staff, at, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", item_id, n, step, stage, by, tx.at,
                    json.dumps(detail, ensure_ascii=False))
            item = item_dict(tx.conn, item_id)
            if stage == "closed" and r["card"] != "none":
                tx.emit(RECTIFICATION_CARD_CHANGED, _card_change(item, r["card"], "none"))
            tx.emit(RECTIFICATION_STEP, {"id": item_id, "step": step, "label": STEPS[step], "by": by, "at": tx.at,
                                         "detail": detail, "item": item})
            if stage == "closed":
                tx.emit(RECTIFICATION_CLOSED, {"item": item})
            return item

        return self.hall.run(f"rectification_{step}", None, body)

    # ============================================================================================================
    # queries
    # ============================================================================================================
    def items(self, open_only: bool = True, clerk_id: str | None = None) -> list[dict[str, Any]]:
        """Items by deadline (all, or the open ones), for the dashboard list or one clerk's own (the caller)."""
        sql, args = "SELECT id FROM rectifications WHERE 1 = 1", []
        if open_only:
            sql += " AND status = 'open'"
        if clerk_id is not None:
            sql += " AND clerk_id = ?"
            args.append(clerk_id)
        conn = self.hall.store.conn()
        return [item_dict(conn, r[0]) for r in conn.execute(sql + " ORDER BY due_ts, id", args).fetchall()]

    def detail(self, item_id: str) -> dict[str, Any]:
        """One item with every step taken (who, when, what), for the dashboard's detail view."""
        conn = self.hall.store.conn()
        item = item_dict(conn, item_id)
        item["steps"] = [
            {"n": s["n"], "step": s["step"], "label": STEPS[s["step"]], "stage": s["stage"],
             "stage_label": STAGES[s["stage"]], "by": s["by_staff"], "at": s["at"], **json.loads(s["detail"])}
            for s in conn.execute("SELECT * FROM rectification_steps WHERE item_id = ? ORDER BY n", (item_id,))]
        return item


def item_dict(conn: sqlite3.Connection, item_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM rectifications WHERE id = ?", (item_id,)).fetchone()
    if r is None:
        raise RectificationNotFound()
    d = dict(r)
    d["level_label"] = Level(d["level"]).label
    d["card_label"] = CARD_LABELS[d["card"]]
    d["stage_label"] = STAGES[d["stage"]]
    d["outcome_label"] = OUTCOMES.get(d["outcome"] or "")
    for k in ("closed_on_time", "valid", "contacted", "satisfied"):
        d[k] = None if d[k] is None else bool(d[k])
    return {k: v for k, v in d.items() if k not in ("due_pos", "yellow_ts", "next_ts", "due_ts")}


def _card_change(r: Any, old: str, new: str) -> dict[str, Any]:
    return {"id": r["id"], "from": old, "to": new, "label": CARD_LABELS[new], "due_at": r["due_at"],
            "window": r["window"], "clerk_id": r["clerk_id"], "case_no": r["case_no"]}
