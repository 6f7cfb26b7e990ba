"""Every refusal a screen can show (a HallError's key) is in the string table in every language: its Chinese is the
class's template, each translation fills exactly its placeholders, and `error_text` says it with the values in (in
Uyghur, isolated).  The classes are found at test time, so a refusal added to the core without its words fails here."""
from __future__ import annotations

import importlib
import string
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from kiosk.core.errors import HallError
from kiosk.core.hall import Hall
from kiosk.strings import LANGUAGES, STRINGS, error_text, isolate, tr

# where the refusals a screen shows are defined (sync.lan: a LAN screen's own; holidays: a calendar over the LAN)
MODULES = ("kiosk.core.errors", "kiosk.core.staff", "kiosk.core.rectify", "kiosk.core.cases",
           "kiosk.core.appointments", "kiosk.core.holidays", "sync.lan")
# values kiosk/strings.py's older entries leave out on purpose (the holiday's and weekdays' Chinese names, the paused
# windows' Chinese reasons; a cap the Tibetan does not repeat): (key, lang) → those placeholders, no more
OMITTED: dict[tuple[str, str], set[str]] = {
    ("daily_cap_reached", "bo"): {"cap"},
    **{("no_open_window", lang): {"why"} for lang in ("bo", "ug", "ii")},
    **{("not_business_day", lang): {"day", "days"} for lang in ("bo", "ug", "ii")},
    **{("not_working_day", lang): {"day", "reason"} for lang in ("bo", "ug", "ii")},
}


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def refusals() -> dict[str, type[HallError]]:
    """key → class, for every HallError subclass that one of MODULES names (classes made on the fly — a newer LAN
    server's unknown key, a test's own — are not among them)."""
    mods = [importlib.import_module(m) for m in MODULES]
    named = {id(v) for m in mods for v in vars(m).values() if isinstance(v, type)}
    out: dict[str, type[HallError]] = {}
    for cls in _subclasses(HallError):
        if id(cls) in named and cls.key != HallError.key:
            out.setdefault(cls.key, cls)
    return out


REFUSALS = refusals()
TRANSLATED = [lang for lang in LANGUAGES if lang != "zh"]


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def sample(cls: type[HallError]) -> dict[str, Any]:
    """A value for each of the template's placeholders, each one findable in the text it lands in."""
    return {f: f"«{f}-{i}7»" for i, f in enumerate(sorted(fields(cls.template)))}


def test_the_refusals_are_found() -> None:
    # the walk finds the core's, the staff accounts', the cases', the 整改's and the LAN's own
    for key in ("queue_empty", "no_clerk_signed_in", "store_full", "staff_wrong_pin", "staff_manager_required",
                "case_not_found", "rectification_wrong_stage", "lan_unavailable", "calendar_invalid"):
        assert key in REFUSALS, key
    assert len(REFUSALS) >= 90


@pytest.mark.parametrize("key", sorted(REFUSALS))
def test_every_refusal_is_said_in_every_language(key: str) -> None:
    cls = REFUSALS[key]
    assert key in STRINGS, f"{key} ({cls.__module__}.{cls.__name__}) has no entry: add it to kiosk/error_strings.py"
    entry = STRINGS[key]
    zh = entry["zh"]
    assert zh == cls.template, f"{key}: the table's 中文 is not the template"
    for lang in TRANSLATED:
        text = entry.get(lang, "")
        assert text.strip(), (key, lang)
        assert text != zh, (key, lang, "still Chinese")
        assert fields(text) == fields(zh) - OMITTED.get((key, lang), set()), (key, lang, fields(text) ^ fields(zh))


@pytest.mark.parametrize("key", sorted(REFUSALS))
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_error_text_says_it_with_its_values(key: str, lang: str) -> None:
    cls = REFUSALS[key]
    params = sample(cls)
    try:
        exc = cls(**params)
    except TypeError:  # a class with its own signature: the params all the same
        exc = cls.__new__(cls)
        HallError.__init__(exc, **params)
    text = error_text(lang, exc)
    assert text == tr(lang, key, **params)
    if lang != "zh":
        assert text != exc.message, (key, lang, "shown in Chinese")
    for field, value in params.items():
        if field in OMITTED.get((key, lang), set()):
            assert value not in text, (key, lang, field)
            continue
        assert (isolate(value) if lang == "ug" else value) in text, (key, lang, value)


def test_a_tibetan_caller_says_nobody_is_signed_in_in_tibetan(qtbot, client, hall: Hall) -> None:
    from kiosk.core.errors import NoClerkSignedIn
    from kiosk.ui.caller import CallerScreen
    from tests.ui.checks import shown

    hall.sign_out(2)
    hall.issue_ticket("social")
    with pytest.raises(NoClerkSignedIn) as refused:
        hall.call_next(2)
    c = shown(qtbot, CallerScreen(client, 2, lang="bo"), 1280, 800)
    assert not c.buttons["call"].isEnabled()
    qtbot.keyClick(c, Qt.Key.Key_F1)  # 呼叫's shortcut still reaches the hall, which refuses it
    said = c.status.text()
    assert tr("bo", "no_clerk_signed_in", **refused.value.params) in said
    assert "没有工作人员签到" not in said and hall.window(2)["current"] is None
