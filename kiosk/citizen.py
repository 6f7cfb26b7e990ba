"""What a citizen reads, composed in the chosen language from kiosk/strings.py: a business button's lines, a 办事指南
page, a case lookup's result, a scanned ticket's status.  Words come from the string table; data the hall only has
in Chinese (a catalogue item, a clerk's pause reason, a closing message) stays as it is.  Plain Python: no Qt."""
from __future__ import annotations

from typing import Any

from kiosk.core.config import Business, HallConfig
from kiosk.core.estimate import wait_minutes
from kiosk.strings import ltr, rtl, tr

CARD_KEYS = {"yellow": "card_yellow", "red": "card_red"}


def business_name(cfg: HallConfig, code: str, lang: str) -> str:
    b = cfg.business(code)
    return b.name_in(lang) if b is not None else code


def value(lang: str, v: Any) -> str:
    """A number, date or code as data inside a sentence: isolated left to right in a right-to-left language."""
    return ltr(v) if rtl(lang) else str(v)


def _label_line(lang: str, key: str, v: Any) -> str:
    colon = "：" if lang == "zh" else ": "
    return f"{tr(lang, key)}{colon}{v}"


def business_lines(row: dict[str, Any], b: Business, lang: str, *, green: bool) -> tuple[str, bool, bool]:
    """A business button: (its text, drawn as not taking tickets, can be tapped).  A closed business says 暂停取号
    and the closing message; one whose windows are all paused says 暂停取号 and that they are paused (with the
    clerks' reasons in Chinese); otherwise the people waiting and the estimated wait."""
    name = b.name_in(lang)
    if row.get("closed"):
        return "\n".join(x for x in (name, tr(lang, "closed"), str(row.get("message") or "")) if x), True, True
    if row.get("windows") and not row.get("open_windows"):
        why = tr(lang, "windows_paused")
        reasons = row.get("pause_reasons") or []
        if lang == "zh" and reasons:
            why += f"（{'、'.join(reasons)}）"
        return f"{name}\n{tr(lang, 'closed')}\n{why}", True, True
    if green and not b.green_channel:
        return f"{name}\n{tr(lang, 'green_unavailable')}", True, False
    info = tr(lang, "waiting_n", n=row.get("waiting", 0))
    if row.get("wait_s") is not None:
        info += " · " + tr(lang, "wait_about", m=wait_minutes(float(row["wait_s"])))
    return f"{name}\n{info}", False, True


def days_text(b: Business, lang: str) -> str:
    """The weekdays a business opens, in words."""
    if b.days == "workdays":
        return tr(lang, "workdays")
    if b.days == "all":
        return tr(lang, "every_day")
    return tr(lang, "list_sep").join(tr(lang, f"weekday_{d}") for d in b.days)


def guide_sections(item: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """A 办事指南 item (sync.contract.CatalogItem as a dict) as titled blocks: our words translated, the catalogue's
    own text (conditions, material names, notes, laws) as the province sent it."""
    out: list[tuple[str, str]] = []
    conditions = item.get("conditions") or []
    if conditions:
        out.append(("conditions", "\n".join(f"· {c}" for c in conditions)))
    materials = []
    for m in item.get("materials") or []:
        if isinstance(m, dict):
            kind = tr(lang, "original" if m.get("original") else "photocopy")
            amount = tr(lang, "copies", kind=kind, n=m.get("copies", 1))
            note = f", {m['note']}" if m.get("note") else ""
            materials.append(f"· {m.get('name', '')} ({amount}{note})" if lang != "zh" else
                             f"· {m.get('name', '')}（{amount}{note.replace(', ', '，')}）")
        else:
            materials.append(f"· {m}")
    if materials:
        out.append(("materials", "\n".join(materials)))
    limits = []
    if item.get("legal_days") is not None:
        limits.append(tr(lang, "legal_days", n=item["legal_days"]))
    if item.get("promised_days") is not None:
        limits.append(tr(lang, "promised_days", n=item["promised_days"]))
    if limits:
        out.append(("time_limit", tr(lang, "list_sep").join(limits)))
    fees = item.get("fees")
    if fees is not None:
        text = "\n".join(f"· {f.get('name', '')} {tr(lang, 'yuan', amount=f.get('amount', ''))}"
                         if isinstance(f, dict) else f"· {f}" for f in fees)
        out.append(("fees", text or tr(lang, "free")))
    basis = item.get("basis") or []
    if basis:
        out.append(("basis", "\n".join(f"· {x}" for x in basis)))
    if item.get("note"):
        out.append(("note", str(item["note"])))
    return out


def guide_text(b: Business, item: dict[str, Any] | None, lang: str) -> str:
    """The 办事指南 page of a business: its title, the catalogue item's blocks, its ticket days and hours."""
    title = b.guide_title_in(lang)
    lines = [title, ""]
    if item:
        if item.get("name") and item["name"] not in (b.name, title) and lang == "zh":
            lines[0] = f"{title} · {item['name']}"
        elif item.get("name") and item["name"] not in (b.name, title):
            lines.insert(1, str(item["name"]))  # the catalogue's own title, in Chinese, under ours
        for key, text in guide_sections(item, lang):
            lines += [f"【{tr(lang, key)}】", text, ""]
    hours = tr(lang, "list_sep").join(value(lang, h) for h in b.hours)
    lines += [f"【{tr(lang, 'hours')}】", f"{days_text(b, lang)} {hours}", ""]
    if not item:
        lines.append(tr(lang, "ask_desk"))
    return "\n".join(lines).rstrip()


def case_text(info: dict[str, Any], lang: str) -> str:
    """A case's public view (kiosk.core.cases masks the applicant; nothing else personal is shown)."""
    deadline = info.get("promised_at") or info.get("due_at") or info.get("deadline")
    status = info.get("status")
    status_text = tr(lang, f"case_{status}") if status else info.get("status_label")
    rows: list[tuple[str, Any]] = [
        ("case_no", value(lang, info["case_no"]) if info.get("case_no") else None),
        ("item", info.get("item_name")),
        ("applicant", info.get("applicant") or info.get("name_masked")),
        ("case_status", status_text),
        ("deadline", value(lang, deadline) if deadline else None),
    ]
    card = info.get("card")
    if card in CARD_KEYS:
        rows.append(("card", tr(lang, CARD_KEYS[card])))
    left = info.get("working_days_left")
    if left is not None and left >= 0:
        rows.append(("", tr(lang, "days_left", n=f"{left:g}")))
    return "\n".join(_label_line(lang, k, v) if k else str(v) for k, v in rows if v)


def ticket_status_text(t: dict[str, Any], lang: str) -> str:
    """Where a scanned ticket stands now."""
    status, window = t.get("status"), t.get("window")
    if status == "waiting":
        return tr(lang, "ticket_waiting")
    if status == "called":
        return tr(lang, "ticket_called", window=window)
    if status == "serving":
        return tr(lang, "ticket_serving", window=window)
    label = tr(lang, f"ticket_{status}") if f"ticket_{status}" in _TICKET_STATUS_KEYS else t.get("status_label")
    return tr(lang, "ticket_closed", status=label or status)


_TICKET_STATUS_KEYS = {"ticket_done", "ticket_no_show", "ticket_voided", "ticket_expired", "ticket_held"}
