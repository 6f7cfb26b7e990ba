"""The province and its halls through real mosquitto and PostgreSQL: every rating's GB/T 39046 record and every
整改 step reach central; `hall central calendar publish` moves a hall's deadlines into 2027 and central learns the
version; `hall central catalog publish` changes the kiosk's menu; `hall central case` sends a 承诺件 with its days."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.core import holidays
from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync import catalog, central, rollup
from sync.central import CentralStore, Collector
from sync.link import ONLINE
from sync.service import HallSync
from tests.sync.conftest import Clock, wait_for

TOML = """
[hall]
id = "{hall_id}"
name = "测试便民服务中心"
region = "510104001002"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
days = "all"
hours = ["00:00-24:00"]

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
days = "all"
hours = ["00:00-24:00"]
menu = "catalog"

[[businesses]]
code = "housing"
prefix = "B"
name = "不动产"
menu = "fixed"

[[windows]]
number = 1
combined = true
"""


@pytest.fixture
def village(tmp_path: Path) -> Iterator[Hall]:
    """A village's service room (12-digit 行政区划), with a catalogue-driven and a fixed business."""
    s = Store(tmp_path / "village.db", synchronous="NORMAL")
    hall = Hall(loads(TOML.format(hall_id="village-1"), "village.toml"), s, clock=Clock())
    hall.sign_in(1, "S023", "王五")
    yield hall
    s.close()


def serve_and_rate(hall: Hall, level: str, reason: str | None = None) -> dict[str, Any]:
    hall.clock.t += timedelta(minutes=5)  # type: ignore[attr-defined]
    t = hall.issue_ticket("tax").value.ticket
    hall.call_next(1)
    hall.finish_service(1)
    return hall.rate(t["id"], level, reason=reason).value


def test_ratings_and_rectification_reach_postgres(broker: Any, village: Hall, pg_store: CentralStore) -> None:
    collector = Collector(broker.settings(), pg_store, client_id="central-pg-province")
    collector.start()
    sync = HallSync(village, broker.settings())
    cases = Cases(village)
    try:
        wait_for(lambda: collector.link.state == ONLINE, what="collector online")
        sync.start()
        serve_and_rate(village, "satisfied")
        serve_and_rate(village, "very_dissatisfied", reason="等候时间长")
        cases.evaluate_cards()
        item = cases.rectifications()[0]
        cases.verify_rectification(item["id"], valid=True, note="属实", by="M001")
        cases.rectify(item["id"], action="增开窗口", responsible="S023", by="M001")
        cases.revisit(item["id"], contacted=True, result="群众认可", satisfied=True, by="M002")
        last = village.store.last_seq()
        wait_for(lambda: pg_store.seqs("village-1") == list(range(1, last + 1)), timeout=30, what="events in PG")
        recs = rollup.evaluation_records(pg_store.db)
        assert [(r.level.value, r.region, r.evaluator) for r in recs] == [
            ("satisfied", "510104001002", "匿名"), ("very_dissatisfied", "510104001002", "匿名")]
        assert recs[1].satisfaction == 5 and recs[1].text == "等候时间长"
        ((stage, outcome, steps),) = pg_store.db.query("SELECT stage, outcome, steps FROM rect_items")
        assert (stage, outcome, steps) == ("closed", "rectified", 3)
        (town,) = rollup.report(pg_store.db, "township")
        assert town["prefix"] == "510104001" and town["tickets"] == 2 and town["rectify_closed"] == 1
        assert town["satisfaction_rate"] == 0.5
    finally:
        sync.stop()
        collector.stop()


def test_calendar_publish_moves_deadlines_into_2027(broker: Any, village: Hall, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    cases = Cases(village)
    village.clock.t = datetime(2026, 12, 29, 1, tzinfo=UTC)  # type: ignore[attr-defined]
    cases.register({"case_no": "Y2027", "case_type": 2, "promise_days": 3, "status": "受理"})
    assert cases.case("Y2027")["due_day"] == "2027-01-01"  # Mon–Fri guess: due on 元旦
    assert cases.calendar_status()["warning"] is not None
    sync = HallSync(village, broker.settings())
    sync.start()
    cal = tmp_path / "2027.txt"
    cal.write_text("2027-01-01 closed 元旦\n2027-02-06 open 春节调休\n2027 complete\n", encoding="utf-8")
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        assert central.main(["calendar", "publish", str(cal), "--hall", "village-1", "--version", "7",
                             "--port", str(broker.port)]) == 0
        assert len(capsys.readouterr().out.split()) == 1  # one message id: one hall
        wait_for(lambda: holidays.in_use(village) == 7, what="calendar applied")
        cases.evaluate_cards()  # the pass sees the new calendar and redoes the deadlines
        assert cases.case("Y2027")["due_day"] == "2027-01-04"
        assert cases.calendar_status()["warning"] is None
        # an older version published later is not used
        assert central.main(["calendar", "publish", str(cal), "--hall", "village-1", "--version", "6",
                             "--port", str(broker.port)]) == 0
        wait_for(lambda: sync.inbox.applied == 2, what="second calendar handled")
        assert holidays.in_use(village) == 7
        applied = village.store.events_after(0, 10_000, kinds={holidays.CALENDAR_APPLIED})
        assert [e.payload["version"] for e in applied] == [7]
    finally:
        sync.stop()
    bad = tmp_path / "bad.txt"
    bad.write_text("2027-01-01 closed 元旦\n", encoding="utf-8")  # no year declared complete
    assert central.main(["calendar", "publish", str(bad), "--hall", "village-1", "--port", str(broker.port)]) == 2


def test_catalog_publish_changes_the_menu(broker: Any, village: Hall, tmp_path: Path) -> None:
    assert [(m["code"], m["shown"]) for m in catalog.menu(village)] == [
        ("tax", True), ("social", False), ("housing", True)]  # social waits for the catalogue
    sync = HallSync(village, broker.settings())
    sync.start()
    doc = {"items": [{"code": "SB-1", "business": "social", "name": "参保登记", "version": 1},
                     {"code": "SB-2", "business": "social", "name": "社保转移", "version": 1}],
           "businesses": [{"code": "social", "name": "社保医保", "state": "open", "version": 1},
                          {"code": "tax", "name": "税务", "state": "closed", "message": "系统升级", "version": 1},
                          {"code": "housing", "name": "房产", "version": 1},
                          {"code": "nope", "name": "不存在", "version": 1}]}
    f = tmp_path / "catalog.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        assert central.main(["catalog", "publish", str(f), "--hall", "village-1", "--port", str(broker.port)]) == 0
        wait_for(lambda: sync.inbox.applied == 1, what="catalogue applied")
        menu = {m["code"]: m for m in catalog.menu(village)}
        assert menu["social"]["shown"] and menu["social"]["name"] == "社保医保"
        assert menu["tax"]["closed"] and menu["tax"]["message"] == "系统升级"
        assert menu["housing"]["name"] == "不动产"  # fixed: the catalogue does not rename it
        counts = {c["business"]: c for c in village.waiting_counts()}
        assert counts["tax"]["closed"]  # closed for tickets too, like 暂停取号
        assert [i["code"] for i in catalog.catalog_items(village, "social")] == ["SB-1", "SB-2"]
        (upd,) = village.store.events_after(0, 10_000, kinds={"catalog.updated"})
        assert upd.payload["ignored"] == ["housing", "nope"]
    finally:
        sync.stop()
    bad = tmp_path / "bad.json"
    bad.write_text('{"businesses": [{"code": "tax", "name": "税务"}]}', encoding="utf-8")  # no version
    assert central.main(["catalog", "publish", str(bad), "--hall", "village-1", "--port", str(broker.port)]) == 2


def test_case_command_sends_every_type_with_its_days(broker: Any, village: Hall) -> None:
    sync = HallSync(village, broker.settings())
    sync.start()
    port = ["--port", str(broker.port)]
    cases = Cases(village)
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        assert central.main(["case", "village-1", "P1", "accepted", "--case-type", "2", "--promise-days", "5",
                             "--legal-days", "20", "--item-name", "参保登记", *port]) == 0
        assert central.main(["case", "village-1", "L1", "accepted", "--case-type", "9", "--legal-days", "20",
                             *port]) == 0
        assert central.main(["case", "village-1", "I1", "accepted", "--case-type", "1", *port]) == 0
        wait_for(lambda: sync.inbox.applied == 3, what="cases applied")
        p1, l1, i1 = cases.case("P1"), cases.case("L1"), cases.case("I1")
        assert (p1["promise_days"], p1["legal_days"], p1["deadline_basis"]) == (5, 20, "promise")
        assert l1["deadline_basis"] == "legal" and l1["due_at"] is not None
        assert i1["deadline_basis"] == "instant"
        # refused before anything is sent
        assert central.main(["case", "village-1", "P2", "accepted", "--case-type", "2", *port]) == 2
        assert central.main(["case", "village-1", "P3", "accepted", "--case-type", "2", "--promise-days", "30",
                             "--legal-days", "20", *port]) == 2
        assert central.main(["case", "village-1", "P4", "accepted", "--accepted-at", "yesterday", *port]) == 2
        assert sync.inbox.rejected == 0
    finally:
        sync.stop()
