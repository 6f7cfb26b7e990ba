"""The manager dashboard against a real Hall: queues, windows, counts, times, 好差评, devices and the sync link."""
from __future__ import annotations

from typing import Any

from kiosk.core.hall import Hall
from kiosk.ui.dashboard import DashboardScreen


def make(qtbot, client, **kw) -> DashboardScreen:
    d = DashboardScreen(client, **kw)
    qtbot.addWidget(d)
    d.resize(1920, 1080)
    d.show()
    qtbot.waitExposed(d)
    return d


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
    assert cells(d.device_table, 0)[:4] == ["printer1", "printer", "▲ 异常", "缺纸"]
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
    d = make(qtbot, demo_client, sync=LinkStatus())
    qtbot.wait(50)
    d.refresh()
    shoot(d, "dashboard")
