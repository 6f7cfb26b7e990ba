"""The link goes down while the hall keeps working: afterwards every event reaches the collector once, in order."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sync.central import CentralDB, CentralStore, Collector
from sync.link import ONLINE
from sync.service import HallSync
from tests.sync.conftest import drive, wait_for


def start_collector(broker: Any, tmp_path: Path, name: str = "central.db", **kw: Any) -> Collector:
    store = CentralStore(CentralDB(str(tmp_path / name)))
    c = Collector(broker.settings(), store, client_id=kw.pop("client_id", "central-test"), **kw)
    c.start()
    wait_for(lambda: c.link.state == ONLINE, what="collector online")
    return c


def test_outage_5000_events_arrive_once_in_order(broker: Any, make_hall: Any, tmp_path: Path) -> None:
    collector = start_collector(broker, tmp_path)
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings())
    sync.start()
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online")
        drive(hall, 50)
        wait_for(lambda: sync.status()["backlog"] == 0, what="first events acknowledged")

        broker.stop()
        wait_for(lambda: sync.link.state != ONLINE, what="hall notices the outage")
        drive(hall, 5000)  # the hall keeps issuing, calling and rating
        st = sync.status()
        assert st["state"] != ONLINE and st["backlog"] >= 5000 and st["last_error"]

        broker.start()
        last = hall.store.last_seq()
        wait_for(lambda: sync.status()["backlog"] == 0, timeout=60, what="backlog drained")
        wait_for(lambda: collector.store.halls() and collector.store.halls()[0]["events"] == last, timeout=30,
                 what="collector has everything")
        assert collector.store.seqs("hall-a") == list(range(1, last + 1))
        assert collector.store.seqs("hall-a", by_arrival=True) == list(range(1, last + 1))  # first arrivals in order
        assert collector.store.gaps() == {}
        assert int(hall.store.meta_get("sync.acked_seq") or 0) == last  # progress is durable
        figures = collector.store.figures("hall")[0]
        assert figures["tickets"] == hall.store.conn().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    finally:
        sync.stop()
        collector.stop()
