"""Appointments at the kiosk: check-in each way — the code typed, the ID card on the reader, the ID number typed,
a scanned QR in each accepted form — and booking a slot (a later day, when today's numbers are gone, with an ID
where one is needed), against a real Hall on the test clock."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from PySide6.QtCore import Qt

from devices.reads import IdCardRead, ScanRead
from kiosk.core import appointments as A
from kiosk.core.hall import Hall
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import tr
from kiosk.ui.kiosk import BOOK, CHECK_IN, HOME, ID_ENTRY, RESULT, KioskScreen
from tests.conftest import FakeClock, make_id
from tests.ui.checks import shown

TUE, WED = date(2026, 11, 24), date(2026, 11, 25)
ME = make_id(41)


def make(qtbot: Any, client: HallClient) -> KioskScreen:
    return shown(qtbot, KioskScreen(client), 1080, 1920)


def tap(qtbot: Any, widget: Any) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_on(qtbot: Any, pad: Any, text: str) -> None:
    for ch in text:
        tap(qtbot, pad.keys[ch])


def booked(hall: Hall, slot: str = "09:30", **kw: Any) -> str:
    return str(A.book(hall, "social", TUE, slot, **kw).value["code"])


def checked_in(k: KioskScreen, hall: Hall, code: str) -> None:
    assert k.stack.currentIndex() == RESULT, k.message.text()
    assert k.current_ticket is not None and k.current_ticket["appointment_code"] == code
    assert k.current_ticket["priority"] == "appointment"
    assert hall.store.conn().execute("SELECT status FROM appointments WHERE code = ?", (code,)).fetchone()[0] \
        == "checked_in"


# --- check-in, one test per way ---------------------------------------------------------------------------------------
def test_check_in_by_the_code_typed(qtbot: Any, client: HallClient, hall: Hall) -> None:
    code = booked(hall)
    k = make(qtbot, client)
    tap(qtbot, k.appointment_button)
    assert k.stack.currentIndex() == CHECK_IN
    type_on(qtbot, k.code_pad, code)
    tap(qtbot, k.code_pad.ok)
    checked_in(k, hall, code)


def test_check_in_by_the_id_card(qtbot: Any, client: HallClient, hall: Hall) -> None:
    code = booked(hall, id_number=ME)
    k = make(qtbot, client)
    k.show_page(CHECK_IN)
    k.inputs.post(IdCardRead(device="id1", id_number=ME, name_masked="张*三", valid_from=date(2020, 1, 1),
                             valid_to=None))
    qtbot.waitUntil(lambda: k.stack.currentIndex() == RESULT)
    checked_in(k, hall, code)


def test_check_in_by_the_id_number_typed(qtbot: Any, client: HallClient, hall: Hall) -> None:
    with_x = "11010519491231002X"  # the GB 11643 standard's own example: the pad's X key
    code = booked(hall, id_number=with_x)
    k = make(qtbot, client)
    k.show_page(CHECK_IN)
    type_on(qtbot, k.code_pad, with_x)
    tap(qtbot, k.code_pad.ok)
    checked_in(k, hall, code)
    assert k.code_field.text() == ""  # the ID number does not linger


def test_an_id_number_without_a_booking_is_said(qtbot: Any, client: HallClient, hall: Hall) -> None:
    k = make(qtbot, client)
    k.show_page(CHECK_IN)
    type_on(qtbot, k.code_pad, ME)
    tap(qtbot, k.code_pad.ok)
    assert k.stack.currentIndex() == CHECK_IN and "没有找到这个预约" in k.message.text()
    assert ME not in k.message.text() and k.code_field.text() == ""


@pytest.mark.parametrize("form", ["appointment:{code}", "YY:{code}", "https://zwfw.example.gov.cn/yy?yyh={code}",
                                  "https://tfwb.example.gov.cn/checkin?appointment={code}&from=app", "{code}"])
def test_check_in_by_scanning_the_appointments_qr(qtbot: Any, client: HallClient, hall: Hall, form: str) -> None:
    """What the province's app, the booking page or a printed slip shows: every form the kiosk's scanner routes
    (kiosk/core/codes.py), from any page."""
    code = booked(hall)
    k = make(qtbot, client)
    k.inputs.post(ScanRead(device="sc1", code=form.format(code=code)))
    qtbot.waitUntil(lambda: k.stack.currentIndex() == RESULT)
    checked_in(k, hall, code)


def test_an_early_check_in_says_when_it_goes_ahead(qtbot: Any, client: HallClient, hall: Hall,
                                                   clock: FakeClock) -> None:
    hall.issue_ticket("social")
    code = booked(hall, "11:00")
    k = make(qtbot, client)
    k.show_page(CHECK_IN)
    type_on(qtbot, k.code_pad, code)
    tap(qtbot, k.code_pad.ok)
    checked_in(k, hall, code)
    assert k.result_ahead.text() == "您前面还有 1 人"  # in the walk-in order until then
    assert "预约时段将至：10:45 起优先叫号" in k.result_wait.text()


# --- booking ----------------------------------------------------------------------------------------------------------
def test_book_a_later_day_from_the_check_in_page(qtbot: Any, client: HallClient, hall: Hall) -> None:
    k = make(qtbot, client)
    k.show_page(CHECK_IN)
    tap(qtbot, k.book_button)
    assert k.stack.currentIndex() == BOOK
    assert list(k.book_business_buttons) == ["social", "housing", "tax"]
    tap(qtbot, k.book_business_buttons["social"])
    assert k.book_day_buttons["2026-11-24"].isChecked()
    assert "09:00-09:30" not in [b.text().split("\n")[0] for b in k.book_slot_buttons.values()]  # started
    tap(qtbot, k.book_day_buttons["2026-11-25"])
    assert k.book_slot_buttons["10:00"].text() == "10:00-10:30\n余 4"
    tap(qtbot, k.book_slot_buttons["10:00"])
    assert k.stack.currentIndex() == RESULT
    code = k.result_number.text()
    assert len(code) == 8 and code.isdigit()
    assert k.result_caption.text() == "您的预约号 · 社保"
    assert k.result_ahead.text() == "2026-11-25 周三 10:00-10:30"
    assert "凭预约号或身份证" in k.result_print.text()
    row = A.get(hall, code)
    assert row is not None and (row["date"], row["slot_start"], row["source"]) == ("2026-11-25", "10:00", "kiosk")
    tap(qtbot, k.done_button)
    assert k.stack.currentIndex() == HOME and k.current_booking is None
    k.show_book("social")
    tap(qtbot, k.book_day_buttons["2026-11-25"])
    assert k.book_slot_buttons["10:00"].text().endswith("余 3")


def test_a_business_needing_an_id_asks_for_it_and_takes_the_card(qtbot: Any, client: HallClient,
                                                                  hall: Hall) -> None:
    k = make(qtbot, client)
    k.show_book("housing")
    tap(qtbot, k.book_slot_buttons["10:00"])
    assert k.stack.currentIndex() == ID_ENTRY
    k.inputs.post(IdCardRead(device="id1", id_number=ME, name_masked="张*三", valid_from=date(2020, 1, 1),
                             valid_to=None))
    qtbot.waitUntil(lambda: k.stack.currentIndex() == RESULT)
    row = hall.store.conn().execute("SELECT id_masked, business FROM appointments").fetchone()
    assert tuple(row) == (ME[:4] + "*" * 10 + ME[-4:], "housing")
    k.show_book("housing")  # a second open booking for the same ID and business: said, not made
    tap(qtbot, k.book_slot_buttons["11:00"])
    type_on(qtbot, k.id_pad, ME)
    tap(qtbot, k.id_pad.ok)
    assert k.stack.currentIndex() == ID_ENTRY and "尚未使用" in k.message.text()


def test_when_todays_numbers_are_gone_the_kiosk_offers_a_slot(qtbot: Any, client: HallClient, hall: Hall) -> None:
    hall.config.business("social").daily_cap = 1  # type: ignore[union-attr]
    hall.issue_ticket("social")
    k = make(qtbot, client)
    tap(qtbot, k.business_buttons["social"])
    assert k.stack.currentIndex() == BOOK and k.book_business_buttons["social"].isChecked()
    assert "社保今日号码已取完，可以预约其他时段" in k.message.text()


def test_a_full_slot_is_said_and_cannot_be_touched(qtbot: Any, client: HallClient, hall: Hall) -> None:
    hall.config.business("tax").slot_capacity = 1  # type: ignore[union-attr]
    A.book(hall, "tax", WED, "10:00")
    k = make(qtbot, client)
    k.show_book("tax")
    tap(qtbot, k.book_day_buttons["2026-11-25"])
    full = k.book_slot_buttons["10:00"]
    assert full.text().endswith("已满") and not full.isEnabled()
    A.book(hall, "tax", WED, "10:30")  # another kiosk books while this page is up: the page follows
    qtbot.waitUntil(lambda: not k.book_slot_buttons["10:30"].isEnabled())


def test_the_booking_page_in_uyghur(qtbot: Any, client: HallClient, hall: Hall) -> None:
    k = make(qtbot, client)
    k.set_language("ug")
    k.show_book("tax")
    assert k.book_title.text() == tr("ug", "book") and k.book_hint.text() == tr("ug", "book_hint")
    slot = next(iter(k.book_slot_buttons.values())).text()
    assert tr("ug", "book_free", n=4) in slot and "余" not in slot
