"""The phone's booking page on the hall's slots: a slot the other channels filled is not offered, a booking's page
says when it became a no-show; in the phone's own words."""
from __future__ import annotations

import re
from datetime import date

import httpx

from kiosk.core import appointments as A
from kiosk.core.hall import Hall
from tests.conftest import FakeClock


def test_a_slot_filled_elsewhere_is_not_offered(web_hall: Hall, http: httpx.Client) -> None:
    web_hall.config.business("social").slot_capacity = 1  # type: ignore[union-attr]
    A.book(web_hall, "social", date(2026, 11, 25), "10:00", source="kiosk")  # the kiosk took the only place
    page = http.get("/a?business=social").text
    assert 'value="2026-11-25 10:00-10:30"' not in page and 'value="2026-11-25 10:30-11:00"' in page
    r = http.post("/a?business=social", data={"business": "social", "slot": "2026-11-25 10:00-10:30", "nonce": "n1"})
    assert "近期没有可以预约的日期" in r.text  # no longer offered: refused before it reaches the hall


def test_a_no_show_is_said_on_the_bookings_page(web_hall: Hall, http: httpx.Client, clock: FakeClock) -> None:
    r = http.post("/a?business=social", data={"business": "social", "slot": "2026-11-24 09:30-10:00", "nonce": "n2"})
    where = r.headers["location"]
    code = re.search(r'class="number">(\d{8})<', http.get(where).text).group(1)  # type: ignore[union-attr]
    clock.set_local(2026, 11, 24, 10, 31)  # 10:00 + 30 minutes of grace have passed
    web_hall.tick()
    page = http.get(where).text
    assert "爽约" in page and "取消预约" not in page
    assert A.get(web_hall, code)["status"] == "no_show"  # type: ignore[index]
