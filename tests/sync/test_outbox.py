"""The outbox's progress rule and the hall-side wiring: acked seq moves only over a contiguous prefix of PUBACKs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.errors import ConfigError
from sync import central
from sync.outbox import AckWindow
from sync.service import HallSync
from tests.sync.conftest import drive, hall_config, wait_for
from tests.sync.test_outage import start_collector

ROOT = Path(__file__).resolve().parents[2]


@given(n=st.integers(1, 60), data=st.data())
def test_acked_only_over_a_contiguous_prefix(n: int, data: st.DataObject) -> None:
    w = AckWindow(10)
    for s in range(11, 11 + n):
        w.sent(s)
    order = data.draw(st.permutations(list(range(11, 11 + n))))
    acked: set[int] = set()
    for s in order:
        w.ack(s)
        acked.add(s)
        prefix = 10
        while prefix + 1 in acked:
            prefix += 1
        assert w.acked == prefix  # never beyond an unacknowledged event
        assert w.outstanding == 10 + n - prefix
    assert w.acked == 10 + n and w.outstanding == 0


def test_window_rewinds_and_refuses_out_of_order_sends() -> None:
    w = AckWindow(0)
    for s in (1, 2, 3):
        w.sent(s)
    assert not w.ack(2) and w.acked == 0
    assert w.ack(1) and w.acked == 2
    w.rewind()  # connection lost: #3 is published again
    assert w.next == 3 and w.outstanding == 0
    with pytest.raises(ValueError):
        w.sent(5)
    assert not w.ack(99)


def test_from_config_validates_the_sync_table(make_hall: Any) -> None:
    hall = make_hall("hall-a")
    assert HallSync.from_config(hall) is None  # no [sync]: an island hall
    hall.config.sync.update({"host": "127.0.0.1", "hots": "x"})
    with pytest.raises(ConfigError, match=r"option 'hots' is not valid in section \[sync\]"):
        HallSync.from_config(hall)
    del hall.config.sync["hots"]
    hall.config.sync["enabled"] = False
    assert HallSync.from_config(hall) is None
    hall.config.sync["enabled"] = True
    s = HallSync.from_config(hall)
    assert s is not None and s.link.client_id == "hall-hall-a"
    st_ = s.status()
    assert st_["state"] == "offline" and st_["backlog"] == 0 and "last_error" in st_
    assert hall_config("hall-b").sync == {}


def test_status_backlog_while_offline(make_hall: Any, broker_factory: Any) -> None:
    broker = broker_factory(start=False)  # never started: the hall works offline
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        drive(hall, 40)
        wait_for(lambda: "Connection refused" in sync.status()["last_error"], what="error reported")
        st_ = sync.status()
        assert st_["backlog"] == 40 and st_["acked_seq"] == 0 and st_["state"] != "online"
    finally:
        sync.stop()


def test_last_will_marks_a_killed_hall_offline(broker: Any, tmp_path: Path) -> None:
    collector = start_collector(broker, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "tests.sync.hall_child", str(tmp_path / "k.db"), str(broker.port),
                          "work"], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "online"
        wait_for(lambda: [h["state"] for h in collector.store.halls()] == ["online"], what="birth")
        p.send_signal(signal.SIGKILL)
        p.wait()
        wait_for(lambda: [h["state"] for h in collector.store.halls()] == ["offline"], what="last will")
    finally:
        if p.poll() is None:
            p.kill()
        collector.stop()


def test_central_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.sync.test_central import envelope

    db = tmp_path / "c.db"
    store = central.CentralStore(central.CentralDB(str(db)))
    store.store_batch([envelope("h1", 1), envelope("h1", 3)])
    store.db.close()
    assert central.main(["report", "--db", str(db), "--by", "region"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["figures"][0]["region"] == "510104000" and out["figures"][0]["tickets"] == 2
    assert out["gaps"] == {"h1": [[2, 2]]}
