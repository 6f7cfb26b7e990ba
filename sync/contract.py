"""The hall ⇄ central MQTT contract: topics, QoS/retain, payload schemas and versions (the single source of truth)."""
from __future__ import annotations

import re
from array import array
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from kiosk.core.queue import expand_ranges
from kiosk.core.rating import Level

# Bump on an incompatible change; receivers reject versions they do not know (they land in dead letters).
SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
# Contract 2 adds one message, the event batch: several v1 events in one PUBLISH (a backlog drains at a rate one
# message per event cannot reach).  Its envelope says v = 2; the events inside are v1 events, unchanged.
BATCH_VERSION = 2
BATCH_MAX_EVENTS = 1000  # what a receiver accepts in one batch (the hall sends at most BATCH_EVENTS)
BATCH_EVENTS = 100  # what the hall puts in one batch, at most
BATCH_BYTES = 64 * 1024  # … and how big it lets a batch grow (well under MAX_INBOUND_BYTES)

# A payload larger than this is refused before it is parsed (a bad or hostile sender must not exhaust memory).
MAX_INBOUND_BYTES = 256 * 1024
# Deeper JSON is refused before it is parsed: msgspec recurses once per level (RecursionError near 1,000) and so
# would anything that re-encodes the value.  Our own messages stay under 8.
MAX_NESTING = 32
# Nesting inside an event's `payload` (the hall's own payloads stay under 4).
MAX_PAYLOAD_NESTING = 8
# Every integer must fit a SQLite INTEGER / PostgreSQL BIGINT; every other number is finite and at most this big.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MAX_FLOAT = 1e15  # beyond 2^53 a float no longer counts anything exactly
MAX_WAIT_S = 31 * 86400  # a ticket is called within its business day; a month leaves room for odd clocks

QOS = 1  # every topic: at-least-once on the wire; receivers deduplicate

# --- topics -------------------------------------------------------------------------------------------------
EVENT_TOPIC = "hall/{hall_id}/event/{kind}"  # hall → central, QoS 1, not retained
# hall → central, QoS 1, not retained: an event batch (contract 2).  hall/+/event/# matches it too, so the ACL, a
# bridge and collectors' subscriptions for events carry it unchanged.
EVENTS_TOPIC = "hall/{hall_id}/event"
STATE_TOPIC = "hall/{hall_id}/state"  # hall → central, QoS 1, retained; LWT "offline"
CASE_TOPIC = "central/{hall_id}/case/{case_no}"  # central → hall, QoS 1, retained (latest status matters)
CATALOG_TOPIC = "central/{hall_id}/catalog"  # central → hall, QoS 1, retained
RESEND_TOPIC = "central/{hall_id}/resend"  # central → hall, QoS 1, not retained: "publish these seqs again"
CALENDAR_TOPIC = "central/{hall_id}/calendar"  # central → hall, QoS 1, retained: the province's holiday calendar
# central → hall, QoS 1, not retained: a booking or cancellation from the province's platform, answered by an event
APPOINTMENT_TOPIC = "central/{hall_id}/appointment"
SLOTS_TOPIC = "hall/{hall_id}/slots"  # hall → central, QoS 1, retained: each business's bookable slots, free places
HALL_INBOX_FILTER = "central/{hall_id}/#"  # what a hall subscribes to
COLLECTOR_EVENT_FILTER = "$share/{group}/hall/+/event/#"  # MQTT 5 shared subscription: collectors share load
ALL_EVENTS_FILTER = "hall/+/event/#"  # a single collector without shared subscriptions
# every collector, in a group too, takes every hall's presence on a plain subscription: a broker delivers retained
# messages to plain subscriptions only, so a collector that (re)starts learns each hall's state and watermark at once
ALL_STATES_FILTER = "hall/+/state"

# \Z, not $: "$" also matches before a trailing newline
HALL_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
CASE_NO_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}\Z")  # GB/T 39046: 办件编号 up to 50 characters
KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){0,7}\Z")

HallId = Annotated[str, msgspec.Meta(pattern=HALL_ID_RE.pattern)]
CaseNo = Annotated[str, msgspec.Meta(pattern=CASE_NO_RE.pattern)]
MessageId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{8,64}\Z")]
Version = Annotated[int, msgspec.Meta(ge=1, le=9999)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=BIGINT_MAX)]
Revision = Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)]
# 行政区划: 9 digits (county 6 + township 3) for a hall, 12 (+ village 3) for a village's service room
Region = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{9}([0-9]{3})?\Z")]
# Stored as a database column as it is: no control characters (PostgreSQL text refuses NUL).
Label = Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*\Z")]
UtcTime = datetime  # RFC 3339 with an offset; msgspec rejects malformed strings
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ContractError(ValueError):
    """A message that does not follow the contract (bad topic, schema, version, owner or size)."""


def event_topic(hall_id: str, kind: str) -> str:
    return EVENT_TOPIC.format(hall_id=_hall(hall_id), kind=kind)


def events_topic(hall_id: str) -> str:
    return EVENTS_TOPIC.format(hall_id=_hall(hall_id))


def state_topic(hall_id: str) -> str:
    return STATE_TOPIC.format(hall_id=_hall(hall_id))


def case_topic(hall_id: str, case_no: str) -> str:
    if not CASE_NO_RE.match(case_no):
        raise ContractError(f"case number {case_no!r} cannot be used in a topic")
    return CASE_TOPIC.format(hall_id=_hall(hall_id), case_no=case_no)


def catalog_topic(hall_id: str) -> str:
    return CATALOG_TOPIC.format(hall_id=_hall(hall_id))


def resend_topic(hall_id: str) -> str:
    return RESEND_TOPIC.format(hall_id=_hall(hall_id))


def calendar_topic(hall_id: str) -> str:
    return CALENDAR_TOPIC.format(hall_id=_hall(hall_id))


def appointment_topic(hall_id: str) -> str:
    return APPOINTMENT_TOPIC.format(hall_id=_hall(hall_id))


def slots_topic(hall_id: str) -> str:
    return SLOTS_TOPIC.format(hall_id=_hall(hall_id))


def hall_inbox_filter(hall_id: str) -> str:
    return HALL_INBOX_FILTER.format(hall_id=_hall(hall_id))


def _hall(hall_id: str) -> str:
    if not HALL_ID_RE.match(hall_id):
        raise ContractError(f"hall id {hall_id!r} cannot be used in a topic")
    return hall_id


def parse_inbound_topic(topic: str) -> tuple[str, str, str | None]:
    """central/{hall}/case/{no} → (hall, "case", no); central/{hall}/catalog → (hall, "catalog", None); likewise
    resend and calendar."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "central" and HALL_ID_RE.match(parts[1]):
        if len(parts) == 4 and parts[2] == "case" and CASE_NO_RE.match(parts[3]):
            return parts[1], "case", parts[3]
        if len(parts) == 3 and parts[2] in ("catalog", "resend", "calendar", "appointment"):
            return parts[1], parts[2], None
    raise ContractError(f"not a central → hall topic: {topic[:200]!r}")


def parse_hall_topic(topic: str) -> tuple[str, str, str | None]:
    """hall/{hall}/event/{kind} → (hall, "event", kind); hall/{hall}/event → (hall, "batch", None);
    hall/{hall}/state → (hall, "state", None)."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "hall" and HALL_ID_RE.match(parts[1]):
        if len(parts) == 4 and parts[2] == "event" and KIND_RE.match(parts[3]):
            return parts[1], "event", parts[3]
        if len(parts) == 3 and parts[2] == "event":
            return parts[1], "batch", None
        if len(parts) == 3 and parts[2] == "state":
            return parts[1], "state", None
    raise ContractError(f"not a hall → central topic: {topic[:200]!r}")


# --- hall → central -----------------------------------------------------------------------------------------
# A payload value: JSON whose numbers fit the database (see BIGINT_MAX, MAX_FLOAT), nested at most
# MAX_PAYLOAD_NESTING deep.  Spelled out level by level because msgspec then checks it all while decoding.
PayloadInt = Annotated[int, msgspec.Meta(ge=BIGINT_MIN, le=BIGINT_MAX)]
PayloadFloat = Annotated[float, msgspec.Meta(ge=-MAX_FLOAT, le=MAX_FLOAT)]
_scalar = bool | PayloadInt | PayloadFloat | str | None
PayloadValue: Any = _scalar
for _ in range(MAX_PAYLOAD_NESTING - 1):
    PayloadValue = _scalar | list[PayloadValue] | dict[str, PayloadValue]  # type: ignore[valid-type]
Payload = dict[str, PayloadValue]  # type: ignore[valid-type]


class EventMsg(msgspec.Struct, kw_only=True):
    """One hall event.  (hall_id, seq) is the dedup key: seq is gap-free per hall, starting at 1."""

    v: Version = SCHEMA_VERSION
    hall_id: HallId
    region: Region
    seq: Seq
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}\Z")]
    kind: Annotated[str, msgspec.Meta(pattern=KIND_RE.pattern)]
    at_utc: UtcTime
    local_time: datetime  # the same instant in the hall's time zone (with its offset)
    local_date: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")]
    payload: Payload
    # who did it and from which terminal (docs/events.md "Who and where"); absent from halls before the audit
    actor: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    terminal: Annotated[str, msgspec.Meta(max_length=80)] | None = None


# The payload fields collectors compute figures from, checked with their event (kind → schema).
WaitSeconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_WAIT_S)]


class _Finished(msgspec.Struct):
    wait_s: WaitSeconds | None = None


class _RatingPart(msgspec.Struct):
    level: Level | None = None


class _Rated(msgspec.Struct):
    rating: _RatingPart | None = None


class Figures(msgspec.Struct, frozen=True):
    """What an event adds to the figures: wait_s of service.finished, level of rating.recorded."""

    wait_s: WaitSeconds | None = None
    level: str | None = None


def event_figures(m: EventMsg) -> Figures:
    try:
        if m.kind == "service.finished":
            w = msgspec.convert(m.payload, _Finished).wait_s
            return Figures(wait_s=None if w is None else float(w))
        if m.kind == "rating.recorded":
            r = msgspec.convert(m.payload, _Rated).rating
            return Figures(level=None if r is None or r.level is None else r.level.value)
    except msgspec.ValidationError as e:
        raise ContractError(f"bad {m.kind} payload: {e}") from None
    return Figures()


# day.closed: the day rollover closes every open ticket of the earlier days in one event, naming each ticket by its
# day and number (prefix + daily sequence, unique per day), grouped by the state it was in, as number ranges:
# {"2026-11-24": {"waiting": {"A": "31-480,482"}, "serving": {"A": "30"}}}.  No ticket.expired event per ticket.
DayText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")]
NumberPrefix = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]\Z")]
NumberRanges = Annotated[str, msgspec.Meta(pattern=r"^([1-9][0-9]{0,2}(-[1-9][0-9]{0,2})?(,|\Z))*\Z")]  # seq ≤ 999
OpenStatus = Literal["waiting", "called", "serving", "held"]


class DayClosed(msgspec.Struct):
    """The payload of day.closed.  `expired_numbers` is absent only in events of halls from before it existed
    (they sent one ticket.expired per ticket instead)."""

    date: DayText
    new_date: DayText
    expired: Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)] = 0
    expired_numbers: dict[DayText, dict[OpenStatus, dict[NumberPrefix, NumberRanges]]] | None = None


def day_closed(m: EventMsg) -> DayClosed:
    """A day.closed event's payload, checked: the ranges name exactly `expired` tickets."""
    try:
        d = msgspec.convert(m.payload, DayClosed)
    except msgspec.ValidationError as e:
        raise ContractError(f"bad {m.kind} payload: {e}") from None
    if d.expired_numbers is not None:
        named = sum(len(expand_ranges(r)) for by_status in d.expired_numbers.values()
                    for by_prefix in by_status.values() for r in by_prefix.values())
        if named != d.expired:
            raise ContractError(f"bad {m.kind} payload: {named} tickets named, {d.expired} expired")
    return d


def expired_tickets(m: EventMsg) -> list[tuple[str, str, str]]:
    """(local_date, number, previous status) of every ticket a day.closed event closed: how a collector learns
    each expired ticket, to match with its ticket.issued by (hall_id, local_date, number)."""
    d = day_closed(m)
    return [(day, f"{prefix}{seq:03d}", status)
            for day, by_status in sorted((d.expired_numbers or {}).items())
            for status, by_prefix in sorted(by_status.items())
            for prefix, ranges in sorted(by_prefix.items())
            for seq in expand_ranges(ranges)]


# --- what the collector keeps beyond the figures: evaluation records, 整改 progress, case outcomes and cards, the
# calendar version each hall uses.  Checked with their event like the figures (an event that breaks them is refused).
Short64 = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*\Z")]
ItemId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}\Z")]
Day = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")]


class EvaluationRecord(msgspec.Struct, kw_only=True):
    """GB/T 39046-2020 §6.6 评价记录 of an on-site rating (payload `record` of evaluation.recorded)."""

    id: ItemId
    revision: Annotated[int, msgspec.Meta(ge=1, le=100)]  # sent again (higher) when a 差评 reason came later
    project_no: Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]{1,50}\Z")]  # 办件编号, or the ticket
    project_kind: Literal["case", "ticket"]
    channel: Annotated[int, msgspec.Meta(ge=1, le=7)]  # 评价渠道 (the pf codes)
    evaluator: Short64  # 评价人, masked
    rated_at: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}T[0-9]{6}\Z")]  # 评价时间, local YYYYMMDDThhmmss
    rated_at_utc: UtcTime
    count: Annotated[int, msgspec.Meta(ge=1, le=9999)]  # 评价次数
    satisfaction: Annotated[int, msgspec.Meta(ge=1, le=5)]  # 满意度代码, GB/T 39046 A.8 (1 = 非常满意)
    level: Level
    region: Region  # 行政区划
    channel_label: Short64 = ""
    text: Annotated[str, msgspec.Meta(max_length=2000)] = ""  # 文字评价
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    number: Short64 | None = None
    window: Annotated[int, msgspec.Meta(ge=0, le=9999)] | None = None


Card = Literal["none", "yellow", "red"]


class RectificationItem(msgspec.Struct, kw_only=True):
    """A 差评 整改 item as the hall's rectification.* events carry it (`item`): what central keeps of its progress."""

    id: ItemId
    status: Literal["open", "closed"]
    level: Level
    opened_at: UtcTime
    opened_date: Day
    due_at: UtcTime
    # absent from halls older than the 整改 loop (open → closed only): central takes it from `status`
    stage: Literal["verify", "rectify", "revisit", "appeal", "closed"] | None = None
    outcome: Literal["rectified", "invalid", "appeal_upheld", "responded"] | None = None
    card: Card = "none"
    closed_at: UtcTime | None = None
    closed_on_time: bool | None = None
    window: Annotated[int, msgspec.Meta(ge=0, le=9999)] | None = None
    clerk_id: Short64 | None = None
    case_no: Short64 | None = None


class _Itemed(msgspec.Struct):
    item: RectificationItem


class _CardChange(msgspec.Struct):
    id: ItemId
    to: Card


class _CasePart(msgspec.Struct):
    on_time: bool | None = None


class _CaseStatus(msgspec.Struct):
    to: CaseStatus
    case: _CasePart


class _CaseCard(msgspec.Struct):
    to: Card


class _Evaluated(msgspec.Struct):
    record: EvaluationRecord


class _CalendarApplied(msgspec.Struct):
    version: Annotated[int, msgspec.Meta(ge=1, le=BIGINT_MAX)]


# store.restored: `hall restore` put back an older backup and numbered on after the seqs the replaced store had used,
# so skipped_from..skipped_to will never exist in this hall's log (kiosk/backup.py writes it).  Central settles the
# range: never asked for again, not a gap; events it already holds there stay (the replaced store's, real).
STORE_RESTORED = "store.restored"


class StoreRestored(msgspec.Struct):
    backup_last_seq: Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)]
    skipped_from: Seq
    skipped_to: Seq
    backup: Annotated[str, msgspec.Meta(max_length=255)] = ""
    restored_at: UtcTime | None = None


@dataclass(frozen=True, slots=True)
class Details:
    """What else an event tells the collector (all empty for most kinds); built from checked Structs, never decoded
    itself."""

    evaluation: EvaluationRecord | None = None
    rectification: RectificationItem | None = None
    rect_card: tuple[str, str] | None = None  # (item id, card) of rectification.card_changed
    case_done: bool = False  # case.status_changed to 办结
    case_on_time: bool | None = None  # … before its deadline (None: it had none)
    case_card: str | None = None  # case.card_changed: the new card
    calendar_version: int | None = None  # calendar.applied
    settled: tuple[int, int] | None = None  # store.restored: seqs this hall skipped (first, last)


def event_details(m: EventMsg) -> Details:
    try:
        if m.kind == "evaluation.recorded":
            return Details(evaluation=msgspec.convert(m.payload, _Evaluated).record)
        if m.kind in ("rectification.opened", "rectification.step", "rectification.closed"):
            return Details(rectification=msgspec.convert(m.payload, _Itemed).item)
        if m.kind == "rectification.card_changed":
            c = msgspec.convert(m.payload, _CardChange)
            return Details(rect_card=(c.id, c.to))
        if m.kind == "case.status_changed":
            st = msgspec.convert(m.payload, _CaseStatus)
            return Details(case_done=True, case_on_time=st.case.on_time) if st.to == "done" else Details()
        if m.kind == "case.card_changed":
            return Details(case_card=msgspec.convert(m.payload, _CaseCard).to)
        if m.kind == "calendar.applied":
            return Details(calendar_version=msgspec.convert(m.payload, _CalendarApplied).version)
        if m.kind == STORE_RESTORED:
            r = msgspec.convert(m.payload, StoreRestored)
            # the range lies between the backup's last event and this one: anything else would settle real seqs
            if not r.backup_last_seq < r.skipped_from <= r.skipped_to < m.seq:
                raise ContractError(f"bad {m.kind} payload: skipped #{r.skipped_from}..#{r.skipped_to} is not "
                                    f"between the backup's #{r.backup_last_seq} and the event's #{m.seq}")
            return Details(settled=(r.skipped_from, r.skipped_to))
    except msgspec.ValidationError as e:
        raise ContractError(f"bad {m.kind} payload: {e}") from None
    return Details()


class EventBatch(msgspec.Struct, kw_only=True):
    """Contract 2: several events of one hall in one message, in seq order.  Each element is a v1 event object,
    exactly as it would be published alone; the receiver checks and deduplicates each by (hall_id, seq)."""

    v: Version = BATCH_VERSION
    hall_id: HallId
    events: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=BATCH_MAX_EVENTS)]


class PresenceMsg(msgspec.Struct, kw_only=True):
    """Retained on hall/{hall_id}/state: "online" after (re)subscribing, "offline" as the last will."""

    v: Version = SCHEMA_VERSION
    hall_id: HallId
    state: Literal["online", "offline"]
    at_utc: UtcTime | None = None  # absent in the will (it is registered long before it fires)
    region: Annotated[str, msgspec.Meta(pattern=r"^([0-9]{9}([0-9]{3})?)?\Z")] = ""  # 行政区划 or none
    name: Label = ""
    # the hall's newest event seq when it came online: beside central's own highest it says how far behind central
    # is while a backlog drains (absent in the will, and from halls before it)
    last_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None


# --- central → hall -----------------------------------------------------------------------------------------
# 办件 statuses (DOMAIN §4), the codes kiosk.core.cases uses, with the label staff see.
CASE_STATUS: dict[str, str] = {
    "received": "收件",
    "correction": "补齐补正",
    "accepted": "受理",
    "not_accepted": "不予受理",
    "in_progress": "在办",
    "suspended": "挂起",
    "done": "办结",
    "withdrawn": "退件",
    "voided": "作废",
}
CaseStatus = Literal[
    "received", "correction", "accepted", "not_accepted", "in_progress", "suspended", "done", "withdrawn", "voided"
]
Short = Annotated[str, msgspec.Meta(max_length=64)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]


class CaseUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A case (办件) created or moved centrally; GB/T 39046 fields.  Applied once per message_id; `version` (the
    central revision) lets the hall ignore an older update that arrives late."""

    v: Version
    message_id: MessageId
    hall_id: HallId
    case_no: CaseNo  # 办件编号
    status: CaseStatus
    at_utc: UtcTime  # when the status changed
    version: Revision | None = None
    case_type: Literal[1, 2, 9] | None = None  # 1 即办件, 2 承诺件, 9 其他 (required when the hall does not know it)
    basic_code: Short | None = None  # 基本编码
    impl_code: Short | None = None  # 实施编码
    item_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    accept_unit: Annotated[str, msgspec.Meta(max_length=200)] | None = None  # 受理单位
    acceptor: Short | None = None  # 受理人员
    department: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    clerk: Short | None = None
    window: Annotated[int, msgspec.Meta(ge=0, le=9999)] | None = None
    ticket_id: Short | None = None
    legal_days: Days | None = None  # 法定办结时限 (working days)
    promise_days: Days | None = None  # 承诺办结时限
    received_at: UtcTime | None = None  # 收件时间
    accepted_at: UtcTime | None = None  # 受理时间
    promised_at: UtcTime | None = None  # 承诺办结时间
    finished_at: UtcTime | None = None  # 办结时间
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None  # why (补正 list, 不予受理 reason), for staff
    # Personal data, only over TLS; the hall keeps the name masked and only a digest of the last four digits.
    applicant_name: Short | None = None
    applicant_id: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    applicant_phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None

    def to_case_payload(self) -> dict[str, Any]:
        """The dict kiosk.core.cases.Cases.apply_central_update takes (status_at = when it changed)."""
        d = to_builtins(self)
        for k in ("v", "message_id", "hall_id", "at_utc"):
            d.pop(k, None)
        d["status_at"] = self.at_utc.isoformat()
        return d


class Material(msgspec.Struct, kw_only=True):
    name: Name
    copies: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    original: bool = False  # 原件 to be shown
    note: Text = ""


class Fee(msgspec.Struct, kw_only=True):
    name: Name
    amount: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,9}(\.[0-9]{1,2})?\Z")]  # yuan, as a decimal string
    basis: Text = ""


class CatalogItem(msgspec.Struct, kw_only=True):
    """One 办事指南 item, attached to a hall business code.  A higher version replaces a lower one."""

    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]  # 实施编码
    business: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Name
    version: Revision
    conditions: list[Text] = msgspec.field(default_factory=list)  # 受理条件
    materials: list[Material] = msgspec.field(default_factory=list)  # 申请材料
    legal_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None  # 法定办结时限 (working days)
    promised_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] | None = None  # 承诺办结时限
    fees: list[Fee] = msgspec.field(default_factory=list)  # 收费; empty = free
    basis: list[Text] = msgspec.field(default_factory=list)  # 设定依据
    note: Text = ""


class CatalogBusiness(msgspec.Struct, kw_only=True):
    """A hall business as the catalogue has it: its name on the kiosk and whether it is offered.  It only changes a
    business the hall's TOML declares (the TOML gives its prefix, hours and windows); a higher version wins."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # the hall's [[businesses]] code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]*\Z")]
    state: Literal["open", "closed"] = "open"  # closed: off the kiosk's menu (a catalog-listed one), or 暂停取号
    message: Annotated[str, msgspec.Meta(max_length=200)] = ""  # why it is closed, shown on the kiosk
    version: Revision


class CatalogUpdate(msgspec.Struct, kw_only=True):
    v: Version
    message_id: MessageId
    hall_id: HallId
    at_utc: UtcTime
    items: list[CatalogItem] = msgspec.field(default_factory=list)
    removed: list[Annotated[str, msgspec.Meta(max_length=64)]] = msgspec.field(default_factory=list)
    businesses: list[CatalogBusiness] = msgspec.field(default_factory=list)


class CalendarDay(msgspec.Struct, kw_only=True):
    date: date
    name: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*\Z")] = ""


class CalendarUpdate(msgspec.Struct, kw_only=True):
    """The province's holiday calendar (节假日安排) for `years`: the days off and the make-up working days; every other
    day of those years is worked Monday to Friday.  Retained; a hall uses the highest `version` it has seen."""

    v: Version
    message_id: MessageId
    hall_id: HallId
    at_utc: UtcTime
    version: Annotated[int, msgspec.Meta(ge=1, le=BIGINT_MAX)]
    years: Annotated[list[Annotated[int, msgspec.Meta(ge=2004, le=2200)]], msgspec.Meta(min_length=1, max_length=10)]
    holidays: Annotated[list[CalendarDay], msgspec.Meta(max_length=4000)] = msgspec.field(default_factory=list)
    workdays: Annotated[list[CalendarDay], msgspec.Meta(max_length=4000)] = msgspec.field(default_factory=list)


class ResendRequest(msgspec.Struct, kw_only=True):
    """Gap repair: the collector asks a hall to publish events from_seq..to_seq again (they were acknowledged by
    the broker but never reached a collector, e.g. a broker restart that lost a shared subscription)."""

    v: Version
    message_id: MessageId
    hall_id: HallId
    from_seq: Seq
    to_seq: Seq


# --- appointments: the province's platform books the hall's slots (kiosk/core/appointments.py) ------------------------
AppointmentCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{4,50}\Z")]  # 预约号 (kiosk.core.codes.CODE_RE)
SlotTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z")]  # local HH:MM
BusinessCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AppointmentRequest(msgspec.Struct, kw_only=True):
    """A booking or a cancellation from the province's platform (central/{hall_id}/appointment).  Applied once per
    message_id and always answered by one hall event carrying it: appointment.booked, appointment.cancelled or
    appointment.refused (with the refusal's key)."""

    v: Version
    message_id: MessageId
    hall_id: HallId
    at_utc: UtcTime
    action: Literal["book", "cancel"]
    code: AppointmentCode  # the platform's own 预约号, what the citizen shows at the kiosk
    business: BusinessCode | None = None  # book: the hall's [[businesses]] code
    date: date | None = None  # book: the local day
    slot_start: SlotTime | None = None  # book: a slot start of the hall's grid (hall/{hall_id}/slots)
    # Personal data, only over TLS: the hall keeps the ID number's keyed hash and mask and the masked name only.
    id_number: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class SlotFree(msgspec.Struct, kw_only=True):
    start: SlotTime
    end: Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z")]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=999)]
    free: Annotated[int, msgspec.Meta(ge=0, le=999)]


class SlotsDay(msgspec.Struct, kw_only=True):
    date: date
    slots: list[SlotFree]


class SlotsBusiness(msgspec.Struct, kw_only=True):
    business: BusinessCode
    name: Label
    slot_minutes: Annotated[int, msgspec.Meta(ge=10, le=240)]
    days: list[SlotsDay]


class SlotsMsg(msgspec.Struct, kw_only=True):
    """Retained on hall/{hall_id}/slots: every business that takes bookings, its horizon's days and each slot's free
    places, as the hall counts them now (the hall is the one place capacity is counted)."""

    v: Version = SCHEMA_VERSION
    hall_id: HallId
    at_utc: UtcTime
    businesses: list[SlotsBusiness]


# --- provincial 好差评 upload record (an HTTP format, not MQTT; mapped in sync.provincial) --------------------------
class ProvincialRating(msgspec.Struct, kw_only=True):
    """Zhejiang-style upload record: satisfaction 1 = 非常不满意 … 5 = 非常满意, pf = channel code."""

    projectNo: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]  # 办件编号 (or the ticket id on site)
    areaCode: Region
    pf: Annotated[int, msgspec.Meta(ge=1, le=7)]
    satisfaction: Annotated[int, msgspec.Meta(ge=1, le=5)]
    appraiseTime: str  # local time, "YYYY-MM-DD HH:MM:SS"
    appraiseCount: Annotated[int, msgspec.Meta(ge=1, le=9999)] = 1  # 评价次数
    content: str = ""  # 文字评价
    reason: str = ""  # 差评原因


# --- codecs -------------------------------------------------------------------------------------------------
_enc = msgspec.json.Encoder()
_dec_event = msgspec.json.Decoder(EventMsg)
_dec_presence = msgspec.json.Decoder(PresenceMsg)
_dec_case = msgspec.json.Decoder(CaseUpdate)
_dec_catalog = msgspec.json.Decoder(CatalogUpdate)
_dec_resend = msgspec.json.Decoder(ResendRequest)
_dec_calendar = msgspec.json.Decoder(CalendarUpdate)
_dec_batch = msgspec.json.Decoder(EventBatch)
_dec_appointment = msgspec.json.Decoder(AppointmentRequest)
_dec_slots = msgspec.json.Decoder(SlotsMsg)


def encode(msg: msgspec.Struct) -> bytes:
    return _enc.encode(msg)


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET_SIGN = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # read as signed bytes: +1 opens, -1 closes
_NOT_BRACKET = bytes(range(256)).translate(None, b"[]{}")


def nesting(data: bytes) -> int:
    """How deep the JSON text nests arrays and objects, without parsing it (brackets inside strings do not
    count).  Linear and in C: about 15 ms for 256 KiB of brackets."""
    signs = _JSON_STRING.sub(b"", data).translate(_BRACKET_SIGN, _NOT_BRACKET)
    return max(accumulate(array("b", signs)), default=0)


def _decode(dec: msgspec.json.Decoder[Any], data: bytes, what: str,
            versions: frozenset[int] = SUPPORTED_VERSIONS, *, nested: bool = True) -> Any:
    """nested=False: the schema keeps whatever may nest as msgspec.Raw, checked later piece by piece (an event batch,
    whose events are each decoded alone); msgspec's own depth guard is then what stops a hostile document."""
    if len(data) > MAX_INBOUND_BYTES:
        raise ContractError(f"{what} payload too big ({len(data)} bytes > {MAX_INBOUND_BYTES})")
    # cheap test first: a document with fewer brackets than the limit cannot nest deeper than it
    if nested and data.count(b"[") + data.count(b"{") > MAX_NESTING and (depth := nesting(data)) > MAX_NESTING:
        raise ContractError(f"{what} payload nested too deeply ({depth} levels > {MAX_NESTING})")
    try:
        msg = dec.decode(data)
    except msgspec.DecodeError as e:
        # a version we do not know is reported as such, not as "bad field"
        raise ContractError(f"bad {what} payload: {e}") from None
    except RecursionError:
        raise ContractError(f"{what} payload nested too deeply") from None
    if msg.v not in versions:
        raise ContractError(f"{what} schema version {msg.v} not supported (supported: {sorted(versions)})")
    return msg


def decode_event(data: bytes) -> EventMsg:
    return decode_event_parts(data)[0]


def decode_event_parts(data: bytes) -> tuple[EventMsg, Figures, Details]:
    """decode_event, with the figures and details it checked (a collector stores them: no second conversion)."""
    m: EventMsg = _decode(_dec_event, data, "event")
    fig = event_figures(m)  # the fields figures are made of are part of the contract
    if m.kind == "day.closed":
        day_closed(m)  # and so are the tickets a rollover closed
    det = event_details(m)  # and the records central keeps (evaluations, 整改, case outcomes and cards)
    return m, fig, det


def decode_batch(data: bytes) -> tuple[str, list[bytes]]:
    """An event batch's hall id and its events' JSON, each still to be decoded with decode_event (a bad one is
    refused alone, not with its batch)."""
    # the batch's own depth is 2: its events' depth is checked with each event (nesting() over a whole batch would
    # cost a drain more than storing the events)
    m: EventBatch = _decode(_dec_batch, data, "event batch", frozenset({BATCH_VERSION}), nested=False)
    return m.hall_id, [bytes(e) for e in m.events]


def encode_batch(hall_id: str, events: list[bytes]) -> bytes:
    """A batch of already encoded v1 events (encode(event_message(...)) each)."""
    return _enc.encode(EventBatch(hall_id=hall_id, events=[msgspec.Raw(e) for e in events]))


def events_in(topic: str, data: bytes) -> list[EventMsg]:
    """The events one message on hall/{hall}/event… carries, in either form, each checked like decode_event and
    against the topic's hall (and kind)."""
    hall_id, what, kind = parse_hall_topic(topic)
    if what == "state":
        raise ContractError(f"{topic!r} carries presence, not events")
    if what == "event":
        raws = [data]
    else:
        owner, raws = decode_batch(data)
        if owner != hall_id:
            raise ContractError(f"batch of {owner!r} published on {topic!r}")
    out = []
    for raw in raws:
        m = decode_event(raw)
        if m.hall_id != hall_id or (kind is not None and m.kind != kind):
            raise ContractError(f"event {m.hall_id}/{m.kind} published on {topic!r}")
        out.append(m)
    return out


def decode_presence(data: bytes) -> PresenceMsg:
    m: PresenceMsg = _decode(_dec_presence, data, "presence")
    return m


def decode_case(data: bytes) -> CaseUpdate:
    m: CaseUpdate = _decode(_dec_case, data, "case update")
    return m


def decode_catalog(data: bytes) -> CatalogUpdate:
    m: CatalogUpdate = _decode(_dec_catalog, data, "catalogue update")
    return m


def decode_calendar(data: bytes) -> CalendarUpdate:
    m: CalendarUpdate = _decode(_dec_calendar, data, "calendar")
    return m


def decode_appointment(data: bytes) -> AppointmentRequest:
    m: AppointmentRequest = _decode(_dec_appointment, data, "appointment")
    if m.action == "book" and (m.business is None or m.date is None or m.slot_start is None):
        raise ContractError("a booking needs business, date and slot_start")
    return m


def decode_slots(data: bytes) -> SlotsMsg:
    m: SlotsMsg = _decode(_dec_slots, data, "slots")
    return m


def decode_resend(data: bytes) -> ResendRequest:
    m: ResendRequest = _decode(_dec_resend, data, "resend request")
    if m.to_seq < m.from_seq:
        raise ContractError(f"resend range {m.from_seq}..{m.to_seq} is empty")
    return m


def event_message(ev: Any, hall_id: str, region: str, tz: ZoneInfo) -> EventMsg:
    """The wire form of a kiosk.core.events.Event."""
    at = datetime.fromisoformat(ev.at_utc)
    return EventMsg(
        hall_id=hall_id, region=region, seq=ev.seq, id=ev.id, kind=ev.kind, at_utc=at,
        local_time=at.astimezone(tz), local_date=ev.local_date, payload=ev.payload,
        actor=getattr(ev, "actor", "") or None, terminal=getattr(ev, "terminal", "") or None,
    )


def to_builtins(msg: msgspec.Struct) -> dict[str, Any]:
    d: dict[str, Any] = msgspec.to_builtins(msg)
    return d


# Event kinds sync itself appends on the hall (they travel out like any other event).
CATALOG_UPDATED = "catalog.updated"


# --- hall LAN: screens on other PCs ⇄ the hall server (docs/sync-contract.md "LAN clients") ---------------------
# Requests go to hall/{hall}/cmd/{client}/{method}; the server answers on hall/{hall}/reply/{client}.  The client id
# in the topic is what the broker ACL binds to the client's credentials, so the server may trust it.
LAN_CMD_TOPIC = "hall/{hall_id}/cmd/{client_id}/{method}"  # client → server, QoS 1, not retained
LAN_CMD_FILTER = "hall/{hall_id}/cmd/+/+"  # what the server subscribes to
LAN_REPLY_TOPIC = "hall/{hall_id}/reply/{client_id}"  # server → one client, QoS 1, not retained
LAN_EVENT_TOPIC = "hall/{hall_id}/lan/event"  # server → clients, QoS 1, every committed event in seq order
LAN_HEARTBEAT_TOPIC = "hall/{hall_id}/lan/heartbeat"  # server → clients, QoS 0, every few seconds
LAN_SERVER_TOPIC = "hall/{hall_id}/lan/server"  # server presence, QoS 1, retained; LWT "offline"
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
METHOD_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?\Z")


def _client(client_id: str) -> str:
    if not CLIENT_ID_RE.match(client_id):
        raise ContractError(f"LAN client id {client_id!r} cannot be used in a topic (letters, digits, - or _)")
    return client_id


def lan_cmd_topic(hall_id: str, client_id: str, method: str) -> str:
    if not METHOD_RE.match(method):
        raise ContractError(f"method name {method!r} cannot be used in a topic")
    return LAN_CMD_TOPIC.format(hall_id=_hall(hall_id), client_id=_client(client_id), method=method)


def lan_cmd_filter(hall_id: str) -> str:
    return LAN_CMD_FILTER.format(hall_id=_hall(hall_id))


def lan_reply_topic(hall_id: str, client_id: str) -> str:
    return LAN_REPLY_TOPIC.format(hall_id=_hall(hall_id), client_id=_client(client_id))


def lan_event_topic(hall_id: str) -> str:
    return LAN_EVENT_TOPIC.format(hall_id=_hall(hall_id))


def lan_heartbeat_topic(hall_id: str) -> str:
    return LAN_HEARTBEAT_TOPIC.format(hall_id=_hall(hall_id))


def lan_server_topic(hall_id: str) -> str:
    return LAN_SERVER_TOPIC.format(hall_id=_hall(hall_id))


def parse_lan_cmd_topic(topic: str, hall_id: str) -> tuple[str, str]:
    """hall/{hall}/cmd/{client}/{method} → (client, method); anything else is a ContractError."""
    parts = topic.split("/")
    if (len(parts) == 5 and parts[0] == "hall" and parts[1] == hall_id and parts[2] == "cmd"
            and CLIENT_ID_RE.match(parts[3]) and METHOD_RE.match(parts[4])):
        return parts[3], parts[4]
    raise ContractError(f"not a LAN command topic of hall {hall_id!r}: {topic[:200]!r}")


RequestId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}\Z")]


class LanRequest(msgspec.Struct, kw_only=True):
    """One call: the method is in the topic; `id` pairs the reply (and dedups a redelivered request)."""

    v: Version = SCHEMA_VERSION
    id: RequestId
    args: list[Any] = msgspec.field(default_factory=list)
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
    # the token a staff.verify reply carried: the server acts for that person only if it signed it for this client
    # and it has not expired (an older server ignores the field; an older client sends none and stays anonymous)
    session: Annotated[str, msgspec.Meta(max_length=512)] | None = None


class LanError(msgspec.Struct, kw_only=True):
    """A HallError (or a LAN refusal) as data: the client raises the class registered for `key`."""

    key: Annotated[str, msgspec.Meta(max_length=100)]
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    message: Text = ""


class LanReply(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`kind` says how to rebuild the value: plain JSON, Result(value, events), Result(Issued, events), or a list
    of events (events_after).  id is None only for a request too broken to carry one."""

    v: Version = SCHEMA_VERSION
    id: str | None
    ok: bool
    kind: Literal["plain", "result", "issued", "events"] = "plain"
    value: Any = None
    events: list[dict[str, Any]] = msgspec.field(default_factory=list)
    error: LanError | None = None


class LanEvent(msgspec.Struct, kw_only=True):
    """One committed hall event for the LAN screens (kiosk.core.events.Event's fields)."""

    v: Version = SCHEMA_VERSION
    seq: Seq
    id: str
    kind: str
    at_utc: str
    local_date: str
    payload: dict[str, Any]
    actor: str = ""
    terminal: str = ""


class LanHeartbeat(msgspec.Struct, kw_only=True):
    """"The server is alive, and the last event it published is seq N" (a quiet client still sees a gap)."""

    v: Version = SCHEMA_VERSION
    hall_id: HallId
    at_utc: UtcTime
    last_seq: Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)]
    boot: str  # changes when the server restarts


_dec_lan_request = msgspec.json.Decoder(LanRequest)
_dec_lan_reply = msgspec.json.Decoder(LanReply)
_dec_lan_event = msgspec.json.Decoder(LanEvent)
_dec_lan_heartbeat = msgspec.json.Decoder(LanHeartbeat)


def decode_lan_request(data: bytes) -> LanRequest:
    m: LanRequest = _decode(_dec_lan_request, data, "LAN request")
    return m


def decode_lan_reply(data: bytes) -> LanReply:
    m: LanReply = _decode(_dec_lan_reply, data, "LAN reply")
    return m


def decode_lan_event(data: bytes) -> LanEvent:
    m: LanEvent = _decode(_dec_lan_event, data, "LAN event")
    return m


def decode_lan_heartbeat(data: bytes) -> LanHeartbeat:
    m: LanHeartbeat = _decode(_dec_lan_heartbeat, data, "LAN heartbeat")
    return m
