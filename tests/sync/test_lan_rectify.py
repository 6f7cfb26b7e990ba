"""整改 over the hall LAN through a real mosquitto: the allow-list follows the roles — the managers' dashboard takes
every step, a clerk's caller reads their own items and may only appeal, a board only reads — and refusals arrive
as the same typed errors."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core import rectify as R
from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync.lan import LanRefused, LanServer, RemoteHall
from tests.sync.conftest import Broker, Clock

HALL_ID = "510104-demo"
TOML = f"""
[hall]
id = "{HALL_ID}"
name = "测试政务服务中心"
region = "510104000"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
days = "all"
hours = ["00:00-24:00"]

[[windows]]
number = 1
businesses = ["tax"]
"""
FAST = {"rpc_timeout": 1.0, "attempts": 2, "stale_after": 2.0}


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    yield Hall(loads(TOML, "lan.toml"), store, clock=Clock())
    store.close()


@pytest.fixture
def screens(broker: Broker, hall: Hall) -> Iterator[dict[str, RemoteHall]]:
    server = LanServer(hall, broker.settings(client_id="srv"), heartbeat_s=0.2,
                       clients={"dash1": "dashboard", "caller1": "caller", "board1": "board"})
    server.start()
    remotes = {c: RemoteHall.from_settings(broker.settings(), HALL_ID, c, **FAST) for c in ("dash1", "caller1",
                                                                                            "board1")}
    yield remotes
    for r in remotes.values():
        r.close()
    server.stop()


def bad_rating(hall: Hall) -> str:
    hall.sign_in(1, "S023", "王五")
    t = hall.issue_ticket("tax").value.ticket
    hall.call_next(1)
    hall.finish_service(1)
    hall.rate(t["id"], "dissatisfied", reason="态度生硬")
    cases = Cases(hall)
    cases.evaluate_cards()
    return str(cases.rectifications()[0]["id"])


def test_roles_follow_the_rectification_loop(screens: dict[str, Any], hall: Hall) -> None:
    iid = bad_rating(hall)
    dash, caller, board = (screens[c].cases for c in ("dash1", "caller1", "board1"))
    # the clerk: own items, and only 申诉
    assert [i["id"] for i in caller.my_rectifications("S023")] == [iid]
    for step in (lambda: caller.verify_rectification(iid, valid=True, note="属实", by="S023"),
                 lambda: caller.rectify(iid, action="x", responsible="S023", by="S023"),
                 lambda: caller.revisit(iid, contacted=True, result="x", satisfied=True, by="S023"),
                 lambda: caller.decide_appeal(iid, upheld=True, note="x", by="S023")):
        with pytest.raises(LanRefused):
            step()
    res = caller.appeal_rectification(iid, reason="群众误解办理要求", by="S023")
    assert res.value["stage"] == "appeal" and [e.kind for e in res.events] == [R.RECTIFICATION_STEP]
    with pytest.raises(R.WrongStage):  # a refusal arrives as the same typed error
        caller.appeal_rectification(iid, reason="再来一次", by="S023")
    # a board reads, and nothing else
    assert board.rectification(iid)["stage"] == "appeal"
    with pytest.raises(LanRefused):
        board.appeal_rectification(iid, reason="x", by="S023")
    # the managers: every step
    with pytest.raises(R.SelfDecision):
        dash.decide_appeal(iid, upheld=True, note="x", by="S023")
    assert dash.decide_appeal(iid, upheld=False, note="录音显示态度确有问题", by="M001").value["stage"] == "verify"
    with pytest.raises(R.AppealUsed):
        caller.appeal_rectification(iid, reason="再来一次", by="S023")
    with pytest.raises(R.OperatorRequired):
        dash.verify_rectification(iid, valid=True, note="属实", by="")
    dash.verify_rectification(iid, valid=True, note="属实", by="M001")
    dash.rectify(iid, action="服务礼仪培训", responsible="S023", by="M001")
    done = dash.revisit(iid, contacted=True, result="群众认可", satisfied=True, by="M002").value
    assert done["stage"] == "closed" and done["outcome"] == "rectified"
    steps = dash.rectification(iid)["steps"]
    assert [(s["step"], s["by"]) for s in steps] == [("appeal", "S023"), ("decide", "M001"), ("verify", "M001"),
                                                     ("rectify", "M001"), ("revisit", "M002")]
    assert caller.my_rectifications("S023") == [] and len(caller.my_rectifications("S023", open_only=False)) == 1
    assert "warning" in dash.calendar_status()
