"""ID cards and scanned codes at the kiosk and the caller, through the real drivers and the simulators on ptys:
a card wherever the kiosk asks for an ID (ticket, green channel, check-in, case lookup), a keyboard-wedge scan told
from typing (QTest keys on an injected clock), serial scans routed whatever has focus, staff badges at the caller."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from devices.base import HealthState
from devices.idcard import from_config as idcard_driver
from devices.idcard.driver import IdCardReader
from devices.idcard.sim import CARDS, IdCardReaderSim
from devices.reads import ScanRead
from devices.scanner import from_config as scanner_driver
from devices.scanner.driver import ScannerPort
from devices.scanner.proto import Framing
from devices.scanner.sim import ScannerSim
from kiosk.core.cases import Cases
from kiosk.core.hall import Hall
from kiosk.ui.caller import CallerScreen
from kiosk.ui.client import HallClient
from kiosk.ui.inputs import DeviceInputs
from kiosk.ui.kiosk import CASE, CHECK_IN, HOME, ID_ENTRY, RESULT, KioskScreen
from tests.devices.common import wait_for
from tests.ui.checks import shown

DEMO = CARDS["demo"]
QR_URL = "https://zwfw.example.gov.cn/q/{hall_id}/{ticket_id}"


class KeyClock:
    """The wedge's clock: the test moves it between key events, so a burst is fast or slow by construction."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def type_keys(screen: QWidget, clock: KeyClock, text: str, gap: float, enter: bool = True) -> None:
    """Key presses into whatever has focus in `screen`, `gap` seconds apart on the injected clock."""
    for ch in text:
        clock.t += gap
        QTest.keyClick(screen.focusWidget() or screen, ch)
    if enter:
        clock.t += gap
        QTest.keyClick(screen.focusWidget() or screen, Qt.Key.Key_Return)


@pytest.fixture
def reader(tmp_path: Any) -> Iterator[IdCardReaderSim]:
    s = IdCardReaderSim("ui", link_dir=str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def scanner(tmp_path: Any) -> Iterator[ScannerSim]:
    s = ScannerSim("ui", Framing(), link_dir=str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def drivers(hall: Hall, reader: IdCardReaderSim, scanner: ScannerSim) -> Iterator[tuple[IdCardReader, ScannerPort]]:
    """The kiosk's reader and scanner drivers, on the simulators' ptys, judging expiry on the hall's clock."""
    id_driver = idcard_driver("id1", {"kind": "idcard", "url": f"serial://{reader.path}", "poll_interval": 0.05},
                              hall.config)
    id_driver.follow_clock(hall.now, hall.config.tz)
    sc_driver = scanner_driver("sc1", {"kind": "scanner", "url": f"serial://{scanner.path}"}, hall.config)
    for d in (id_driver, sc_driver):
        d.start()
    wait_for(lambda: id_driver.health.state == HealthState.OK and sc_driver.health.state == HealthState.OK)
    yield id_driver, sc_driver
    for d in (id_driver, sc_driver):
        d.stop()


@pytest.fixture
def key_clock() -> KeyClock:
    return KeyClock()


@pytest.fixture
def kiosk(qtbot: Any, client: HallClient, hall: Hall, drivers: tuple[IdCardReader, ScannerPort],
          key_clock: KeyClock) -> Iterator[KioskScreen]:
    hall.config.devices["p1"] = {"kind": "printer", "url": "sim://ui-p1", "qr_url": QR_URL}  # its tickets' QR
    inputs = DeviceInputs(drivers)
    k = shown(qtbot, KioskScreen(client, inputs=inputs, key_clock=key_clock), 1080, 1920)
    yield k
    inputs.close()


def place(reader: IdCardReaderSim, card: str = "demo") -> None:
    """A card placed anew (the reader reads a card once per placement)."""
    reader.remove()
    polls = reader.counts["find"]
    wait_for(lambda: reader.counts["find"] >= polls + 2)
    reader.place(card)


# --- the ID card wherever the kiosk asks for one -------------------------------------------------------------
def test_a_card_takes_a_ticket_where_the_kiosk_asks_for_an_id(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                             reader: IdCardReaderSim) -> None:
    assert "也可以把身份证放在读卡区" in kiosk.id_hint.text()  # the kiosk says it takes a card
    qtbot.mouseClick(kiosk.business_buttons["housing"], Qt.MouseButton.LeftButton)
    assert kiosk.stack.currentIndex() == ID_ENTRY
    place(reader)
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    t = hall.waiting(business="housing")[0]
    assert t["id_masked"] == "5101**********3012"
    assert kiosk.id_field.text() == ""  # the number was never typed in, never shown
    # the same card again for the same business: one open ticket per ID
    qtbot.mouseClick(kiosk.done_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(kiosk.business_buttons["housing"], Qt.MouseButton.LeftButton)
    place(reader)
    qtbot.waitUntil(lambda: kiosk.message.isVisible() and "B001" in kiosk.message.text())
    assert len(hall.waiting(business="housing")) == 1


def test_a_card_takes_a_green_channel_ticket(qtbot: Any, kiosk: KioskScreen, hall: Hall, reader: IdCardReaderSim,
                                             config: Any) -> None:
    config.rules.id_required = True  # this hall asks an ID for every ticket, 绿色通道 included
    kiosk.set_green(True)
    qtbot.mouseClick(kiosk.business_buttons["tax"], Qt.MouseButton.LeftButton)
    assert kiosk.stack.currentIndex() == ID_ENTRY
    place(reader)
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    t = hall.waiting(business="tax")[0]
    assert (t["priority"], t["id_masked"]) == ("green", "5101**********3012")


def test_a_card_checks_in_an_appointment(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                         reader: IdCardReaderSim) -> None:
    hall.book_appointment("YY5001", "social", date(2026, 11, 24), "09:00", "10:00", id_number=DEMO.id_number)
    kiosk.show_page(CHECK_IN)
    assert kiosk.code_hint.isVisible()
    place(reader)
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    assert kiosk.current_ticket is not None and kiosk.current_ticket["priority"] == "appointment"


def test_a_card_gives_the_case_lookup_its_last_four(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                    reader: IdCardReaderSim) -> None:
    Cases(hall).register({"case_no": "SB20261124001", "case_type": 2, "item_name": "不动产转移登记",
                          "applicant_name": DEMO.name, "applicant_id": DEMO.id_number, "status": "受理",
                          "promise_days": 5})
    kiosk.show_page(CASE)
    kiosk.case_field.setText("SB20261124001")
    place(reader)
    qtbot.waitUntil(lambda: kiosk.case_result.isVisible())
    assert "SB20261124001" in kiosk.case_result.text() and "欧**华" in kiosk.case_result.text()
    assert kiosk.check_field.text() == DEMO.id_number[-4:]


def test_a_card_with_nothing_asking_for_it_is_not_used(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                       reader: IdCardReaderSim) -> None:
    place(reader)
    qtbot.waitUntil(lambda: kiosk.message.isVisible())
    assert "请先选择要办理的业务" in kiosk.message.text()
    assert hall.waiting() == [] and kiosk.stack.currentIndex() == HOME


def test_an_expired_card_is_refused_on_screen(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                              reader: IdCardReaderSim) -> None:
    qtbot.mouseClick(kiosk.business_buttons["housing"], Qt.MouseButton.LeftButton)
    place(reader, "expired")
    qtbot.waitUntil(lambda: kiosk.message.isVisible())
    assert "身份证已过有效期" in kiosk.message.text() and "2020-01-01" in kiosk.message.text()
    assert kiosk.stack.currentIndex() == ID_ENTRY and hall.waiting() == []
    kiosk.set_language("ug")
    place(reader, "expired")
    qtbot.waitUntil(lambda: "كىملىكنىڭ ۋاقتى ئۆتۈپ كەتتى" in kiosk.message.text())


# --- scans: routed by what they are, whatever has focus -------------------------------------------------------
def test_a_wedge_scan_is_told_from_typing_and_routed_whatever_has_focus(
        qtbot: Any, kiosk: KioskScreen, hall: Hall, key_clock: KeyClock) -> None:
    hall.book_appointment("YY1001", "social", date(2026, 11, 24), "09:00", "10:00")
    qtbot.mouseClick(kiosk.business_buttons["housing"], Qt.MouseButton.LeftButton)
    kiosk.id_field.setFocus()
    kiosk.id_field.setText("1101")  # the citizen had begun typing an ID
    type_keys(kiosk, key_clock, "appointment:YY1001", gap=0.008)
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    assert kiosk.current_ticket is not None and kiosk.current_ticket["priority"] == "appointment"
    assert kiosk.wedge.scans == 1


def test_typing_at_a_person_s_pace_stays_in_the_field(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                      key_clock: KeyClock) -> None:
    hall.book_appointment("806512", "social", date(2026, 11, 24), "09:00", "10:00")
    kiosk.show_page(CHECK_IN)
    type_keys(kiosk, key_clock, "806512", gap=0.18, enter=False)
    assert kiosk.code_field.text() == "806512"
    key_clock.t += 0.4
    QTest.keyClick(kiosk.code_field, Qt.Key.Key_Return)  # the field's own Enter: submit_code
    assert kiosk.stack.currentIndex() == RESULT and kiosk.wedge.scans == 0


@pytest.mark.parametrize(("gaps", "scan"), [
    ([0.008] * 6, True),  # a scanner: every key within 50 ms, Enter too
    ([0.008] * 5 + [0.2], False),  # the Enter came late: a person pressed it
    ([0.2] + [0.008] * 5, True),  # a slow first key starts the burst; the rest is fast
    ([0.008, 0.008, 0.2, 0.008, 0.008, 0.008], False),  # a pause in the middle: only 3 fast keys before Enter
])
def test_wedge_timing(qtbot: Any, kiosk: KioskScreen, key_clock: KeyClock, gaps: list[float], scan: bool) -> None:
    kiosk.show_page(CHECK_IN)
    got: list[Any] = []
    kiosk.inputs.read.connect(got.append)
    for ch, gap in zip("80651", gaps, strict=False):
        key_clock.t += gap
        QTest.keyClick(kiosk.code_field, ch)
    key_clock.t += gaps[-1]
    QTest.keyClick(kiosk.code_field, Qt.Key.Key_Return)
    QApplication.processEvents()  # the queued doorway delivers on the next turn of the event loop
    assert (kiosk.wedge.scans == 1) is scan
    if scan:
        assert [r.code for r in got if isinstance(r, ScanRead)] == ["80651"]
        assert kiosk.code_field.text() == ""  # the field got back what it held before the burst


def test_a_scanned_case_number_opens_the_lookup_and_a_card_finishes_it(
        qtbot: Any, kiosk: KioskScreen, hall: Hall, scanner: ScannerSim, reader: IdCardReaderSim) -> None:
    Cases(hall).register({"case_no": "SB20261124002", "case_type": 2, "item_name": "社保转移",
                          "applicant_name": DEMO.name, "applicant_id": DEMO.id_number, "status": "受理",
                          "promise_days": 5})
    scanner.scan("case:SB20261124002")
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == CASE)
    assert kiosk.case_field.text() == "SB20261124002"
    place(reader)
    qtbot.waitUntil(lambda: kiosk.case_result.isVisible())


def test_a_scanned_ticket_qr_shows_where_the_ticket_stands(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                           scanner: ScannerSim) -> None:
    hall.issue_ticket("social")
    t = hall.issue_ticket("social").value.ticket
    scanner.scan(QR_URL.format(hall_id=hall.config.hall_id, ticket_id=t["id"]))
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    assert kiosk.result_number.text() == t["number"]
    assert kiosk.result_ahead.text() == "您前面还有 1 人" and "等候中" in kiosk.result_print.text()
    hall.call_next(1)
    hall.call_next(2)
    scanner.scan(QR_URL.format(hall_id=hall.config.hall_id, ticket_id=t["id"]))
    qtbot.waitUntil(lambda: "请到2号窗口" in kiosk.result_print.text())
    scanner.scan(QR_URL.format(hall_id="another-hall", ticket_id=t["id"]))
    qtbot.waitUntil(lambda: "其他大厅" in kiosk.message.text())
    scanner.scan(QR_URL.format(hall_id=hall.config.hall_id, ticket_id=uuid.uuid4().hex))
    qtbot.waitUntil(lambda: "没有找到这张号票" in kiosk.message.text())


def test_a_bare_code_is_an_appointment_if_there_is_one_else_a_case(qtbot: Any, kiosk: KioskScreen, hall: Hall,
                                                                   scanner: ScannerSim) -> None:
    hall.book_appointment("YY7007", "social", date(2026, 11, 24), "09:00", "10:00")
    scanner.scan("YY7007")
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == RESULT)
    kiosk.go_home()
    scanner.scan("DEMO20261124009")
    qtbot.waitUntil(lambda: kiosk.stack.currentIndex() == CASE)
    assert kiosk.case_field.text() == "DEMO20261124009"


def test_codes_the_kiosk_cannot_use_are_said_not_crashed_on(qtbot: Any, kiosk: KioskScreen,
                                                            scanner: ScannerSim) -> None:
    scanner.scan("https://example.com/anything")
    qtbot.waitUntil(lambda: "无法识别的二维码或条码" in kiosk.message.text())
    scanner.scan("staff:c01")
    qtbot.waitUntil(lambda: "工作证请在窗口使用" in kiosk.message.text())
    assert kiosk.stack.currentIndex() == HOME


# --- the caller: a staff badge signs in ---------------------------------------------------------------------
@pytest.fixture
def caller(qtbot: Any, client: HallClient, key_clock: KeyClock) -> Callable[..., CallerScreen]:
    def make(inputs: DeviceInputs | None = None) -> CallerScreen:
        return shown(qtbot, CallerScreen(client, 1, inputs=inputs, key_clock=key_clock), 1280, 800)

    return make


def test_a_badge_scanned_by_a_wedge_reader_signs_the_clerk_in(qtbot: Any, caller: Callable[..., CallerScreen],
                                                              hall: Hall, key_clock: KeyClock) -> None:
    c = caller()
    c.case_input.setFocus()
    type_keys(c, key_clock, "staff:c01", gap=0.005)
    qtbot.waitUntil(lambda: c.clerk_id.text() == "c01")
    assert c.case_input.text() == ""  # the scan did not stay in the field that had focus
    assert "请填写姓名" in c.status.text()
    c.clerk_name.setText("王晓明")
    type_keys(c, key_clock, "0012345678", gap=0.005)  # a staff card read by a wedge card reader: its number
    qtbot.waitUntil(lambda: hall.window(1).get("clerk_id") == "0012345678")
    assert hall.window(1)["clerk_name"] == "王晓明"


def test_a_window_s_serial_badge_scanner_reaches_its_caller(qtbot: Any, caller: Callable[..., CallerScreen],
                                                            hall: Hall, tmp_path: Any) -> None:
    badge = ScannerSim("badge1", Framing(prefix=b"\x02", suffix=b"\x03"), link_dir=str(tmp_path)).start()
    port = scanner_driver("badge1", {"kind": "scanner", "url": f"serial://{badge.path}", "prefix": "\x02",
                                     "suffix": "\x03", "window": 1}, hall.config)
    port.start()
    inputs = DeviceInputs([port])
    try:
        wait_for(lambda: port.health.state == HealthState.OK)
        c = caller(inputs)
        c.clerk_name.setText("李娜")
        badge.scan("GH:c02")
        qtbot.waitUntil(lambda: hall.window(1).get("clerk_id") == "c02")
        badge.scan("case:SB20261124003")
        qtbot.waitUntil(lambda: c.case_input.text() == "SB20261124003")
    finally:
        inputs.close()
        port.stop()
        badge.stop()


# --- which screen process drives which input device ------------------------------------------------------------
@pytest.mark.parametrize(("section", "role", "window", "drives"), [
    ({"kind": "printer"}, "kiosk", 1, True),
    ({"kind": "idcard"}, "kiosk", 1, True),
    ({"kind": "scanner"}, "kiosk", 1, True),
    ({"kind": "scanner", "window": 3}, "kiosk", 1, False),
    ({"kind": "scanner", "window": 3}, "caller", 3, True),
    ({"kind": "scanner", "window": 3}, "caller", 2, False),
    ({"kind": "idcard"}, "caller", 1, False),
    ({"kind": "led", "window": 1}, "caller", 1, False),
    ({"kind": "idcard"}, "board", None, False),
])
def test_which_screen_drives_which_device(section: dict[str, Any], role: str, window: int | None,
                                          drives: bool) -> None:
    from kiosk.ui.app import screen_drives

    assert screen_drives(section, role, window) is drives


def test_screen_inputs_hand_each_screen_its_own_readers(qtbot: Any) -> None:
    from kiosk.ui.app import screen_inputs

    class Driver:
        def __init__(self, kind: str, window: int = 0) -> None:
            self.kind, self.window, self.listeners = kind, window, 0

        def on_read(self, fn: Any) -> Callable[[], None]:
            self.listeners += 1
            return lambda: None

    drivers = [Driver("idcard"), Driver("scanner"), Driver("scanner", 2), Driver("scanner", 3)]

    class Sup:
        def inputs(self) -> list[Driver]:
            return drivers

    assert screen_inputs(Sup(), "kiosk").kinds == {"idcard", "scanner"}
    assert screen_inputs(Sup(), "caller", 2).kinds == {"scanner"}
    assert [d.listeners for d in drivers] == [1, 1, 1, 0]
    assert screen_inputs(None, "kiosk").kinds == set()
