"""One driver per ID card reader: polls 找卡, then 选卡 and 读卡 once per card placed, and hands out what a screen may
know of the citizen — the ID number, the masked name and the validity (devices/reads.py IdCardRead).

The rest of the card (name in clear, sex, nation, birth, address, issuer) is parsed and dropped inside `_deliver`;
the photo is never even copied out of the reply (proto.read_text).  Nothing here logs the ID in clear.

An expired card (or one not yet valid) is refused with a message the kiosk shows (ReadRefused).  A read that
fails (the card moved, a bad checksum) is tried again `retries` times, then the citizen is asked to place the card
again.  Health: offline when the port is gone or the reader has not answered `miss_limit` requests in a row (it
is polled on, and is ok again at its first answer); degraded when its answers keep arriving spoiled or its security
module (SAM) reports a fault.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from devices.base import DeviceUrl, DeviceWorker, HealthState, SerialTransport, Transport, open_transport, parse_url
from devices.config import own_options
from devices.idcard import proto
from devices.idcard.config import DEFAULT_BAUD, IdCardSection
from devices.idcard.proto import FIND, READ, SELECT, CardText, Command, ProtoError, Reply, Status
from devices.reads import IdCardRead, ReadFanout, ReadListener, ReadRefused
from kiosk.core.privacy import mask_id, mask_name
from kiosk.core.sections import read_section

READ_REPLY_BYTES = proto.HEADER + 4 + 4 + proto.TEXT_SIZE + proto.PHOTO_SIZE  # what a 30 01 answer puts on the wire
CHUNK = 512
GARBLED_LIMIT = 3  # spoiled answers in a row before the reader counts as degraded

UNREADABLE = "读卡失败，请把身份证平放在读卡区，拿开后再放一次"
UNSUPPORTED = "无法识别这张证件的信息，请到服务台办理"
SILENT = "身份证阅读器无应答（检查电源和数据线）"
GARBLED = "身份证阅读器通信出错（校验和错误），请检查数据线"


@dataclass
class Counters:
    reads: int = 0  # cards handed out
    refused: int = 0  # expired, not yet valid, unsupported, unreadable
    retries: int = 0
    missed: int = 0  # requests with no answer at all
    garbled: int = 0  # answers spoiled on the line (caught by the checksum, a cut-off frame)
    out_of_step: int = 0  # an answer that cannot be the one to the request just sent (a late one)


def answers(cmd: Command, r: Reply) -> bool:
    """Whether `r` can be the reader's answer to `cmd`; a late answer to an earlier request is not acted on."""
    if cmd == FIND:
        return r.sw3 != Status.OK
    if cmd == READ:
        return r.sw3 != Status.FOUND and (r.sw3 != Status.OK or len(r.data) >= 4 + proto.TEXT_SIZE)
    return r.sw3 != Status.FOUND and not (r.sw3 == Status.OK and len(r.data) >= 4 + proto.TEXT_SIZE)


class IdCardReader(DeviceWorker):
    kind = "idcard"

    def __init__(self, name: str, url: DeviceUrl, *, poll_interval: float = 0.3, reply_timeout: float = 0.5,
                 retries: int = 2, miss_limit: int = 3, today: Callable[[], date] | None = None) -> None:
        super().__init__(name, queue_size=8, max_backoff=1.0)
        self.url = url
        self.idle_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.retries = retries
        self.miss_limit = miss_limit
        self.baud = int(url.opts.get("baud", DEFAULT_BAUD)) if url.scheme == "serial" else DEFAULT_BAUD
        self._today = today or date.today
        self._reads = ReadFanout(name)
        self.decoder = proto.Decoder(host=True)
        self.counters = Counters()
        self._present = False  # the card on the reader was dealt with: the next one is read after it goes
        self._misses = 0
        self._garbles = 0
        self._fault = ""  # a SAM fault the reader reported, shown as degraded

    # --- public -------------------------------------------------------------------------------------
    def on_read(self, fn: ReadListener) -> Callable[[], None]:
        """Call `fn` (on this driver's thread) with each IdCardRead or ReadRefused; returns the way to stop."""
        return self._reads.add(fn)

    def follow_clock(self, now: Callable[[], datetime], tz: Any) -> None:
        """Judge expiry on the hall's local date (the hall's clock: a demo's runs fast); the wall clock's date if
        the hall cannot say (a LAN hall out of reach)."""
        def today() -> date:
            try:
                return now().astimezone(tz).date()
            except Exception:
                self.log.warning("%s: the hall's clock did not answer; expiry judged on this PC's date", self.name)
                return datetime.now(tz).date()

        self._today = today

    def rearm(self) -> None:
        """Read the card lying on the reader again (a screen that lost the first read)."""
        self.submit(("rearm",))

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = dict(self.health.status())
        st["counters"] = self.counter_values()
        return st

    def counter_values(self) -> dict[str, int]:
        c = self.counters
        return {**self.decoder.counters(), "reads": c.reads, "refused": c.refused, "retries": c.retries,
                "missed": c.missed, "garbled": c.garbled, "out_of_step": c.out_of_step, "dropped_jobs": self.dropped}

    # --- worker -------------------------------------------------------------------------------------
    def _open(self) -> Transport:
        if self.url.scheme == "sim":
            from devices.idcard import sim

            reader = sim.open_reader(self.url.path, self.url.opts)
            return SerialTransport(reader.path, DEFAULT_BAUD, timeout=0.02)
        if self.url.scheme == "serial":
            # short read timeout: answers are read in chunks, and a silent reader must cost little
            return SerialTransport(self.url.path, self.baud, timeout=0.02)
        return open_transport(self.url)

    def _requeue(self, job: Any) -> None:
        return None  # a rearm lost to an unplug: the card is read anyway once the reader is back

    def _handle(self, job: Any, transport: Transport) -> None:
        if job[0] == "rearm":
            self._present = False

    def _idle(self, transport: Transport) -> None:
        found = self._exchange(transport, FIND)
        if found is None:
            return
        if found.sw3 == Status.NOT_FOUND:
            self._present = False
            self._note_fault("")
            return
        if found.sw3 != Status.FOUND:
            self._reader_status(found)
            return
        self._note_fault("")
        if not self._present:
            self._present = True
            self._read_card(transport)

    # --- one card -----------------------------------------------------------------------------------
    def _read_card(self, transport: Transport) -> None:
        for attempt in range(self.retries + 1):
            if attempt:
                self.counters.retries += 1
                again = self._exchange(transport, FIND)
                if again is not None and again.sw3 == Status.NOT_FOUND:
                    self._present = False  # taken off before it could be read: nothing to say
                    return
                if again is None or again.sw3 != Status.FOUND:
                    continue
            selected = self._exchange(transport, SELECT)
            if selected is None or not selected.ok:
                continue
            answer = self._exchange(transport, READ)
            if answer is None or not answer.ok:
                continue
            try:
                block = proto.read_text(answer)
            except ProtoError as exc:
                self.log.warning("%s: read reply malformed: %s", self.name, exc)
                continue
            finally:
                del answer  # the photo goes with it, unread
            try:
                card = proto.parse_text(block)
            except ProtoError as exc:
                self.log.warning("%s: card not understood: %s", self.name, exc)
                self._refuse("unsupported_card", UNSUPPORTED)
                return
            self._deliver(card)
            return
        self._refuse("unreadable", UNREADABLE)

    def _deliver(self, card: CardText) -> None:
        today = self._today()
        if card.valid_to is not None and card.valid_to < today:
            self._refuse("expired", f"身份证已过有效期（有效期至 {card.valid_to:%Y年%m月%d日}），"
                                    "请使用有效证件，或到服务台办理", until=card.valid_to)
            return
        if card.valid_from > today:
            self._refuse("not_yet_valid", f"身份证有效期自 {card.valid_from:%Y年%m月%d日} 开始，请到服务台办理")
            return
        read = IdCardRead(self.name, card.id_number, mask_name(card.name), card.valid_from, card.valid_to)
        self.counters.reads += 1
        self.log.info("%s: card read (%s, valid to %s)", self.name, mask_id(card.id_number),
                      card.valid_to or proto.LONG_TERM)
        self._reads.emit(read)

    def _refuse(self, key: str, reason: str, *, until: date | None = None) -> None:
        self.counters.refused += 1
        self.log.info("%s: card refused (%s)", self.name, key)
        self._reads.emit(ReadRefused(self.name, self.kind, key, reason, until))

    # --- the exchange -------------------------------------------------------------------------------
    def _exchange(self, transport: Transport, cmd: Command) -> Reply | None:
        """Send one request and return the reader's answer to it, or None (silence, or an answer spoiled)."""
        dec = self.decoder
        dec.expire()  # a partial frame from before belongs to no request
        spoiled = dec.errors
        timeout = self.reply_timeout + (READ_REPLY_BYTES * 10 / self.baud if cmd == READ else 0.0)
        transport.write(proto.command(cmd))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = transport.read(CHUNK)
            if not data:
                continue
            bad = dec.bad_checksum
            for r in dec.feed(data):
                assert isinstance(r, Reply)
                if answers(cmd, r):
                    self._answered()
                    return r
                self.counters.out_of_step += 1
            if dec.bad_checksum > bad and not dec.pending:
                break  # the answer came, spoiled: no need to wait out the timeout
        dec.expire()
        if dec.errors > spoiled:
            self._garbled()
        else:
            self._missed()
        return None

    # --- health -------------------------------------------------------------------------------------
    def _answered(self) -> None:
        self._misses = self._garbles = 0
        if self.health.state != HealthState.OK and not self._fault:
            self._set_health(HealthState.OK)

    def _missed(self) -> None:
        self.counters.missed += 1
        self._misses += 1
        if self._misses >= self.miss_limit:
            self._set_health(HealthState.OFFLINE, SILENT)

    def _garbled(self) -> None:
        self.counters.garbled += 1
        self._garbles += 1
        if self._garbles >= GARBLED_LIMIT:
            self._set_health(HealthState.DEGRADED, GARBLED)

    def _reader_status(self, r: Reply) -> None:
        """An answer to 找卡 that is neither found nor none: the reader's own trouble, or a card it cannot use."""
        if r.sw3 in proto.SAM_FAULTS:
            self._note_fault(f"身份证阅读器安全模块故障：{proto.status_text(r.sw3)}")
        else:
            self.log.info("%s: find answered %s", self.name, r.describe())

    def _note_fault(self, fault: str) -> None:
        if fault == self._fault:
            return
        self._fault = fault
        if fault:
            self._set_health(HealthState.DEGRADED, fault)
        else:
            self._set_health(HealthState.OK)


# --- config ---------------------------------------------------------------------------------------------
OPTIONS = frozenset(own_options(IdCardSection))


def from_config(name: str, section: dict[str, Any], hall_config: Any) -> IdCardReader:
    """The reader driver for ``[devices.<name>]``, read through IdCardSection (devices/idcard/config.py).  Expiry is
    judged on the hall's local date."""
    c = read_section(IdCardSection, section, ("devices", name), hall=hall_config)
    tz = getattr(hall_config, "tz", None)
    today = (lambda: datetime.now(tz).date()) if tz is not None else None
    return IdCardReader(name, parse_url(c.url), poll_interval=c.poll_interval, reply_timeout=c.reply_timeout,
                        retries=c.retries, miss_limit=c.miss_limit, today=today)
