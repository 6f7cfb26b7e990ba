"""Hall LAN clients: LanServer serves the one Hall to screens on other PCs; RemoteHall is their proxy.

Wire (docs/sync-contract.md "LAN clients"): a client publishes a LanRequest on hall/{hall}/cmd/{client}/{method};
the server runs the allow-listed method on a worker thread and answers with a LanReply on hall/{hall}/reply/{client}.
Every committed event goes to hall/{hall}/lan/event (QoS 1, seq order) and a heartbeat with the last published seq
to hall/{hall}/lan/heartbeat, so a client notices both a gap (re-read with events_after) and a dead server.

Threads.  Server: paho's thread only acks and enqueues requests; `workers` threads run them on the Hall; one
publisher thread sends events and heartbeats.  Client: the caller's thread publishes a request and waits on its slot;
paho's thread fills slots and queues events; one dispatcher thread repairs gaps and calls subscribers in seq order.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import logging
import queue
import re
import secrets
import socket
import sys
import threading
import time
import types
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from kiosk.core import appointments as core_appointments
from kiosk.core import cases as core_cases
from kiosk.core import errors as core_errors
from kiosk.core import holidays as core_holidays
from kiosk.core import rectify as core_rectify
from kiosk.core import staff as core_staff
from kiosk.core.config import HallConfig
from kiosk.core.context import Operator, acting, anonymous, current
from kiosk.core.context import staff as staff_operator
from kiosk.core.errors import ConfigError, HallError
from kiosk.core.events import Event, EventBus
from kiosk.core.hall import Issued, Result
from kiosk.core.privacy import ScrubLogFilter, scrub_text
from kiosk.core.report import BY_CHOICES, Report, report_for
from sync import contract
from sync.link import ONLINE, InMessage, Link
from sync.settings import SyncSettings, parse_lan_settings, read_client_file

log = logging.getLogger(__name__)
log.addFilter(ScrubLogFilter())  # a refused request's arguments (an ID number) must not reach the log

# --- what a LAN client may call ---------------------------------------------------------------------------------
# Exactly what kiosk.ui.client.HallClient, Cases' screen calls and a kiosk's own printer (devices.supervisor) need.
# Nothing that reaches the store or runs arbitrary bodies (run, store, book_appointment …) is here; staff accounts
# are managed on the server (`hall staff`), a caller only signs in with its PIN and signs out.
HALL_QUERIES = frozenset({
    "ahead_of", "bad_ratings", "counts", "devices", "events_after", "find_ticket", "has_staff_accounts", "held",
    "notice",
    "rating_summary", "recent_calls", "ticket", "times", "waiting", "waiting_counts", "window", "windows",
})
HALL_COMMANDS = frozenset({
    "call_next", "call_ticket", "check_in", "close_business", "complete_rating_reason", "finish_service", "hold",
    "issue_ticket", "mark_unrated", "no_show", "open_business", "pause", "rate", "recall", "report_device_health",
    "report_print", "request_rating", "resume_ticket", "resume_window", "set_notice", "sign_in", "start_service",
    "tick", "transfer", "void", "sign_in_staff", "sign_out",
})
# The window commands (Hall's, on one window): from a dashboard, a signed-in manager's only (LanServer._execute)
WINDOW_COMMANDS = frozenset({
    "call_next", "call_ticket", "recall", "no_show", "start_service", "finish_service", "transfer", "hold",
    "resume_ticket", "pause", "resume_window", "request_rating", "sign_out",
})
# Commands that take idem_key: the client makes one per call and retries with it after a lost reply.
HALL_IDEMPOTENT = frozenset({"issue_ticket", "check_in", "call_next", "call_ticket", "rate"})
CASES_QUERIES = frozenset({"cases.cards", "cases.card_counts", "cases.case", "cases.figures", "cases.rectifications",
                           "cases.my_rectifications", "cases.rectification", "cases.calendar_status"})
# 整改 (kiosk/core/rectify.py): the steps a manager takes on the dashboard, and the clerk's own 申诉 on the caller
RECTIFY_MANAGER = frozenset({"cases.verify_rectification", "cases.rectify", "cases.revisit", "cases.decide_appeal"})
RECTIFY_CLERK = frozenset({"cases.appeal_rectification"})
CASES_COMMANDS = frozenset({"cases.lookup", "cases.link_ticket"}) | RECTIFY_MANAGER | RECTIFY_CLERK
SERVER_QUERIES = frozenset({"hello", "config", "catalog_for", "catalog_items", "catalog_menu"})
# 预约 (kiosk/core/appointments.py): the slots and one booking's public view for anyone; the desk's list (masked IDs
# and names) for staff screens only; booking and cancelling take an idem_key like issuing
APPOINTMENTS_QUERIES = frozenset({"appointments.offer", "appointments.get"})
APPOINTMENTS_DESK = frozenset({"appointments.listing"})
APPOINTMENTS_COMMANDS = frozenset({"appointments.book", "appointments.cancel"})
# 人员 (kiosk/core/staff.py Staff): the accounts and their management, for the dashboard (a manager) only — never a
# caller, kiosk, board or evaluator; PINs travel in the request only and are never logged or answered
STAFF_MANAGE = frozenset({"staff.members", "staff.add", "staff.disable", "staff.reset_pin", "staff.set_roster"})
# 登录 at a staff screen (the dashboard's manager, a caller's covering manager): the PIN checked on the server, which
# answers a session token; the client's later requests act for that person (LanServer._operator), never beyond
STAFF_SIGNIN = frozenset({"staff.verify"})
# 报表 (kiosk/core/report.py): computed on the server, drawn by the dashboard; a manager's or admin's once the hall
# has accounts (LanServer._report checks, as a report is a query no Hall.run authorizes)
REPORTS = frozenset({"report.build"})
QUERIES = HALL_QUERIES | CASES_QUERIES | SERVER_QUERIES | APPOINTMENTS_QUERIES
ALLOWED = (QUERIES | HALL_COMMANDS | CASES_COMMANDS | APPOINTMENTS_DESK | APPOINTMENTS_COMMANDS | STAFF_MANAGE
           | STAFF_SIGNIN | REPORTS)
# Safe to send again after a timeout: reads, idem_key commands, and the two whose repeat changes nothing.
RETRYABLE = (QUERIES | HALL_IDEMPOTENT | APPOINTMENTS_DESK | APPOINTMENTS_COMMANDS | REPORTS
             | {"tick", "report_device_health", "staff.members"})
# What each kind of screen may do, when the server is given a client → role map (a board in the public area
# cannot void a ticket even with its own credentials stolen).  Without a map every client may call ALLOWED.
ROLE_METHODS: dict[str, frozenset[str]] = {
    "board": QUERIES,
    "kiosk": QUERIES | APPOINTMENTS_COMMANDS | {"issue_ticket", "check_in", "report_print", "report_device_health",
                                                "cases.lookup", "tick"},
    "evaluator": QUERIES | {"rate", "complete_rating_reason", "mark_unrated", "report_device_health", "tick"},
    "caller": ALLOWED - {"close_business", "open_business", "set_notice"} - RECTIFY_MANAGER - STAFF_MANAGE - REPORTS,
    "dashboard": ALLOWED,
}

SESSION_S = 12 * 3600  # a LAN sign-in lasts a long working day; the server's restart ends it sooner (its key is new)

# A reply must fit under the broker's max_packet_size (packaging/mosquitto: 260 KiB) with its topic and headers.
MAX_REPLY_BYTES = 240 * 1024
EVENTS_PAGE = 200  # events per events_after reply; halved until the reply fits
# report.build: at most a year a request.  A year by day is 366 rows: 129 KiB as sent with every figure filled at
# full precision and 60 windows (tests/sync/test_lan_report.py measures it), under MAX_REPLY_BYTES with room to spare.
REPORT_MAX_DAYS = 366
REPORT_ACTION = "生成报表"  # what staff.ManagerRequired says the manager is needed for
# How long a client waits for a report.  Measured (a simulated demo hall, 8 windows, ~400 tickets a working day):
# a month by day takes 2 s on the server, a quarter 16 s, half a year 57 s, a year 3-4 min: the time grows with the
# square of the days (build_report's pause/idle walk), so a year outlasts this wait: the page then says the server
# is busy (LanBusy), and the server refuses another report until that one ends.
REPORT_WAIT_S = 60.0
MAX_ARG_DEPTH = 16  # a screen sends flat values; deeper arguments are refused before they reach the Hall
_SECRET_KEYS = frozenset({"secret", "password"})
_ID_RE = re.compile(rb'"id"\s*:\s*"([A-Za-z0-9_.:-]{1,64})"')


# --- refusals the LAN itself adds (HallError, so screens show them like any other refusal) ------------------------
class LanUnavailable(HallError):
    """No answer from the hall server in time (broker or server down, cable out)."""

    key = "lan_unavailable"
    template = "与大厅服务器的连接中断"


class LanRefused(HallError):
    key = "lan_method_not_allowed"
    template = "大厅服务器不接受这个请求：{method}"


class LanBadRequest(HallError):
    key = "lan_bad_request"
    template = "请求格式不正确：{detail}"


class LanServerError(HallError):
    key = "lan_server_error"
    template = "大厅服务器处理出错，请稍后再试"


class LanBusy(HallError):
    key = "lan_busy"
    template = "大厅服务器繁忙，请稍后再试"


def _build_registry() -> dict[str, type[HallError]]:
    out: dict[str, type[HallError]] = {}
    for mod in (core_errors, core_cases, core_rectify, core_holidays, core_staff, sys.modules[__name__]):
        for v in vars(mod).values():
            if isinstance(v, type) and issubclass(v, HallError):
                out.setdefault(v.key, v)
    return out


ERRORS: dict[str, type[HallError]] = _build_registry()
_errors_lock = threading.Lock()


def error_class(key: str, message: str = "") -> type[HallError]:
    """The HallError subclass for a key; an unknown key (a newer server) becomes a subclass carrying its message."""
    with _errors_lock:
        cls = ERRORS.get(key)
        if cls is None:
            name = "".join(p.capitalize() for p in key.split("_")) or "Remote"
            cls = type(name, (HallError,), {"key": key, "template": message.replace("{", "{{").replace("}", "}}")
                                            or HallError.template})
            ERRORS[key] = cls
        return cls


# --- codec ---------------------------------------------------------------------------------------------------
def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Event):
        return obj.to_dict()
    return str(obj)  # anything else exotic (a Path in a refusal's params) travels as text


_enc = msgspec.json.Encoder(enc_hook=_enc_hook)


def _reply_bytes(rid: str | None, value: Any) -> bytes:
    kind, out, events = "plain", value, []
    if isinstance(value, Result):
        events = [e.to_dict() for e in value.events]
        if isinstance(value.value, Issued):
            kind, out = "issued", {"ticket": value.value.ticket, "ahead": value.value.ahead}
        else:
            kind, out = "result", value.value
    elif isinstance(value, list) and value and all(isinstance(e, Event) for e in value):
        kind, out, events = "events", None, [e.to_dict() for e in value]
    return _enc.encode(contract.LanReply(id=rid, ok=True, kind=kind, value=out, events=events))  # type: ignore[arg-type]


def _error_bytes(rid: str | None, exc: HallError) -> bytes:
    err = contract.LanError(key=exc.key, params=dict(exc.params), message=exc.message[:2000])
    return _enc.encode(contract.LanReply(id=rid, ok=False, error=err))


def _event(d: dict[str, Any] | contract.LanEvent) -> Event:
    if isinstance(d, contract.LanEvent):
        return Event(d.seq, d.id, d.kind, d.at_utc, d.local_date, d.payload, d.actor, d.terminal)
    return Event(int(d["seq"]), str(d["id"]), str(d["kind"]), str(d["at_utc"]), str(d["local_date"]),
                 dict(d.get("payload") or {}), str(d.get("actor") or ""), str(d.get("terminal") or ""))


def _iso_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LanBadRequest(detail=f"report.build: argument '{name}' must be a date YYYY-MM-DD") from None


def _salvage_id(payload: bytes) -> str | None:
    """The request id of a request that failed validation, so its sender gets an answer instead of a timeout.
    Read from the first KiB only: an oversized payload is never parsed."""
    m = _ID_RE.search(payload[:1024])
    return m.group(1).decode() if m else None


def _too_deep(values: Any, limit: int = MAX_ARG_DEPTH) -> bool:
    """Nested deeper than `limit`; iterative, so the check itself cannot run out of stack."""
    stack = [(values, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth >= limit:
                return True
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


def _type_ok(value: Any, hint: Any) -> bool:
    """Does a JSON value fit a parameter's annotation?  Each member of a union on its own, as msgspec refuses
    unions like `Level | str`; a type msgspec cannot check is left to the method."""
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    for member in typing.get_args(hint) if union else (hint,):
        if member is Any:
            return True
        try:
            msgspec.convert(value, member)
        except msgspec.ValidationError:
            continue
        except TypeError:
            return True
        return True
    return False


def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "").replace("NoneType", "None")


def _json_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "array", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__)


def check_arguments(method: str, fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """LanBadRequest naming what is wrong (missing, unknown, too many, wrong type, too deep) before `fn` runs;
    the reason never quotes a value, which may be an ID number."""
    if _too_deep(list(args)) or _too_deep(kwargs):
        raise LanBadRequest(detail=f"{method}: arguments nested deeper than {MAX_ARG_DEPTH} levels")
    sig, hints = _signature(fn)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise LanBadRequest(detail=scrub_text(f"{method}: {e}")[:300]) from None
    for name, value in bound.arguments.items():
        hint = hints.get(name, Any)
        if sig.parameters[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if not _type_ok(value, hint):
            raise LanBadRequest(detail=f"{method}: argument '{name}' must be {_hint_name(hint)}, "
                                       f"not {_json_type(value)}"[:300])


_signatures: dict[Any, tuple[inspect.Signature, dict[str, Any]]] = {}


def _signature(fn: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    key = getattr(fn, "__func__", fn)
    got = _signatures.get(key)
    if got is None:
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # an annotation that does not resolve here: only the signature is checked
            hints = {}
        got = _signatures[key] = (inspect.signature(fn), hints)
    return got


def _scrub(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: ("" if k in _SECRET_KEYS and isinstance(v, str) else _scrub(v)) for k, v in d.items()}
    if isinstance(d, list):
        return [_scrub(v) for v in d]
    return d


def config_for_clients(config: HallConfig) -> dict[str, Any]:
    """The hall config a screen needs, without the ID-hash secret and the central/LAN credentials."""
    d: dict[str, Any] = msgspec.to_builtins(config)
    d["sync"] = {}
    if "lan" in d:
        d["lan"] = {}
    scrubbed: dict[str, Any] = _scrub(d)
    return scrubbed


class _LanLink(Link):
    """A Link with TCP_NODELAY: a LAN call is a small request and a small reply, and Nagle's algorithm against
    delayed ACKs adds ~40 ms per hop (88 ms a call measured on loopback, 1-2 ms without; the broker needs
    `set_tcp_nodelay true` for its half, see packaging/mosquitto/hall-broker.conf)."""

    def _make_client(self, gen: int) -> Any:
        client = super()._make_client(gen)
        client.on_socket_open = _nodelay
        return client


def _nodelay(client: Any, userdata: Any, sock: Any) -> None:
    with suppress(OSError, AttributeError, ValueError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# ================================================================================================================
# server
# ================================================================================================================
class LanServer:
    """Serves `hall` to LAN clients.  Start it next to the Hall in `hall run server`; stop it before the store."""

    def __init__(self, hall: Any, settings: SyncSettings, *, workers: int = 4, heartbeat_s: float = 2.0,
                 queue_size: int = 1000, remember: int = 4096, clients: dict[str, str] | None = None) -> None:
        """clients: client id → role (ROLE_METHODS); when given, an unlisted client is refused everything."""
        for cid, role in (clients or {}).items():
            if role not in ROLE_METHODS or not contract.CLIENT_ID_RE.match(cid):
                raise ConfigError(f"option 'clients' in section [lan]: {cid!r} = {role!r} is not a client id and "
                                  f"one of {', '.join(sorted(ROLE_METHODS))}", option="clients", section="lan")
        self.clients = dict(clients) if clients is not None else None
        self.hall = hall
        # signs the session tokens of LAN sign-ins; kept in memory only, so a token is worth nothing elsewhere
        self._session_key = secrets.token_bytes(32)
        self.hall_id: str = hall.config.hall_id
        # a clean session: commands queued at the broker while the server was down must not run minutes later
        self.settings = msgspec.structs.replace(settings, session_expiry=0)
        self.heartbeat_s = heartbeat_s
        self.boot = uuid.uuid4().hex[:12]
        self.last_seq = 0  # the last event handed to the broker (or dropped while offline: clients repair gaps)
        self._n_workers = max(1, workers)
        self._jobs: queue.Queue[tuple[str, bytes] | None] = queue.Queue(queue_size)
        self._events: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        # (client, request id) → encoded reply, or None while running: a redelivered or resent request is answered
        # from here and never runs twice while this server lives (idem_key covers a restart)
        self._done: OrderedDict[tuple[str, str], bytes | None] = OrderedDict()
        self._done_lock = threading.Lock()
        self._remember = remember
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._cases: Any = None
        self._cases_lock = threading.Lock()
        self._report_lock = threading.Lock()  # one report at a time: the workers are the kiosks' too
        self.counters = {"requests": 0, "errors": 0, "refused": 0, "malformed": 0, "replayed": 0, "busy": 0}
        self.last_error = ""
        offline = contract.PresenceMsg(hall_id=self.hall_id, state="offline", region=hall.config.hall.region,
                                       name=hall.config.name)
        self.link = _LanLink(
            self.settings,
            client_id=f"{settings.client_id or 'hall-' + self.hall_id}-lan",
            name=f"lan[{self.hall_id}]",
            subscriptions=[(contract.lan_cmd_filter(self.hall_id), contract.QOS)],
            will=(contract.lan_server_topic(self.hall_id), contract.encode(offline), True),
            birth=self._birth,
            on_message=self._on_message,
        )

    @classmethod
    def from_section(cls, hall: Any, section: dict[str, Any], **kw: Any) -> LanServer | None:
        """None when the section is empty or says enabled = false (every role in one process, no LAN)."""
        if not section:
            return None
        settings = parse_lan_settings(section)  # [lan.clients] kiosk1 = "kiosk", board1 = "board", …
        return cls(hall, settings, clients=settings.clients, **kw) if settings.enabled else None

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._unsubscribe = self.hall.subscribe(self._events.put)  # returns at once, as the bus requires
        self.last_seq = int(self.hall.store.last_seq())  # read after subscribing: nothing falls between
        for i in range(self._n_workers):
            self._threads.append(threading.Thread(target=self._work, name=f"lan-worker-{i}", daemon=True))
        self._threads.append(threading.Thread(target=self._publish_loop, name="lan-events", daemon=True))
        for t in self._threads:
            t.start()
        self.link.start()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.link.stop()
        for _ in range(self._n_workers):
            self._jobs.put(None)
        self._events.put(None)
        for t in self._threads:
            t.join(5)
        self._threads = []

    def status(self) -> dict[str, Any]:
        """For the dashboard: link state, counters, the last published seq and the last error."""
        return {**self.link.status(), **self.counters, "last_seq": self.last_seq, "boot": self.boot,
                "queued": self._jobs.qsize(), "lan_error": self.last_error}

    @property
    def cases(self) -> Any:
        with self._cases_lock:
            if self._cases is None:
                self._cases = core_cases.Cases(self.hall)
            return self._cases

    @property
    def appointments(self) -> core_appointments.Appointments:
        return core_appointments.Appointments(self.hall)  # stateless: a view of the hall

    def _birth(self) -> tuple[str, bytes, bool]:
        cfg = self.hall.config
        msg = contract.PresenceMsg(hall_id=self.hall_id, state="online", at_utc=datetime.now(UTC),
                                   region=cfg.hall.region, name=cfg.name)
        return contract.lan_server_topic(self.hall_id), contract.encode(msg), True

    # --- paho's thread: ack and hand off -------------------------------------------------------------------------
    def _on_message(self, msg: InMessage) -> None:
        self.link.ack(msg)  # a request lost after this is resent by its client, never by the broker
        try:
            self._jobs.put_nowait((msg.topic, msg.payload))
        except queue.Full:
            self.counters["busy"] += 1
            try:
                client, _ = contract.parse_lan_cmd_topic(msg.topic, self.hall_id)
            except contract.ContractError:
                return
            self._publish_reply(client, _error_bytes(_salvage_id(msg.payload), LanBusy()))

    # --- workers ---------------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._handle(*job)
            except Exception as e:  # a bug must cost one request, never the worker
                self._fail(f"request on {job[0][:200]} failed: {e!r}")
                log.exception("lan: request on %s failed", job[0][:200])

    def _handle(self, topic: str, payload: bytes) -> None:
        self.counters["requests"] += 1
        try:
            client, method = contract.parse_lan_cmd_topic(topic, self.hall_id)
        except contract.ContractError as e:  # nobody to answer: the topic names no client
            self.counters["malformed"] += 1
            self._fail(str(e))
            return
        try:
            req = contract.decode_lan_request(payload)
        except (contract.ContractError, RecursionError) as e:
            self.counters["malformed"] += 1
            detail = f"JSON nested too deeply: {e}" if isinstance(e, RecursionError) else str(e)
            self._fail(f"{client}/{method}: {detail}")
            self._publish_reply(client, _error_bytes(_salvage_id(payload), LanBadRequest(detail=detail[:300])))
            return
        key = (client, req.id)
        with self._done_lock:
            if key in self._done:
                cached = self._done[key]
                if cached is None:
                    return  # the first delivery is still running; its reply answers this one too
                self._done.move_to_end(key)
            else:
                cached = None
                self._done[key] = None
                while len(self._done) > self._remember:
                    self._done.popitem(last=False)
        if cached is not None:
            self.counters["replayed"] += 1
            self._publish_reply(client, cached)
            return
        data: bytes | None = None
        try:
            data = self._execute(client, method, req)
        finally:
            with self._done_lock:
                if data is None:
                    self._done.pop(key, None)  # failed outright: a resend may try again
                else:
                    self._done[key] = data
        self._publish_reply(client, data)

    def _execute(self, client: str, method: str, req: contract.LanRequest) -> bytes:
        allowed = ALLOWED if self.clients is None else ROLE_METHODS.get(self.clients.get(client, ""), frozenset())
        if method not in allowed:
            self.counters["refused"] += 1
            self._fail(f"{client}: method {method!r} is not allowed")
            return _error_bytes(req.id, LanRefused(method=method))
        try:
            fn = self._target(method)
            check_arguments(method, fn, req.args, req.kwargs)
        except LanBadRequest as e:
            self.counters["malformed"] += 1
            self._fail(f"{client}/{e.params['detail']}")
            return _error_bytes(req.id, e)
        try:
            op = self._operator(client, req.session)
            if method in WINDOW_COMMANDS and not op.is_person and self.clients is not None \
                    and self.clients.get(client) == "dashboard" and core_staff.any_accounts(self.hall.store.conn()):
                # a caller's window commands are its window's clerk's; a dashboard is nobody's window: there a
                # window command is a manager's, signed in (who then passes the hall's own window check)
                raise core_staff.ManagerRequired(action="操作窗口")
            with acting(op):
                value = fn(*req.args, **req.kwargs)
            if method in STAFF_SIGNIN:  # signed in: the token that names this person on this client from now on
                value = {**value, "session": self.session_token(client, value["staff_no"], value["role"])}
        except HallError as e:
            return _error_bytes(req.id, e)
        except (TypeError, ValueError, KeyError) as e:  # wrong arguments from the client
            self.counters["errors"] += 1
            self._fail(f"{client}/{method}: {e!r}")
            return _error_bytes(req.id, LanBadRequest(detail=f"{method}: {e}"[:300]))
        except Exception as e:
            self.counters["errors"] += 1
            self._fail(f"{client}/{method} failed: {e!r}")
            log.exception("lan: %s from %s failed", method, client)
            return _error_bytes(req.id, LanServerError())
        data = _reply_bytes(req.id, value)
        if len(data) > MAX_REPLY_BYTES:
            self.counters["errors"] += 1
            self._fail(f"{client}/{method}: reply of {len(data)} bytes is too big for the broker")
            return _error_bytes(req.id, LanBadRequest(detail=f"{method}: 结果太大，请缩小查询范围"))
        return data

    def _operator(self, client: str, session: str | None = None) -> Operator:
        """Who a LAN client's command is done by: the terminal is the client id the broker vouches for.  The person
        its session token names, when the token is this server's, for this client, unexpired and its account still
        active (with the account's role now); else a kiosk or an evaluator serves citizens and any other screen is
        anonymous (a caller's window commands are its window's signed-in clerk's, filled in by the hall)."""
        terminal = f"lan:{client}"
        if session:
            person = self._session_person(client, session)
            if person is not None:
                return staff_operator(person[0], terminal, person[1])
        role = (self.clients or {}).get(client, "")
        return Operator("citizen", terminal) if role in ("kiosk", "evaluator") else anonymous(terminal)

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._session_key, body, hashlib.sha256).hexdigest()

    def session_token(self, client: str, staff_no: str, role: str, expires: float | None = None) -> str:
        """base64url(JSON [client, staff_no, role, expiry]) "." HMAC-SHA256 of it under this server's key."""
        exp = int(expires if expires is not None else time.time() + SESSION_S)
        body = base64.urlsafe_b64encode(json.dumps([client, staff_no, role, exp]).encode()).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}"

    def _session_person(self, client: str, token: str) -> tuple[str, str] | None:
        """(staff_no, role) of a valid token for `client`; None for a forged, another client's, an expired token,
        or one whose account was disabled or changed role since."""
        body, _, sig = token.rpartition(".")
        if not body or not hmac.compare_digest(sig.encode(), self._sign(body.encode()).encode()):
            return None
        try:
            cid, staff_no, role, exp = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            return None
        if cid != client or not isinstance(exp, int) or exp <= time.time():
            return None
        if core_staff.active_role(self.hall.store.conn(), str(staff_no)) != role:
            return None
        return str(staff_no), str(role)

    def _target(self, method: str) -> Callable[..., Any]:
        """The callable an allowed method runs; its signature and annotations are what a request is checked by."""
        own = {"hello": self._hello, "config": self._config, "catalog_for": self._catalog_for,
               "catalog_items": self._catalog_items, "catalog_menu": self._catalog_menu,
               "events_after": self._events_after, "report.build": self._report}
        if method in own:
            return own[method]
        if method.startswith("cases."):
            fn: Callable[..., Any] = getattr(self.cases, method.removeprefix("cases."))
            return fn
        if method.startswith("appointments."):  # only the allow-listed names reach here
            fn = getattr(self.appointments, method.removeprefix("appointments."))
            return fn
        if method.startswith("staff."):
            fn = getattr(core_staff.Staff(self.hall), method.removeprefix("staff."))
            return fn
        fn = getattr(self.hall, method)
        return fn

    def _hello(self) -> dict[str, Any]:
        return {"hall_id": self.hall_id, "config": self._config(), "last_seq": self.last_seq, "boot": self.boot,
                "at_utc": datetime.now(UTC).isoformat(), "heartbeat_s": self.heartbeat_s}

    def _config(self) -> dict[str, Any]:
        return config_for_clients(self.hall.config)

    def _catalog_for(self, business_code: str) -> dict[str, Any] | None:
        from sync.catalog import catalog_for

        return catalog_for(self.hall, business_code)

    def _catalog_items(self, business_code: str) -> list[dict[str, Any]]:
        from sync.catalog import catalog_items

        return catalog_items(self.hall, business_code)

    def _catalog_menu(self) -> list[dict[str, Any]]:
        from sync.catalog import menu

        return menu(self.hall)

    def _events_after(self, seq: int, limit: int = EVENTS_PAGE) -> list[Event]:
        if seq < 0:
            raise LanBadRequest(detail="events_after: seq must be >= 0")
        n = max(1, min(limit, EVENTS_PAGE))
        evs: list[Event] = self.hall.events_after(seq, n)
        while len(evs) > 1 and len(_reply_bytes("x" * 32, evs)) > MAX_REPLY_BYTES:
            evs = evs[: len(evs) // 2]  # big payloads: a shorter page; the client asks again from where it got
        return evs

    def _report(self, day_from: str, day_to: str, by: str) -> dict[str, Any]:
        """report.build: the hall's report (kiosk.core.report.report_for) of ISO dates day_from..day_to, grouped `by`,
        as Report.to_builtins(); for the acting operator only if they may see it (_may_report)."""
        store = self.hall.store
        with store.faults():  # a locked or unreadable store is said as its StoreFault, as on the hall's own PC
            self._may_report(store.conn())
            first, last = _iso_day(day_from, "day_from"), _iso_day(day_to, "day_to")
            if by not in BY_CHOICES:
                raise LanBadRequest(detail=f"report.build: by must be one of {', '.join(BY_CHOICES)}")
            if last < first:
                raise LanBadRequest(detail=f"报表结束日期 {last} 早于开始日期 {first}")
            days = (last - first).days + 1
            if days > REPORT_MAX_DAYS:
                raise LanBadRequest(detail=f"报表一次最多统计 {REPORT_MAX_DAYS} 天（所选 {days} 天），请分段生成")
            # a long report holds a worker for many seconds: a second one (another dashboard, or a click again after
            # a timeout) is refused while it runs, so issuing and calling always keep workers
            if not self._report_lock.acquire(blocking=False):
                raise LanBusy()
            try:
                return report_for(self.hall, first, last, by).to_builtins()
            finally:
                self._report_lock.release()

    @staticmethod
    def _may_report(conn: Any) -> None:
        """A report is a manager's: once the hall has accounts the acting operator must be a signed-in manager or
        admin, refused as staff.authorize refuses a manager's command.  (No transaction, so no authorize: the
        session's account is already checked active with its role by _operator.)"""
        if not core_staff.any_accounts(conn):
            return  # no accounts: every dashboard makes reports as before
        op = current() or anonymous("")
        no = op.staff_no
        role = core_staff.active_role(conn, no) if no is not None else None
        if no is None or role is None:
            raise core_staff.ManagerRequired(action=REPORT_ACTION)
        if role not in core_staff.MANAGER_ROLES:
            raise core_staff.RoleTooLow(role=core_staff.ROLES.get(role, role), staff_no=no, action=REPORT_ACTION,
                                        needed=core_staff.ROLES["manager"])

    def _publish_reply(self, client: str, data: bytes) -> None:
        if self.link.publish(contract.lan_reply_topic(self.hall_id, client), data, qos=contract.QOS) is None:
            self._fail(f"reply to {client} not sent (link {self.link.state}); the client resends")

    # --- events and heartbeat (one thread, so a heartbeat never overtakes the events it counts) ---------------------
    def _publish_loop(self) -> None:
        event_topic = contract.lan_event_topic(self.hall_id)
        beat_topic = contract.lan_heartbeat_topic(self.hall_id)
        next_beat = time.monotonic()
        while True:
            wait = max(0.0, next_beat - time.monotonic())
            try:
                e = self._events.get(timeout=wait)
            except queue.Empty:
                e = None
                beat = True
            else:
                if e is None:
                    return
                beat = False
            if e is not None:
                msg = contract.LanEvent(seq=e.seq, id=e.id, kind=e.kind, at_utc=e.at_utc, local_date=e.local_date,
                                        payload=e.payload)
                self.link.publish(event_topic, _enc.encode(msg), qos=contract.QOS)  # None offline: clients repair
                self.last_seq = max(self.last_seq, e.seq)
            if beat or time.monotonic() >= next_beat:
                hb = contract.LanHeartbeat(hall_id=self.hall_id, at_utc=datetime.now(UTC), last_seq=self.last_seq,
                                           boot=self.boot)
                self.link.publish(beat_topic, contract.encode(hb), qos=0)
                next_beat = time.monotonic() + self.heartbeat_s

    def _fail(self, text: str) -> None:
        text = scrub_text(text[:500])  # status() is shown on the dashboard
        self.last_error = f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}"
        log.warning("lan: %s", text)


# ================================================================================================================
# client
# ================================================================================================================
class _Slot:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: contract.LanReply | None = None


class RemoteHall:
    """A Hall on another PC: the allow-listed methods with the same names, return types and refusals.

    Build it with `RemoteHall.from_settings(settings, hall_id, client_id)` (connects, loads `.config`), hand it to
    `HallClient(remote)` like a Hall, and `close()` it at exit.  `.cases` has the 办件 calls screens make and
    `.catalog_for(code)` the 办事指南.  A call with no answer raises LanUnavailable (a HallError); reads and
    idem_key commands are resent first, with the same request id and idem_key, so nothing is done twice.
    """

    def __init__(self, settings: SyncSettings, hall_id: str, client_id: str, *, rpc_timeout: float = 3.0,
                 attempts: int = 3, stale_after: float = 6.0) -> None:
        contract.lan_reply_topic(hall_id, client_id)  # validates both ids (ContractError)
        self.hall_id, self.client_id = hall_id, client_id
        self.settings = msgspec.structs.replace(settings, session_expiry=0)  # nothing stale is delivered after a gap
        self.rpc_timeout = rpc_timeout
        self.attempts = max(1, attempts)
        self.stale_after = stale_after
        self.config: Any = None
        self.server_boot = ""
        self.last_seq = 0  # the last event delivered to subscribers
        self.counters = {"calls": 0, "timeouts": 0, "resent": 0, "gaps": 0, "repaired": 0, "malformed": 0}
        self.last_error = ""
        self.session: str | None = None  # the server's token after a staff sign-in here (RemoteStaff.verify)
        self._reply_topic = contract.lan_reply_topic(hall_id, client_id)
        self._event_topic = contract.lan_event_topic(hall_id)
        self._beat_topic = contract.lan_heartbeat_topic(hall_id)
        self._server_topic = contract.lan_server_topic(hall_id)
        self._pending: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self.bus = EventBus()  # the same delivery as the in-process hall: seq order, a failing subscriber skipped
        self._inbox: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._last_beat = 0.0
        self._server_online = False
        self._down_since: float | None = None
        self._dispatcher: threading.Thread | None = None
        self.cases = RemoteCases(self)
        self.appointments = RemoteAppointments(self)
        self.staff = RemoteStaff(self)
        self.link = _LanLink(
            self.settings,
            client_id=settings.client_id or f"lan-{hall_id}-{client_id}",
            name=f"lan-client[{client_id}]",
            subscriptions=[(self._reply_topic, contract.QOS), (self._event_topic, contract.QOS),
                           (self._beat_topic, 0), (self._server_topic, contract.QOS)],
            on_message=self._on_message,
            on_state=self._on_link_state,
        )

    @classmethod
    def from_settings(cls, settings: SyncSettings, hall_id: str, client_id: str, *, connect_timeout: float = 10.0,
                      **kw: Any) -> RemoteHall:
        """Connect and load the hall's config; raises LanUnavailable when the server does not answer in time."""
        remote = cls(settings, hall_id, client_id, **kw)
        try:
            remote.connect(connect_timeout)
        except BaseException:
            remote.close()
            raise
        return remote

    @classmethod
    def from_section(cls, section: dict[str, Any], hall_id: str, client_id: str, **kw: Any) -> RemoteHall:
        """From a client PC's [lan] table (broker options as in [sync]; a [lan.clients] table is ignored here)."""
        section = {k: v for k, v in section.items() if k != "clients"}
        return cls.from_settings(parse_lan_settings(section), hall_id, client_id, **kw)

    @classmethod
    def from_file(cls, path: str, **kw: Any) -> RemoteHall:
        """A screen PC's client file: `hall_id`, `client_id` and a [lan] table (sync/settings.py LanClientFile)."""
        spec = read_client_file(path)
        return cls.from_settings(spec.lan, spec.hall_id, spec.client_id, **kw)

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> None:
        self.link.start()
        deadline = time.monotonic() + timeout
        while self.link.state != ONLINE:
            if time.monotonic() > deadline:
                raise LanUnavailable()
            time.sleep(0.02)
        hello: dict[str, Any] = {}
        while True:
            try:
                hello = self._call("hello")
                break
            except LanUnavailable:
                if time.monotonic() > deadline:
                    raise
        self.config = msgspec.convert(hello["config"], HallConfig)
        self.config.source = f"lan://{self.settings.host}:{self.settings.broker_port}/{self.hall_id}"
        self.server_boot = str(hello["boot"])
        self.last_seq = int(hello["last_seq"])
        self._last_beat = time.monotonic()
        self._server_online = True
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name=f"lan-client-{self.client_id}",
                                                daemon=True)
            self._dispatcher.start()

    def close(self) -> None:
        self.link.stop()
        self._inbox.put(None)
        if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
            self._dispatcher.join(5)
        self._dispatcher = None

    def alive(self) -> bool:
        """The server's heartbeat arrived lately (a board shows "stale" when this turns False)."""
        return (self._server_online and self.link.state == ONLINE
                and time.monotonic() - self._last_beat < self.stale_after)

    def _gone(self) -> bool:
        """Down for longer than stale_after: the broker is up but the server's heartbeat stopped, or the link has
        been down that long (a broker restart of a second or two still gets the retries)."""
        now = time.monotonic()
        if self.link.state == ONLINE:
            return not self._server_online or now - self._last_beat >= self.stale_after
        return self._down_since is not None and now - self._down_since >= self.stale_after

    def _on_link_state(self, state: str, gen: int) -> None:
        if state == ONLINE:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = time.monotonic()

    def status(self) -> dict[str, Any]:
        return {**self.link.status(), **self.counters, "alive": self.alive(), "last_seq": self.last_seq,
                "server_boot": self.server_boot, "lan_error": self.last_error}

    # --- what HallClient uses besides the proxied methods ------------------------------------------------------------
    def clock(self) -> datetime:
        return datetime.now(UTC)  # this PC's clock; the server stamps what it commits with its own

    def now(self) -> datetime:
        return self.clock()

    def tick(self) -> list[Event]:
        """HallClient's heartbeat: the server ticks the day itself; here it only says whether it is still there."""
        if not self.alive():
            raise LanUnavailable()
        return []

    def subscribe(self, fn: Callable[[Event], None], kinds: set[str] | None = None) -> Callable[[], None]:
        """fn(Event) in seq order on this client's dispatcher thread (HallClient hops to Qt itself)."""
        return self.bus.subscribe(fn, kinds)

    def catalog_for(self, business_code: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._call("catalog_for", [business_code])
        return value

    def catalog_items(self, business_code: str) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self._call("catalog_items", [business_code])
        return value

    def catalog_menu(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self._call("catalog_menu")
        return value

    def events_after(self, seq: int, limit: int = EVENTS_PAGE) -> list[Event]:
        value: list[Event] = self._call("events_after", [seq], {"limit": limit})
        return value if value else []

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Any method by name (the server refuses what is not on its allow-list with LanRefused)."""
        return self._call(method, args, kwargs)

    # --- RPC ----------------------------------------------------------------------------------------------------------
    def report(self, day_from: date, day_to: date, by: str) -> Report:
        """kiosk.core.report.report_for on the hall server (report.build): the same Report, rebuilt here.  Waits up
        to REPORT_WAIT_S, resending the same request meanwhile (the server runs it once and answers every resend)."""
        try:
            value = self._call("report.build", [day_from.isoformat(), day_to.isoformat(), by],
                               attempts=max(self.attempts, int(REPORT_WAIT_S / self.rpc_timeout)))
        except LanUnavailable:
            if self.alive():  # its heartbeat goes on: the server is there, still computing
                raise LanBusy() from None
            raise
        return Report.from_builtins(value)

    def _call(self, method: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, *,
              attempts: int | None = None) -> Any:
        kw = dict(kwargs or {})
        if method in HALL_IDEMPOTENT and not kw.get("idem_key"):
            kw["idem_key"] = f"lan:{self.client_id}:{uuid.uuid4().hex}"
        rid = uuid.uuid4().hex
        topic = contract.lan_cmd_topic(self.hall_id, self.client_id, method)
        payload = _enc.encode(contract.LanRequest(id=rid, args=list(args), kwargs=kw, session=self.session))
        # a server known to be gone costs one timeout, not three; a command that is unsafe to repeat is sent once;
        # a long wait (attempts given: a report) stops resending once the server is known gone
        patient = attempts is not None
        if method not in RETRYABLE or (self._gone() and method != "hello"):
            attempts = 1
        elif attempts is None:
            attempts = self.attempts
        slot = _Slot()
        with self._lock:
            self._pending[rid] = slot
        self.counters["calls"] += 1
        try:
            for attempt in range(attempts):
                if attempt and patient and self._gone():
                    self.counters["timeouts"] += 1
                    self._fail(f"{method}: the hall server went silent after {attempt} x {self.rpc_timeout:g} s")
                    raise LanUnavailable()
                if attempt:
                    self.counters["resent"] += 1
                deadline = time.monotonic() + self.rpc_timeout
                while self.link.publish(topic, payload, qos=contract.QOS) is None:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
                if slot.done.wait(max(0.0, deadline - time.monotonic())):
                    break
            else:
                self.counters["timeouts"] += 1
                self._fail(f"{method}: no answer from the hall server in {attempts} x {self.rpc_timeout:g} s")
                raise LanUnavailable()
        finally:
            with self._lock:
                self._pending.pop(rid, None)
        assert slot.reply is not None
        return self._value(slot.reply)

    @staticmethod
    def _value(reply: contract.LanReply) -> Any:
        if not reply.ok:
            err = reply.error or contract.LanError(key=LanServerError.key)
            cls = error_class(err.key, err.message)
            try:
                exc = cls(**err.params)
            except TypeError:  # a subclass with its own signature: keep the class and the params all the same
                exc = cls.__new__(cls)
                HallError.__init__(exc, **err.params)
            raise exc
        if reply.kind == "issued":
            v = reply.value
            return Result(Issued(dict(v["ticket"]), int(v["ahead"])), [_event(e) for e in reply.events])
        if reply.kind == "result":
            return Result(reply.value, [_event(e) for e in reply.events])
        if reply.kind == "events":
            return [_event(e) for e in reply.events]
        return reply.value

    # --- paho's thread ----------------------------------------------------------------------------------------------
    def _on_message(self, msg: InMessage) -> None:
        self.link.ack(msg)
        try:
            if msg.topic == self._reply_topic:
                reply = contract.decode_lan_reply(msg.payload)
                with self._lock:
                    slot = self._pending.get(reply.id or "")
                if slot is not None and not slot.done.is_set():  # a late reply to a timed-out call is dropped
                    slot.reply = reply
                    slot.done.set()
            elif msg.topic == self._event_topic:
                self._inbox.put(("event", contract.decode_lan_event(msg.payload)))
            elif msg.topic == self._beat_topic:
                hb = contract.decode_lan_heartbeat(msg.payload)
                self._last_beat = time.monotonic()
                self._server_online = True
                self._inbox.put(("beat", hb))
            elif msg.topic == self._server_topic and msg.payload:
                self._server_online = contract.decode_presence(msg.payload).state == "online"
        except (contract.ContractError, RecursionError) as e:
            self.counters["malformed"] += 1
            self._fail(f"ignored a bad message on {msg.topic[:200]}: {e}")

    # --- dispatcher thread: seq order, gap repair ---------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            what, x = item
            try:
                if what == "event":
                    if x.seq > self.last_seq + 1:
                        self.counters["gaps"] += 1
                        self._repair(x.seq - 1)
                    if x.seq == self.last_seq + 1:
                        self._deliver(_event(x))
                elif what == "beat":
                    if x.boot != self.server_boot and x.last_seq < self.last_seq:
                        # a server on a fresh store: its seqs start again; follow it rather than wait forever
                        log.warning("lan: server %s restarted at seq %d (we had %d)", x.boot, x.last_seq,
                                    self.last_seq)
                        self.last_seq = x.last_seq
                    self.server_boot = x.boot
                    if x.last_seq > self.last_seq:
                        self.counters["gaps"] += 1
                        self._repair(x.last_seq)
            except Exception as e:  # a failed repair is tried again at the next heartbeat
                self._fail(f"event dispatch: {e!r}")

    def _repair(self, upto: int) -> None:
        while self.last_seq < upto:
            evs = self.events_after(self.last_seq, EVENTS_PAGE)
            fresh = [e for e in evs if e.seq > self.last_seq]
            if not fresh:
                return
            # the server's log, read in seq order, is the authority on what follows: a seq it never had (the range
            # a restore skipped, docs/events.md store.restored) is stepped over, not waited for
            for e in fresh:
                self.counters["repaired"] += 1
                self._deliver(e)

    def _deliver(self, e: Event) -> None:
        self.last_seq = e.seq
        self.bus.publish([e])

    def _fail(self, text: str) -> None:
        text = scrub_text(text[:500])
        self.last_error = f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}"
        log.warning("lan client %s: %s", self.client_id, text)


def _proxy(name: str) -> Callable[..., Any]:
    def method(self: RemoteHall, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Hall.{name}, run on the hall server."
    return method


for _name in sorted((HALL_QUERIES | HALL_COMMANDS) - {"tick", "events_after"}):
    setattr(RemoteHall, _name, _proxy(_name))


class RemoteStaff:
    """kiosk.core.staff.Staff on the hall server (`remote.staff.add(...)`): the dashboard's 人员 page."""

    def __init__(self, remote: RemoteHall) -> None:
        self.remote = remote

    def members(self) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("staff.members")
        return value

    def add(self, staff_no: str, name: str, role: str, pin: str, card: str | None = None
            ) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call("staff.add", [staff_no, name, role, pin], {"card": card})
        return value

    def disable(self, staff_no: str) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call("staff.disable", [staff_no])
        return value

    def reset_pin(self, staff_no: str, pin: str) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call("staff.reset_pin", [staff_no, pin])
        return value

    def set_roster(self, staff_no: str, windows: list[int], businesses: list[str] | None = None
                   ) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call("staff.set_roster", [staff_no, windows],
                                                          {"businesses": businesses})
        return value

    def verify(self, staff_no: str, pin: str) -> dict[str, Any]:
        """登录 on the server: the account; its session token is kept for every later request of this client."""
        value: dict[str, Any] = dict(self.remote._call("staff.verify", [staff_no, pin]))
        self.remote.session = value.pop("session", None)
        return value

    def end_session(self) -> None:
        """退出: later requests are this client's own again (anonymous for a staff screen)."""
        self.remote.session = None


class RemoteAppointments:
    """kiosk.core.appointments.Appointments on the hall server (`remote.appointments.book(...)`): the same
    names, values and refusals; book and cancel carry an idem_key, made here when the caller gives none, so a retry
    after a lost reply books once."""

    def __init__(self, remote: RemoteHall) -> None:
        self.remote = remote

    def offer(self, business: str) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("appointments.offer", [business])
        return value

    def get(self, code: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.remote._call("appointments.get", [code])
        return value

    def listing(self, day: str | None = None, business: str | None = None, status: str | None = None
                ) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("appointments.listing", [],
                                                        {"day": day, "business": business, "status": status})
        return value

    def book(self, business: str, day: str, slot_start: str, *, id_number: str | None = None,
             name: str | None = None, source: str = "kiosk", idem_key: str | None = None) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call(
            "appointments.book", [business, day, slot_start],
            {"id_number": id_number, "name": name, "source": source,
             "idem_key": idem_key or f"lan:{self.remote.client_id}:{uuid.uuid4().hex}"})
        return value

    def cancel(self, code: str, *, source: str = "kiosk", idem_key: str | None = None) -> Result[dict[str, Any]]:
        value: Result[dict[str, Any]] = self.remote._call(
            "appointments.cancel", [code],
            {"source": source, "idem_key": idem_key or f"lan:{self.remote.client_id}:{uuid.uuid4().hex}"})
        return value


class RemoteCases:
    """The kiosk.core.cases.Cases calls screens make, run on the server's Cases (`remote.cases.lookup(...)`)."""

    def __init__(self, remote: RemoteHall) -> None:
        self.remote = remote

    def lookup(self, case_no: str, check: str) -> dict[str, Any]:
        value: dict[str, Any] = self.remote._call("cases.lookup", [case_no, check])
        return value

    def case(self, case_no: str) -> dict[str, Any]:
        value: dict[str, Any] = self.remote._call("cases.case", [case_no])
        return value

    def cards(self, window: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("cases.cards", [], {"window": window, "limit": limit})
        return value

    def card_counts(self) -> dict[str, int]:
        value: dict[str, int] = self.remote._call("cases.card_counts")
        return value

    def figures(self, by: str, day_from: Any, day_to: Any = None) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("cases.figures", [by, str(day_from)],
                                                        {"day_to": None if day_to is None else str(day_to)})
        return value

    def rectifications(self, open_only: bool = True) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("cases.rectifications", [], {"open_only": open_only})
        return value

    def link_ticket(self, case_no: str, ticket_id: str) -> Any:
        return self.remote._call("cases.link_ticket", [case_no, ticket_id])

    def my_rectifications(self, clerk_id: str, open_only: bool = True) -> list[dict[str, Any]]:
        value: list[dict[str, Any]] = self.remote._call("cases.my_rectifications", [clerk_id],
                                                        {"open_only": open_only})
        return value

    def rectification(self, item_id: str) -> dict[str, Any]:
        value: dict[str, Any] = self.remote._call("cases.rectification", [item_id])
        return value

    def calendar_status(self) -> dict[str, Any]:
        value: dict[str, Any] = self.remote._call("cases.calendar_status")
        return value

    def verify_rectification(self, item_id: str, *, valid: bool, note: str, evidence: str = "", by: str) -> Any:
        return self.remote._call("cases.verify_rectification", [item_id],
                                 {"valid": valid, "note": note, "evidence": evidence, "by": by})

    def rectify(self, item_id: str, *, action: str, responsible: str, by: str) -> Any:
        return self.remote._call("cases.rectify", [item_id], {"action": action, "responsible": responsible, "by": by})

    def revisit(self, item_id: str, *, contacted: bool, result: str, satisfied: bool | None = None,
                by: str) -> Any:
        return self.remote._call("cases.revisit", [item_id],
                                 {"contacted": contacted, "result": result, "satisfied": satisfied, "by": by})

    def appeal_rectification(self, item_id: str, *, reason: str, by: str) -> Any:
        return self.remote._call("cases.appeal_rectification", [item_id], {"reason": reason, "by": by})

    def decide_appeal(self, item_id: str, *, upheld: bool, note: str, by: str) -> Any:
        return self.remote._call("cases.decide_appeal", [item_id], {"upheld": upheld, "note": note, "by": by})
