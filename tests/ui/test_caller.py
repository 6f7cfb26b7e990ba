"""The clerk's caller against a real Hall: buttons and shortcuts change the hall; hall changes redraw the caller."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kiosk.core.hall import Hall
from kiosk.ui.caller import CallerScreen
from tests.ui.checks import rendered_texts, shown


def make_caller(qtbot, client, window: int = 2) -> CallerScreen:
    return shown(qtbot, CallerScreen(client, window), 1280, 800)


def click(qtbot, c: CallerScreen, key: str) -> None:
    qtbot.mouseClick(c.buttons[key], Qt.MouseButton.LeftButton)


def test_call_recall_no_show_and_finish(qtbot, client, hall: Hall) -> None:
    for code in ("social", "tax", "social"):
        hall.issue_ticket(code)
    c = make_caller(qtbot, client)
    qtbot.waitUntil(lambda: c.waiting_list.count() == 3)
    assert not c.buttons["recall"].isEnabled()
    click(qtbot, c, "call")
    assert hall.window(2)["current"]["number"] == "A001"
    assert c.current_label.text() == "A001" and "已呼叫 A001" in c.status.text()
    assert "剩 3 次" in c.buttons["recall"].text()  # recall_cap = 3 in the test hall
    click(qtbot, c, "recall")
    assert "剩 2 次" in c.buttons["recall"].text()
    click(qtbot, c, "no_show")
    assert hall.find_ticket("A001")["status"] == "no_show"
    assert c.current_label.text() == "—"
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    assert "办理中" in c.state_label.text()
    click(qtbot, c, "finish")
    assert hall.find_ticket("A002")["status"] == "done"
    assert c.waiting_list.count() == 1


def test_keyboard_shortcuts(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    qtbot.keyClick(c, Qt.Key.Key_F1)
    assert hall.window(2)["current"]["number"] == "A001"
    qtbot.keyClick(c.waiting_list, Qt.Key.Key_F2)  # from a child widget too
    assert hall.find_ticket("A001")["recalls"] == 1
    qtbot.keyClick(c, Qt.Key.Key_F4)
    assert hall.find_ticket("A001")["status"] == "serving"
    qtbot.keyClick(c, Qt.Key.Key_F9)
    assert hall.find_ticket("A001")["status"] == "done"


def test_refusals_land_in_the_status_line(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    c.call_next()  # empty queue (the F1 shortcut works even when the button is greyed out)
    assert "当前没有等候的号码" in c.status.text() and c.status.property("role") == "status_error"
    c.recall()
    assert "当前没有号码" in c.status.text()
    c.call_selected()
    assert "请先在等候列表中选中" in c.status.text()
    assert c.isVisible()


def test_call_a_specific_ticket_from_the_list(qtbot, client, hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    c.waiting_list.setCurrentRow(2)
    click(qtbot, c, "call_selected")
    assert hall.window(2)["current"]["number"] == "A003"
    assert [c.waiting_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(c.waiting_list.count())] == \
        ["A001", "A002"]


def test_pause_with_reason_and_resume(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    c.pause_reason.setCurrentText("会议")
    click(qtbot, c, "pause")
    w = hall.window(2)
    assert w["state"] == "paused" and w["pause_reason"] == "会议"
    assert "暂停服务（会议）" in c.state_label.text() and "恢复服务" in c.buttons["pause"].text()
    hall.issue_ticket("social")
    qtbot.waitUntil(lambda: c.waiting_list.count() == 1)
    assert not c.buttons["call"].isEnabled()
    click(qtbot, c, "pause")
    assert hall.window(2)["state"] == "idle"


def test_hold_resume_and_transfer(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    click(qtbot, c, "call")
    click(qtbot, c, "hold")
    assert hall.find_ticket("A001")["status"] == "held" and c.held_list.count() == 1
    click(qtbot, c, "resume_held")
    assert hall.window(2)["current"]["number"] == "A001"
    c.transfer_target.setCurrentIndex(c.transfer_target.findData("business:tax"))
    click(qtbot, c, "transfer")
    t = hall.find_ticket("A001")
    assert t["status"] == "waiting" and t["business"] == "tax"
    assert "A001" in [w["number"] for w in hall.waiting(window=2)]


def test_clerk_signs_in(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert "请填写工号和姓名" in c.status.text()
    c.clerk_id.setText("c02")
    c.clerk_name.setText("刘芳")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert hall.window(2)["clerk_name"] == "刘芳" and "刘芳" in c.clerk_label.text()


def test_hall_changes_redraw_the_caller(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    hall.sign_in(2, "c07", "李娜")
    hall.issue_ticket("tax")
    hall.call_next(2)  # e.g. from a hardware keypad
    qtbot.waitUntil(lambda: c.current_label.text() == "C001")
    assert "李娜" in c.clerk_label.text()


def test_screenshot(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    for code in ("social", "fund", "social", "social", "fund"):
        demo_hall.issue_ticket(code)
    demo_hall.issue_ticket("social", priority="green")
    demo_hall.sign_in(2, "c02", "王晓明")
    c = make_caller(qtbot, demo_client, 2)
    click(qtbot, c, "call")
    click(qtbot, c, "recall")
    c.waiting_list.setCurrentRow(1)
    shoot(c, "caller")


# --- 电子监察 and 一事一评 ---------------------------------------------------------------------------------------
APPLICANT = "欧阳建国"


def register_case(hall: Hall, case_no: str = "SB2026112401", window: int = 2, **kw) -> dict:
    from kiosk.core.cases import Cases
    from tests.conftest import make_id

    payload = {"case_no": case_no, "case_type": 2, "promise_days": 1, "applicant_name": APPLICANT,
               "applicant_id": make_id(583), "applicant_phone": "13912345678", "window": window,
               "department": "社保局", "clerk": "李娜", "item_name": "养老保险关系转移", "status": "受理"}
    payload.update(kw)
    return Cases(hall).register(payload).value


def assert_no_personal_data(widget) -> None:
    from tests.conftest import make_id

    text = rendered_texts(widget)
    ident = make_id(583)
    for secret in (APPLICANT, ident, ident[-4:], "13912345678", "5678"):
        assert secret not in text, f"{secret!r} is on screen"


def test_window_cards_turn_yellow_then_red(qtbot, client, clock, hall: Hall) -> None:
    from kiosk.core.cases import Cases
    from kiosk.core.privacy import mask_name

    cases = Cases(hall)
    register_case(hall)  # accepted Tue 09:00, one working day promised: due at the end of Wednesday
    register_case(hall, "SB-OTHER", window=1)  # another window's case never shows here
    c = make_caller(qtbot, client)
    assert c.cards_list.count() == 0 and "没有预警" in c.cards_title.text()
    clock.advance(days=1)  # Wednesday 09:00: inside the one-day margin
    cases.evaluate_cards()
    qtbot.waitUntil(lambda: c.cards_list.count() == 1)
    row = c.cards_list.item(0)
    assert row.text().startswith("黄牌 ⚠") and "SB2026112401" in row.text() and mask_name(APPLICANT) in row.text()
    assert "受理" in row.text() and "期限 11-25" in row.text()
    assert row.background().color().name().upper() == "#FFF1C2"  # colour repeats the word, never alone
    assert "黄牌 ⚠ 1" in c.cards_title.text()
    clock.advance(days=1)  # Thursday: overdue
    cases.evaluate_cards()
    qtbot.waitUntil(lambda: c.cards_list.item(0).text().startswith("红牌 ⊘"))
    assert c.cards_list.count() == 1 and "红牌 ⊘ 1" in c.cards_title.text()
    assert [x["case_no"] for x in c.cards] == [x["case_no"] for x in cases.cards(window=2, limit=50)]
    cases.transition("SB2026112401", "办结")  # concluding clears the card
    qtbot.waitUntil(lambda: c.cards_list.count() == 0)
    assert_no_personal_data(c)


def test_link_the_served_ticket_to_a_case_then_rating_belongs_to_it(qtbot, client, hall: Hall) -> None:
    from kiosk.core.cases import Cases

    register_case(hall)
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    assert not c.link_button.isEnabled() and "无号码" in c.link_target.text()
    c.case_input.setText("SB2026112401")
    c.link_case()
    assert "没有可关联的号码" in c.status.text() and c.status.property("role") == "status_error"
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    click(qtbot, c, "finish")  # linking the ticket just served (the clerk types the case number afterwards)
    assert "A001" in c.link_target.text() and c.link_button.isEnabled()
    c.case_input.setText("NO-SUCH")
    qtbot.mouseClick(c.link_button, Qt.MouseButton.LeftButton)
    assert "没有找到办件 NO-SUCH" in c.status.text() and c.status.property("role") == "status_error"
    c.case_input.setText("SB2026112401")
    qtbot.mouseClick(c.link_button, Qt.MouseButton.LeftButton)
    assert "A001 已关联办件 SB2026112401" in c.status.text() and c.case_input.text() == ""
    t = hall.find_ticket("A001")
    hall.rate(t["id"], "satisfied")
    Cases(hall).evaluate_cards()  # a rating given after the link gets its case in the next pass (the app's timer)
    rating = hall.store.conn().execute("SELECT case_no FROM ratings WHERE ticket_id = ?", (t["id"],)).fetchone()
    assert rating["case_no"] == "SB2026112401"
    register_case(hall, "SB2026112402")
    c.case_input.setText("SB2026112402")
    c.link_case()  # one ticket, one case (一事一评)
    assert "已关联办件 SB2026112401" in c.status.text() and c.status.property("role") == "status_error"
    assert_no_personal_data(c)


def test_screenshot_cards(qtbot, demo_client, demo_hall: Hall, clock, shoot) -> None:
    from kiosk.core.cases import Cases

    cases = Cases(demo_hall)
    names = ["张三丰", "李四光", "王小二", "赵钱孙", "周吴郑"]
    items = ["城乡居民养老保险参保登记", "养老保险关系转移", "失业保险金申领", "社会保障卡补换", "工伤认定申请"]
    for i, (name, item) in enumerate(zip(names, items, strict=True)):
        cases.register({"case_no": f"SB20261124{i + 1:04d}", "case_type": 2, "promise_days": 1 + i % 3,
                        "applicant_name": name, "window": 2, "department": "社保局", "clerk": "王晓明",
                        "item_name": item, "status": "受理"})
        clock.advance(hours=1)
    clock.advance(days=2)
    cases.evaluate_cards()
    for code in ("social", "fund", "social"):
        demo_hall.issue_ticket(code)
    demo_hall.sign_in(2, "c02", "王晓明")
    c = make_caller(qtbot, demo_client, 2)
    click(qtbot, c, "call")
    qtbot.waitUntil(lambda: c.cards_list.count() >= 3)
    assert {"red", "yellow"} <= {x["card"] for x in c.cards}
    c.case_input.setText("SB202611240001")
    shoot(c, "caller_cards")


def test_screens_read_cards_bounded_and_only_when_they_concern_them(qtbot, client, clock, hall: Hall,
                                                                    monkeypatch) -> None:
    from kiosk.core.cases import Cases
    from kiosk.ui.dashboard import DashboardScreen

    calls: list[tuple[int | None, int | None]] = []
    real = Cases.cards

    def spy(self, window=None, limit=None):
        calls.append((window, limit))
        return real(self, window=window, limit=limit)

    monkeypatch.setattr(Cases, "cards", spy)
    c = make_caller(qtbot, client)
    d = DashboardScreen(client, refresh_s=3600)
    qtbot.addWidget(d)
    calls.clear()
    register_case(hall, "OTHER-WINDOW", window=1)
    qtbot.wait(400)
    assert calls == []  # neither the caller of window 2 nor a dashboard on its overview page reads the list
    register_case(hall, "MINE", window=2)
    qtbot.waitUntil(lambda: (2, 50) in calls)
    d.tabs.setCurrentIndex(d.tabs.indexOf(d.supervision))
    assert (None, 100) in calls
    assert all(limit is not None for _w, limit in calls)  # a backlog is never read whole on the UI thread
    assert c.cards_list.count() == 0  # a case that has just been registered has no card yet


# --- 呼叫 on a number only called, an empty desk, the citizen's rating ------------------------------------------
def test_call_on_a_number_only_called_asks_and_a_no_show_then_calls_the_next(qtbot, client, hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    click(qtbot, c, "call")
    assert hall.window(2)["current"]["number"] == "A001"
    click(qtbot, c, "call")  # nobody came yet, or the clerk forgot 开始办理: ask, change nothing
    assert c.choice.isVisible() and "A001 已叫号，还没有开始办理" in c.choice_label.text()
    assert "然后呼叫下一位" in c.choice_no_show.text()
    assert hall.find_ticket("A001")["status"] == "called" and hall.counts()["_total"].get("done", 0) == 0
    qtbot.keyClick(c, Qt.Key.Key_F3)  # 没有来：过号, then the call the clerk asked for
    assert hall.find_ticket("A001")["status"] == "no_show"
    assert hall.window(2)["current"]["number"] == "A002" and not c.choice.isVisible()
    assert "已呼叫 A002" in c.status.text()
    assert hall.counts()["_total"].get("done", 0) == 0  # nobody was counted as served


def test_call_on_a_number_only_called_then_start_serves_it(qtbot, client, hall: Hall) -> None:
    for _ in range(2):
        hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    click(qtbot, c, "call")
    c.waiting_list.setCurrentRow(0)
    click(qtbot, c, "call_selected")  # 呼叫选中 asks too
    assert c.choice.isVisible() and "然后呼叫 A002" in c.choice_no_show.text()
    qtbot.mouseClick(c.choice_start, Qt.MouseButton.LeftButton)  # 已到：开始办理 — and no call
    assert hall.find_ticket("A001")["status"] == "serving" and hall.find_ticket("A002")["status"] == "waiting"
    assert not c.choice.isVisible()
    click(qtbot, c, "call")  # served now: 呼叫 closes A001 as 办结 and calls A002
    assert hall.find_ticket("A001")["status"] == "done" and hall.window(2)["current"]["number"] == "A002"


def test_finish_and_escape_on_a_number_only_called(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    click(qtbot, c, "call")
    assert not c.buttons["finish"].isEnabled()  # 完成 is for a service given
    qtbot.keyClick(c, Qt.Key.Key_F9)  # the shortcut works on a grey button: it asks instead of closing it
    assert c.choice.isVisible() and "然后" not in c.choice_no_show.text()
    qtbot.keyClick(c, Qt.Key.Key_Escape)
    assert not c.choice.isVisible() and hall.find_ticket("A001")["status"] == "called"
    click(qtbot, c, "call")
    hall.no_show(2)  # answered elsewhere (a keypad): the question goes away
    qtbot.waitUntil(lambda: not c.choice.isVisible())


def test_an_empty_desk_cannot_call(qtbot, client, hall: Hall) -> None:
    hall.sign_out(2)
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    assert "未签到" in c.clerk_label.text() and c.clerk_label.property("unsigned") is True
    assert not any(b.isEnabled() for b in c.buttons.values())
    qtbot.keyClick(c, Qt.Key.Key_F1)  # the shortcut still reaches the hall, which refuses it
    assert "2号窗口没有工作人员签到，请先签到" in c.status.text() and hall.window(2)["current"] is None
    c.clerk_id.setText("c02")
    c.clerk_name.setText("刘芳")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert c.buttons["call"].isEnabled() and c.clerk_label.property("unsigned") is False
    click(qtbot, c, "call")
    assert hall.window(2)["current"]["number"] == "A001"


def test_the_citizens_rating_shows_when_it_arrives(qtbot, client, hall: Hall) -> None:
    for _ in range(2):
        hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    assert not c.rating_label.isVisible()
    click(qtbot, c, "call")
    assert not c.buttons["rate"].isEnabled()  # a number only called is not rated
    click(qtbot, c, "start")
    click(qtbot, c, "rate")
    qtbot.waitUntil(lambda: "A001 评价中" in c.rating_label.text())
    t = hall.find_ticket("A001")
    hall.rate(t["id"], "satisfied")  # on the tablet or the keypad
    qtbot.waitUntil(lambda: c.rating_label.text() == "✔ A001 已评价：满意")
    assert c.rating_label.property("bad") is False
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    click(qtbot, c, "rate")
    t2 = hall.find_ticket("A002")
    r = hall.rate(t2["id"], "dissatisfied").value  # the level first; the reason follows on the tablet
    qtbot.waitUntil(lambda: c.rating_label.text() == "✖ A002 已评价：不满意，原因待群众填写")
    assert c.rating_label.property("bad") is True
    hall.complete_rating_reason(r["id"], "需要多次跑腿")
    qtbot.waitUntil(lambda: c.rating_label.text() == "✖ A002 已评价：不满意，原因：需要多次跑腿")
    hall.finish_service(2)
    hall.issue_ticket("social")
    qtbot.waitUntil(lambda: c.buttons["call"].isEnabled())  # the caller redraws from the hall's events
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    click(qtbot, c, "rate")
    hall.mark_unrated(hall.find_ticket("A003")["id"])  # the prompt timed out
    qtbot.waitUntil(lambda: c.rating_label.text() == "○ A003 未评价（评价超时）")


def test_another_windows_rating_is_not_shown(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    c = make_caller(qtbot, client, 2)
    hall.call_next(1)
    hall.start_service(1)
    hall.request_rating(1)
    hall.rate(hall.find_ticket("A001")["id"], "very_satisfied")
    qtbot.wait(200)
    assert not c.rating_label.isVisible()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_screenshot_the_question_and_the_rating(qtbot, demo_client, demo_hall: Hall, shoot, size) -> None:
    from tests.ui.checks import cut_off

    for code in ("social", "social", "fund", "social"):
        demo_hall.issue_ticket(code)
    c = shown(qtbot, CallerScreen(demo_client, 2), *size)
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    click(qtbot, c, "rate")
    demo_hall.rate(demo_hall.find_ticket("A001")["id"], "dissatisfied")
    qtbot.waitUntil(lambda: "A001 已评价：不满意" in c.rating_label.text())
    click(qtbot, c, "call")
    click(qtbot, c, "call")  # A002 only called: 过号 or 开始办理?
    assert c.choice.isVisible()
    qtbot.wait(50)
    root = c.window()
    for w in (c.choice_no_show, c.choice_start, c.choice_cancel, c.rating_label, c.status):
        assert root.rect().contains(w.rect().translated(w.mapTo(root, w.rect().topLeft()))), w
    assert c.height() == size[1]  # nothing forced the window taller than its screen
    assert cut_off(c) == []
    shoot(c, f"caller_choice_{size[0]}x{size[1]}")
