"""The link goes down while the hall keeps working: afterwards every event reaches the collector once, in order."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize("group", [None, "collectors"], ids=["plain", "shared"])
def test_outage_5000_events_arrive_once_in_order(broker: Any, make_hall: Any, tmp_path: Path, group: str | None
                                                 ) -> None:
    """Broker down, 5,000 events, broker up.  Plain subscription: mosquitto keeps the collector's session, so
    events arrive in order.  Shared subscription: mosquitto 2.0 forgets it across a restart, so what the hall
    published before the collector came back is lost at the broker and repaired by a resend request."""
    collector = start_collector(broker, tmp_path, group=group)
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
        wait_for(lambda: sync.status()["backlog"] == 0, timeout=60, what="backlog drained")
        if group is not None:
            # What the broker dropped before the collector's shared subscription was back, the drain's tail
            # included, is found without a next event from the hall: its presence (retained, on the collector's
            # plain subscription) says how far its log goes, and gap repair asks for the rest
            wait_for(lambda: collector.link.state == ONLINE, what="collector back")
        last = hall.store.last_seq()
        try:
            wait_for(lambda: collector.store.halls() and collector.store.halls()[0]["events"] == last, timeout=15,
                     what="collector has everything")
        except AssertionError:
            raise AssertionError(f"gaps {collector.store.gaps()} of {last}; {collector.store.halls()}; "
                                 f"{sync.status()}; {collector.counts}") from None
        assert collector.store.seqs("hall-a") == list(range(1, last + 1))
        if group is None:
            assert collector.store.seqs("hall-a", by_arrival=True) == list(range(1, last + 1))  # arrived in order
            assert collector.resend_requests == 0
        else:
            assert collector.store.halls()[0]["events"] == last  # complete, once each; repaired ranges came late
        assert collector.store.gaps() == {}
        assert int(hall.store.meta_get("sync.acked_seq") or 0) == last  # progress is durable
        figures = collector.store.figures("hall")[0]
        assert figures["tickets"] == hall.store.conn().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    finally:
        sync.stop()
        collector.stop()
