"""Central → hall messages the province writes by hand: a case update with its GB/T 39046 fields, the holiday
calendar (a calendar file) and the catalogue (a JSON file) — built and checked here, sent by `hall central` over
one short-lived connection that waits for every PUBACK."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from kiosk.core.calendar import parse_calendar
from sync import contract
from sync.link import Link
from sync.settings import SyncSettings


class PublishError(ValueError):
    """A file or an option that cannot become a message (the command exits 2 with it)."""


def calendar_update(path: Path, hall_id: str, version: int) -> contract.CalendarUpdate:
    """A calendar file (the [calendar] overrides format: `YYYY-MM-DD closed|open [name]`, `YYYY complete`) as the
    province's calendar for the years it declares complete.  Every listed day must fall in one of them."""
    try:
        f = parse_calendar(path.read_bytes().decode("utf-8-sig"), str(path))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PublishError(str(e)) from None
    if not f.complete:
        raise PublishError(f"{path}: no 'YYYY complete' line: say which years the calendar covers in full")
    outside = sorted(d for d in (*f.closed, *f.open_days) if d.year not in f.complete)
    if outside:
        raise PublishError(f"{path}: {outside[0].isoformat()} is outside the years it covers "
                           f"({', '.join(map(str, sorted(f.complete)))})")
    try:
        return contract.CalendarUpdate(
            v=contract.SCHEMA_VERSION, message_id=uuid.uuid4().hex, hall_id=hall_id, at_utc=datetime.now(UTC),
            version=version, years=sorted(f.complete),
            holidays=[contract.CalendarDay(date=d, name=n) for d, n in sorted(f.closed.items())],
            workdays=[contract.CalendarDay(date=d, name=n) for d, n in sorted(f.open_days.items())])
    except (TypeError, msgspec.ValidationError) as e:
        raise PublishError(f"{path}: {e}") from None


class CatalogFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`hall central catalog publish FILE`: the items, removed codes and businesses of a CatalogUpdate."""

    items: list[contract.CatalogItem] = msgspec.field(default_factory=list)
    removed: list[str] = msgspec.field(default_factory=list)
    businesses: list[contract.CatalogBusiness] = msgspec.field(default_factory=list)


def catalog_update(path: Path, hall_id: str) -> contract.CatalogUpdate:
    try:
        f = msgspec.json.decode(path.read_bytes(), type=CatalogFile)
    except OSError as e:
        raise PublishError(f"{path}: {e.strerror or e}") from None
    except msgspec.DecodeError as e:  # ValidationError is a DecodeError: names the field ($.items[0].version)
        raise PublishError(f"{path}: {e}") from None
    msg = contract.CatalogUpdate(v=contract.SCHEMA_VERSION, message_id=uuid.uuid4().hex, hall_id=hall_id,
                                 at_utc=datetime.now(UTC), items=f.items, removed=f.removed, businesses=f.businesses)
    return _checked(msg, contract.decode_catalog)


CASE_FIELDS = ("case_type", "promise_days", "legal_days", "promised_at", "accepted_at", "received_at", "finished_at",
               "item_name", "impl_code", "basic_code", "accept_unit", "acceptor", "department", "clerk", "window",
               "ticket_id", "version", "reason")


def case_update(hall_id: str, case_no: str, status: str, fields: dict[str, Any]) -> contract.CaseUpdate:
    """A case update with the GB/T 39046 fields given (None: not sent), checked against the contract — a 承诺件
    (case_type 2) needs promise_days or promised_at, as the hall will insist."""
    given = {k: v for k, v in fields.items() if v is not None}
    if given.get("case_type") == 2 and "promise_days" not in given and "promised_at" not in given:
        raise PublishError("a 承诺件 (--case-type 2) needs --promise-days or --promised-at")
    if "promise_days" in given and "legal_days" in given and given["promise_days"] > given["legal_days"]:
        raise PublishError("--promise-days cannot exceed --legal-days (承诺时限不能超过法定时限)")
    raw = {"v": contract.SCHEMA_VERSION, "message_id": uuid.uuid4().hex, "hall_id": hall_id, "case_no": case_no,
           "status": status, "at_utc": datetime.now(UTC).isoformat(), **given}
    return _checked(raw, contract.decode_case)


def _checked(msg: Any, decode: Any) -> Any:
    """The message as a receiver will read it: what the contract refuses is refused here, before it is sent."""
    data = json.dumps(msg if isinstance(msg, dict) else contract.to_builtins(msg), ensure_ascii=False).encode()
    try:
        return decode(data)
    except contract.ContractError as e:
        raise PublishError(str(e)) from None


def send(settings: SyncSettings, messages: list[tuple[str, bytes]], *, retain: bool = True,
         client_id: str = "", timeout: float | None = None) -> str:
    """Publish the messages (QoS 1) and wait until the broker acknowledged each; returns "" or what went wrong."""
    acked: set[int] = set()
    lock = threading.Lock()

    def on_publish(_gen: int, mid: int, ok: bool, _reason: str) -> None:
        if ok:
            with lock:
                acked.add(mid)

    link = Link(settings, client_id=client_id or f"central-cli-{uuid.uuid4().hex[:6]}", name="central-cli",
                on_publish=on_publish)
    link.start()
    try:
        deadline = time.monotonic() + (timeout or settings.connect_timeout)
        while not link.online and time.monotonic() < deadline:
            time.sleep(0.05)
        mids = []
        for topic, payload in messages:
            mid = link.publish(topic, payload, qos=contract.QOS, retain=retain)
            if mid is None:
                return f"无法连接消息服务器：{link.last_error or 'timeout'}"
            mids.append(mid)
        while time.monotonic() < deadline + 10:
            with lock:
                if all(m in acked for m in mids):
                    return ""
            time.sleep(0.02)
        return "消息服务器未确认全部消息"
    finally:
        link.stop(graceful=True)
