"""The phone pages' routes (Starlette): the ticket's live page, 扫码取号 behind the door poster's daily token, and
appointments.  Commands go to the Hall in a worker thread (they wait for the disk); reads run on the loop, as the
hub's do.  A bad link, an expired ticket, a refusal or a bug each get a clear page in the citizen's language."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from kiosk.core import appointments, phone
from kiosk.core import errors as E
from kiosk.core.context import Operator, acting
from kiosk.core.errors import HallError
from kiosk.core.privacy import ScrubLogFilter
from kiosk.web import booking, pages
from kiosk.web.hub import Hub
from kiosk.web.pages import Chrome
from kiosk.web.settings import WebSettings
from kiosk.web.text import error_text, pick_language, t

log = logging.getLogger(__name__)
log.addFilter(ScrubLogFilter())  # a form may hold an ID number: never in the log

KEEPALIVE_S = 15.0  # a comment line this often keeps Wi-Fi NATs and proxies from closing a quiet stream
MAX_FORM_BYTES = 4096
PHONE_COOKIE = "hall_phone"
SECURITY_HEADERS = {
    # the token is in the path: no Referer may carry it elsewhere, no cache may keep the page
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                                "connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
}


class RateLimit:
    """At most `per_hour` hits per key in any hour, over at most `max_keys` keys (the oldest forgotten first), so a
    flood of new phones costs bounded memory."""

    def __init__(self, per_hour: int, max_keys: int = 20000) -> None:
        self.per_hour, self.max_keys = per_hour, max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, None) or deque()
        while hits and now - hits[0] >= 3600:
            hits.popleft()
        ok = len(hits) < self.per_hour
        if ok:
            hits.append(now)
        self._hits[key] = hits
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return ok



PHONE_OPERATOR = Operator("citizen", phone.PHONE_TERMINAL)  # every command from the phone pages is a citizen's


def as_citizen(fn: Any, *args: Any, **kw: Any) -> Any:
    """Run a hall command as the citizen on a phone (the command context, kiosk/core/context.py)."""
    with acting(PHONE_OPERATOR):
        return fn(*args, **kw)

def create_app(hall: Any, settings: WebSettings, hub: Hub) -> Starlette:
    tokens = hall.tokens
    per_phone = RateLimit(settings.take_per_phone)
    per_address = RateLimit(settings.take_per_address)

    # --- what every page needs --------------------------------------------------------------------------------
    def chrome(request: Request) -> Chrome:
        q = request.query_params
        lang = pick_language(q.get("lang"), request.cookies.get("lang"), request.headers.get("accept-language", ""))
        large = (q.get("large") or request.cookies.get("large") or "0") == "1"
        rest = urlencode([(k, v) for k, v in q.multi_items() if k not in ("lang", "large")])
        return Chrome(hall.config.name, lang, large, request.url.path + (f"?{rest}" if rest else ""))

    def html(request: Request, c: Chrome, body: str, status: int = 200) -> HTMLResponse:
        r = HTMLResponse(body, status, headers=SECURITY_HEADERS)
        q = request.query_params
        if q.get("lang") == c.lang:  # remembered for the next page
            r.set_cookie("lang", c.lang, max_age=365 * 86400, samesite="lax", httponly=True)
        if q.get("large") in ("0", "1"):
            r.set_cookie("large", q["large"], max_age=365 * 86400, samesite="lax", httponly=True)
        return r

    def bad_link(request: Request, c: Chrome) -> HTMLResponse:
        return html(request, c, pages.message_page(c, t(c.lang, "bad_link_title"), t(c.lang, "bad_link")), 404)

    async def form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413)
        return {k: v[-1].strip() for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

    def limited(request: Request) -> bool:
        """Over the hourly limit of this phone (its cookie) or its network address."""
        address = request.client.host if request.client else "?"
        phone_id = request.cookies.get(PHONE_COOKIE) or f"address:{address}"
        return not (per_address.allow(f"address:{address}") and per_phone.allow(phone_id))

    def with_phone_cookie(request: Request, response: Response) -> Response:
        if not request.cookies.get(PHONE_COOKIE):
            response.set_cookie(PHONE_COOKIE, secrets.token_urlsafe(16), max_age=86400, samesite="lax", httponly=True)
        return response

    # --- the ticket's page ----------------------------------------------------------------------------------------
    def view_of(token: str) -> Any:
        tid = tokens.ticket_id(token)
        if tid is None:
            return None
        try:
            return tid, hub.view(tid)
        except E.TicketNotFound:
            return None

    async def ticket(request: Request) -> Response:
        c = chrome(request)
        token = request.path_params["token"]
        found = view_of(token)
        if found is None:
            return bad_link(request, c)
        _tid, v = found
        if v.state == "expired":
            return html(request, c, pages.message_page(c, t(c.lang, "expired_title"),
                                                       t(c.lang, "expired", date=v.local_date)), 410)
        return html(request, c, pages.ticket_page(c, v, token))

    async def ticket_state(request: Request) -> Response:
        """The same view as the stream's, for a browser without EventSource or past max_streams."""
        c = chrome(request)
        found = view_of(request.path_params["token"])
        if found is None:
            return JSONResponse({"error": "bad_link"}, 404, headers=SECURITY_HEADERS)
        data = json.loads(hub.message(found[1], c.lang).split("data: ", 1)[1])
        return JSONResponse(data, headers=SECURITY_HEADERS)

    async def ticket_events(request: Request) -> Response:
        c = chrome(request)
        found = view_of(request.path_params["token"])
        if found is None:
            return Response(status_code=404, headers=SECURITY_HEADERS)
        tid, v = found
        headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
        stream = hub.open(tid, c.lang)
        if stream is None:  # past max_streams: the page polls /state instead
            return Response("retry: 60000\nevent: poll\ndata: {}\n\n", media_type="text/event-stream",
                            headers=headers)
        stream.push(hub.message(v, c.lang))

        async def body() -> AsyncIterator[str]:
            try:
                yield "retry: 3000\n\n"
                while True:
                    message = await stream.next(KEEPALIVE_S)
                    if message is None:
                        yield ": keep-alive\n\n"
                    elif message == "":  # the server is stopping
                        return
                    else:
                        yield message
            finally:
                hub.close(stream)

        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    # --- 扫码取号 ---------------------------------------------------------------------------------------------------
    def businesses() -> list[dict[str, Any]]:
        counts = {r["business"]: r for r in hall.waiting_counts()}
        return [{"code": b.code, "name": b.name, "hours": b.hours, "waiting": counts[b.code]["waiting"],
                 "closed": counts[b.code]["closed"], "message": counts[b.code]["message"],
                 "id_required": b.id_required or hall.config.rules.id_required} for b in hall.config.businesses]

    async def take(request: Request) -> Response:
        c = chrome(request)
        if not tokens.poster_ok(request.path_params["token"], hall.today()):
            return html(request, c, pages.message_page(c, t(c.lang, "poster_old_title"), t(c.lang, "poster_old")),
                        403)
        error = ""
        if request.method == "POST":
            f = await form(request)
            if limited(request):
                error = t(c.lang, "too_many")
            else:
                try:
                    result = await run_in_threadpool(
                        as_citizen, hall.issue_ticket, f.get("business", ""), id_number=f.get("id_number") or None,
                        terminal=phone.PHONE_TERMINAL, idem_key=f"phone:{f.get('nonce') or secrets.token_hex(8)}")
                except HallError as exc:
                    error = error_text(c.lang, exc)
                else:
                    return RedirectResponse(f"/t/{tokens.ticket(result.value.ticket['id'])}", 303)
        body = pages.take_page(c, businesses(), nonce=secrets.token_urlsafe(12), error=error)
        return with_phone_cookie(request, html(request, c, body))

    # --- appointments ---------------------------------------------------------------------------------------------
    def bookable() -> list[Any]:
        return [b for b in hall.config.businesses if b.appointments]

    async def book(request: Request) -> Response:
        c = chrome(request)
        rows = {b.code: {"code": b.code, "name": b.name, "id_required": b.id_required or hall.config.rules.id_required}
                for b in bookable()}
        chosen = rows.get(request.query_params.get("business", ""))
        days = booking.offer(hall, settings, hall.config.business(chosen["code"])) if chosen else []
        error = ""
        if request.method == "POST" and chosen is not None:
            f = await form(request)
            day_text, _, slot = f.get("slot", "").partition(" ")
            offered = dict(days)
            try:
                day: date | None = date.fromisoformat(day_text)
            except ValueError:
                day = None
            if limited(request):
                error = t(c.lang, "too_many")
            elif day is None or slot not in offered.get(day, []):
                error = t(c.lang, "appt_no_days")
            else:
                start, _, _end = slot.partition("-")
                try:
                    result = await run_in_threadpool(
                        as_citizen, appointments.book, hall, chosen["code"], day, start,
                        id_number=f.get("id_number") or None, source="phone",
                        idem_key=f"phone-book:{f.get('nonce') or secrets.token_hex(8)}")
                except HallError as exc:
                    error = error_text(c.lang, exc)
                else:
                    booked = result.events[0].payload["appointment"]["code"]  # a replayed key too
                    return RedirectResponse(f"/a/{tokens.appointment(booked)}", 303)
        body = pages.book_page(c, list(rows.values()), chosen, days, nonce=secrets.token_urlsafe(12), error=error)
        return with_phone_cookie(request, html(request, c, body))

    async def appointment(request: Request) -> Response:
        c = chrome(request)
        code = tokens.appointment_code(request.path_params["token"])
        a = phone.appointment(hall, code) if code else None
        if a is None:
            return bad_link(request, c)
        error = ""
        if request.method == "POST":
            f = await form(request)
            if f.get("action") == "cancel":
                try:
                    await run_in_threadpool(as_citizen, appointments.cancel, hall, a["code"], source="phone")
                except HallError as exc:
                    error = error_text(c.lang, exc)
                else:
                    return RedirectResponse(request.url.path, 303)
        b = hall.config.business(a["business"])
        ticket_token = tokens.ticket(a["ticket_id"]) if a["ticket_id"] else None
        body = pages.appointment_page(c, a, b.name if b else a["business"], ticket_token=ticket_token, error=error)
        return html(request, c, body)

    # --- the rest ---------------------------------------------------------------------------------------------------
    async def home(request: Request) -> Response:
        c = chrome(request)
        return html(request, c, pages.message_page(c, t(c.lang, "not_found_title"), t(c.lang, "not_found"),
                                                   kind="warn", link=("/a", t(c.lang, "appt_title"))))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "streams": hub.count}, headers=SECURITY_HEADERS)

    async def not_found(request: Request, exc: Exception) -> Response:
        c = chrome(request)
        status = getattr(exc, "status_code", 404)
        if status == 404:
            return html(request, c, pages.message_page(c, t(c.lang, "not_found_title"), t(c.lang, "not_found")), 404)
        return html(request, c, pages.message_page(c, t(c.lang, "failed_title"), t(c.lang, "busy")), status)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("phone page %s failed: %r", request.url.path[:3], exc)  # the path holds a token: not logged
        c = chrome(request)
        return html(request, c, pages.message_page(c, t(c.lang, "failed_title"), t(c.lang, "busy")), 500)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            hub.detach()

    routes = [
        Route("/", home),
        Route("/t/{token}", ticket),
        Route("/t/{token}/state", ticket_state),
        Route("/t/{token}/events", ticket_events),
        Route("/q/{token}", take, methods=["GET", "POST"]),
        Route("/a", book, methods=["GET", "POST"]),
        Route("/a/{token}", appointment, methods=["GET", "POST"]),
        Route("/healthz", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={HTTPException: not_found, Exception: server_error})
