"""Every screen at each of its panels (kiosk/ui/theme.py PANELS), in every language, with elder mode on and off
where the screen has it, on each page or state that matters: nothing clipped or elided, no overlapping siblings, a
glyph for every character, touch targets of at least 9 mm, no Chinese where a translation exists
(tests/ui/layout_audit.py).  One test per cell; a cell walks its screen's states and reports them all at once.

HALL_MATRIX_DIR=/some/dir saves every state of every cell there as PNG, to look at."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from kiosk.strings import LANGUAGES
from kiosk.ui.client import HallClient
from kiosk.ui.theme import Panel, panels
from tests.conftest import FakeClock
from tests.ui.checks import shown
from tests.ui.layout_audit import audit

LANGS = list(LANGUAGES)  # 中文, བོད་ཡིག, ئۇيغۇرچە, ꆈꌠꉙ

# A county hall like the demo's, with every name, guide title and the notice in every language.
HALL = """
[hall]
id = "matrix-hall"
name = "锦江区政务服务中心"
region = "510104000"
notice = "请保管好随身物品；过号请重新取号。"

[hall.notices]
bo = "རང་གི་ཅ་ལག་ལ་ཡིད་གཟབ་གནང་རོགས། ཨང་གྲངས་འདས་ན་ཡང་བསྐྱར་ལེན་རོགས།"
ug = "نەرسە-كېرەكلىرىڭىزنى ئاسراڭ؛ نومۇر ئۆتۈپ كەتسە قايتا ئېلىڭ."
ii = "ꅍ ꅿ ꐥ ꂃ ꀋ ꅆ; ꇨꉘ ꑌ ꏾꉘ ꇰ"

[[businesses]]
code = "social"
prefix = "A"
name = "社保医保"

[businesses.names]
bo = "སྤྱི་ཚོགས་འགན་སྲུང་དང་སྨན་བཅོས་འགན་སྲུང་།"
ug = "ئىجتىمائىي سۇغۇرتا ۋە داۋالاش سۇغۇرتىسى"
ii = "ꎸꀧ ꑳꀧ"
[businesses.guide_titles]
zh = "城乡居民养老保险参保登记"
bo = "གྲོང་ཁྱེར་དང་གྲོང་གསེབ་རྒན་གསོ་འགན་སྲུང་ཐོ་འགོད།"
ug = "شەھەر-يېزا ئاھالىلىرى پېنسىيە سۇغۇرتىسىغا تىزىملىتىش"
ii = "ꎸꀧ ꍝꆅ"

[[businesses]]
code = "housing"
prefix = "B"
name = "不动产登记"
id_required = true
names = { bo = "མི་འགུལ་རྒྱུ་ནོར་ཐོ་འགོད།", ug = "كۆچمەس مۈلۈك تىزىملاش", ii = "ꀮꄏꍯ ꄒꏢ" }

[[businesses]]
code = "market"
prefix = "C"
name = "企业开办"
names = { bo = "ཁེ་ལས་འཛུགས་སྐྲུན།", ug = "كارخانا قۇرۇش", ii = "ꏾꑳ ꇽꁠ" }

[[businesses]]
code = "tax"
prefix = "D"
name = "税务"
days = [1, 2, 3, 4, 5, 6]
names = { bo = "ཁྲལ་དོན།", ug = "باج ئىشلىرى", ii = "ꏂꃶ" }

[[businesses]]
code = "residence"
prefix = "E"
name = "户政出入境"
names = { bo = "ཐེམ་ཐོ་དང་ཕྱི་ནང་འགྲུལ་བཞུད།", ug = "نوپۇس ۋە چېگرادىن كىرىپ-چىقىش", ii = "ꃚꍓ ꍲꏖꏢ" }

[[businesses]]
code = "fund"
prefix = "F"
name = "公积金"
names = { bo = "སྤྱི་བསགས་དངུལ།", ug = "ئۆي جۇغلانما فوندى", ii = "ꇬꏢꏢ" }

[[windows]]
number = 1
businesses = ["social"]

[[windows]]
number = 2
businesses = ["social", "fund"]

[[windows]]
number = 3
businesses = ["housing"]

[[windows]]
number = 4
businesses = ["housing", "tax"]

[[windows]]
number = 5
businesses = ["market"]

[[windows]]
number = 6
businesses = ["tax", "market"]

[[windows]]
number = 7
businesses = ["residence"]
"""
CLERKS = ["王晓明", "李娜", "张伟", "刘芳", "陈静", "杨洋", "赵磊"]
CLOSED_MESSAGE = "系统维护，预计 14:00 恢复"
CATALOG_ITEM = {
    "code": "000117001000", "business": "social", "name": "城乡居民养老保险参保登记", "version": 1,
    "conditions": ["年满16周岁（不含在校学生）、非国家机关和事业单位工作人员"],
    "materials": [{"name": "居民身份证", "original": True}, {"name": "户口簿", "original": False, "copies": 1}],
    "legal_days": 20, "promised_days": 5, "fees": [], "basis": ["《中华人民共和国社会保险法》第二十条"],
}
CASE_DATA = {"case_no": "SB-2026112400001", "item_name": "城乡居民养老保险参保登记", "accept_unit": "锦江区社保局",
        "acceptor": "李四", "case_type": 2, "legal_days": 20, "promise_days": 5, "applicant_name": "张小三",
        "applicant_id": "11010519491231002X", "applicant_phone": "13812345678", "department": "社保局",
        "window": 1, "status": "受理"}


def data_texts() -> set[str]:
    """What the hall has only in Chinese, whatever the screen's language: its name, the 中文 button, the clerks, the
    province's catalogue and case data (items, departments, masked applicants), a closing message typed by staff, the
    windows' configured names."""
    from kiosk.core.privacy import mask_name
    from tests.ui.test_dashboard import DEMO_APPLICANTS, DEMO_CASE_ITEMS

    cfg = loads(HALL)
    out = {cfg.name, LANGUAGES["zh"][0], CLOSED_MESSAGE, CASE_DATA["item_name"], "张*三", *CLERKS}
    out |= {x for row in DEMO_CASE_ITEMS for x in row[:2]} | {mask_name(n) for n in DEMO_APPLICANTS}
    out |= {w.name for w in cfg.windows}
    for v in CATALOG_ITEM.values():
        for x in v if isinstance(v, list) else [v]:
            out |= set(x.values()) if isinstance(x, dict) else {x}
    return {x for x in out if isinstance(x, str)}


@pytest.fixture
def matrix_hall(tmp_path: Path, clock: FakeClock) -> Iterator[Hall]:
    store = Store(tmp_path / "matrix.db")
    hall = Hall(loads(HALL), store, clock=clock)
    for w, name in zip(hall.config.windows, CLERKS, strict=False):
        hall.sign_in(w.number, f"c{w.number:02d}", name)
    yield hall
    store.close()


@pytest.fixture
def matrix_client(matrix_hall: Hall, qtbot: Any) -> Iterator[HallClient]:
    c = HallClient(matrix_hall, heartbeat_s=0)
    yield c
    c.close()


def busy(hall: Hall, clock: FakeClock) -> None:
    """A morning: people waiting everywhere, three services timed, one business closed by staff, the residence
    windows paused (its button says 暂停取号 and why), a case and a catalogue item to look up."""
    from kiosk.core.cases import Cases
    from sync import contract
    from sync.catalog import apply_update

    for code, n in (("social", 12), ("tax", 4), ("residence", 7), ("market", 2), ("housing", 0)):
        for _ in range(n):
            hall.issue_ticket(code)
    for _ in range(3):
        hall.call_next(1)
        hall.start_service(1)
        clock.advance(minutes=6)
        hall.finish_service(1)
    hall.close_business("fund", CLOSED_MESSAGE)
    hall.pause(7, "午休")
    Cases(hall).register(CASE_DATA)
    msg = msgspec.convert({"v": 1, "message_id": "catalog-m1", "hall_id": hall.config.hall_id,
                           "at_utc": "2026-11-24T01:00:00+00:00", "items": [CATALOG_ITEM]}, contract.CatalogUpdate)
    apply_update(hall, msg, "catalog-m1")


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def save(widget: QWidget, name: str) -> None:
    where = os.environ.get("HALL_MATRIX_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(where) / f"{name}.png"))


def walk(screen: QWidget, panel: Panel, lang: str, cell: str, states: Iterator[str],
         shots: dict[str, str] | None = None, shoot: Callable[[QWidget, str], Any] | None = None) -> list[str]:
    """Audit the screen in each state the generator arranges; every problem names its state."""
    problems: list[str] = []
    allowed = data_texts()
    for state in states:
        settle()
        save(screen, f"{cell}-{state}")
        if shots and shoot and state in shots:
            shoot(screen, shots[state])
        problems += [f"[{state}] {p}" for p in audit(screen, panel, lang, allowed)]
    return problems


def cell_id(panel: Panel, lang: str, elder: bool | None) -> str:
    return f"{panel.role}-{panel.label}-{lang}" + ("" if elder is None else ("-elder" if elder else "-std"))


def cells(role: str, *, elder: bool) -> list[Any]:
    """role × panel × language (× elder mode), each marked xfail(strict) where KNOWN lists it."""
    out = []
    for panel in panels(role):
        for lang in LANGS:
            for mode in ((False, True) if elder else (None,)):
                cid = cell_id(panel, lang, mode)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN[cid])] if cid in KNOWN else []
                out.append(pytest.param(panel, lang, mode, id=cid, marks=marks))
    return out


# Cells that fail today, each with why; the owner of the screen removes its line with the fix (strict: a cell
# that starts passing while listed fails the run, so the list never goes stale).
KNOWN: dict[str, str] = {}


# --- the kiosk ---------------------------------------------------------------------------------------------------
KIOSK_SHOTS = {  # cell → state → screenshot name (docs/screens, for the README)
    "kiosk-1080x1920-ug-elder": {"home": "matrix_kiosk_uyghur_elder", "case_result": "matrix_kiosk_uyghur_case"},
    "kiosk-1080x1920-bo-std": {"home": "matrix_kiosk_tibetan", "green": "matrix_kiosk_tibetan_green"},
    "kiosk-1080x1920-ii-std": {"home": "matrix_kiosk_yi", "guide": "matrix_kiosk_yi_guide"},
}


def kiosk_states(k: Any, hall: Hall) -> Iterator[str]:
    from kiosk.ui.kiosk import CASE, CHECK_IN

    k.go_home()
    yield "home"
    k.set_green(True)
    yield "green"
    k.set_green(False)
    k.choose_business("residence")  # every residence window is paused: said in words, nothing issued
    assert hall.waiting(business="residence") and k.message.isVisible()
    yield "refused"
    k.choose_business("housing")  # needs an ID
    for ch in "11010519491231":
        k.id_pad.typed.emit(ch)
    yield "id_entry"
    k.go_home()
    k.choose_business("social")
    settle()
    assert k.result_number.text().startswith("A") and k.result_wait.isVisible()
    yield "ticket"
    k.go_home()
    k.show_page(CHECK_IN)
    for ch in "806512":
        k.code_pad.typed.emit(ch)
    yield "check_in"
    k.show_guide("social")
    yield "guide"
    k.show_guide("tax")
    yield "guide_hours"
    k.show_page(CASE)
    k.case_pad.pages.setCurrentIndex(1)
    yield "case_letters"
    k.case_pad.show_digits()
    k.case_field.setText(CASE_DATA["case_no"])
    k.check_field.setText("002X")
    k.submit_case()
    assert k.case_result.isVisible(), k.message.text()
    yield "case_result"
    k.show_book("social")  # 预约办理: businesses, the horizon's days, the day's slots with their free places
    assert k.book_slot_buttons, k.message.text()
    yield "book"
    k.choose_slot(next(s for s, b in k.book_slot_buttons.items() if b.isEnabled()))
    assert k.current_booking is not None, k.message.text()
    yield "booked"
    k.go_home()


@pytest.mark.parametrize(("panel", "lang", "elder"), cells("kiosk", elder=True))
def test_kiosk(qtbot: Any, matrix_client: HallClient, matrix_hall: Hall, clock: FakeClock, shoot: Any,
               panel: Panel, lang: str, elder: bool) -> None:
    from kiosk.ui.kiosk import KioskScreen

    busy(matrix_hall, clock)
    k = shown(qtbot, KioskScreen(matrix_client), *panel.size)
    k.set_language(lang)
    k.set_elder(elder)
    cid = cell_id(panel, lang, elder)
    problems = walk(k, panel, lang, cid, kiosk_states(k, matrix_hall), KIOSK_SHOTS.get(cid), shoot)
    assert problems == [], "\n".join(problems)


# --- the other screens: their cells run the same audit; their languages and elder mode are their owner's --------
def has(screen: type, method: str) -> bool:
    return callable(getattr(screen, method, None))


def speak(screen: QWidget, lang: str, elder: bool | None) -> None:
    """Put a screen in a language and mode, as far as it offers them (a screen without a language switch stays in
    Chinese, and its cell then fails on the Chinese it shows)."""
    if lang != "zh" and has(type(screen), "set_language"):
        screen.set_language(lang)  # type: ignore[attr-defined]
    if elder and has(type(screen), "set_elder"):
        screen.set_elder(True)  # type: ignore[attr-defined]


def served(hall: Hall, window: int, clock: FakeClock) -> None:
    hall.issue_ticket("social")
    hall.call_next(window)
    hall.start_service(window)
    clock.advance(minutes=4)


def evaluator_states(e: Any, hall: Hall, clock: FakeClock) -> Iterator[str]:
    from kiosk.core.rating import Level

    e.show_idle()
    yield "idle"
    served(hall, 2, clock)
    hall.request_rating(2)
    settle()
    yield "faces"
    e.choose(Level.DISSATISFIED)
    e.submit_reason()  # nothing chosen yet: the page says so, in its own language
    e.reason_buttons[0].setChecked(True)
    assert e.reason_error.isVisible()
    yield "reason"
    e.submit_reason()
    yield "thanks"


def caller_states(c: Any, hall: Hall, clock: FakeClock) -> Iterator[str]:
    c.refresh()
    yield "ready"
    hall.call_next(2)
    settle()
    c.refresh()  # not only when its 40 ms timer fires: the page audited is the one with the number on it
    yield "called"
    hall.start_service(2)
    settle()
    c.refresh()
    yield "serving"
    clock.advance(minutes=5)
    hall.finish_service(2)
    hall.pause(2, "午休")
    settle()
    c.refresh()
    yield "paused"


def board_states(b: Any, hall: Hall, clock: FakeClock) -> Iterator[str]:
    for window in (2, 3, 5, 6):
        try:
            hall.call_next(window)
        except Exception:  # a window with nobody waiting for it: the board shows the others
            continue
    hall.set_notice(loads(HALL).hall.notice)
    settle()
    b.refresh()
    yield "calls"


def dashboard_states(d: Any, hall: Hall, clock: FakeClock) -> Iterator[str]:
    levels = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]
    for n, lv in enumerate(levels):
        served(hall, 2, clock)
        t = hall.finish_service(2).value
        hall.rate(t["id"], lv, reason="办事效率低、等候时间长" if lv.endswith("dissatisfied") else None)
        clock.advance(minutes=n)
    hall.report_device_health("printer1", "printer", "degraded", "打印机缺纸")  # the drivers' own words
    hall.report_device_health("led-w3", "led", "offline", "控制器无应答")
    from tests.ui.test_dashboard import demo_cases

    demo_cases(hall, clock)  # yellow and red cases, a month of figures, 差评 being rectified
    d.refresh()
    settle()
    yield "overview"
    d.tabs.setCurrentIndex(d.tabs.indexOf(d.supervision))
    d.refresh_supervision()
    settle()
    yield "supervision"
    for i in range(d.tabs.count()):  # every page, as many as the panel's width gives (kiosk/ui/dashboard.py)
        if d.tabs.widget(i) not in (d.overview, d.supervision):
            d.tabs.setCurrentIndex(i)
            settle()
            yield f"tab{i}"


def screen(role: str, client: HallClient) -> QWidget:
    from kiosk.ui.board import BoardScreen
    from kiosk.ui.caller import CallerScreen
    from kiosk.ui.dashboard import DashboardScreen
    from kiosk.ui.evaluator import EvaluatorScreen

    return {"evaluator": lambda: EvaluatorScreen(client, 2), "caller": lambda: CallerScreen(client, 2),
            "board": lambda: BoardScreen(client), "dashboard": lambda: DashboardScreen(client)}[role]()


def screen_class(role: str) -> type:
    from kiosk.ui.board import BoardScreen
    from kiosk.ui.caller import CallerScreen
    from kiosk.ui.dashboard import DashboardScreen
    from kiosk.ui.evaluator import EvaluatorScreen

    return {"evaluator": EvaluatorScreen, "caller": CallerScreen, "board": BoardScreen,
            "dashboard": DashboardScreen}[role]


STATES = {"evaluator": evaluator_states, "caller": caller_states, "board": board_states,
          "dashboard": dashboard_states}
SHOTS = {
    "evaluator-800x480-zh-std": {"reason": "matrix_evaluator_800x480_reason"},
    "evaluator-800x480-bo-std": {"faces": "matrix_evaluator_800x480_tibetan"},
    "evaluator-800x480-ii-elder": {"faces": "matrix_evaluator_800x480_yi_elder"},
    "board-1920x1080-ug": {"calls": "matrix_board_uyghur"},
    "dashboard-1366x768-zh": {"overview": "matrix_dashboard_1366x768", "supervision": "matrix_dashboard_1366x768_2"},
}
OTHER_CELLS = [c for role in STATES for c in cells(role, elder=has(screen_class(role), "set_elder"))]


@pytest.mark.parametrize(("panel", "lang", "elder"), OTHER_CELLS)
def test_screen(qtbot: Any, matrix_client: HallClient, matrix_hall: Hall, clock: FakeClock, shoot: Any,
                panel: Panel, lang: str, elder: bool | None) -> None:
    busy(matrix_hall, clock)
    s = shown(qtbot, screen(panel.role, matrix_client), *panel.size)
    speak(s, lang, elder)
    cid = cell_id(panel, lang, elder)
    problems = walk(s, panel, lang, cid, STATES[panel.role](s, matrix_hall, clock), SHOTS.get(cid), shoot)
    assert problems == [], "\n".join(problems)
