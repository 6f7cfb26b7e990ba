"""What the evaluator, the hall board, the caller and the dashboard say, in a language of the string table: the words
the hall stores in Chinese (a 差评's preset reasons, a preset pause reason, a ticket's, a window's, a case's and a
rectification's state) said in the reader's language, and the hall's own data (a clerk's name, a typed reason, a
catalogue item) left as it is.  Plain Python: no Qt."""
from __future__ import annotations

from typing import Any

from kiosk.core.config import HallConfig
from kiosk.strings import STRINGS, ltr, rtl, tr

# A 差评's reasons as the evaluator offers them: stored and sent in Chinese (the province's 好差评 words).
BAD_REASONS: dict[str, str] = {key: STRINGS[key]["zh"] for key in (
    "reason_slow", "reason_attitude", "reason_process", "reason_trips", "reason_materials", "reason_policy",
    "reason_other")}
# The caller's preset pause reasons: stored as chosen, in Chinese (the LED boards show them).
PAUSE_REASONS: dict[str, str] = {key: STRINGS[key]["zh"] for key in (
    "pause_away", "pause_consult", "pause_fault", "pause_meeting", "pause_lunch")}
_PRESET = {zh: key for key, zh in (BAD_REASONS | PAUSE_REASONS).items()}
SEPARATOR = "；"  # how the evaluator joins the reasons it stores


def value(lang: str, v: Any) -> str:
    """A number, time or code inside a sentence: kept left to right in a right-to-left language."""
    return ltr(v) if rtl(lang) else str(v)


def preset(text: str | None, lang: str) -> str:
    """A stored reason in `lang`: each preset part translated, a typed part as typed (it exists only so)."""
    if not text:
        return ""
    parts = [tr(lang, _PRESET[p]) if p in _PRESET else p for p in str(text).split(SEPARATOR)]
    return (SEPARATOR if lang == "zh" else tr(lang, "list_sep")).join(parts)


def window_label(cfg: HallConfig, number: Any, lang: str) -> str:
    """A window as a screen names it: its configured name, or "N号窗口" in `lang` when it has only the default."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        return "—" if number is None else str(number)
    w = cfg.window(n)
    if w is not None and w.name != f"{n}号窗口":
        return w.name  # a hall's own name for it (综合窗口, 社保专窗): data, as typed
    return tr(lang, "window_n", n=n)


def business_name(cfg: HallConfig, code: str, lang: str, fallback: str = "") -> str:
    b = cfg.business(code)
    return b.name_in(lang) if b is not None else (fallback or code)


def level_text(level: Any, lang: str) -> str:
    key = f"level_{getattr(level, 'value', level)}"
    return tr(lang, key) if key in STRINGS else str(level or "")


def ticket_status(status: str, lang: str, fallback: str = "") -> str:
    key = f"tstatus_{status}"
    return tr(lang, key) if key in STRINGS else fallback or status


def case_status(status: str, lang: str, fallback: str = "") -> str:
    key = f"case_{status}"
    return tr(lang, key) if key in STRINGS else fallback or status


def window_state(state: str, lang: str) -> str:
    key = f"wstate_{state}"
    return tr(lang, key) if key in STRINGS else state


def priority(prio: str | None, lang: str) -> str:
    """A ticket's priority as a tag ("" for a walk-in)."""
    key = {"appointment": "prio_appointment", "green": "green_channel", "transfer": "prio_transfer"}.get(prio or "")
    return tr(lang, key) if key else ""


def card_sign(card: str, lang: str) -> str:
    """A 电子监察 card as its word and sign (never its colour alone)."""
    return tr(lang, f"card_sign_{card}") if f"card_sign_{card}" in STRINGS else card


def stage_text(stage: str | None, lang: str, fallback: str = "") -> str:
    return tr(lang, f"stage_{stage}") if f"stage_{stage}" in STRINGS else fallback


def outcome_text(outcome: str | None, lang: str, fallback: str = "") -> str:
    return tr(lang, f"outcome_{outcome}") if f"outcome_{outcome}" in STRINGS else fallback


def step_text(step: str | None, lang: str, fallback: str = "") -> str:
    return tr(lang, f"step_{step}") if f"step_{step}" in STRINGS else fallback


def minutes_text(seconds: float | None, lang: str) -> str:
    return "—" if not seconds else tr(lang, "minutes_n", m=f"{seconds / 60:.1f}")


def colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def notice_in(cfg: HallConfig, current: str, lang: str) -> str:
    """The hall's notice in `lang` while it is the configured one; a notice changed at run time exists only as typed."""
    hall = cfg.hall
    return hall.notices.get(lang, current) if current == hall.notice else current
