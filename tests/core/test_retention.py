"""Retention: personal data older than `[retention] personal_days` is cleared from every table and every event
payload (dead letters deleted), the days kept keep theirs, and the figures, exports and the events central computes
from are the same after the purge as before; the server purges once a day; `hall purge --dry-run` only counts."""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kiosk.cli import main
from kiosk.core import retention
from kiosk.core.cases import Cases
from kiosk.core.config import HallConfig, loads
from kiosk.core.export import ratings_sheet, tickets_sheet
from kiosk.core.figures import BY_COLUMNS, TIME_GROUPS, compute_figures
from kiosk.core.hall import Hall
from kiosk.core.privacy import id_hash, mask_id, mask_name
from kiosk.core.rating import Level
from kiosk.store import Store
from sync import contract
from tests.conftest import SMALL_CONFIG, FakeClock, make_id, staff

CONFIG = SMALL_CONFIG + "\n[cases]\nkeep_full_name = true\n"  # the applicant's full name kept too, to be cleared
OLD, EDGE, TODAY = date(2026, 5, 27), date(2026, 5, 28), date(2026, 11, 24)  # 180 days before TODAY is EDGE
NAMES = {OLD: ("司马春燕", "诸葛建国", "上官秀英"), EDGE: ("欧阳明华", "东方卫红", "皇甫晓东"),
         TODAY: ("令狐冬梅", "慕容海峰", "公孙丽萍")}


@dataclass
class Day:
    """What one day put in the store about its citizens: every value a scan must (not) find afterwards."""

    personal: set[str] = field(default_factory=set)  # cleared once the day is past personal_days
    running: set[str] = field(default_factory=set)  # a case still running: kept whatever its age


def a_day(hall: Hall, cases: Cases, clock: FakeClock, day: date, n: int) -> Day:
    """A booking checked in, a walk-in with an ID, both served and rated (a 差评 whose comment names the citizen), a
    concluded case with its applicant's name, ID and phone, a case still running, a refused central message."""
    appt_name, case_name, running_name = NAMES[day]
    id_walk, id_appt, id_case, id_run = (make_id(n * 10 + i, "51010419780315") for i in range(4))
    phone = f"139{n:08d}"
    out = Day()
    clock.set_local(day.year, day.month, day.day, 9, 0)
    code = f"{n:08d}"
    hall.book_appointment(code, "tax", day, "09:30", "10:00", id_number=id_appt, name=appt_name)
    clock.set_local(day.year, day.month, day.day, 9, 25)
    appt = hall.check_in(code=code).value.ticket
    walk = hall.issue_ticket("tax", id_number=id_walk).value.ticket
    assert hall.call_next(2).value["id"] == appt["id"]
    hall.start_service(2)
    clock.advance(minutes=5)
    hall.finish_service(2)
    comment = f"{appt_name}反映电话{phone}没人接"
    hall.rate(appt["id"], Level.DISSATISFIED, reason="等候时间长", text=comment)
    assert hall.call_next(9).value["id"] == walk["id"]
    hall.start_service(9)
    clock.advance(minutes=7)
    hall.finish_service(9)
    hall.rate(walk["id"], Level.VERY_SATISFIED, text="服务很好")
    cases.register({"case_no": f"SB{n}", "case_type": 1, "status": "受理", "item_name": "社保查询",
                    "applicant_name": case_name, "applicant_id": id_case, "applicant_phone": phone})
    cases.link_ticket(f"SB{n}", walk["id"])
    cases.transition(f"SB{n}", "办结")
    cases.register({"case_no": f"RUN{n}", "case_type": 2, "promise_days": 60, "status": "受理", "item_name": "不动产",
                    "applicant_name": running_name, "applicant_id": id_run, "applicant_phone": f"137{n:08d}"})
    cases.evaluate_cards()  # the evaluation records (评价人 masked) and the 差评's rectification item
    hall.store.add_dead_letter("central", f"central/test-hall/case/X{n}", json.dumps(
        {"case_no": f"X{n}", "applicant_name": case_name, "applicant_id": id_case}, ensure_ascii=False),
        "case_type 缺少", clock().isoformat())
    key = hall._key
    out.personal |= {id_hash(key, i) for i in (id_walk, id_appt)} | {mask_id(i) for i in (id_walk, id_appt, id_case)}
    out.personal |= {mask_name(appt_name), mask_name(case_name), case_name, comment}
    conn = hall.store.conn()
    out.personal |= set(conn.execute("SELECT check_id, check_phone FROM cases WHERE case_no = ?", (f"SB{n}",))
                        .fetchone())
    out.running |= {running_name, mask_name(running_name), mask_id(id_run)}
    out.running |= set(conn.execute("SELECT check_id, check_phone FROM cases WHERE case_no = ?", (f"RUN{n}",))
                       .fetchone())
    return out


@pytest.fixture
def hall_year(tmp_path: Path) -> tuple[Hall, FakeClock, dict[date, Day]]:
    clock = FakeClock()
    clock.set_local(OLD.year, OLD.month, OLD.day, 8, 0)
    hall = staff(Hall(loads(CONFIG, "hall.toml"), Store(tmp_path / "hall.db"), clock=clock))
    cases = Cases(hall)
    days = {d: a_day(hall, cases, clock, d, i) for i, d in enumerate((OLD, EDGE, TODAY), 1)}
    clock.set_local(TODAY.year, TODAY.month, TODAY.day, 18, 0)
    return hall, clock, days


def figures(hall: Hall, upto: int) -> dict[str, Any]:
    """Everything reported about the purged and the kept day: the hall's figures, the exports, and what central
    computes from each event up to seq `upto` (figures, details) with its wire form checked against the contract."""
    d1, d2 = OLD.isoformat(), EDGE.isoformat()
    conn = hall.store.conn()
    central = []
    for e in hall.store.events_after(0, upto):
        m = contract.event_message(e, hall.config.hall_id, hall.config.hall.region, hall.config.tz)
        m = contract.decode_event(contract.encode(m))  # refused here if the purge broke the contract
        details = contract.event_details(m)
        if details.evaluation is not None:  # 评价人 and the comment are what the purge clears
            details = type(details)(evaluation=msgspec.structs.replace(
                details.evaluation, evaluator="", comment="", text=""))
        central.append((e.seq, e.kind, e.local_date, contract.event_figures(m), details))
    return {
        "counts": [hall.counts(d) for d in (d1, d2)],
        "times": {by: hall.times(by, d1, d2) for by in TIME_GROUPS},
        "ratings": hall.rating_summary(d1, d2),
        "cases": {by: compute_figures(conn, by, d1, d2) for by in BY_COLUMNS},
        "export": (tickets_sheet(conn, hall.config, d1, d2).rows, ratings_sheet(conn, hall.config, d1, d2).rows),
        "central": central,
    }


def scan(db: str) -> str:
    """Every value of every column of every table, as one text to search."""
    parts: list[str] = []
    with closing(sqlite3.connect(db)) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                parts.extend(f"{table}: {v}" for v in row if v is not None)
    return "\n".join(parts)


def test_purge_clears_old_personal_data_and_keeps_every_figure(hall_year: tuple[Hall, FakeClock, dict[date, Day]],
                                                               tmp_path: Path) -> None:
    hall, _clock, days = hall_year
    assert retention.cutoff(hall) == EDGE.isoformat()
    last = hall.store.last_seq()
    before = figures(hall, last)
    everything = scan(hall.store.path)
    for day in days.values():
        assert all(v in everything for v in day.personal | day.running)
    letters = hall.store.conn().execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    preview = retention.preview(hall)

    total = retention.purge(hall, limit=25)  # a few events a step: several steps, as a first purge of a big store

    assert total.counts == preview.counts
    assert total.counts["tickets"] == 2 and total.counts["appointments"] == 1 and total.counts["cases"] == 1
    assert total.counts["ratings"] == 2 and total.counts["dead_letters"] == 1 and total.counts["events"] > 10
    assert figures(hall, last) == before
    after = scan(hall.store.path)
    left = {v for v in days[OLD].personal if v in after}
    assert left == set(), left
    for kept in (days[EDGE], days[TODAY]):
        assert {v for v in kept.personal | kept.running if v not in after} == set()
    assert all(v in after for v in days[OLD].running), "a running case still answers its applicant"
    assert hall.store.conn().execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] == letters - 1

    purged = [e for e in hall.store.events_after(last) if e.kind == retention.PURGED]
    assert len(purged) > 1 and all(e.payload["before"] == EDGE.isoformat() for e in purged)
    assert {k: sum(e.payload[k] for e in purged) for k in retention.COUNTED} == total.counts
    assert all(e.payload["personal_days"] == 180 for e in purged)
    old_records = [e.payload["record"] for e in hall.store.events_after(0, 100_000)
                   if e.kind == "evaluation.recorded" and e.local_date == OLD.isoformat()]
    assert old_records and all(r["evaluator"] == "匿名" and r["comment"] == "" and r["text"] == r["reason"]
                               for r in old_records)

    again = retention.purge(hall)  # nothing left to clear: no change, no event
    assert not any(again.counts.values())
    assert hall.store.last_seq() == purged[-1].seq
    assert not any(retention.purge_step(hall, tables=False).counts.values())
    assert not any(retention.preview(hall).counts.values())
    # a case concluded long ago that reaches the hall only now is cleared by the next purge (its events are
    # today's: they keep the masked name for personal_days from today, as every event does)
    Cases(hall).register({"case_no": "LATE1", "case_type": 1, "status": "作废", "item_name": "补录",
                          "finished_at": "2026-03-02T02:00:00+00:00", "applicant_name": "呼延庆"})
    assert retention.preview(hall).counts["cases"] == 1
    assert retention.purge(hall).counts["cases"] == 1
    late = hall.store.conn().execute("SELECT * FROM cases WHERE case_no = 'LATE1'").fetchone()
    assert late["applicant_name"] is None and late["applicant_masked"] is None and late["status"] == "voided"

    # the file too: cleared values were overwritten (secure_delete), not left in free space or the WAL
    hall.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("hall.db*"))
    assert {v for v in days[OLD].personal if v.encode() in raw} == set()


def test_the_server_purges_at_start_and_again_after_midnight(config: HallConfig, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = Hall(config, Store(tmp_path / "hall.db"), clock=clock)
    hall.issue_ticket("tax", id_number=make_id(7))
    clock.advance(days=180)
    hall.issue_ticket("tax", id_number=make_id(8))
    server = retention.Retention(hall)
    assert server.step() is not None and server.step() is None  # once a day, the first pass clearing nothing yet
    assert hall.store.conn().execute("SELECT COUNT(*) FROM tickets WHERE id_hash IS NOT NULL").fetchone()[0] == 2
    clock.advance(days=1)  # after midnight the first ticket is 181 days old
    done = server.step()
    assert done is not None and done.counts["tickets"] == 1 and done.counts["events"] == 1
    assert server.step() is None
    assert hall.store.conn().execute("SELECT COUNT(*) FROM tickets WHERE id_hash IS NOT NULL").fetchone()[0] == 1


def test_hall_purge_dry_run_counts_and_purge_clears(config: HallConfig, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "hall.toml"
    cfg.write_text(SMALL_CONFIG + "\n[retention]\npersonal_days = 30\n", encoding="utf-8")
    clock = FakeClock(datetime.now(UTC) - timedelta(days=40))  # the command runs on the wall clock
    hall = Hall(loads(cfg.read_text(encoding="utf-8"), str(cfg)), Store(tmp_path / "hall.db"), clock=clock)
    hall.issue_ticket("tax", id_number=make_id(9))
    hall.store.close()
    args = ["purge", "--config", str(cfg), "--db", str(tmp_path / "hall.db")]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("个人信息保留 30 天：将清除 ") and "之前的 号票 1，" in out
    assert out.rstrip().endswith("事件 1（试运行，未改动）")
    assert mask_id(make_id(9)) in scan(str(tmp_path / "hall.db"))
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("个人信息保留 30 天：已清除")
    assert mask_id(make_id(9)) not in scan(str(tmp_path / "hall.db"))


@pytest.mark.parametrize(("payload", "expected"), [
    # a ticket as every ticket event carries it
    ({"ticket": {"number": "C001", "id_masked": "5101**********1234", "business": "tax"}, "ahead": 2},
     {"ticket": {"number": "C001", "id_masked": None, "business": "tax"}, "ahead": 2}),
    # an appointment's masked name, a case's applicant (its public view)
    ({"appointment": {"code": "00000001", "name_masked": "张*三"}}, {"appointment": {"code": "00000001",
                                                                                   "name_masked": None}}),
    ({"case": {"case_no": "SB1", "applicant": "张*三", "status": "done"}, "created": True},
     {"case": {"case_no": "SB1", "applicant": None, "status": "done"}, "created": True}),
    # a rating's comment; its reason and level stay (figures, 差评 lists)
    ({"rating": {"level": "dissatisfied", "reason": "等候时间长", "text": "张三说…"}},
     {"rating": {"level": "dissatisfied", "reason": "等候时间长", "text": None}}),
    # an evaluation record: 评价人 must stay filled (GB/T 39046, the contract), 文字评价 becomes the reason alone
    ({"record": {"evaluator": "张*三", "reason": "等候时间长", "comment": "张三说…", "text": "等候时间长；张三说…"}},
     {"record": {"evaluator": "匿名", "reason": "等候时间长", "comment": "", "text": "等候时间长"}}),
    # what holds nothing personal is left as it is, "text" outside a rating included
    ({"notice": "今日下午停电", "text": "公告", "ticket": {"id_masked": None}}, None),
    ({"record": {"evaluator": "匿名", "reason": "", "comment": "", "text": ""}}, None),
])
def test_scrub_event(payload: dict[str, Any], expected: dict[str, Any] | None) -> None:
    new, changed = retention.scrub_event(payload)
    assert (new, changed) == ((expected, True) if expected is not None else (payload, False))
    assert retention.scrub_event(new) == (new, False)
