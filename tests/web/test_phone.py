"""The phone pages over HTTP against a real server: tokens, the ticket's page and its live stream, 扫码取号 with the
kiosk's rules and the per-phone limit, appointments booked, viewed and cancelled; clear pages for bad links."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest

from kiosk.core import errors as E
from kiosk.core import phone
from kiosk.core.hall import Hall
from kiosk.core.phone import Tokens, estimate_wait_s, service_time
from kiosk.web import pages
from kiosk.web.app import RateLimit
from kiosk.web.views import ticket_view
from tests.conftest import FakeClock, make_id

TID = "0190a1b2c3d4e5f60718293a4b5c6d7e"


# --- tokens, estimates, views: table tests ----------------------------------------------------------------------
def test_ticket_token_names_its_ticket_and_nothing_else() -> None:
    tokens = Tokens(b"hall key")
    token = tokens.ticket(TID)
    assert token.startswith(TID) and len(token) == 48
    assert tokens.ticket_id(token) == TID
    assert Tokens(b"other hall").ticket_id(token) is None  # another hall's key
    assert tokens.ticket(TID.replace("0", "1", 1)) != token  # per ticket
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (flipped, token[:-1], TID, "", "x" * 48, token.upper()):
        assert tokens.ticket_id(bad) is None, bad


def test_poster_token_changes_every_day_and_appointment_token_carries_its_code() -> None:
    tokens = Tokens(b"hall key")
    assert tokens.poster_ok(tokens.poster("2026-11-24"), "2026-11-24")
    assert not tokens.poster_ok(tokens.poster("2026-11-23"), "2026-11-24")
    assert tokens.appointment_code(tokens.appointment("12345678")) == "12345678"
    assert tokens.appointment_code(tokens.appointment("12345678")[:-1] + "9") is None
    assert tokens.appointment_code("../../etc/passwd") is None


@pytest.mark.parametrize(("ahead", "service", "windows", "expected"), [
    (0, 300.0, 1, 150.0),  # next: half of the service at the window now
    (4, 300.0, 1, 1350.0),
    (4, 300.0, 3, 450.0),  # three windows share the queue
    (10, 60.0, 2, 315.0),
    (3, 300.0, 0, None),  # no window open for it: no estimate
])
def test_estimated_wait(ahead: int, service: float, windows: int, expected: float | None) -> None:
    assert estimate_wait_s(ahead, service, windows) == expected


@pytest.mark.parametrize(("rows", "expected"), [
    ([], 300.0),  # nothing timed yet: the configured default
    ([{"business": "social", "served": 2, "avg_service_s": 100.0}], 300.0),  # too few to trust
    ([{"business": "social", "served": 5, "avg_service_s": 100.0}], 100.0),
    ([{"business": "tax", "served": 4, "avg_service_s": 200.0},
      {"business": "fund", "served": 4, "avg_service_s": 400.0}], 300.0),  # the hall's, weighted by services
    ([{"business": "social", "served": 1, "avg_service_s": 50.0},
      {"business": "tax", "served": 3, "avg_service_s": 250.0}], 200.0),
])
def test_service_time_to_plan_with(rows: list[dict[str, object]], expected: float) -> None:
    assert service_time(rows, "social") == pytest.approx(expected)  # type: ignore[arg-type]


def _ticket(**kw: object) -> dict[str, object]:
    t = {"id": TID, "number": "A007", "business": "social", "business_name": "社保医保", "priority": "normal",
         "status": "waiting", "local_date": "2026-11-24", "window": None, "target_window": None, "recalls": 0,
         "called_at": None}
    t.update(kw)
    return t


@pytest.mark.parametrize(("ticket", "ahead", "state", "alert", "window"), [
    (_ticket(), 7, "waiting", "", None),
    (_ticket(), 3, "waiting", "near", None),  # alert_ahead = 3
    (_ticket(target_window=4, called_at="t0"), 0, "moved", "near", 4),
    (_ticket(called_at="t0"), 5, "moved", "", None),  # sent to another business's queue
    (_ticket(status="called", window=3, called_at="t1"), None, "called", "call:t1:0", 3),
    (_ticket(status="called", window=3, called_at="t2", recalls=2), None, "called", "call:t2:2", 3),
    (_ticket(status="serving", window=3), None, "serving", "", 3),
    (_ticket(status="no_show", window=3), None, "no_show", "", None),
    (_ticket(status="done", window=3), None, "done", "", None),
    (_ticket(local_date="2026-11-23"), 0, "expired", "", None),  # yesterday's, before the rollover ran
    (_ticket(status="expired"), None, "expired", "", None),
])
def test_ticket_view(ticket: dict[str, object], ahead: int | None, state: str, alert: str,
                     window: int | None) -> None:
    v = ticket_view(ticket, today="2026-11-24", ahead=ahead, wait_s=600.0, alert_ahead=3)
    assert (v.state, v.alert, v.window) == (state, alert, window)


def test_status_block_escapes_and_says_where_to_go() -> None:
    v = ticket_view(_ticket(business_name="<script>alert(1)</script>", status="called", window=3, called_at="t",
                            recalls=1), today="2026-11-24", ahead=None, wait_s=None, alert_ahead=3)
    html = pages.ticket_status(v, "zh")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "请到 3 号窗口办理" in html and "第 1 次重呼" in html


def test_rate_limit_is_per_key_per_hour_and_bounded() -> None:
    limit = RateLimit(2, max_keys=3)
    assert [limit.allow("a", 0.0), limit.allow("a", 1.0), limit.allow("a", 2.0)] == [True, True, False]
    assert limit.allow("a", 3601.0)  # the first hit is an hour old
    for key in "bcdef":
        limit.allow(key, 10.0)
    assert len(limit._hits) == 3  # a flood of new phones costs bounded memory


# --- the ticket's page ---------------------------------------------------------------------------------------------
def token_of(result: object) -> str:
    return str(result.events[0].payload["token"])  # type: ignore[attr-defined]


def test_ticket_page_shows_the_queue_and_no_personal_data(web_hall: Hall, http: httpx.Client) -> None:
    for _ in range(2):
        web_hall.issue_ticket("social")
    id_number = make_id(123)
    r = web_hall.issue_ticket("housing", id_number=id_number)  # 不动产 needs an ID
    mine = web_hall.issue_ticket("social")
    page = http.get(f"/t/{token_of(mine)}")
    assert page.status_code == 200
    assert "A003" in page.text and "社保医保" in page.text and "您前面还有 <b>2</b> 人" in page.text
    assert "预计等候约" in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    housing = http.get(f"/t/{token_of(r)}").text
    assert "B001" in housing
    for personal in (id_number, id_number[-4:], id_number[:4] + "*"):
        assert personal not in housing


@pytest.mark.parametrize("token", ["nonsense", "0" * 48, TID + "A" * 16, "A001", "%3Cscript%3E"])
def test_a_bad_link_gets_a_clear_chinese_page(http: httpx.Client, token: str) -> None:
    r = http.get(f"/t/{token}")
    assert r.status_code == 404
    assert "无法识别的二维码" in r.text and "Traceback" not in r.text


def test_an_expired_ticket_gets_a_clear_page(web_hall: Hall, http: httpx.Client, clock: FakeClock) -> None:
    token = token_of(web_hall.issue_ticket("social"))
    clock.advance(days=1)
    web_hall.tick()
    r = http.get(f"/t/{token}")
    assert r.status_code == 410
    assert "号票已过期" in r.text and "2026-11-24" in r.text


def test_languages_and_large_text(web_hall: Hall, http: httpx.Client) -> None:
    token = token_of(web_hall.issue_ticket("social"))
    ug = http.get(f"/t/{token}?lang=ug")
    assert 'dir="rtl"' in ug.text and 'lang="ug"' in ug.text and "نومۇرىڭىز" in ug.text
    assert 'lang="ug" dir="rtl"' in http.get(f"/t/{token}").text  # remembered by its cookie
    http.cookies.clear()
    assert "ཁྱེད་ཀྱི་ཨང་གྲངས" in http.get(f"/t/{token}", headers={"accept-language": "bo-CN,bo;q=0.9"}).text
    assert 'lang="zh"' in http.get(f"/t/{token}", headers={"accept-language": "en-US"}).text
    large = http.get(f"/t/{token}?large=1")
    assert '<body class="large">' in large.text and "large=1" in large.headers["set-cookie"]


def read_views(stream: httpx.Response) -> object:
    """The `view` messages of an SSE response, as they arrive."""
    event = ""
    for line in stream.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "view":
            yield json.loads(line[6:])


def test_the_stream_says_call_recall_no_show_and_transfer(web_hall: Hall, base: str) -> None:
    a = web_hall.issue_ticket("social")
    b = web_hall.issue_ticket("social")
    with httpx.Client(base_url=base, timeout=10) as c, c.stream("GET", f"/t/{token_of(b)}/events") as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        views = read_views(s)
        first = next(views)
        assert first["state"] == "waiting" and "<b>1</b>" in first["html"] and first["alert"] == "near"
        web_hall.call_next(1)  # a: the one ahead of b
        assert "<b>0</b>" in next(views)["html"]
        web_hall.call_next(2)
        called = next(views)
        assert called["state"] == "called" and "请到 2 号窗口办理" in called["html"]
        web_hall.recall(2)
        recalled = next(views)
        assert "第 1 次重呼" in recalled["html"] and recalled["alert"] != called["alert"]  # it rings again
        web_hall.no_show(2)
        assert "已过号" in next(views)["html"]
    assert a.value.ticket["number"] == "A001"


def test_a_transfer_shows_where_the_ticket_went(web_hall: Hall, base: str) -> None:
    t = web_hall.issue_ticket("social")
    with httpx.Client(base_url=base, timeout=10) as c, c.stream("GET", f"/t/{token_of(t)}/events") as s:
        views = read_views(s)
        next(views)
        web_hall.call_next(1)
        next(views)
        web_hall.transfer(1, to_window=4, to_business="tax")
        moved = next(views)
        assert moved["state"] == "moved" and "已转到 4 号窗口" in moved["html"] and "税务" in moved["html"]


def as_phone(name: str) -> dict[str, str]:
    return {"cookie": f"hall_phone={name}"}


# --- 扫码取号 ------------------------------------------------------------------------------------------------------
def test_take_a_ticket_by_the_door_poster(web_hall: Hall, http: httpx.Client) -> None:
    poster = web_hall.tokens.poster(web_hall.today())
    page = http.get(f"/q/{poster}")
    assert page.status_code == 200 and "扫码取号" in page.text and "社保医保" in page.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert "hall_phone" in http.cookies  # the phone's own limit keys on it
    r = http.post(f"/q/{poster}", data={"business": "social", "nonce": nonce})
    assert r.status_code == 303 and r.headers["location"].startswith("/t/")
    again = http.post(f"/q/{poster}", data={"business": "social", "nonce": nonce})
    assert again.headers["location"] == r.headers["location"]  # a double tap takes one ticket
    ticket = http.get(r.headers["location"])
    assert "A001" in ticket.text
    issued = web_hall.events_after(0)
    assert [e.payload.get("terminal") for e in issued if e.kind == "ticket.issued"] == [phone.PHONE_TERMINAL]
    assert web_hall.call_next(1).value["number"] == "A001"  # the hall calls it like any ticket


def test_take_keeps_the_kiosk_rules_and_the_phone_limit(web_hall: Hall, http: httpx.Client,
                                                        clock: FakeClock) -> None:
    poster = web_hall.tokens.poster(web_hall.today())
    jar = as_phone("phone-1")
    refused = http.post(f"/q/{poster}", data={"business": "housing", "nonce": "n1"}, headers=jar)
    assert refused.status_code == 200 and "需要身份证号码" in refused.text  # id_required, as the kiosk says it
    id_number = make_id(7)
    ok = http.post(f"/q/{poster}", data={"business": "housing", "id_number": id_number, "nonce": "n2"}, headers=jar)
    assert ok.status_code == 303
    dup = http.post(f"/q/{poster}", data={"business": "housing", "id_number": id_number, "nonce": "n3"},
                    headers=as_phone("phone-2"))
    assert "您已取过不动产登记的号（B001）" in dup.text  # one open ticket per ID
    third = http.post(f"/q/{poster}", data={"business": "social", "nonce": "n4"}, headers=jar)
    assert third.status_code == 303
    over = http.post(f"/q/{poster}", data={"business": "social", "nonce": "n5"}, headers=jar)
    assert "操作太频繁" in over.text  # take_per_phone = 3: three tries this hour
    assert http.post(f"/q/{poster}", data={"business": "social", "nonce": "n6"},
                     headers=as_phone("phone-3")).status_code == 303  # another phone may
    clock.advance(hours=12)  # after hours: the kiosk's hours rule, in its words
    late = http.post(f"/q/{poster}", data={"business": "social", "nonce": "n7"}, headers=as_phone("phone-4"))
    assert "现在不能取号" in late.text


def test_yesterdays_poster_takes_no_ticket(web_hall: Hall, http: httpx.Client) -> None:
    yesterday = (web_hall.now().astimezone(web_hall.config.tz).date() - timedelta(days=1)).isoformat()
    old = web_hall.tokens.poster(yesterday)
    assert "二维码已过期" in http.get(f"/q/{old}").text
    r = http.post(f"/q/{old}", data={"business": "social", "nonce": "x"})
    assert r.status_code == 403 and web_hall.counts()["_total"] == {}


# --- appointments ----------------------------------------------------------------------------------------------
def book(http: httpx.Client, business: str, slot: str, **form: str) -> httpx.Response:
    return http.post(f"/a?business={business}", data={"business": business, "slot": slot, "nonce": slot, **form})


def test_book_view_and_cancel(web_hall: Hall, http: httpx.Client) -> None:
    listing = http.get("/a")
    assert "社保医保" in listing.text and "/a?business=social" in listing.text
    slots = http.get("/a?business=social").text
    assert 'value="2026-11-24 09:30-10:00"' in slots and 'value="2026-11-24 08:30-09:00"' not in slots  # past
    assert 'value="2026-11-28' not in slots  # a Saturday: social does not open
    r = book(http, "social", "2026-11-25 10:00-10:30")
    assert r.status_code == 303
    page = http.get(r.headers["location"])
    code = re.search(r'class="number">(\d{8})<', page.text).group(1)  # type: ignore[union-attr]
    assert "已预约" in page.text and "10:00–10:30" in page.text
    assert phone.appointment(web_hall, code)["status"] == "booked"  # type: ignore[index]
    cancelled = http.post(r.headers["location"], data={"action": "cancel"})
    assert cancelled.status_code == 303 and "已取消" in http.get(r.headers["location"]).text
    with pytest.raises(E.AppointmentNotFound):
        web_hall.check_in(code=code)
    kinds = [e.kind for e in web_hall.events_after(0) if e.kind.startswith("appointment.")]
    assert kinds == ["appointment.booked", "appointment.cancelled"]


def test_booking_refuses_a_slot_not_offered_and_keeps_id_private(web_hall: Hall, http: httpx.Client) -> None:
    assert "近期没有可以预约的日期" in book(http, "social", "2026-11-28 10:00-10:30").text  # Saturday
    id_number = make_id(42)
    r = book(http, "housing", "2026-11-24 14:00-14:30", id_number=id_number)
    page = http.get(r.headers["location"]).text
    assert id_number not in page and id_number[-4:] not in page
    assert http.get("/a/" + "A" * 16 + "12345678").status_code == 404


def test_booked_then_checked_in_takes_an_appointment_ticket(web_hall: Hall, http: httpx.Client,
                                                            clock: FakeClock) -> None:
    web_hall.issue_ticket("social")
    web_hall.issue_ticket("social", priority="green")
    r = book(http, "social", "2026-11-24 09:30-10:00")
    code = re.search(r'class="number">(\d{8})<', http.get(r.headers["location"]).text).group(1)  # type: ignore[union-attr]
    clock.set_local(2026, 11, 24, 9, 20)  # within the slot's grace (from 09:15): ahead of walk-ins
    issued = web_hall.check_in(code=code)
    assert issued.value.ticket["priority"] == "appointment" and issued.value.ahead == 1  # behind the green channel
    page = http.get(r.headers["location"]).text
    assert "已签到" in page and f"/t/{token_of(issued)}" in page
    assert web_hall.call_next(1).value["priority"] == "green"
    web_hall.start_service(1)
    assert web_hall.call_next(1).value["id"] == issued.value.ticket["id"]


# --- the printed ticket -----------------------------------------------------------------------------------------
def test_the_printed_qr_opens_the_ticket_page_and_phone_tickets_are_not_printed(web_hall: Hall) -> None:
    from devices.printer import layout
    from devices.printer.driver import parse_config

    config = parse_config("printer1", web_hall.config.devices["printer1"], web_hall.config)
    issued = web_hall.issue_ticket("social")
    qr = [b for b in layout.compose(issued.events[0].payload, config.ticket) if isinstance(b, layout.QrCode)]
    assert [q.data for q in qr] == [f"http://127.0.0.1:8080/t/{token_of(issued)}"]  # demo [web] public_base_url
    assert web_hall.tokens.ticket_id(token_of(issued)) == issued.value.ticket["id"]
    printed: list[str] = []
    from devices.printer.driver import PrinterDriver

    driver = PrinterDriver("printer1", config)
    driver.print_ticket = lambda payload: printed.append(payload["ticket"]["number"])  # type: ignore[method-assign]
    phone_ticket = web_hall.issue_ticket("social", terminal=phone.PHONE_TERMINAL)
    for e in (*issued.events, *phone_ticket.events):
        driver.handle_event(e)
    assert printed == ["A001"]
