"""The province's view at the collector, on SQLite and PostgreSQL: figures kept per hall and day at intake
(exactly once), the roll-up report by 行政区划 prefix (village ⊂ township ⊂ county ⊂ city ⊂ province), 整改 progress
kept out of order, calendar versions, and the evaluation records exported in the national and provincial forms."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from kiosk.core.events import Event
from sync import contract, rollup
from sync.central import CentralStore
from sync.central import main as central_main

TZ = ZoneInfo("Asia/Shanghai")
HALLS = {  # hall → 行政区划: a county hall and its street centre, a village room under that street, a neighbour
    "county": "510104000", "street": "510104001", "village": "510104001002", "other": "510105000",
    "city2": "510211000",
}


@pytest.fixture
def store(central_store: CentralStore) -> CentralStore:
    """The collector's store, on SQLite and on PostgreSQL (tests/sync/conftest.py)."""
    return central_store


class Feed:
    """Hall events as the outbox sends them, with per-hall seqs."""

    def __init__(self) -> None:
        self.seq: dict[str, int] = {}
        self.msgs: list[tuple[str, bytes]] = []

    def add(self, hall: str, kind: str, payload: dict[str, Any], day: str = "2026-11-24") -> tuple[str, bytes]:
        self.seq[hall] = self.seq.get(hall, 0) + 1
        ev = Event(self.seq[hall], uuid.uuid4().hex, kind, f"{day}T02:00:00+00:00", day, payload)
        m = (contract.event_topic(hall, kind), contract.encode(contract.event_message(ev, hall, HALLS[hall], TZ)))
        self.msgs.append(m)
        return m


def item(iid: str, stage: str = "verify", card: str = "none", opened: str = "2026-11-24") -> dict[str, Any]:
    closed = stage == "closed"
    return {"id": iid, "stage": stage, "status": "closed" if closed else "open",
            "outcome": "rectified" if closed else None, "card": card, "level": "dissatisfied",
            "opened_at": f"{opened}T02:00:00+00:00", "opened_date": opened, "due_at": "2026-12-02T00:00:00+08:00",
            "closed_at": "2026-11-26T02:00:00+00:00" if closed else None, "closed_on_time": True if closed else None,
            "window": 1, "clerk_id": "S023", "case_no": None}


def day_of(feed: Feed, hall: str, waits: list[float], levels: list[str], day: str = "2026-11-24") -> None:
    for w, lv in zip(waits, levels, strict=True):
        feed.add(hall, "ticket.issued", {}, day)
        feed.add(hall, "service.finished", {"wait_s": w}, day)
        feed.add(hall, "rating.recorded", {"rating": {"level": lv}}, day)


def fill(store: CentralStore) -> Feed:
    f = Feed()
    day_of(f, "county", [60, 120, 180, 240], ["very_satisfied", "satisfied", "basic", "dissatisfied"])
    day_of(f, "street", [30, 90], ["satisfied", "very_dissatisfied"])
    day_of(f, "village", [600], ["satisfied"])
    day_of(f, "other", [10, 20, 30], ["satisfied", "satisfied", "satisfied"])
    day_of(f, "city2", [45], ["basic"])
    day_of(f, "county", [9999], ["very_dissatisfied"], day="2026-12-01")  # outside the range below
    for hall, on_time in (("county", True), ("county", False), ("street", True), ("village", None)):
        f.add(hall, "case.status_changed", {"to": "done", "case": {"on_time": on_time}})
    f.add("county", "case.status_changed", {"to": "in_progress", "case": {"on_time": None}})
    f.add("county", "case.card_changed", {"to": "yellow"})
    f.add("county", "case.card_changed", {"to": "red"})
    f.add("street", "case.card_changed", {"to": "red"})
    f.add("county", "rectification.opened", {"item": item("r1")})
    f.add("county", "rectification.card_changed", {"id": "r1", "to": "red"})
    f.add("street", "rectification.opened", {"item": item("r2")})
    f.add("street", "rectification.closed", {"item": item("r2", "closed")})
    f.add("village", "rectification.opened", {"item": item("r3")})
    f.add("county", "calendar.applied", {"version": 20261110090000})
    store.store_batch(f.msgs)
    return f


def rows(store: CentralStore, level: str) -> dict[str, dict[str, Any]]:
    key = "hall_id" if level == "hall" else "prefix"
    return {r[key]: r for r in rollup.report(store.db, level, "2026-11-24", "2026-11-30")}


def test_every_level_rolls_up_by_prefix(store: CentralStore) -> None:
    fill(store)
    county = rows(store, "county")
    assert set(county) == {"510104", "510105", "510211"}
    c = county["510104"]
    assert c["halls"] == 3 and c["tickets"] == 7 and c["region"] == "510104000"
    assert c["avg_wait_s"] == round((60 + 120 + 180 + 240 + 30 + 90 + 600) / 7, 1)
    assert c["p90_wait_s"] == round(rollup.percentile(sorted([60, 120, 180, 240, 30, 90, 600]), 0.9), 1) == 384.0
    assert c["rated"] == 7 and c["satisfaction_rate"] == round(5 / 7, 4)
    assert (c["done"], c["timed"], c["on_time_rate"]) == (4, 3, round(2 / 3, 4))
    assert (c["yellow"], c["red"]) == (1, 2)
    assert (c["rectify_open"], c["rectify_overdue"], c["rectify_closed"]) == (2, 1, 1)
    town = rows(store, "township")
    assert town["510104000"]["tickets"] == 4 and town["510104001"]["tickets"] == 3  # the village in its street
    assert town["510104001"]["halls"] == 2
    city = rows(store, "city")
    assert set(city) == {"5101", "5102"} and city["5101"]["tickets"] == 10 and city["5101"]["halls"] == 4
    province = rows(store, "province")
    assert list(province) == ["51"] and province["51"]["tickets"] == 11 and province["51"]["halls"] == 5
    halls = rows(store, "hall")
    assert halls["village"]["region"] == "510104001002" and halls["village"]["p90_wait_s"] == 600.0
    assert halls["county"]["satisfaction_rate"] == 0.75 and halls["other"]["on_time_rate"] is None
    # without a range the later day counts too
    assert {r["prefix"]: r["tickets"] for r in rollup.report(store.db, "county")}["510104"] == 8


def test_duplicates_add_nothing(store: CentralStore) -> None:
    f = fill(store)
    before = rows(store, "province")["51"]
    store.store_batch(f.msgs)  # every event delivered again
    assert rows(store, "province")["51"] == before


def test_rectification_progress_survives_reordering(store: CentralStore) -> None:
    f = Feed()
    opened = f.add("county", "rectification.opened", {"item": item("r9")})
    step = f.add("county", "rectification.step", {"id": "r9", "step": "verify", "label": "核实", "by": "M001",
                                                  "at": "2026-11-25T02:00:00+00:00", "detail": {},
                                                  "item": item("r9", "rectify")})
    card = f.add("county", "rectification.card_changed", {"id": "r9", "to": "yellow"})
    store.store_batch([card, step])  # the card and the step overtake the opening (gap repair)
    store.store_batch([opened])
    ((stage, card_now, steps),) = store.db.query("SELECT stage, card, steps FROM rect_items WHERE id = 'r9'")
    assert (stage, card_now, steps) == ("rectify", "yellow", 1)


def test_an_item_from_a_hall_before_the_loop_is_kept(store: CentralStore) -> None:
    f = Feed()
    old = {k: v for k, v in item("r7", "closed").items() if k not in ("stage", "outcome")}  # open → closed only
    f.add("county", "rectification.closed", {"item": {**old, "response": "已答复"}})
    assert store.store_batch(f.msgs)["rejected"] == 0
    assert store.db.query("SELECT stage, status FROM rect_items WHERE id = 'r7'") == [("closed", "closed")]


def test_calendar_version_per_hall(store: CentralStore) -> None:
    fill(store)
    f = Feed()
    f.seq = {"county": 10_000}
    f.add("county", "calendar.applied", {"version": 5})  # an older version arriving later changes nothing
    store.store_batch(f.msgs)
    assert store.db.query("SELECT hall_id, version FROM hall_calendar") == [("county", 20261110090000)]


def test_bad_range_and_level_are_refused(store: CentralStore) -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        rollup.report(store.db, "village")
    with pytest.raises(ValueError, match="ends"):
        rollup.report(store.db, "county", "2026-12-01", "2026-11-01")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        rollup.report(store.db, "county", "2026-13-01")


# --- evaluation records out -------------------------------------------------------------------------------------
def record(rid: str, revision: int, level: str, sat: int, **kw: Any) -> dict[str, Any]:
    r = {"id": rid, "revision": revision, "project_no": "SB001", "project_kind": "case", "channel": 4,
         "channel_label": "评价器", "evaluator": "张*三", "rated_at": "20261124T100000",
         "rated_at_utc": "2026-11-24T02:00:00+00:00", "count": 2, "satisfaction": sat, "level": level,
         "text": "", "reason": "", "comment": "", "region": "510104000", "number": "A001", "window": 1}
    r.update(kw)
    return r


def test_ratings_in_both_forms(store: CentralStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = Feed()
    f.add("county", "evaluation.recorded", {"record": record("e1", 1, "dissatisfied", 4)})
    f.add("county", "evaluation.recorded", {"record": record("e1", 2, "dissatisfied", 4, reason="等候时间长",
                                                             text="等候时间长")})
    f.add("county", "evaluation.recorded", {"record": record("e1", 1, "dissatisfied", 4)})  # late: kept at 2
    f.add("county", "evaluation.recorded", {"record": record("e2", 1, "very_satisfied", 1, project_no="T9",
                                                             project_kind="ticket", count=1, channel=5)},
          day="2026-12-05")
    store.store_batch(f.msgs)
    recs = rollup.evaluation_records(store.db, "2026-11-24", "2026-11-30")
    assert [(r.id, r.revision) for r in recs] == [("e1", 2)]
    (gb,) = [rollup.national(r) for r in recs]
    assert gb == {"办件编号": "SB001", "评价渠道": 4, "评价人": "张*三", "评价时间": "20261124T100000", "评价次数": 2,
                  "满意度代码": 4, "文字评价": "等候时间长", "行政区划": "510104000"}
    (prov,) = [rollup.provincial(r, TZ) for r in recs]
    assert prov["satisfaction"] == 2 and prov["pf"] == 4 and prov["appraiseTime"] == "2026-11-24 10:00:00"
    assert prov["appraiseCount"] == 2 and prov["reason"] == "等候时间长" and prov["projectNo"] == "SB001"
    db = store.db.url
    assert central_main(["ratings", "--db", db, "--form", "provincial"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["projectNo"], r["satisfaction"], r["pf"]) for r in out] == [("SB001", 2, 4), ("T9", 5, 5)]
    xlsx = tmp_path / "ratings.xlsx"
    assert central_main(["ratings", "--db", db, "--from", "2026-11-24", "--to", "2026-11-30", "--format", "xlsx",
                         "--out", str(xlsx)]) == 0
    ws = load_workbook(xlsx).active
    assert [c.value for c in ws[1]] == ["办件编号", "评价渠道", "评价人", "评价时间", "评价次数", "满意度代码",
                                        "文字评价", "行政区划"]
    assert [c.value for c in ws[2]] == ["SB001", 4, "张*三", "20261124T100000", 2, 4, "等候时间长", "510104000"]
    assert central_main(["ratings", "--db", db, "--format", "xlsx"]) == 2  # xlsx needs --out
    assert central_main(["report", "--db", db, "--level", "county", "--from", "2026-11-24"]) == 0
    rep = json.loads(capsys.readouterr().out)["report"]
    assert rep == {"level": "county", "from": "2026-11-24", "to": None, "rows": []}  # records only: no figures
    assert central_main(["report", "--db", db, "--from", "24.11.2026"]) == 2
