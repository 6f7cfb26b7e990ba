"""A citizen identifies with the ID card, not by typing: a simulated card on the reader of a LAN kiosk takes a
ticket, checks in an appointment and looks up a case.  Afterwards no table, log line, event or message to central
holds the card's full ID number or the name in clear (nor its address: it never leaves the reader's driver).

The kiosk runs as a LAN client of the hall server, as a real one does: its reader on the kiosk PC, its requests to
the server through the hall broker (TLS in a packaged hall: tests/sync/test_lan.py runs [lan] over TLS)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from devices.base import HealthState
from devices.idcard import from_config as idcard_driver
from devices.idcard.driver import IdCardReader
from devices.idcard.sim import CARDS, PHOTO_MARKER, IdCardReaderSim
from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from kiosk.ui.client import HallClient
from kiosk.ui.inputs import DeviceInputs
from kiosk.ui.kiosk import CASE, CHECK_IN, ID_ENTRY, RESULT, KioskScreen
from sync.lan import LanServer, RemoteHall
from sync.service import HallSync
from tests.conftest import FakeClock
from tests.sync.conftest import Broker, wait_for
from tests.sync.test_privacy_at_rest import HALL_ID, TOML, Leaks, Wire

CARD = CARDS["demo"]


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[IdCardReaderSim]:
    s = IdCardReaderSim("privacy", link_dir=str(tmp_path)).start()
    yield s
    s.stop()


def place(reader: IdCardReaderSim) -> None:
    """The citizen lifts the card and lays it down again (a reader reads a card once per placement)."""
    reader.remove()
    seen = reader.counts["find"]
    wait_for(lambda: reader.counts["find"] >= seen + 2, timeout=5, what="the reader looked again")
    reader.place("demo")


def test_a_card_at_a_lan_kiosk_leaves_no_clear_id_or_name_anywhere(
        broker: Broker, tmp_path: Path, reader: IdCardReaderSim, qtbot: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    leaks = Leaks()
    leaks.add(CARD.id_number, CARD.name, CARD.address)
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    hall = Hall(loads(TOML, "privacy.toml"), store, clock=FakeClock())
    wire = Wire(broker)
    sync = HallSync(hall, broker.settings(client_id=f"hall-{HALL_ID}"))
    lan = LanServer(hall, broker.settings(client_id=f"lan-{HALL_ID}"), heartbeat_s=0.2)
    sync.start()
    lan.start()
    remote: RemoteHall | None = None
    driver: IdCardReader | None = None
    inputs: DeviceInputs | None = None
    client: HallClient | None = None
    try:
        wait_for(lambda: sync.status()["state"] == "online", what="hall online")
        remote = RemoteHall.from_settings(broker.settings(), HALL_ID, "kiosk1", rpc_timeout=3.0)
        # the booking and the case come from central, with the applicant's ID and name in clear
        hall.book_appointment("YY9001", "social", date(2026, 11, 24), "09:00", "10:00",
                              id_number=CARD.id_number, name=CARD.name)
        Cases(hall).register({"case_no": "SB20261124777", "case_type": 2, "item_name": "不动产转移登记",
                              "applicant_name": CARD.name, "applicant_id": CARD.id_number, "status": "受理",
                              "promise_days": 5})

        driver = idcard_driver("id1", {"kind": "idcard", "url": f"serial://{reader.path}", "poll_interval": 0.05},
                               remote.config)
        driver.start()
        wait_for(lambda: driver is not None and driver.health.state == HealthState.OK, what="reader ok")
        inputs = DeviceInputs([driver])
        client = HallClient(remote, heartbeat_s=0)
        kiosk = KioskScreen(client, inputs=inputs)
        qtbot.addWidget(kiosk)
        kiosk.resize(1080, 1920)
        kiosk.show()

        # a ticket for a business that asks for the ID
        qtbot.mouseClick(kiosk.business_buttons["housing"], Qt.MouseButton.LeftButton)
        assert kiosk.stack.currentIndex() == ID_ENTRY
        place(reader)
        qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT, timeout=10_000)
        assert kiosk.current_ticket is not None and kiosk.current_ticket["number"].startswith("B")
        # the appointment, checked in by the card
        kiosk.go_home()
        kiosk.show_page(CHECK_IN)
        place(reader)
        qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT
                        and (kiosk.current_ticket or {}).get("priority") == "appointment", timeout=10_000)
        # the case, looked up with the card's last four
        kiosk.go_home()
        kiosk.show_page(CASE)
        kiosk.case_field.setText("SB20261124777")
        place(reader)
        qtbot.waitUntil(lambda: kiosk.case_result.isVisible(), timeout=10_000)
        assert "欧**华" in kiosk.case_result.text()

        def settled() -> bool:
            return sync.status()["backlog"] == 0 and lan.status()["last_seq"] == hall.store.last_seq()

        wait_for(settled, what=f"events published: {sync.status()}")
        n_published = wire.events()
        wait_for(lambda: wire.events() >= hall.store.last_seq(),
                 what=f"central got every event ({n_published} of {hall.store.last_seq()})")
    finally:
        if inputs is not None:
            inputs.close()
        if driver is not None:
            driver.stop()
        if client is not None:
            client.close()
        if remote is not None:
            remote.close()
        lan.stop()
        sync.stop()
        wire.close()

    found: dict[str, list[str]] = {}
    conn = store.conn()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"tickets", "events", "cases", "appointments"} <= set(tables)
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            for col, value in zip(row.keys(), tuple(row), strict=True):
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if hits := leaks.find(text):
                    found.setdefault(f"{table}.{col}", []).extend(hits)
    # the events as the hall's bus hands them out (and the outbox publishes them)
    events = hall.events_after(0, limit=10_000)
    assert {"ticket.issued", "appointment.booked"} <= {e.kind for e in events}
    for e in events:
        if hits := leaks.find(repr(e.payload)):
            found.setdefault(f"event {e.kind}", []).extend(hits)
    for r in caplog.records:
        if hits := leaks.find(r.getMessage() + (r.exc_text or "")):
            found.setdefault(f"log {r.name}", []).extend(hits)
    if PHOTO_MARKER.decode() in caplog.text:
        found.setdefault("log text", []).append("the card's photo")
    # what the hall did keep: both tickets taken by the card carry its masked form and its keyed hash only
    masked = CARD.id_number[:4] + "*" * 10 + CARD.id_number[-4:]
    assert conn.execute("SELECT COUNT(*) FROM tickets WHERE id_masked = ? AND id_hash IS NOT NULL",
                        (masked,)).fetchone()[0] == 2
    for topic, payload in wire.got:
        if hits := leaks.find(payload.decode("utf-8", "replace")):
            found.setdefault(f"published {topic}", []).extend(hits)
    store.close()
    for path in tmp_path.glob("hall.db*"):
        raw = path.read_bytes()
        for s in leaks.secrets:
            if s.encode() in raw:
                found.setdefault(f"file {path.name}", []).append(s)
    assert found == {}, found
