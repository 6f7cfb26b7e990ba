"""The phone pages in a real browser: Debian's chromium, headless, driven by Playwright (pointed at /usr/bin/chromium;
nothing is downloaded).  A call shows on an open page within a second; 扫码取号 takes a ticket the hall calls;
booking then check-in gives an appointment ticket ahead of walk-ins.  With HALL_UPDATE_SCREENS=1 the pages are
saved at 375×812 to docs/screens/phone_*.png for the README."""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kiosk.core.hall import Hall
from tests.conftest import FakeClock

CHROMIUM = "/usr/bin/chromium"
# the closed network refuses background connections: none are made
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (./run installs it)")
    with sync_playwright() as p:
        # launch() gives every run a fresh, temporary profile (Playwright refuses --user-data-dir here)
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    yield context.new_page()
    context.close()


def shot(page: Page, name: str) -> None:
    if os.environ.get("HALL_UPDATE_SCREENS") == "1":
        page.screenshot(path=str(SCREENS / f"phone_{name}.png"))


def test_a_call_shows_on_an_open_page_within_a_second(web_hall: Hall, base: str, page: Page) -> None:
    for _ in range(3):
        web_hall.issue_ticket("social")
    mine = web_hall.issue_ticket("social")
    token = mine.events[0].payload["token"]
    page.goto(f"{base}/t/{token}")
    expect(page.locator("#status")).to_contain_text("您前面还有 3 人")
    expect(page.locator("#conn")).to_have_text("页面自动更新，无需刷新")
    web_hall.call_next(1)
    web_hall.call_next(2)  # two ahead gone: near, the page says so
    expect(page.locator("#status")).to_contain_text("快到您了", timeout=1000)
    shot(page, "waiting")
    web_hall.call_next(8)
    started = time.monotonic()
    web_hall.no_show(8)
    web_hall.call_next(8)  # the call: the page must show it within a second
    expect(page.locator(".call")).to_have_text("请到 8 号窗口办理", timeout=1000)
    assert time.monotonic() - started < 1.0
    shot(page, "called")
    web_hall.no_show(8)
    expect(page.locator("#status")).to_contain_text("您的号码已过号", timeout=1000)


def test_scan_to_take_issues_a_ticket_the_hall_calls(web_hall: Hall, base: str, page: Page) -> None:
    web_hall.issue_ticket("tax")
    page.goto(f"{base}/q/{web_hall.tokens.poster(web_hall.today())}")
    expect(page.locator("h1")).to_have_text("扫码取号")
    shot(page, "take")
    page.get_by_role("button", name="取号 · 税务").click()
    expect(page.locator(".number")).to_have_text("D002")
    expect(page.locator("#status")).to_contain_text("您前面还有 1 人")
    number = page.locator(".number").inner_text()
    web_hall.call_next(6)
    web_hall.no_show(6)
    assert web_hall.call_next(6).value["number"] == number  # the hall calls the phone's ticket
    expect(page.locator(".call")).to_have_text("请到 6 号窗口办理", timeout=1000)


def test_booking_then_check_in_puts_the_appointment_ahead(web_hall: Hall, base: str, page: Page,
                                                          clock: FakeClock) -> None:
    web_hall.issue_ticket("social")
    web_hall.issue_ticket("social", priority="green")
    page.goto(f"{base}/a")
    page.get_by_role("link", name="社保医保").click()
    shot(page, "book")
    page.locator('button[name="slot"][value="2026-11-24 09:30-10:00"]').click()
    expect(page.locator("#appt-state")).to_have_text("已预约")
    code = page.locator(".number").inner_text()
    assert re.fullmatch(r"\d{8}", code)
    shot(page, "appointment")
    clock.set_local(2026, 11, 24, 9, 20)  # within the slot's grace (from 09:15): ahead of walk-ins
    issued = web_hall.check_in(code=code)  # at the kiosk: 预约签到 with the code
    ticket = issued.value.ticket
    assert ticket["priority"] == "appointment" and issued.value.ahead == 1  # the green channel goes first
    page.reload()
    expect(page.locator("#appt-state")).to_have_text("已签到")
    page.get_by_role("link", name="查看排队进度").click()
    expect(page.locator(".number")).to_have_text(ticket["number"])
    expect(page.locator("#status")).to_contain_text("您前面还有 1 人")
    assert web_hall.call_next(1).value["priority"] == "green"
    web_hall.start_service(1)
    assert web_hall.call_next(1).value["number"] == ticket["number"]  # before the walk-in


def test_languages_large_text_and_a_bad_link(web_hall: Hall, base: str, page: Page) -> None:
    token = web_hall.issue_ticket("social").events[0].payload["token"]
    page.goto(f"{base}/t/{token}?lang=ug&large=1")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("body")).to_have_class("large")
    shot(page, "uyghur_large")
    page.goto(f"{base}/t/{token}?lang=bo&large=0")
    expect(page.locator(".label").first).to_have_text("ཁྱེད་ཀྱི་ཨང་གྲངས།")
    shot(page, "tibetan")
    page.goto(f"{base}/t/not-a-ticket?lang=zh")
    expect(page.locator("h1")).to_have_text("无法识别的二维码")
    shot(page, "bad_link")
