"""The phone pages as HTML: plain functions over f-strings, every value escaped on its way in (`esc`).  No template
engine: a handful of small pages, one stylesheet and one script, all inline, so a page is one request over the
hall's Wi-Fi and nothing is fetched from outside.  A page never shows personal data: no name, no ID, not even
masked — only the number, the business, the queue and the window."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from kiosk.web.text import LANGUAGES, t
from kiosk.web.views import TicketView


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


@dataclass(frozen=True, slots=True)
class Chrome:
    """What every page shares: the hall's name, the language, large text, and the page's own path and query (less
    lang and large) for the language and text-size links."""

    hall_name: str
    lang: str
    large: bool
    path: str


CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans CJK SC","Noto Sans Tibetan","Noto Naskh Arabic",system-ui,sans-serif;
 background:#F2F5F8;color:#1A1A1A;font-size:17px;line-height:1.45}
header{background:#0B4F8A;color:#FFF;padding:10px 14px}
header .hall{font-size:1.05em;font-weight:bold}
nav{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}
nav a{color:#FFF;border:1px solid #FFF;border-radius:6px;padding:4px 10px;text-decoration:none;min-height:34px;
 display:inline-flex;align-items:center}
nav a.on{background:#FFF;color:#0B4F8A;font-weight:bold}
main{padding:14px}
h1{font-size:1.3em;margin:4px 0 12px}
.card{background:#FFF;border-radius:12px;padding:16px;margin-bottom:14px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.label{color:#4A4A4A;font-size:.95em}
.number{font-size:3.4em;font-weight:bold;letter-spacing:2px;color:#0B4F8A;line-height:1.15}
.biz{font-size:1.15em;margin-bottom:8px}
.big{font-size:1.6em;font-weight:bold;margin:6px 0}
.big b{color:#B3261E;font-size:1.3em}
.call{background:#1B7F3B;color:#FFF;border-radius:10px;padding:14px;font-size:1.7em;font-weight:bold;
 text-align:center;margin:8px 0}
.warn{background:#FFF4CE;border:2px solid #8A6100;border-radius:10px;padding:10px;margin:8px 0;font-weight:bold}
.bad{background:#FDE7E9;border:2px solid #B3261E;border-radius:10px;padding:10px;margin:8px 0}
.ok{background:#E6F4EA;border:2px solid #1B7F3B;border-radius:10px;padding:10px;margin:8px 0}
.note{color:#4A4A4A;font-size:.9em}
button,.button{display:block;width:100%;min-height:48px;border:0;border-radius:10px;background:#0B4F8A;
 color:#FFF;font-size:1.1em;font-weight:bold;margin:8px 0;padding:10px;text-align:center;text-decoration:none}
button.secondary,.button.secondary{background:#FFF;color:#0B4F8A;border:2px solid #0B4F8A}
button:disabled{background:#9AA5B1}
input{width:100%;min-height:44px;font-size:1.05em;padding:8px;border:1px solid #6B7785;border-radius:8px}
.row{display:flex;justify-content:space-between;gap:8px;align-items:baseline}
.slots{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.slots button{margin:0}
footer{padding:8px 14px 24px;color:#4A4A4A;font-size:.9em}
body.large{font-size:24px;line-height:1.5}
body.large .number{font-size:3em}
body.large nav a,body.large button,body.large .button{min-height:64px}
body.large .slots{grid-template-columns:1fr}
[dir=rtl] .row{flex-direction:row-reverse}
"""

TICKET_JS = """
(function(){
 var cfg=JSON.parse(document.getElementById('cfg').textContent);
 var box=document.getElementById('status'),conn=document.getElementById('conn'),btn=document.getElementById('alerts');
 var ctx=null,key='hall-alert:'+cfg.token;
 function ring(n){
  try{ctx=ctx||new (window.AudioContext||window.webkitAudioContext)();
   for(var i=0;i<n;i++){var o=ctx.createOscillator(),g=ctx.createGain(),at=ctx.currentTime+i*0.45;
    o.frequency.value=880;g.gain.setValueAtTime(0.3,at);g.gain.exponentialRampToValueAtTime(0.001,at+0.35);
    o.connect(g);g.connect(ctx.destination);o.start(at);o.stop(at+0.4);}}catch(e){}
  if(navigator.vibrate){navigator.vibrate([300,150,300,150,300]);}
 }
 btn.addEventListener('click',function(){ring(1);btn.textContent=cfg.ready;btn.className='button secondary';});
 function apply(v){
  box.innerHTML=v.html;document.body.setAttribute('data-state',v.state);
  var seen=null;try{seen=localStorage.getItem(key);}catch(e){}
  if(v.alert&&seen!==v.alert){try{localStorage.setItem(key,v.alert);}catch(e){} ring(v.alert==='near'?2:3);}
 }
 function poll(){fetch(cfg.state,{cache:'no-store'}).then(function(r){return r.json();}).then(apply)
  .catch(function(){}).then(function(){setTimeout(poll,5000);});}
 if(!window.EventSource){poll();return;}
 var es=new EventSource(cfg.events);
 es.addEventListener('view',function(e){apply(JSON.parse(e.data));conn.textContent=cfg.live;conn.className='note';});
 es.addEventListener('poll',function(){es.close();poll();});
 es.onerror=function(){conn.textContent=cfg.offline;conn.className='warn';};
})();
"""


def page(c: Chrome, title: str, body: str, *, script: str = "") -> str:
    """A whole page around `body` (already escaped HTML)."""
    rtl = LANGUAGES.get(c.lang, ("", False))[1]
    here = c.path + ("&" if "?" in c.path else "?")
    links = "".join(
        f'<a href="{esc(here)}lang={code}" lang="{code}" class="{"on" if code == c.lang else ""}">{esc(name)}</a>'
        for code, (name, _rtl) in LANGUAGES.items())
    size = (f'<a href="{esc(here)}large={"0" if c.large else "1"}" class="{"on" if c.large else ""}">'
            f'{esc(t(c.lang, "elder_off" if c.large else "elder_on"))}</a>')
    return (f'<!doctype html><html lang="{esc(c.lang)}" dir="{"rtl" if rtl else "ltr"}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{esc(title)} · {esc(c.hall_name)}</title><style>{CSS}</style></head>'
            f'<body class="{"large" if c.large else ""}"><header><div class="hall">{esc(c.hall_name)}</div>'
            f'<nav>{links}{size}</nav></header><main>{body}</main>'
            f'<footer>{esc(t(c.lang, "help_desk"))}</footer>{script}</body></html>')


def message_page(c: Chrome, title: str, text: str, *, kind: str = "bad", link: tuple[str, str] | None = None) -> str:
    """A clear page for a bad link, an expired ticket or a refusal: what happened and what to do."""
    more = f'<a class="button secondary" href="{esc(link[0])}">{esc(link[1])}</a>' if link else ""
    return page(c, title, f'<h1>{esc(title)}</h1><div class="{kind}">{esc(text)}</div>{more}')


# --- the ticket's page -------------------------------------------------------------------------------------------
def minutes(wait_s: float) -> int:
    return max(1, round(wait_s / 60))


def ticket_status(v: TicketView, lang: str) -> str:
    """The live part of the ticket page: the part the server pushes again on every change."""
    head = (f'<div class="label">{esc(t(lang, "your_number"))}</div><div class="number">{esc(v.number)}</div>'
            f'<div class="biz">{esc(t(lang, "business"))}：{esc(v.business_name)}</div>')
    if v.state in ("waiting", "moved"):
        parts = []
        if v.state == "moved":
            text = (t(lang, "moved_window", window=v.window) if v.window
                    else t(lang, "moved_business", business=v.business_name))
            parts.append(f'<div class="warn">{esc(text)}</div>')
        if v.alert == "near":
            parts.append(f'<div class="warn">{esc(t(lang, "near"))}</div>')
        ahead = esc(t(lang, "ahead_n", n="\x00")).replace("\x00", f"<b>{int(v.ahead or 0)}</b>")
        parts.append(f'<div class="big">{ahead}</div>')
        if v.wait_s is None:
            parts.append(f'<div>{esc(t(lang, "wait_unknown"))}</div>')
        elif v.ahead == 0 and v.wait_s < 90:
            parts.append(f'<div>{esc(t(lang, "wait_soon"))}</div>')
        else:
            parts.append(f'<div>{esc(t(lang, "wait_about", m=minutes(v.wait_s)))}</div>'
                         f'<div class="note">{esc(t(lang, "wait_how"))}</div>')
        return head + "".join(parts)
    if v.state == "called":
        recall = f'<div class="warn">{esc(t(lang, "recalled", n=v.recall))}</div>' if v.recall else ""
        return (head + f'<div class="label">{esc(t(lang, "called_now"))}</div>'
                f'<div class="call">{esc(t(lang, "called_go", window=v.window))}</div>{recall}')
    texts = {"serving": ("ok", t(lang, "ticket_serving", window=v.window)),
             "held": ("warn", t(lang, "held", window=v.window)),
             "done": ("ok", t(lang, "done")), "no_show": ("bad", t(lang, "no_show")),
             "voided": ("bad", t(lang, "voided")), "expired": ("bad", t(lang, "expired", date=v.local_date))}
    kind, text = texts.get(v.state, texts["done"])
    return head + f'<div class="{kind}">{esc(text)}</div>'


def ticket_page(c: Chrome, v: TicketView, token: str) -> str:
    cfg = {"token": token, "events": f"/t/{token}/events?lang={c.lang}", "state": f"/t/{token}/state?lang={c.lang}",
           "ready": t(c.lang, "alerts_ready"), "live": t(c.lang, "live"), "offline": t(c.lang, "offline")}
    data = json.dumps(cfg, ensure_ascii=False).replace("</", "<\\/")  # a JSON island cannot close its script
    body = (f'<section class="card" id="status" aria-live="assertive">{ticket_status(v, c.lang)}</section>'
            f'<button id="alerts" type="button">{esc(t(c.lang, "alerts_on"))}</button>'
            f'<p class="note" id="conn">{esc(t(c.lang, "live"))}</p>')
    script = f'<script id="cfg" type="application/json">{data}</script><script>{TICKET_JS}</script>'
    return page(c, t(c.lang, "ticket_title"), body, script=script)


# --- 扫码取号 ------------------------------------------------------------------------------------------------------
def take_page(c: Chrome, businesses: Iterable[dict[str, Any]], *, nonce: str, error: str = "") -> str:
    """The business list as the kiosk shows it: waiting counts, hours, closed ones said so; an ID field where the
    business needs one."""
    cards = []
    for b in businesses:
        head = (f'<div class="row"><strong>{esc(b["name"])}</strong>'
                f'<span class="note">{esc(t(c.lang, "waiting_n", n=b["waiting"]))}</span></div>'
                f'<div class="note">{esc(t(c.lang, "hours"))}：{esc("、".join(b["hours"]))}</div>')
        if b["closed"]:
            cards.append(f'<div class="card">{head}<div class="warn">{esc(t(c.lang, "closed"))}：'
                         f'{esc(b["message"])}</div></div>')
            continue
        id_field = ""
        if b["id_required"]:
            id_field = (f'<label class="note">{esc(t(c.lang, "enter_id"))}<input name="id_number" required '
                        f'inputmode="text" autocomplete="off" maxlength="18" pattern="[0-9]{{17}}[0-9Xx]"></label>'
                        f'<div class="note">{esc(t(c.lang, "id_hint"))}</div>')
        cards.append(f'<form class="card" method="post"><input type="hidden" name="business" value="{esc(b["code"])}">'
                     f'<input type="hidden" name="nonce" value="{esc(nonce)}">{head}{id_field}'
                     f'<button type="submit">{esc(t(c.lang, "take"))} · {esc(b["name"])}</button></form>')
    err = f'<div class="bad" role="alert">{esc(error)}</div>' if error else ""
    listing = "".join(cards) or f'<div class="warn">{esc(t(c.lang, "no_business"))}</div>'
    return page(c, t(c.lang, "take_title"),
                f'<h1>{esc(t(c.lang, "take_title"))}</h1>{err}<p>{esc(t(c.lang, "take_ticket"))}</p>{listing}')


# --- appointments --------------------------------------------------------------------------------------------------
def day_label(lang: str, day: date) -> str:
    return f"{day:%m-%d} 周{'一二三四五六日'[day.weekday()]}" if lang == "zh" else day.isoformat()


def book_page(c: Chrome, businesses: list[dict[str, Any]], chosen: dict[str, Any] | None,
              days: list[tuple[date, list[str]]], *, nonce: str, error: str = "") -> str:
    """Book in two steps: the businesses that take appointments, then the chosen one's days and slots (each slot a
    submit button of one form)."""
    err = f'<div class="bad" role="alert">{esc(error)}</div>' if error else ""
    title = f'<h1>{esc(t(c.lang, "appt_title"))}</h1>{err}'
    if chosen is None:
        links = "".join(f'<a class="button secondary" href="/a?business={esc(b["code"])}">{esc(b["name"])}</a>'
                        for b in businesses)
        listing = (f'<p>{esc(t(c.lang, "take_ticket"))}</p>{links}' if links
                   else f'<div class="warn">{esc(t(c.lang, "appt_none"))}</div>')
        return page(c, t(c.lang, "appt_title"), title + listing)
    if not days:
        body = f'<div class="card"><strong>{esc(chosen["name"])}</strong><div class="warn">' \
               f'{esc(t(c.lang, "appt_no_days"))}</div></div>'
    else:
        rows = []
        for day, slots in days:
            buttons = "".join(f'<button class="secondary" name="slot" value="{esc(day.isoformat())} {esc(s)}">'
                              f'{esc(s)}</button>' for s in slots)
            rows.append(f'<div class="label">{esc(day_label(c.lang, day))}</div><div class="slots">{buttons}</div>')
        needed = chosen["id_required"]
        id_field = (f'<label class="note">{esc(t(c.lang, "enter_id" if needed else "id_optional"))}'
                    f'<input name="id_number" {"required " if needed else ""}autocomplete="off" '
                    f'maxlength="18" pattern="[0-9]{{17}}[0-9Xx]"></label>')
        body = (f'<form class="card" method="post" action="/a?business={esc(chosen["code"])}">'
                f'<input type="hidden" name="business" value="{esc(chosen["code"])}">'
                f'<input type="hidden" name="nonce" value="{esc(nonce)}"><strong class="biz">{esc(chosen["name"])}'
                f'</strong>{id_field}<div class="label">{esc(t(c.lang, "appt_slot"))}</div>{"".join(rows)}</form>')
    return page(c, t(c.lang, "appt_title"), title + body + f'<a class="button secondary" href="/a">'
                f'{esc(t(c.lang, "back"))}</a>')


def appointment_page(c: Chrome, a: dict[str, Any], business_name: str, *, ticket_token: str | None,
                     error: str = "") -> str:
    """One booking: code, business, day and slot, its state; cancel while booked.  No personal data."""
    state = {"booked": "appt_booked", "checked_in": "appt_checked_in", "cancelled": "appt_cancelled",
             "no_show": "appt_no_show"}.get(a["status"], "appt_booked")
    day = date.fromisoformat(a["date"])
    body = (f'<h1>{esc(t(c.lang, "appt_title"))}</h1>'
            + (f'<div class="bad" role="alert">{esc(error)}</div>' if error else "")
            + f'<section class="card"><div class="label">{esc(t(c.lang, "appt_code"))}</div>'
            f'<div class="number">{esc(a["code"])}</div>'
            f'<div class="biz">{esc(t(c.lang, "business"))}：{esc(business_name)}</div>'
            f'<div class="big">{esc(day_label(c.lang, day))} {esc(a["slot_start"])}–{esc(a["slot_end"])}</div>'
            f'<div class="{"bad" if a["status"] in ("cancelled", "no_show") else "ok"}" id="appt-state">'
            f'{esc(t(c.lang, state))}'
            '</div></section>')
    if a["status"] == "booked":
        body += (f'<p>{esc(t(c.lang, "appt_how"))}</p><p class="note">{esc(t(c.lang, "appt_keep"))}</p>'
                 f'<form method="post"><input type="hidden" name="action" value="cancel">'
                 f'<button class="secondary" type="submit">{esc(t(c.lang, "appt_cancel"))}</button></form>')
    elif ticket_token:
        body += f'<a class="button" href="/t/{esc(ticket_token)}">{esc(t(c.lang, "view_ticket"))}</a>'
    body += f'<a class="button secondary" href="/a">{esc(t(c.lang, "appt_new"))}</a>'
    return page(c, t(c.lang, "appt_title"), body)
