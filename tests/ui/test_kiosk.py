"""The citizen kiosk driven through a real Hall: tickets, ID entry, check-in, printer faults, elder mode, languages."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo, QPalette
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from kiosk.core import events as ev
from kiosk.core.hall import Hall
from kiosk.ui.app import start_devices
from kiosk.ui.client import HallClient
from kiosk.ui.i18n import LANGUAGES, STRINGS, error_text, tr
from kiosk.ui.kiosk import CASE, CHECK_IN, GUIDE, HOME, ID_ENTRY, RESULT, KioskScreen
from kiosk.ui.theme import ELDER_MIN_FONT_DP, ELDER_MIN_TARGET_DP, MIN_CONTRAST, PAIRS, contrast, px_to_dp
from tests.ui.checks import shown

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def make_kiosk(qtbot, client: HallClient, w: int = 1080, h: int = 1920, **kw) -> KioskScreen:
    return shown(qtbot, KioskScreen(client, **kw), w, h)


def type_on(qtbot, pad, text: str) -> None:
    for ch in text:
        qtbot.mouseClick(pad.keys[ch], Qt.MouseButton.LeftButton)


def test_take_ticket_shows_number_and_people_ahead(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    k = make_kiosk(qtbot, client)
    qtbot.waitUntil(lambda: "等候 1 人" in k.business_buttons["social"].text())
    qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == RESULT
    assert k.result_number.text() == "A002"
    assert k.result_ahead.text() == "您前面还有 1 人"
    assert [t["number"] for t in hall.waiting(business="social")] == ["A001", "A002"]
    # no printer on this kiosk: the screen itself is the ticket
    assert "请记下您的号码" in k.result_print.text()
    qtbot.waitUntil(lambda: "等候 2 人" in k.business_buttons["social"].text())
    qtbot.mouseClick(k.done_button, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == HOME


def test_counts_follow_events_from_other_threads(qtbot, client, hall: Hall) -> None:
    import threading

    k = make_kiosk(qtbot, client)
    t = threading.Thread(target=lambda: [hall.issue_ticket("tax") for _ in range(3)])
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "等候 3 人" in k.business_buttons["tax"].text())


def test_closed_business_shows_its_message_and_refuses(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client)
    hall.close_business("tax", "系统维护，14:00 恢复")
    qtbot.waitUntil(lambda: "系统维护" in k.business_buttons["tax"].text())
    assert "暂停取号" in k.business_buttons["tax"].text()  # said in words, not only by the grey colour
    qtbot.mouseClick(k.business_buttons["tax"], Qt.MouseButton.LeftButton)
    assert k.message.isVisible() and "系统维护" in k.message.text()
    assert hall.waiting(business="tax") == []


def test_id_required_business_asks_for_id_on_keypad(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.business_buttons["housing"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == ID_ENTRY
    type_on(qtbot, k.id_pad, "110105194912310021")  # wrong check digit
    qtbot.mouseClick(k.id_pad.ok, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == ID_ENTRY
    assert "身份证号码不正确" in k.message.text()
    qtbot.mouseClick(k.id_pad.clear, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.id_pad, VALID_ID)
    qtbot.mouseClick(k.id_pad.ok, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == RESULT
    assert k.result_number.text() == "B001"
    t = hall.find_ticket("B001")
    assert t is not None and t["id_masked"] == "1101**********002X"
    assert k.id_field.text() == ""  # the ID number does not linger on screen


def test_appointment_check_in_by_code(qtbot, client, hall: Hall) -> None:
    hall.book_appointment("806512", "social", date(2026, 11, 24), "09:00", "10:00")
    hall.issue_ticket("social")
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.appointment_button, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == CHECK_IN
    type_on(qtbot, k.code_pad, "999")
    qtbot.mouseClick(k.code_pad.ok, Qt.MouseButton.LeftButton)
    assert "没有找到这个预约" in k.message.text()
    qtbot.mouseClick(k.code_pad.clear, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.code_pad, "806512")
    qtbot.mouseClick(k.code_pad.ok, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == RESULT
    assert k.result_ahead.text() == "您前面还有 0 人"  # appointments go ahead of walk-ins
    assert hall.find_ticket(k.result_number.text())["priority"] == "appointment"


def test_printer_that_cannot_print_gives_the_number_on_screen(qtbot, client, hall: Hall) -> None:
    from devices.printer.sim import device, forget

    name = f"kiosk-test-{uuid.uuid4().hex[:8]}"
    sim = device(name)
    sim.set_paper("out")
    sup = start_devices(hall, {"printer1": {"kind": "printer", "url": f"sim://{name}"}})
    printer = sup.printer()
    try:
        k = make_kiosk(qtbot, client, printer=printer)
        qtbot.waitUntil(lambda: any(d["name"] == "printer1" and d["state"] != "ok" for d in hall.devices()),
                        timeout=5000)
        qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
        assert k.stack.currentIndex() == RESULT
        # said plainly, the number big on screen, and how to keep it
        qtbot.waitUntil(lambda: "打印机暂时不能出票" in k.result_print.text(), timeout=15000)
        assert "请记下您的号码" in k.result_print.text()
        assert k.result_number.text() == "A001" and k.result_number.isVisible()
        assert QFontInfo(k.result_number.font()).pixelSize() >= 150
    finally:
        sup.stop()
        forget(name)


def test_printed_ticket_says_take_the_slip(qtbot, client, hall: Hall) -> None:
    from devices.printer.sim import device, forget

    name = f"kiosk-test-{uuid.uuid4().hex[:8]}"
    sim = device(name)
    sup = start_devices(hall, {"printer1": {"kind": "printer", "url": f"sim://{name}"}})
    printer = sup.printer()
    try:
        k = make_kiosk(qtbot, client, printer=printer)
        qtbot.waitUntil(lambda: printer.can_print()[0], timeout=5000)
        qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "请取走号票" in k.result_print.text(), timeout=10000)
        assert len(sim.tickets) == 1
    finally:
        sup.stop()
        forget(name)


def test_print_failed_event_switches_to_on_screen_number(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client, printer=None)
    qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
    t = hall.find_ticket("A001")
    hall.report_print(t["id"], ok=False, device="printer1", reason="缺纸")
    qtbot.waitUntil(lambda: "缺纸" in k.result_print.text())
    assert "请记下您的号码" in k.result_print.text()


def test_idle_timeout_returns_home_in_chinese(qtbot, client) -> None:
    k = make_kiosk(qtbot, client, idle_timeout_s=0.3)
    qtbot.mouseClick(k.lang_buttons["ug"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(k.appointment_button, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == CHECK_IN
    assert k.home_button.isVisible()
    qtbot.waitUntil(lambda: k.stack.currentIndex() == HOME, timeout=3000)
    assert k.lang == "zh" and k.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_touches_keep_the_kiosk_awake(qtbot, client) -> None:
    k = make_kiosk(qtbot, client, idle_timeout_s=0.6)
    qtbot.mouseClick(k.appointment_button, Qt.MouseButton.LeftButton)
    for _ in range(4):
        qtbot.wait(250)
        qtbot.mouseClick(k.code_pad.keys["1"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == CHECK_IN and k.code_field.text() == "1111"


def _visible(widget: QWidget, cls: type) -> list:
    return [w for w in widget.findChildren(cls) if w.isVisible() and w.width() > 0]


@pytest.mark.parametrize("page", [HOME, ID_ENTRY, RESULT, CHECK_IN, GUIDE, CASE])
@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])
def test_elder_mode_sizes_from_real_geometry(qtbot, client, page: int, size: tuple[int, int]) -> None:
    k = make_kiosk(qtbot, client, *size)
    k.set_elder(True)
    if page == RESULT:
        k.choose_business("social")
    elif page == GUIDE:
        k.show_guide("social")
    else:
        k.show_page(page)
    k.say("测试提示", "warn")
    qtbot.wait(20)
    assert k.width() == size[0] and k.height() == size[1]  # nothing pushed the window past the screen
    for b in _visible(k, QPushButton):
        assert px_to_dp(b, b.width()) >= ELDER_MIN_TARGET_DP and px_to_dp(b, b.height()) >= ELDER_MIN_TARGET_DP, \
            f"{b.text()!r} is {b.width()}×{b.height()}"
    for w in _visible(k, QLabel) + _visible(k, QPushButton) + _visible(k, QLineEdit):
        text = w.text() if hasattr(w, "text") else ""
        if text:
            assert px_to_dp(w, QFontInfo(w.font()).pixelSize()) >= ELDER_MIN_FONT_DP, f"{text!r} too small"


def test_every_colour_pair_meets_contrast() -> None:
    for name, p in PAIRS.items():
        assert contrast(p.fg, p.bg) >= MIN_CONTRAST, name


def test_widget_palettes_meet_contrast(qtbot, client, hall: Hall) -> None:
    hall.close_business("tax", "维护")
    k = make_kiosk(qtbot, client)
    k.set_elder(True)
    k.say("错误提示")
    qtbot.waitUntil(lambda: k.business_buttons["tax"].property("closed") is True)
    checked = 0
    for b in _visible(k, QPushButton):
        pal = b.palette()
        assert contrast(pal.color(QPalette.ColorRole.ButtonText).name(),
                        pal.color(QPalette.ColorRole.Button).name()) >= MIN_CONTRAST, b.text()
        checked += 1
    for lab in (k.message, k.hall_label):
        pal = lab.palette()
        assert contrast(pal.color(QPalette.ColorRole.WindowText).name(),
                        pal.color(QPalette.ColorRole.Window).name()) >= MIN_CONTRAST
    assert checked >= 10


def test_uyghur_is_right_to_left(qtbot, client) -> None:
    k = make_kiosk(qtbot, client, 1920, 1080)
    first = k.business_buttons["social"]
    assert first.mapTo(k, first.rect().center()).x() < k.width() / 2
    qtbot.mouseClick(k.lang_buttons["ug"], Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert k.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert first.mapTo(k, first.rect().center()).x() > k.width() / 2  # the first business now sits on the right
    assert tr("ug", "waiting_n", n=0).split()[-1] in first.text() or "0" in first.text()
    assert k.home_title.text() == STRINGS["take_ticket"]["ug"]
    qtbot.mouseClick(k.lang_buttons["bo"], Qt.MouseButton.LeftButton)
    assert k.layoutDirection() == Qt.LayoutDirection.LeftToRight
    assert k.appointment_button.text() == STRINGS["appointment"]["bo"]


def test_refusals_are_said_in_the_chosen_language(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client)
    k.set_language("bo")
    hall.close_business("tax", "维护")
    qtbot.mouseClick(k.business_buttons["tax"], Qt.MouseButton.LeftButton)
    assert STRINGS["business_closed"]["bo"].split("{")[1].split("}")[1].strip().split()[0] in k.message.text()


def test_translation_table_is_complete_and_fonts_cover_it() -> None:
    from PySide6.QtGui import QFont, QFontMetrics

    from kiosk.ui.fonts import SCRIPT_FACES

    metrics = [QFontMetrics(QFont(f)) for f in SCRIPT_FACES]
    for key, entry in STRINGS.items():
        assert set(entry) >= set(LANGUAGES), key
        for lang, text in entry.items():
            for ch in text.replace("{", "").replace("}", ""):
                if ch.isspace():
                    continue
                assert any(m.inFontUcs4(ord(ch)) for m in metrics), f"{key}/{lang}: no font has {ch!r} (tofu)"


def test_error_text_falls_back_to_the_chinese_message() -> None:
    from kiosk.core import errors as E

    # a refusal the table has no words for (here the base class; a newer LAN server's key alike): Chinese, not a key
    assert error_text("ug", E.HallError()) == "操作未能完成"
    assert error_text("ug", E.InvalidIdNumber()) == STRINGS["invalid_id_number"]["ug"]
    assert "社保" in error_text("zh", E.IdRequired(name="社保"))


def test_guide_page_without_catalogue_shows_hours_and_desk(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.guide_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(k.guide_buttons["social"], Qt.MouseButton.LeftButton)
    text = k.guide_text.text()
    assert "社保" in text and "08:30-12:00" in text
    if client.catalog_item("social") is None:
        assert "请咨询服务台" in text


def test_case_lookup_answers_or_says_it_is_unavailable(qtbot, client) -> None:
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.case_button, Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == CASE
    type_on(qtbot, k.case_pad, "5101042026000123")  # the case number field is first
    qtbot.mouseClick(k.check_field, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.case_pad, "12")
    qtbot.mouseClick(k.case_pad.ok, Qt.MouseButton.LeftButton)
    assert "后4位" in k.message.text()  # only two check digits
    type_on(qtbot, k.case_pad, "34")
    qtbot.mouseClick(k.case_pad.ok, Qt.MouseButton.LeftButton)
    assert k.case_field.text() == "5101042026000123" and k.check_field.text() == "1234"
    try:
        import kiosk.core.cases  # noqa: F401
    except ImportError:
        assert "办件查询暂不可用" in k.message.text()
    else:  # the case module exists: an unknown case is refused in words, never a crash
        assert k.message.isVisible() or k.case_result.isVisible()


def test_screenshots(qtbot, demo_client: HallClient, demo_hall: Hall, shoot) -> None:
    for code, n in (("social", 12), ("tax", 4), ("residence", 7), ("market", 2)):
        for _ in range(n):
            demo_hall.issue_ticket(code)
    demo_hall.close_business("fund", "系统维护，预计 14:00 恢复")
    k = make_kiosk(qtbot, demo_client)
    qtbot.waitUntil(lambda: "12" in k.business_buttons["social"].text())
    shoot(k, "kiosk_portrait")
    k.resize(1920, 1080)
    shoot(k, "kiosk_landscape")
    k.set_language("bo")
    shoot(k, "kiosk_tibetan")
    k.set_language("ug")
    shoot(k, "kiosk_uyghur")
    k.set_language("zh")
    k.resize(1080, 1920)
    k.set_elder(True)
    shoot(k, "kiosk_elder")
    k.set_green(True)
    shoot(k, "kiosk_green_elder")
    k.set_green(False)
    k.choose_business("social")
    shoot(k, "kiosk_ticket_on_screen")
    events = []
    demo_client.events.connect(lambda e: events.append(e.kind))
    demo_hall.issue_ticket("tax")
    qtbot.waitUntil(lambda: ev.TICKET_ISSUED in events)


def test_guide_page_shows_the_catalogue_item(qtbot, client, hall: Hall) -> None:
    import msgspec

    from sync import contract
    from sync.catalog import apply_update

    msg = msgspec.convert({
        "v": 1, "message_id": "catalog-0001", "hall_id": hall.config.hall_id, "at_utc": "2026-11-24T01:00:00+00:00",
        "items": [{"code": "000117001000", "business": "social", "name": "城乡居民养老保险参保登记", "version": 1,
                   "conditions": ["年满16周岁的非在校学生"], "materials": [{"name": "居民身份证", "original": True}],
                   "legal_days": 20, "promised_days": 5, "fees": [], "basis": ["《社会保险法》"]}],
    }, contract.CatalogUpdate)
    apply_update(hall, msg, "catalog-0001")
    k = make_kiosk(qtbot, client)
    k.show_guide("social")
    text = k.guide_text.text()
    for part in ("城乡居民养老保险参保登记", "年满16周岁", "居民身份证（原件 1 份）", "承诺 5 个工作日", "不收费",
                 "《社会保险法》", "08:30-12:00"):
        assert part in text
    assert "请咨询服务台" not in text


def test_case_lookup_shows_the_public_view_only(qtbot, client, hall: Hall) -> None:
    from kiosk.core.cases import Cases

    Cases(hall).register({
        "case_no": "SB2026112400001", "item_name": "城乡居民养老保险参保登记", "accept_unit": "锦江区社保局",
        "acceptor": "李四", "case_type": 2, "legal_days": 20, "promise_days": 5, "applicant_name": "张小三",
        "applicant_id": VALID_ID, "applicant_phone": "13812345678", "department": "社保局", "window": 1,
        "status": "受理"})
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.case_button, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.case_pad, "1")
    k.case_field.setText("SB2026112400001")
    qtbot.mouseClick(k.check_field, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.case_pad, "0000")
    qtbot.mouseClick(k.case_pad.ok, Qt.MouseButton.LeftButton)
    assert "不正确" in k.message.text() and not k.case_result.isVisible()
    qtbot.mouseClick(k.case_pad.clear, Qt.MouseButton.LeftButton)
    type_on(qtbot, k.case_pad, "002X")
    qtbot.mouseClick(k.case_pad.ok, Qt.MouseButton.LeftButton)
    assert k.case_result.isVisible()
    text = k.case_result.text()
    assert "张*三" in text and "受理" in text and "城乡居民养老保险参保登记" in text
    assert "张小三" not in text and VALID_ID not in text


def test_green_channel_ticket_is_called_before_walk_ins(qtbot, client, hall: Hall) -> None:
    walk_in = hall.issue_ticket("social").value.ticket
    k = make_kiosk(qtbot, client)
    assert not k.green_note.isVisible() and "☐" in k.green_button.text() and "军人依法优先" in k.green_button.text()
    qtbot.mouseClick(k.green_button, Qt.MouseButton.LeftButton)
    assert k.green and k.green_note.isVisible() and "☑" in k.green_button.text()
    assert "工作人员可能核验" in k.green_note.text()
    housing = k.business_buttons["housing"]  # green_channel = false in the test hall
    assert not housing.isEnabled() and "未开通绿色通道" in housing.text()
    k.choose_business("housing")  # even if reached another way, it is refused in words
    assert "没有开通绿色通道" in k.message.text() and hall.counts()["_total"]["issued"] == 1
    qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == RESULT and "绿色通道" in k.result_caption.text()
    green = hall.find_ticket(k.current_ticket["number"])
    assert green["priority"] == "green"
    k.go_home()
    assert not k.green and housing.isEnabled()  # the next citizen starts with an ordinary ticket
    assert hall.call_next(1).value["number"] == green["number"]  # before the walk-in who came first
    assert hall.call_next(2).value["number"] == walk_in["number"]


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])
def test_green_channel_in_elder_mode_keeps_sizes(qtbot, client, size: tuple[int, int]) -> None:
    k = make_kiosk(qtbot, client, *size)
    k.set_elder(True)
    k.set_green(True)
    qtbot.wait(20)
    assert k.width() == size[0] and k.height() == size[1]
    for w in (k.green_button, *k.business_buttons.values()):
        assert px_to_dp(w, w.width()) >= ELDER_MIN_TARGET_DP and px_to_dp(w, w.height()) >= ELDER_MIN_TARGET_DP
    for w in (k.green_button, k.green_note):
        assert w.isVisible() and px_to_dp(w, QFontInfo(w.font()).pixelSize()) >= ELDER_MIN_FONT_DP
    # the two lines of the button fit inside it (not clipped by the elder-mode font)
    from PySide6.QtGui import QFontMetrics

    fm = QFontMetrics(k.green_button.font())
    for line in k.green_button.text().split("\n"):
        assert fm.horizontalAdvance(line) < k.green_button.width()
    assert fm.lineSpacing() * 2 <= k.green_button.height()
    for lang in ("bo", "ug"):
        k.set_language(lang)
        assert STRINGS["green_channel"][lang] in k.green_button.text()
        assert k.green_note.text() == STRINGS["green_note"][lang]


# --- languages that hold their numbers, every label translated, letters, paused windows, the estimate --------------
def test_the_keypad_reads_left_to_right_in_uyghur(qtbot, client) -> None:
    k = make_kiosk(qtbot, client)
    k.set_language("ug")
    k.show_page(CHECK_IN)
    qtbot.wait(20)
    x = [k.code_pad.keys[d].mapTo(k, k.code_pad.keys[d].rect().center()).x() for d in "123"]
    assert x == sorted(x)  # 1-2-3, never mirrored to 3-2-1
    assert k.layoutDirection() == Qt.LayoutDirection.RightToLeft
    for field in (k.code_field, k.id_field, k.case_field, k.check_field):
        assert field.layoutDirection() == Qt.LayoutDirection.LeftToRight
    type_on(qtbot, k.code_pad, "806")
    assert k.code_field.text() == "806"


def test_a_case_number_with_letters_can_be_typed(qtbot, client) -> None:
    k = make_kiosk(qtbot, client)
    qtbot.mouseClick(k.case_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(k.case_pad.keys["ABC"], Qt.MouseButton.LeftButton)
    assert k.case_pad.pages.currentIndex() == 1
    type_on(qtbot, k.case_pad, "SB-")
    qtbot.mouseClick(k.case_pad.keys["123"], Qt.MouseButton.LeftButton)
    type_on(qtbot, k.case_pad, "2026")
    assert k.case_field.text() == "SB-2026"


def test_a_business_whose_windows_are_all_paused_says_so_and_issues_nothing(qtbot, client, hall: Hall) -> None:
    k = make_kiosk(qtbot, client)
    hall.pause(3, "午休")  # housing: window 3 and the combined window 9
    hall.pause(9, "会议")
    qtbot.waitUntil(lambda: "暂停取号" in k.business_buttons["housing"].text())
    assert "午休、会议" in k.business_buttons["housing"].text() and k.business_buttons["housing"].property("closed")
    qtbot.mouseClick(k.business_buttons["housing"], Qt.MouseButton.LeftButton)
    assert k.stack.currentIndex() == HOME  # no ID asked for a ticket it could not issue
    assert "办理窗口都已暂停服务（午休、会议）" in k.message.text()
    assert hall.waiting(business="housing") == []
    k.set_language("bo")
    assert STRINGS["windows_paused"]["bo"] in k.business_buttons["housing"].text()
    assert "午休" not in k.business_buttons["housing"].text()  # the clerks' reasons are Chinese: said in Chinese only
    hall.resume_window(9)
    qtbot.waitUntil(lambda: STRINGS["closed"]["bo"] not in k.business_buttons["housing"].text())


def test_each_business_and_ticket_shows_the_estimated_wait(qtbot, client, hall: Hall) -> None:
    for _ in range(2):
        hall.issue_ticket("social")
    k = make_kiosk(qtbot, client)
    # nothing timed today: 5 minutes a service, social served by windows 1, 2 and 9
    qtbot.waitUntil(lambda: "预计等候约 4 分钟" in k.business_buttons["social"].text())  # (2 + ½) × 300 s ÷ 3
    qtbot.mouseClick(k.business_buttons["social"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: k.result_wait.text() == "预计等候约 4 分钟")
    issued = [e for e in hall.events_after(0) if e.kind == ev.TICKET_ISSUED][-1]
    assert issued.payload["wait_s"] == pytest.approx(2.5 * 300 / 3)  # the printed ticket's estimate, the same


def test_every_label_of_the_case_and_guide_pages_is_translated(qtbot, client, hall: Hall) -> None:
    from kiosk.core.cases import Cases
    from tests.ui.layout_audit import HAN

    Cases(hall).register({
        "case_no": "SB2026112400002", "item_name": "城乡居民养老保险参保登记", "accept_unit": "锦江区社保局",
        "acceptor": "李四", "case_type": 2, "legal_days": 20, "promise_days": 5, "applicant_name": "张小三",
        "applicant_id": VALID_ID, "applicant_phone": "13812345678", "department": "社保局", "window": 1,
        "status": "受理"})
    k = make_kiosk(qtbot, client)
    for lang in ("bo", "ug", "ii"):
        k.set_language(lang)
        k.show_page(CASE)
        k.case_field.setText("SB2026112400002")
        k.check_field.setText("002X")
        k.submit_case()
        text = k.case_result.text()
        for data in ("城乡居民养老保险参保登记", "张*三"):  # the case's own data: the province has it in Chinese only
            text = text.replace(data, "")
        assert not HAN.search(text), (lang, text)
        assert STRINGS["case_accepted"][lang] in k.case_result.text()
        k.show_guide("tax")
        assert not HAN.search(k.guide_text.text().replace("税务", "")), (lang, k.guide_text.text())


def test_dates_and_numbers_keep_their_order_in_uyghur(qtbot, client, hall: Hall) -> None:
    from kiosk.citizen import case_text

    text = case_text({"case_no": "SB2026112400002", "status": "accepted", "promised_at": "2026-11-30 17:25",
                      "working_days_left": 4}, "ug")
    assert "\u20662026-11-30 17:25\u2069" in text and "\u2066SB2026112400002\u2069" in text
    k = make_kiosk(qtbot, client)
    k.set_language("ug")
    assert k.clock_label.layoutDirection() == Qt.LayoutDirection.LeftToRight
    assert k.result_number.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_yi_is_offered_and_the_halls_languages_choose_the_buttons(qtbot, client, config, store, clock) -> None:
    k = make_kiosk(qtbot, client)
    assert list(k.lang_buttons) == ["zh", "bo", "ug", "ii"]
    qtbot.mouseClick(k.lang_buttons["ii"], Qt.MouseButton.LeftButton)
    assert k.home_title.text() == STRINGS["take_ticket"]["ii"]
    config.hall.languages = ["zh", "bo"]
    two = make_kiosk(qtbot, HallClient(Hall(config, store, clock=clock), heartbeat_s=0))
    assert list(two.lang_buttons) == ["zh", "bo"]


@pytest.mark.parametrize("page", [HOME, ID_ENTRY, RESULT, CHECK_IN, GUIDE, CASE])
def test_every_page_takes_a_scan_and_a_card(qtbot, client, hall: Hall, page: int) -> None:
    """Whatever page is up, a scanned appointment checks in and an ID card is used or said to be not needed here."""
    from devices.reads import IdCardRead, ScanRead

    hall.book_appointment("806512", "social", date(2026, 11, 24), "09:00", "10:00")
    k = make_kiosk(qtbot, client)
    if page == ID_ENTRY:
        k.choose_business("housing")
    elif page == RESULT:
        k.choose_business("tax")
    elif page == GUIDE:
        k.show_guide("social")
    else:
        k.show_page(page)
    assert k.stack.currentIndex() == page
    card = IdCardRead(device="id1", id_number=VALID_ID, name_masked="张*三", valid_from=date(2020, 1, 1),
                      valid_to=None)
    k.inputs.post(card)
    qtbot.waitUntil(lambda: k.message.isVisible() or k.stack.currentIndex() != page or bool(k.check_field.text()))
    if page == ID_ENTRY:
        assert k.stack.currentIndex() == RESULT and hall.find_ticket("B001")["id_masked"] == "1101**********002X"
    elif page == CHECK_IN:
        assert "预约" in k.message.text() or k.stack.currentIndex() == RESULT  # no booking with this ID: said
    elif page == CASE:
        assert k.check_field.text() == "002X"
    else:
        assert k.message.text() == tr("zh", "choose_first")
    k.inputs.post(ScanRead(device="sc1", code="806512"))
    qtbot.waitUntil(lambda: hall.find_ticket("A001") is not None)
    assert k.stack.currentIndex() == RESULT and k.result_number.text() == "A001"
