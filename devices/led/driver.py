"""LED board driver: hall events → coalesced, rate-limited A3 06 frames to one Onbon BX controller, with health."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from devices.base import DeviceUrl, DeviceWorker, Transport, TransportError, open_transport, parse_url
from devices.led import proto
from devices.led.config import LedSection
from devices.led.content import TRUTH_KINDS, AreaContent, HallBoard, Rect, WindowBoard
from devices.led.schedule import AreaScheduler, Batch, ReplyHealth
from kiosk.core import events as ek
from kiosk.core.events import Event
from kiosk.core.sections import read_section

_WAKE = "wake"  # the only job: "look at the pending areas"; content itself never waits in the queue

# Events after which the hall board asks the hall for fresh waiting counts
_WAITING_KINDS = frozenset(
    {
        ek.TICKET_ISSUED,
        ek.TICKET_CALLED,
        ek.TICKET_TRANSFERRED,
        ek.TICKET_VOIDED,
        ek.TICKET_EXPIRED,
        ek.TICKET_HELD,
        ek.TICKET_RESUMED,
        ek.DAY_CLOSED,
    }
)
_WINDOW_KINDS = frozenset(
    {
        ek.TICKET_CALLED,
        ek.TICKET_RECALLED,
        ek.SERVICE_STARTED,
        ek.SERVICE_FINISHED,
        ek.TICKET_NO_SHOW,
        ek.TICKET_HELD,
        ek.TICKET_RESUMED,
        ek.TICKET_TRANSFERRED,
        ek.WINDOW_PAUSED,
        ek.WINDOW_RESUMED,
        ek.WINDOW_SIGNED_IN,
        ek.WINDOW_SIGNED_OUT,
        ek.DAY_CLOSED,
    }
)
_HALL_KINDS = frozenset({ek.NOTICE_CHANGED}) | _WAITING_KINDS | TRUTH_KINDS
_RETRY_ERRORS = {proto.ERR_CHECKSUM, proto.ERR_BUSY}  # a NACK worth sending the same content again for


class LedBoard(DeviceWorker):
    """One Onbon BX-5K/6K board (a window board or the hall board).

    Never floods the controller: at most one frame per `min_interval`, and each frame carries the latest text of
    every area that changed (A3 06 takes several areas), so a burst of calls costs one frame and the board ends on
    the newest.  A call flashes (doc §9.1 DisplayMode 0x02 "快速打出", looping) and a steady frame follows after
    `flash_s`.  Content lives in RAM on the controller (§8.2.1), so every reopen or controller return re-sends it.
    """

    kind = "led"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        role: str = "window",
        window: int | None = None,
        address: int = 1,
        welcome: str = "欢迎光临",
        min_interval: float = 1.0,
        flash_s: float = 3.0,
        width: int | None = None,
        height: int | None = None,
        lines: int = 3,
        notice: str | None = None,
        reply_timeout: float = 0.5,
        keepalive: float = 20.0,
        max_misses: int = 2,
        max_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, queue_size=8, max_backoff=max_backoff)
        self._clock = clock  # every timing rule reads this, so tests can move time by hand
        self.url: DeviceUrl = parse_url(url)
        self.role = role
        self.address = address
        self.min_interval = min_interval
        self.reply_timeout = reply_timeout
        self.baud = int(self.url.opts.get("baud", 9600)) if self.url.scheme == "serial" else 0
        self.content: WindowBoard | HallBoard
        if role == "window":
            if window is None:
                raise ValueError("a window board needs its window number")
            self.content = WindowBoard(
                window, welcome=welcome, flash_s=flash_s, width=width or 128, height=height or 32
            )
        elif role == "hall":
            if height:
                lines = max(1, height // 16 - (1 if notice is None else 2))
            self.content = HallBoard(lines=lines, width=width or 256, flash_s=0.0, notice=notice)
        else:
            raise ValueError(f"unknown LED role {role!r}")
        self.layout: dict[int, Rect] = self.content.layout()
        self.waiting_source: Callable[[], list[dict[str, Any]]] | None = None
        # the hall board's calls: each event moves them at once; the hall's windows, re-read after it, win
        self.windows_source: Callable[[], list[dict[str, Any]]] | None = None
        self._refresh_calls = False
        self._lock = threading.Lock()  # guards content model + area states; held for microseconds only
        self._sched = AreaScheduler(
            self.content.initial(), min_interval=min_interval, keepalive=keepalive, now=clock()
        )
        self._refresh_waiting = False
        self._wake_pending = False
        self.pings = 0
        self._replies = ReplyHealth(max_misses)
        self._silent = False  # offline because the controller stopped answering (link itself is up)
        self._decoder = proto.FrameDecoder()
        # the loop polls this often for due frames; never slower than a quarter of the frame spacing
        self.idle_interval = max(0.005, min(0.05, min_interval / 4 if min_interval else 0.005))
        # figures for status/bench
        self.frames_sent = 0
        self.bytes_sent = 0
        self.last_frame_bytes = 0
        self.acks = 0
        self.nacks = 0
        self.unencodable = 0
        self.send_times: deque[float] = deque(maxlen=256)
        self.latencies: deque[float] = deque(maxlen=2000)

    # --- public ---------------------------------------------------------------------------------------------
    @property
    def keepalive(self) -> float:
        """Idle PING period (§8.7), so that an idle board still notices an unplug; 0 = never."""
        return self._sched.keepalive

    @keepalive.setter
    def keepalive(self, value: float) -> None:
        self._sched.keepalive = value

    @property
    def expects_reply(self) -> bool:
        return self.address != proto.BROADCAST  # §4: broadcast 1 is never answered

    def kinds(self) -> set[str]:
        return set(_WINDOW_KINDS if self.role == "window" else _HALL_KINDS)

    def handle_event(self, ev: Event) -> None:
        """Map an event to area content and wake the I/O thread; never blocks, never raises into the hall."""
        t = self._clock()
        try:
            with self._lock:
                changes = self.content.apply(ev)
                for c in changes:
                    self._sched.set(c, t)
                refresh = self.role == "hall" and self.waiting_source is not None and ev.kind in _WAITING_KINDS
                if refresh:
                    self._refresh_waiting = True
                if self.role == "hall" and self.windows_source is not None and ev.kind in TRUTH_KINDS:
                    self._refresh_calls = refresh = True
        except Exception:
            self.log.exception("%s: cannot map %s #%s", self.name, ev.kind, ev.seq)
            return
        if changes or refresh:
            self._wake()

    def set_waiting(self, counts: list[Mapping[str, Any]]) -> None:
        """Hall board: show these waiting counts (rows as from `Hall.waiting_counts()`)."""
        if isinstance(self.content, HallBoard):
            with self._lock:
                changes = self.content.set_waiting(counts)
            self._apply(changes)

    def set_calls(self, windows: list[dict[str, Any]]) -> None:
        """Hall board: show the numbers these windows hold now (rows as from `Hall.windows()`)."""
        if isinstance(self.content, HallBoard):
            with self._lock:
                changes = self.content.set_calls(windows)
            self._apply(changes)

    def _apply(self, changes: list[AreaContent]) -> None:
        t = self._clock()
        with self._lock:
            for c in changes:
                self._sched.set(c, t)
        if changes:
            self._wake()

    def shown(self) -> dict[int, str]:
        """What each area should show now (the latest truth, whether or not it is on the wire yet)."""
        with self._lock:
            return self._sched.shown()

    def stats(self) -> dict[str, Any]:
        return {
            **self.status(),
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "acks": self.acks,
            "nacks": self.nacks,
            "bad_replies": self._decoder.stats.bad_total,
            "garbage_bytes": self._decoder.stats.garbage_bytes,
            "unencodable": self.unencodable,
            "dropped": self.dropped,
            "pings": self.pings,
            "missed_replies": self._replies.missed,  # counts live here, not in the health reason
            "misses_in_a_row": self._replies.misses,
            "last_bad_reply": self._decoder.errors[-1] if self._decoder.errors else "",
        }

    def attach(self, hall: Any) -> Callable[[], None]:
        """Wire to a Hall: events in, health out, waiting counts from the hall; returns the unsubscribe."""
        self.on_health(lambda h: hall.report_device_health(h.device, h.kind, str(h.state), h.reason))
        if self.role == "hall" and hasattr(hall, "waiting_counts"):
            self.waiting_source = hall.waiting_counts
            self._refresh_waiting = True
        if self.role == "hall" and hasattr(hall, "windows"):
            self.windows_source = hall.windows
            self._refresh_calls = True  # a board started mid-day shows the calls standing now
        if isinstance(self.content, HallBoard) and self.content.notice is not None and hasattr(hall, "notice"):
            self._apply(self.content.set_notice(hall.notice()))
        return hall.subscribe(self.handle_event, self.kinds())

    # --- worker side ----------------------------------------------------------------------------------------
    def _wake(self) -> None:
        if not self._wake_pending:
            self._wake_pending = True
            self.submit(_WAKE)

    def _connect(self) -> Transport:
        """The URL picks the transport (the one place a test may hand in its own line)."""
        if self.url.scheme == "sim":
            from devices.led.sim import open_sim  # the in-process controller

            return open_sim(self.url)
        return open_transport(self.url)

    def _open(self) -> Transport:
        transport = self._connect()
        self._decoder.reset()
        self._replies.reset()
        self._silent = False
        with self._lock:
            self._sched.slow = False
            self._sched.resend_all()  # dynamic areas are RAM only: whatever was there may be gone
            if self.role == "hall" and self.waiting_source is not None:
                self._refresh_waiting = True
            if self.role == "hall" and self.windows_source is not None:
                self._refresh_calls = True
        return transport

    def _handle(self, job: Any, transport: Transport) -> None:
        self._wake_pending = False
        self._pump(transport)

    def _idle(self, transport: Transport) -> None:
        self._pump(transport)

    def _requeue(self, job: Any) -> None:
        self._wake_pending = False
        self._wake()

    def _fetch_waiting(self) -> None:
        self._refresh_waiting = False
        source = self.waiting_source
        if source is None:
            return
        try:
            counts = source()
        except Exception as exc:  # the hall being busy or closing must not kill the board
            self.log.warning("%s: waiting counts unavailable: %s", self.name, exc)
            return
        self.set_waiting(counts)

    def _fetch_calls(self) -> None:
        self._refresh_calls = False
        source = self.windows_source
        if source is None:
            return
        try:
            windows = source()
        except Exception as exc:  # the events' own picture stands until the hall answers again
            self.log.warning("%s: windows unavailable: %s", self.name, exc)
            return
        self.set_calls(windows)

    def _pump(self, transport: Transport) -> None:
        """Send at most one frame (content if any is due, else a keepalive PING when the line has been idle)."""
        if self._refresh_waiting and self._clock() >= self._sched.next_content:
            self._fetch_waiting()  # once per free frame slot, however many events asked for it
        if self._refresh_calls and self._clock() >= self._sched.next_content:
            self._fetch_calls()
        with self._lock:
            batch = self._sched.take(self._clock())
        if batch is not None:
            self._send(transport, batch)

    def _ping_frame(self) -> bytes:
        self.pings += 1
        response = proto.RESPONSE_REQUIRED if self.expects_reply else proto.RESPONSE_NONE
        req = proto.Request(proto.GROUP_SYS, proto.CMD_PING, response=response)
        return proto.encode_frame(proto.Frame(dst=self.address, src=proto.SRC_PC, data=req.encode()))

    def _send(self, transport: Transport, batch: Batch) -> None:
        frame = self._ping_frame() if batch.is_ping else self._build(list(batch.items))
        try:
            transport.write(frame)
        except (TransportError, OSError):
            with self._lock:
                self._sched.failed(batch)
            raise
        t = self._clock()
        with self._lock:
            self._sched.sent(batch, t)
        self.frames_sent += 1
        self.bytes_sent += len(frame)
        self.send_times.append(t)
        if not batch.is_ping:
            self.last_frame_bytes = len(frame)
        if batch.since is not None:
            self.latencies.append(t - batch.since)
        if self.expects_reply:
            self._judge(self._await_reply(transport, len(frame)), batch)

    def _build(self, sent: list[tuple[int, AreaContent, bool]]) -> bytes:
        areas = []
        for a, content, flash in sent:
            data, bad = proto.encode_text(content.text)
            if bad:
                self.unencodable += len(bad)
                self.log.warning("%s: area %d: not in GB2312, shown as ？: %r", self.name, a, "".join(bad))
            if len(data) > proto.MAX_AREA_TEXT:
                self.log.warning("%s: area %d: text of %d bytes cut to %d", self.name, a, len(data),
                                 proto.MAX_AREA_TEXT)
                data = proto.clip_text(data)
            r = self.layout.get(a) or Rect(0, 0, 128, 16)
            if content.scroll:
                area = proto.Area(
                    a, data, r.x, r.y, r.width, r.height, run_mode=proto.RUN_LOOP, single_line=proto.SINGLE_LINE,
                    new_line=proto.MANUAL_WRAP, effect=proto.EFFECT_LEFT, speed=4, stay=0,
                )
            elif flash:
                # §9.1: no blink mode exists; "快速打出" in a loop re-draws the text every stay period
                area = proto.Area(
                    a, data, r.x, r.y, r.width, r.height, run_mode=proto.RUN_LOOP, effect=proto.EFFECT_TYPE_OUT,
                    speed=0, stay=1,
                )
            else:
                area = proto.Area(
                    a, data, r.x, r.y, r.width, r.height, run_mode=proto.RUN_HOLD_LAST, effect=proto.EFFECT_STATIC,
                    speed=0, stay=10,
                )
            areas.append(area)
        response = proto.RESPONSE_REQUIRED if self.expects_reply else proto.RESPONSE_NONE
        update = proto.DynamicUpdate(tuple(areas), response=response)
        return proto.encode_frame(proto.Frame(dst=self.address, src=proto.SRC_PC, data=update.encode()))

    def _await_reply(self, transport: Transport, frame_len: int) -> proto.Reply | None:
        wire = proto.wire_seconds(frame_len + 30, self.baud) if self.baud else 0.0
        deadline = self._clock() + self.reply_timeout + wire
        size = 1 if self.url.scheme == "serial" else 256  # pyserial read(n) waits for n bytes or its timeout
        while self._clock() < deadline:
            chunk = transport.read(size)
            if not chunk:
                continue
            for f in self._decoder.feed(chunk):
                if f.dst not in (proto.SRC_PC, proto.BROADCAST_REPLY):
                    continue  # another client's answer on a shared bus
                try:
                    reply = proto.decode_reply(f.data)
                except proto.FrameError as exc:
                    self._decoder.errors.append(str(exc))
                    continue
                if reply.group == proto.GROUP_ACK or reply.group == proto.GROUP_DISPLAY:
                    return reply
        return None

    def _judge(self, reply: proto.Reply | None, batch: Batch) -> None:
        with self._lock:
            self._sched.doubt = reply is None
        if reply is None:
            with self._lock:
                self._sched.failed(batch, keep_flash=False)
            state, reason = self._replies.no_reply()
            if self._replies.silent and not self._silent:
                self._silent = True
                with self._lock:
                    self._sched.slow = True
                    self._sched.resend_all()  # the probe that gets answered carries everything
            self._set_health(state, reason)
            return
        if reply.is_nack:
            self.nacks += 1
            if reply.error in _RETRY_ERRORS:
                with self._lock:
                    self._sched.failed(batch, keep_flash=False)
        else:
            self.acks += 1
        if self._silent:
            self._silent = False
            with self._lock:
                self._sched.slow = False
                self._sched.resend_all()  # it may have been power-cycled: RAM areas are gone (§8.2.1)
        self._set_health(*self._replies.reply(reply, batch.areas))


# --- config --------------------------------------------------------------------------------------------------
def from_config(name: str, section: Mapping[str, Any], hall_config: Any = None) -> LedBoard:
    """Build a board from `[devices.<name>]`, read through LedSection (devices/led/config.py)."""
    c = read_section(LedSection, dict(section), ("devices", name), hall=hall_config)
    hall_section = getattr(hall_config, "hall", None)
    return LedBoard(
        name,
        c.url,
        role=c.role,
        window=c.window if c.role == "window" else None,
        address=c.address,
        welcome=c.welcome or "欢迎光临",
        min_interval=c.min_interval,
        flash_s=c.flash_seconds,
        width=c.width,
        height=c.height,
        lines=c.lines or 3,
        notice=str(getattr(hall_section, "notice", "") or "") if c.notice else None,
        reply_timeout=c.reply_timeout,
        keepalive=c.keepalive,
    )


def doctor(
    name: str, section: Mapping[str, Any], hall_config: Any = None, *, test_frame: bool = False
) -> tuple[bool, list[str]]:
    """`hall doctor`: open the board once, PING it (§8.7), optionally show a test line; lines say what was seen."""
    board = from_config(name, section, hall_config)
    lines = [f"[devices.{name}] LED {board.role} board at {section.get('url')} (address 0x{board.address:04X})"]
    try:
        transport = board._open()
    except (OSError, ValueError) as exc:
        return False, [*lines, f"  cannot open: {exc}"]
    try:
        board.keepalive = 0
        frames = [("PING", board._ping_frame())]
        if test_frame:
            text = f"设备测试 {name}"
            frames.append(("test frame", board._build([(0, AreaContent(0, text), False)])))
        ok = True
        for label, frame in frames:
            transport.write(frame)
            if not board.expects_reply:
                lines.append(f"  {label}: sent {len(frame)} bytes (broadcast address: the controller never answers)")
                continue
            reply = board._await_reply(transport, len(frame))
            if reply is None:
                last = board._decoder.errors[-1] if board._decoder.errors else "nothing received"
                lines.append(f"  {label}: 控制器无应答 ({last}); check power, cable, address and baud (9600/57600)")
                ok = False
                break
            lines.append(f"  {label}: {'ACK' if reply.is_ack else 'NACK ' + reply.error_name} ({len(frame)} bytes)")
            ok = ok and reply.is_ack
        return ok, lines
    except (TransportError, OSError) as exc:
        return False, [*lines, f"  link failed: {exc}"]
    finally:
        transport.close()
