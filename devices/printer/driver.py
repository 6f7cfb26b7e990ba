"""The ticket printer driver: config, a print queue on its own thread, DLE EOT status, and one result per ticket."""
from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devices.base import DeviceUrl, DeviceWorker, HealthState, Transport, open_transport, parse_url
from devices.config import own_options
from devices.printer import layout, proto
from devices.printer.config import PrinterSection, lines
from devices.printer.proto import Cut, PrinterStatus
from kiosk.core.events import TICKET_ISSUED, Event
from kiosk.core.phone import PHONE_TERMINAL
from kiosk.core.sections import read_section

NO_REPLY = "打印机无应答"
# Written in pieces: a 35 KB raster ticket takes 37 s at 9600 baud, far beyond one write's timeout (2 s on
# serial, 0.2 s on TCP); 512 bytes take 0.53 s even at 9600 and let a busy printer's flow control breathe.
WRITE_CHUNK = 512


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    url: DeviceUrl
    profile: layout.Profile
    ticket: layout.TicketOptions
    status: bool  # ask DLE EOT before and after each ticket; off for printers or links that never answer
    status_timeout: float = 1.0
    poll_s: float = 5.0
    max_wait_s: float = 10.0  # a ticket not printed by then is reported failed, never printed late
    terminal: str | None = None
    queue_size: int = 32


@dataclass(frozen=True, slots=True)
class PrintResult:
    ticket_id: str
    number: str
    ok: bool
    reason: str = ""


@dataclass(slots=True)
class PrintJob:
    ticket_id: str
    number: str
    payload: dict
    queued_at: float = field(default_factory=time.monotonic)
    data: bytes | None = None  # encoded once, reused if a reopen makes us send it again
    attempts: int = 0


OPTIONS = own_options(PrinterSection)


def parse_config(name: str, section: dict[str, Any], hall_config: Any = None) -> PrinterConfig:
    """[devices.<name>] through its Struct (devices/printer/config.py); a bad option raises ConfigError naming it."""
    c = read_section(PrinterSection, section, ("devices", name), hall=hall_config)
    url = parse_url(c.url)  # checked by PrinterSection.check
    width = c.width_dots
    profile = layout.Profile(mode=c.mode, encoding=c.encoding, chinese_mode=c.chinese_mode, qr=c.qr,
                             qr_module=c.qr_module, width_dots=width, cut=Cut(c.cut), feed_lines=c.feed_lines)
    ticket = layout.TicketOptions(
        header=lines(c.header),
        notice=lines(c.notice),
        qr_url=c.qr_url or None,
        qr_caption=c.qr_caption,
        hall_id=str(getattr(hall_config, "hall_id", "") or ""),
        public_base_url=str((getattr(hall_config, "web", None) or {}).get("public_base_url") or "").rstrip("/"),
        timezone=str(getattr(hall_config, "tz", None) or "Asia/Shanghai"),  # HallConfig.tz is a ZoneInfo
        width_dots=width,
    )
    return PrinterConfig(
        url=url,
        profile=profile,
        ticket=ticket,
        status=c.status == "on" or (c.status == "auto" and url.scheme != "file"),  # a spool file never answers
        status_timeout=c.status_timeout,
        poll_s=c.poll_s,
        max_wait_s=c.max_wait_s,
        terminal=c.terminal or None,
        queue_size=c.queue_size,
    )


def from_config(name: str, section: dict[str, Any], hall_config: Any = None) -> PrinterDriver:
    return PrinterDriver(name, parse_config(name, section, hall_config))


ResultListener = Callable[[PrintResult], None]


class PrinterDriver(DeviceWorker):
    """Prints ticket.issued events.  Every ticket ends in exactly one PrintResult: printed, or failed with a reason.

    Policy: a fault a person must fix (paper out, cover open) fails waiting tickets at once, so the kiosk can show
    the number on screen instead; a silent or unplugged printer gets `max_wait_s` to come back.  Nothing is sent
    while the printer is stopped, because it would keep the bytes and print a stale ticket for the next person.
    """

    kind = "printer"

    def __init__(self, name: str, config: PrinterConfig) -> None:
        super().__init__(name, queue_size=config.queue_size)
        self.config = config
        self.printed = 0
        self.failed = 0
        self.noise_bytes = 0  # bytes read that were not status replies
        self.last_status: PrinterStatus | None = None
        self._result_listeners: list[ResultListener] = []
        self._pending: collections.deque[PrintJob] = collections.deque()
        self._overflow: collections.deque[PrintJob] = collections.deque()
        self._next_poll = 0.0
        self._reply_lost = False
        self._warned_terminal = False
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()  # recent event ids
        self._seen_lock = threading.Lock()

    # --- public, any thread ----------------------------------------------------------------------------------
    def on_result(self, fn: ResultListener) -> None:
        self._result_listeners.append(fn)

    @property
    def event_kinds(self) -> frozenset[str]:
        """What the supervisor subscribes this driver to."""
        return frozenset({TICKET_ISSUED})

    def handle_event(self, ev: Event) -> None:
        """Called by the hall with its write lock held: only queue, never wait."""
        if ev.kind != TICKET_ISSUED:
            return
        terminal = self.config.terminal
        if ev.payload.get("terminal") == PHONE_TERMINAL:
            return  # taken on a phone (扫码取号): the phone shows it, no paper waits at any kiosk
        if terminal is not None and ev.payload.get("terminal") not in (terminal, None):
            return  # issued at another kiosk, which has its own printer
        if terminal is not None and "terminal" not in ev.payload and not self._warned_terminal:
            self._warned_terminal = True
            self.log.warning("%s: ticket.issued carries no 'terminal'; printing every ticket", self.name)
        with self._seen_lock:
            # LAN kiosks get events through the hall broker at QoS 1: a redelivery must not print twice
            if ev.id in self._seen:
                return
            self._seen[ev.id] = None
            if len(self._seen) > 1024:
                self._seen.popitem(last=False)
        self.print_ticket(ev.payload)

    def print_ticket(self, payload: dict) -> None:
        t = payload.get("ticket") or {}
        self.submit(PrintJob(str(t.get("id", "")), str(t.get("number", "")), payload))

    def submit(self, job: Any) -> None:
        """Never blocks.  A full queue refuses the newest ticket, which the worker then reports as failed:
        unlike an LED frame, a ticket dropped silently would leave the kiosk waiting for a result forever."""
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self.dropped += 1
            self._overflow.append(job)  # deque.append is atomic; the worker thread reports it

    def can_print(self) -> tuple[bool, str]:
        """For the kiosk, before it issues: the last known state, answered at once (no I/O on the caller's thread)."""
        h = self._health
        return h.state is not HealthState.OFFLINE, h.reason

    def status(self) -> dict[str, str]:
        return super().status() | {
            "pending": str(len(self._pending) + self._jobs.qsize() + len(self._overflow)),
            "printed": str(self.printed),
            "failed": str(self.failed),
            "dropped": str(self.dropped),
        }

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread; tickets still waiting get their failed result rather than none."""
        super().stop(timeout)
        if self._thread is not None and self._thread.is_alive():
            return  # stuck in a write: the worker still owns the queue and will report what it finishes
        self._take_queued()
        self._report_overflow()
        self._fail_all("打印服务已停止")

    # --- the worker thread -----------------------------------------------------------------------------------
    def _open(self) -> Transport:
        url = self.config.url
        if url.scheme == "sim":
            from devices.printer.sim import open_sim

            t: Transport = open_sim(url)
        else:
            t = open_transport(url)
        self._next_poll = 0.0  # learn the paper state right away, before the first ticket
        self._reply_lost = True  # whatever sits in the input buffer is from before
        return t

    def _while_offline(self) -> None:
        # unplugged: still answer for every ticket within max_wait_s instead of holding them silently
        self._take_queued()
        self._report_overflow()
        self._expire()

    def _handle(self, job: PrintJob, transport: Transport) -> None:
        self._pending.append(job)
        self._pump(transport)

    def _idle(self, transport: Transport) -> None:
        if self.config.status and time.monotonic() >= self._next_poll:
            self._poll(transport)
        self._pump(transport)

    def _requeue(self, job: Any) -> None:
        """The job is still at the head of _pending; it is resent after reopen unless it expires first."""

    def _pump(self, transport: Transport) -> None:
        self._report_overflow()
        while self._pending:
            self._expire()
            if not self._pending:
                return
            job = self._pending[0]
            if self.config.status:
                st = self._poll(transport)
                if st is None:
                    return  # silent: keep the ticket until it expires or the printer answers
                if st.needs_attention:
                    self._fail_all(st.classify()[1])
                    return
            if job.data is None:
                try:
                    job.data = layout.ticket_bytes(job.payload, self.config.ticket, self.config.profile)
                except Exception as exc:  # a malformed payload must cost one ticket, not the thread
                    self.log.exception("%s: cannot lay out ticket %s", self.name, job.ticket_id)
                    self._finish(self._pending.popleft(), False, f"票面生成失败：{exc}")
                    continue
            job.attempts += 1
            if job.attempts > 1:
                self.log.warning("%s: sending %s again after the link dropped mid-ticket", self.name, job.number)
            for i in range(0, len(job.data), WRITE_CHUNK):
                transport.write(job.data[i : i + WRITE_CHUNK])
            ok, reason = True, ""
            if self.config.status:
                after = self._poll(transport)
                if after is not None and after.needs_attention:
                    ok, reason = False, f"{after.classify()[1]}，票可能没有打全"
            self._finish(self._pending.popleft(), ok, reason)

    def _poll(self, transport: Transport) -> PrinterStatus | None:
        self._next_poll = time.monotonic() + self.config.poll_s
        st = self._query(transport)
        if st is None:
            self._set_health(HealthState.OFFLINE, NO_REPLY)
            return None
        self.last_status = st
        self._set_health(*st.classify())
        return st

    def _query(self, transport: Transport) -> PrinterStatus | None:
        # both requests in one write, one round trip: DLE EOT is real-time, answered in the order asked, and the
        # status asked before every ticket is on the way from tap to paper
        replies = self._ask(transport, 2, 4)
        if replies is None:
            return None
        offline, paper = replies
        error = self._ask(transport, 3) if offline & 0x40 else None
        return proto.parse_status(offline, paper, error[0] if error else None)

    def _ask(self, transport: Transport, *ns: int) -> list[int] | None:
        """DLE EOT n for each n, sent together; the replies in that order.  A missing reply is None — never
        "paper ok", the python-escpos trap."""
        if self._reply_lost:
            self._drain(transport)  # a late reply to an earlier request would answer this one wrongly
        transport.write(b"".join(proto.status_request(n) for n in ns))
        deadline = time.monotonic() + self.config.status_timeout
        replies: list[int] = []
        while time.monotonic() < deadline:
            data = transport.read(1)
            if not data:
                time.sleep(0.005)  # links whose read never blocks (files) must not spin
                continue
            if proto.is_status_byte(data[0]):
                replies.append(data[0])
                if len(replies) == len(ns):
                    self._reply_lost = False
                    return replies
                continue
            self.noise_bytes += 1
        self._reply_lost = True
        return None

    def _drain(self, transport: Transport) -> None:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            data = transport.read(64)
            if not data:
                break
            self.noise_bytes += len(data)
        self._reply_lost = False

    def _take_queued(self) -> None:
        self._pending.extend(self._drain_jobs())

    def _expire(self) -> None:
        offline = self._health.state is HealthState.OFFLINE
        reason = (self._health.reason or NO_REPLY) if offline else "排队打印过久"
        now = time.monotonic()
        while self._pending and now - self._pending[0].queued_at > self.config.max_wait_s:
            self._finish(self._pending.popleft(), False, f"{reason}，{self.config.max_wait_s:g} 秒内未能打印")

    def _report_overflow(self) -> None:
        while self._overflow:
            self._finish(self._overflow.popleft(), False, "打印队列已满")

    def _fail_all(self, reason: str) -> None:
        while self._pending:
            self._finish(self._pending.popleft(), False, reason)

    def _finish(self, job: PrintJob, ok: bool, reason: str = "") -> None:
        if ok:
            self.printed += 1
        else:
            self.failed += 1
            self.log.warning("%s: ticket %s not printed: %s", self.name, job.number, reason)
        result = PrintResult(job.ticket_id, job.number, ok, reason)
        for fn in list(self._result_listeners):
            try:
                fn(result)
            except Exception:
                self.log.exception("%s: print result listener failed", self.name)


