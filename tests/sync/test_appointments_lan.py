"""Appointments from a LAN kiosk through a real mosquitto: the slots, book (retried after a lost reply: one booking),
cancel and check-in, with the hall's refusals as their own classes; a board may read slots but not book, and only
staff screens read the desk's list (masked IDs and names)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync.lan import LanRefused
from tests.conftest import make_id, staff
from tests.sync.conftest import Broker, Clock
from tests.sync.test_lan import TOML, Lan


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    yield staff(Hall(loads(TOML, "lan.toml"), store, clock=Clock()))
    store.close()


@pytest.fixture
def lan(broker_factory: Callable[..., Broker], hall: Hall) -> Iterator[Lan]:
    t = Lan(broker_factory("set_tcp_nodelay true"), hall)
    yield t
    t.close()


CLIENTS = {"kiosk1": "kiosk", "board1": "board", "caller1": "caller"}
TOMORROW = "2026-11-25"


def test_a_lan_kiosk_books_cancels_and_checks_in(lan: Lan, hall: Any) -> None:
    lan.server(clients=CLIENTS)
    kiosk = lan.remote("kiosk1")
    days = kiosk.appointments.offer("tax")
    assert days[0]["date"] == "2026-11-24" and days[1]["date"] == TOMORROW
    assert {s["start"]: s["free"] for s in days[1]["slots"]}["10:00"] == 4
    me = make_id(31)
    booked = kiosk.appointments.book("tax", TOMORROW, "10:00", id_number=me, idem_key="kiosk1:book:1")
    again = kiosk.appointments.book("tax", TOMORROW, "10:00", id_number=me, idem_key="kiosk1:book:1")
    assert booked.value["code"] == again.value["code"] and [e.kind for e in booked.events] == [ev.APPOINTMENT_BOOKED]
    assert booked.value["source"] == "kiosk"
    assert len(hall.store.conn().execute("SELECT * FROM appointments").fetchall()) == 1
    with pytest.raises(E.TooManyAppointments):
        kiosk.appointments.book("tax", TOMORROW, "11:00", id_number=me)
    with pytest.raises(E.SlotNotOffered):
        kiosk.appointments.book("tax", TOMORROW, "10:10")
    assert kiosk.appointments.get(booked.value["code"])["status"] == "booked"
    cancelled = kiosk.appointments.cancel(booked.value["code"])
    assert cancelled.value["code"] == booked.value["code"]
    with pytest.raises(E.AppointmentNotFound):
        kiosk.appointments.cancel(booked.value["code"])
    today = kiosk.appointments.book("tax", "2026-11-24", "09:30")  # the clock: 09:00 on the 24th
    assert kiosk.check_in(code=today.value["code"]).value.ticket["priority"] == "appointment"


def test_roles(lan: Lan, hall: Any) -> None:
    lan.server(clients=CLIENTS)
    board, caller = lan.remote("board1"), lan.remote("caller1")
    assert board.appointments.offer("tax")
    with pytest.raises(LanRefused):
        board.appointments.book("tax", TOMORROW, "10:00")
    with pytest.raises(LanRefused):
        board.appointments.listing()
    lan.remote("kiosk1").appointments.book("tax", "2026-11-24", "10:00", id_number=make_id(32), name="赵六")
    rows = caller.appointments.listing(day="2026-11-24")
    assert [r["name_masked"] for r in rows] == ["赵*"] and rows[0]["id_masked"].startswith("1101")
    assert date.fromisoformat(rows[0]["date"]) == date(2026, 11, 24)
