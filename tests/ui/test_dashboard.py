"""The manager dashboard against a real Hall: queues, windows, counts, times, 好差评, devices and the sync link."""
from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from kiosk.core import context as C
from kiosk.core import staff as S
from kiosk.core.hall import Hall
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.theme import PAIRS
from tests.ui.checks import cut_off, shown


def make(qtbot, client, **kw) -> DashboardScreen:
    return shown(qtbot, DashboardScreen(client, **kw), 1920, 1080)


def cells(table, row: int) -> list[str]:
    return [table.item(row, c).text() if table.item(row, c) else "" for c in range(table.columnCount())]


class LinkStatus:
    """The sync link's status() as the dashboard receives it (a plain dict from sync)."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"state": "down", "backlog": 17, "last_error": "connection refused"}

    def status(self) -> dict[str, Any]:
        return dict(self.state)


def test_follows_the_hall(qtbot, client, clock, hall: Hall) -> None:
    link = LinkStatus()
    hall.sign_out(1)
    d = make(qtbot, client, sync=link)
    assert d.kpis["issued"].text() == "0" and "未签到" in cells(d.window_table, 0)[2]
    for _ in range(3):
        hall.issue_ticket("social")
    hall.sign_in(1, "c01", "王晓明")
    clock.advance(minutes=4)
    hall.call_next(1)
    hall.start_service(1)
    clock.advance(minutes=6)
    t = hall.finish_service(1).value
    hall.rate(t["id"], "very_dissatisfied", reason="办事流程繁琐", text="材料要交三次")
    hall.report_device_health("printer1", "printer", "degraded", "缺纸")
    qtbot.waitUntil(lambda: d.kpis["issued"].text() == "3")
    assert d.kpis["done"].text() == "1" and d.kpis["waiting"].text() == "2"
    assert d.kpis["avg_wait"].text() == "4.0 分钟" and d.kpis["avg_service"].text() == "6.0 分钟"
    assert d.kpis["satisfaction"].text() == "0.0%" and d.kpis["bad"].text() == "1"
    assert cells(d.queue_table, 0)[:2] == ["社保", "2"]
    assert cells(d.window_table, 0)[:6] == ["1号窗口", "○ 空闲", "王晓明", "—", "1", "6.0 分钟"]
    assert cells(d.bad_table, 0) == ["A001", "1号窗口", "非常不满意", "办事流程繁琐", "材料要交三次"]
    assert cells(d.device_table, 0)[:4] == ["printer1", "打印机", "▲ 异常", "缺纸"]
    assert d.kpis["sync"].text() == "✖ 断开" and "待上传 17 条" in d.sync_label.text()
    # charts carry the same numbers
    bars = d.queue_chart.series()[0].barSets()[0]
    assert [bars.at(i) for i in range(bars.count())][::-1][0] == 2
    pie = d.rating_chart.series()[0]
    assert any(s.label().startswith("非常不满意 1") for s in pie.slices())
    link.state = {"state": "up", "backlog": 0}
    d.refresh()
    assert d.kpis["sync"].text() == "✔ 已连接"


def test_paused_window_and_closed_business(qtbot, client, hall: Hall) -> None:
    d = make(qtbot, client)
    hall.pause(2, "系统故障")
    hall.close_business("tax", "维护")
    qtbot.waitUntil(lambda: "暂停（系统故障）" in cells(d.window_table, 1)[1])
    assert "暂停取号" in cells(d.queue_table, 2)[0]
    assert d.kpis["sync"].text() == "未配置"


def test_devices_that_need_a_person_come_first_with_chinese_reasons(qtbot, client, hall: Hall) -> None:
    hall.report_device_health("evaluator1", "evaluator", "ok")
    hall.report_device_health("led-w1", "led", "ok")
    hall.report_device_health("printer1", "printer", "degraded", "打印纸将用完")
    hall.report_device_health("voice", "voice", "offline", "audio player 'paplay' not found")
    hall.report_device_health("led-hall", "led", "offline",
                              "cannot connect to 192.168.20.31:5005: [Errno 111] Connection refused")
    d = make(qtbot, client, refresh_s=3600)
    rows = [cells(d.device_table, r)[:4] for r in range(d.device_table.rowCount())]
    assert rows == [
        ["led-hall", "LED 屏", "✖ 离线", "无法连接 192.168.20.31:5005：对方拒绝连接（设备没有开机，或端口不对）"],
        ["voice", "语音播报", "✖ 离线", "找不到音频播放器 paplay"],
        ["printer1", "打印机", "▲ 异常", "打印纸将用完"],
        ["evaluator1", "评价器", "✔ 正常", ""],
        ["led-w1", "LED 屏", "✔ 正常", ""],
    ]
    assert "Connection refused" in d.device_table.item(0, 3).toolTip()  # the OS's words stay for the technician


REASONS = [  # (what a driver reported, what the dashboard says) — devices/base.py and devices/voice/announcer.py
    ("打印机缺纸", "打印机缺纸"),
    ("", ""),
    ("cannot open /dev/ttyUSB0: [Errno 2] No such file or directory: '/dev/ttyUSB0'",
     "无法打开 /dev/ttyUSB0：设备不存在（没有接上，或配置的路径不对）"),
    ("cannot open /dev/serial/by-id/usb-LED: [Errno 13] Permission denied",
     "无法打开 /dev/serial/by-id/usb-LED：没有权限（检查 udev 规则和 dialout 组）"),
    ("cannot open /dev/ttyS1: [Errno 16] Device or resource busy", "无法打开 /dev/ttyS1：设备被其他程序占用"),
    ("cannot connect to 10.0.0.9:9100: timed out", "无法连接 10.0.0.9:9100：连接超时（设备没有开机，或地址不对）"),
    ("cannot connect to 10.0.0.9:9100: [Errno 113] No route to host",
     "无法连接 10.0.0.9:9100：网络不通（检查网线和交换机）"),
    ("write to /dev/ttyUSB0 failed: [Errno 5] Input/output error",
     "向 /dev/ttyUSB0 发送失败：输入输出错误（线缆或设备故障）"),
    ("10.0.0.9:5005 closed the connection", "10.0.0.9:5005 断开了连接"),
    ("cannot run paplay: [Errno 8] Exec format error", "无法运行 paplay"),
    ("something nobody foresaw", "通信故障"),
]


@pytest.mark.parametrize("raw,said", REASONS, ids=[f"r{i}" for i in range(len(REASONS))])
def test_a_device_reason_is_said_in_chinese(raw: str, said: str) -> None:
    from kiosk.device_text import reason_detail, reason_text

    assert reason_text(raw) == said
    assert reason_detail(raw) == (raw if said == raw else f"{said}（{raw}）")


def test_screenshot(qtbot, demo_client, demo_hall: Hall, clock, shoot) -> None:
    import random

    rng = random.Random(7)
    codes = ["social", "social", "tax", "market", "residence", "fund", "social", "tax", "residence"]
    for i in range(40):
        code = codes[i % len(codes)]
        demo_hall.issue_ticket(code, id_number=None)
        clock.advance(minutes=rng.uniform(0.5, 2))
    for w in range(1, 9):
        demo_hall.sign_in(w, f"c{w:02d}", ["王晓明", "李娜", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄敏"][w - 1])
    levels = ["very_satisfied"] * 6 + ["satisfied"] * 3 + ["basic", "dissatisfied", "very_dissatisfied"]
    for n in range(12):
        w = [1, 2, 5, 6, 7, 8][n % 6]
        try:
            demo_hall.call_next(w)
        except Exception:
            continue
        demo_hall.start_service(w)
        clock.advance(minutes=rng.uniform(3, 9))
        t = demo_hall.finish_service(w).value
        lv = levels[n % len(levels)]
        demo_hall.rate(t["id"], lv, reason="办事效率低、等候时间长" if lv.endswith("dissatisfied") else None)
    demo_hall.call_next(1)
    demo_hall.pause(4, "会议")
    demo_hall.report_device_health("printer1", "printer", "ok")
    demo_hall.report_device_health("led3", "led", "offline", "无应答")
    demo_cases(demo_hall, clock)
    d = make(qtbot, demo_client, sync=LinkStatus())
    qtbot.wait(50)
    d.refresh()
    shoot(d, "dashboard")
    assert (problems := cut_off(d)) == [], "\n".join(problems)
    d.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    assert d.cards_table.rowCount() >= 4 and d.rect_table.rowCount() >= 2 and d.figures_table.rowCount() >= 3
    shoot(d, "dashboard_supervision")
    assert (problems := cut_off(d)) == [], "\n".join(problems)


# (item, department, window, clerk) and applicants of demo_cases: the province's and the hall's data, which no
# screen translates (tests/ui/test_matrix.py allows them on a screen in any language)
DEMO_CASE_ITEMS = [("城乡居民养老保险参保登记", "人社局", 1, "王晓明"), ("不动产转移登记", "自然资源局", 3, "张伟"),
                   ("企业设立登记", "市场监管局", 5, "陈静"), ("个体工商户变更登记", "市场监管局", 5, "陈静"),
                   ("住房公积金提取", "公积金中心", 7, "赵磊"), ("出入境证件办理", "公安分局", 6, "杨洋"),
                   ("社会保障卡补换", "人社局", 2, "李娜"), ("失业保险金申领", "人社局", 1, "王晓明")]
DEMO_APPLICANTS = ["张三丰", "李四光", "王小二", "赵钱孙", "周吴郑", "欧阳修", "孙悟空", "钱学森"]


def demo_cases(hall: Hall, clock) -> None:
    """A fortnight of cases for the screenshot: some concluded (on time, late, on the spot), some due soon or late."""
    from kiosk.core.cases import Cases

    cases = Cases(hall)
    now = clock()
    items, names = DEMO_CASE_ITEMS, DEMO_APPLICANTS
    for i, (item, dept, window, clerk) in enumerate(items * 2):
        accepted = now.replace(day=max(1, now.day - 2 - i % 9), hour=1 + i % 6)
        cases.register({"case_no": f"JJ20261{i + 101:04d}", "case_type": 1 if i % 5 == 0 else 2,
                        "promise_days": None if i % 5 == 0 else 1 + i % 5, "applicant_name": names[i % 8],
                        "department": dept, "window": window, "clerk": clerk, "item_name": item, "status": "受理",
                        "accepted_at": accepted.isoformat()})
        if i % 3 == 0:
            cases.transition(f"JJ20261{i + 101:04d}", "办结")
    cases.evaluate_cards()


# --- 电子监察 page -------------------------------------------------------------------------------------------------
def supervision_day(hall: Hall, clock) -> None:
    """Cases on a Tuesday: two concluded (one 即办件 on the spot), one rated badly; cards fall due over two days."""
    from kiosk.core.cases import Cases
    from tests.conftest import make_id

    cases = Cases(hall)
    base = {"applicant_name": "欧阳建国", "applicant_id": make_id(583), "department": "社保局", "status": "受理"}
    cases.register({**base, "case_no": "K-DONE", "case_type": 2, "promise_days": 3, "window": 1, "clerk": "王晓明",
                    "item_name": "养老保险关系转移"})
    cases.register({**base, "case_no": "K-SPOT", "case_type": 1, "window": 2, "clerk": "李娜",
                    "item_name": "社会保障卡补换", "department": "人社局"})
    cases.register({**base, "case_no": "K-YELLOW", "case_type": 2, "promise_days": 2, "window": 1,
                    "clerk": "王晓明", "item_name": "失业保险金申领"})
    cases.register({**base, "case_no": "K-RED", "case_type": 2, "promise_days": 1, "window": 2, "clerk": "李娜",
                    "item_name": "工伤认定申请"})
    hall.issue_ticket("social")
    hall.call_next(1)
    t = hall.finish_service(1).value
    cases.link_ticket("K-DONE", t["id"])
    hall.rate(t["id"], "very_dissatisfied", reason="办事效率低、等候时间长")
    clock.advance(hours=2)
    cases.transition("K-DONE", "办结")
    cases.transition("K-SPOT", "办结")
    cases.evaluate_cards()  # opens the rectification item for the 差评
    clock.advance(days=1, hours=-2)  # Wednesday 09:00: K-RED yellow; Thursday it is red and K-YELLOW yellow
    cases.evaluate_cards()
    clock.advance(days=1)
    cases.evaluate_cards()


def test_supervision_page_matches_the_cases_api(qtbot, client, clock, hall: Hall) -> None:
    from kiosk.core.cases import Cases
    from tests.ui.checks import rendered_texts

    d = make(qtbot, client)
    assert d.tabs.tabText(1) == "电子监察" and d.cards_table.rowCount() == 0
    supervision_day(hall, clock)
    qtbot.waitUntil(lambda: "红牌 1 · 黄牌 1" in d.tabs.tabText(1))  # the tab says it while another page shows
    assert d.cards_table.rowCount() == 0  # the lists and figures are read only for the page on screen
    d.tabs.setCurrentIndex(1)
    cases = Cases(hall)
    qtbot.waitUntil(lambda: d.cards_table.rowCount() == 2)
    counts = cases.card_counts()
    assert counts == {"yellow": 1, "red": 1, "rectify_yellow": 0, "rectify_red": 0}
    assert d.sup_kpis["red"].text() == "1" and d.sup_kpis["yellow"].text() == "1"
    assert d.sup_kpis["rectify_open"].text() == "1" and "红牌 1 · 黄牌 1" in d.tabs.tabText(1)
    api = cases.cards(limit=100)
    assert [cells(d.cards_table, r)[1] for r in range(2)] == [c["case_no"] for c in api] == ["K-RED", "K-YELLOW"]
    red = cells(d.cards_table, 0)
    assert red[0] == "红牌 ⊘" and red[3] == api[0]["applicant"] and red[4] == "受理" and red[5] == "2号窗口"
    assert red[6] == "李娜" and red[7] == api[0]["due_day"] == "2026-11-25"
    assert cells(d.cards_table, 1)[0] == "黄牌 ⚠"
    assert d.cards_table.item(0, 0).background().color().name().upper() == PAIRS["danger"].bg
    # figures: today (Thursday) nothing concluded; this month both, per department
    figs = {(r[0], r[1]): r for r in (cells(d.figures_table, i) for i in range(d.figures_table.rowCount()))}
    month = {f["department"]: f for f in cases.figures("department", "2026-11-01", "2026-11-30")}
    assert set(figs) == {("本月", "人社局"), ("本月", "社保局")}
    sb = figs[("本月", "社保局")]
    assert sb[2] == str(month["社保局"]["done"]) == "1"
    assert sb[3] == "100.0%" and sb[4] == "100.0%" and sb[7] == "0.0%"  # on time, early; rated 非常不满意
    assert figs[("本月", "人社局")][5] == "100.0%"  # 即办件 concluded the day it was accepted: 现场办结
    assert d.sup_kpis["on_time_month"].text() == "100.0%"
    d.figures_by.setCurrentIndex(d.figures_by.findData("window"))
    assert {cells(d.figures_table, i)[1] for i in range(d.figures_table.rowCount())} == {"1号窗口", "2号窗口"}
    # the open rectification item with its deadline and card
    items = cases.rectifications()
    assert len(items) == 1 and d.rect_table.rowCount() == 1
    row = cells(d.rect_table, 0)
    assert row[1:6] == ["A001", "1号窗口", "非常不满意", "办事效率低、等候时间长", "K-DONE"]
    assert row[0] == "正常" and row[6] == "2026-12-01"  # 5 working days from the end of Tuesday
    text = rendered_texts(d)
    from tests.conftest import make_id

    assert "欧阳建国" not in text and make_id(583) not in text and make_id(583)[-4:] not in text
    cases.transition("K-RED", "办结")
    qtbot.waitUntil(lambda: d.cards_table.rowCount() == 1)


def test_supervision_list_is_bounded(qtbot, client, hall: Hall, monkeypatch) -> None:
    import kiosk.ui.dashboard as dash
    from kiosk.core.cases import Cases

    cases = Cases(hall)
    for i in range(5):  # 即办件 are yellow from acceptance
        cases.register({"case_no": f"J{i}", "case_type": 1, "status": "受理", "window": 1})
    monkeypatch.setattr(dash, "CARD_LIMIT", 3)
    d = make(qtbot, client)
    d.tabs.setCurrentIndex(1)
    assert d.cards_table.rowCount() == 3 and "共 5 件，显示最紧急的 3 件" in d.cards_note.text()


def test_a_store_that_cannot_be_read_is_said(qtbot, hall: Hall, store, monkeypatch) -> None:
    from kiosk.core.errors import StoreUnavailable
    from kiosk.ui.client import HallClient

    client = HallClient(hall, heartbeat_s=0, follow_s=0.02)
    try:
        d = make(qtbot, client, refresh_s=3600)
        assert not d.store_label.isVisible()

        def unreadable(*_a: Any, **_k: Any) -> Any:
            raise StoreUnavailable(path=store.path, reason="磁盘已卸载")

        monkeypatch.setattr(store, "events_after", unreadable)
        qtbot.waitUntil(lambda: d.store_label.isVisible())
        assert "无法读取大厅数据库" in d.store_label.text() and "可能不是最新的" in d.store_label.text()
        monkeypatch.undo()
        qtbot.waitUntil(lambda: not d.store_label.isVisible())
    finally:
        client.close()


# --- the sign-in bar (a hall with staff accounts) ---------------------------------------------------------------------
def _accounts(hall: Hall) -> None:
    with C.acting(C.CONSOLE):
        S.add(hall, "M01", "张经理", "manager", "246810")
        S.add(hall, "A01", "李管理", "admin", "111111")


def test_no_accounts_no_bar_and_nothing_locked(qtbot, client, hall: Hall) -> None:
    d = make(qtbot, client)
    assert not d.signin_bar.isVisible()
    assert d.report_page.make_button.isEnabled() and d.staff_page.add_button.isEnabled()
    assert client.operator.actor == "anonymous"


def test_manager_signs_in_and_out(qtbot, client, hall: Hall) -> None:
    _accounts(hall)
    d = make(qtbot, client)
    assert d.signin_bar.isVisible() and "未登录" in d.signin_who.text()
    # locked until someone with the role signs in, and the reason is on the page
    assert not d.report_page.make_button.isEnabled() and d.report_page.lock_note.text() == "⚠ 请负责人登录"
    assert not d.staff_page.add_button.isEnabled() and d.staff_page.lock_note.text() == "⚠ 请系统管理员登录"
    with pytest.raises(S.ManagerRequired):
        client.set_notice("未登录")
    # a wrong PIN: said in Chinese, the PIN field cleared, still nobody
    d.signin_no.setText("M01")
    d.signin_pin.setText("000000")
    qtbot.mouseClick(d.signin_button, Qt.MouseButton.LeftButton)
    assert d.signin_error.text() == "✖ 工号或密码不正确，还可以再试 4 次" and d.signin_pin.text() == ""
    assert d.person is None and client.operator.actor == "anonymous"
    d.signin_pin.setText("246810")
    qtbot.mouseClick(d.signin_button, Qt.MouseButton.LeftButton)
    assert d.person is not None and d.signin_who.text() == "负责人 张经理（M01）已登录"
    assert (client.operator.actor, client.operator.role) == ("staff:M01", "manager")
    assert d.signout_button.isVisible() and not d.signin_button.isVisible() and d.signin_error.text() == ""
    assert d.report_page.make_button.isEnabled() and not d.report_page.lock_note.isVisible()
    assert not d.staff_page.add_button.isEnabled()  # a manager is not an admin
    r = client.set_notice("下午停电")
    assert r.events[0].actor == "staff:M01"
    qtbot.mouseClick(d.signout_button, Qt.MouseButton.LeftButton)
    assert d.person is None and client.operator.actor == "anonymous" and not d.report_page.make_button.isEnabled()
    with pytest.raises(S.ManagerRequired):
        client.set_notice("退出后")


def test_admin_unlocks_the_staff_page(qtbot, client, hall: Hall) -> None:
    _accounts(hall)
    d = make(qtbot, client)
    assert d.sign_in("A01", "111111")
    assert d.staff_page.add_button.isEnabled() and d.report_page.make_button.isEnabled()
    assert d.signin_who.text() == "系统管理员 李管理（A01）已登录"


def test_a_report_needs_a_manager(qtbot, client, hall: Hall, tmp_path) -> None:
    _accounts(hall)
    d = make(qtbot, client)
    assert d.report_page.generate(tmp_path / "r.csv") is None
    assert d.report_page.status.text() == "请负责人登录" and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_sign_in_bar_fits(qtbot, client, hall: Hall, size: tuple[int, int], tmp_path) -> None:
    _accounts(hall)
    d = shown(qtbot, DashboardScreen(client), *size)
    for w in (d.signin_no, d.signin_pin, d.signin_button, d.signin_who):
        assert w.isVisible(), w.objectName()
    assert cut_off(d.signin_bar) == []
    d.grab().save(str(tmp_path / f"dash-{size[0]}.png"))
    d.sign_in("M01", "246810")
    assert d.signout_button.isVisible() and d.signin_who.isVisible() and cut_off(d.signin_bar) == []
