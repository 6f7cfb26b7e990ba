"""When LED frames and PINGs go out, and what the controller's answers mean for health: pure, the clock passed in."""
from __future__ import annotations

from dataclasses import dataclass, field

from devices.base import HealthState
from devices.led import proto
from devices.led.content import AreaContent

NO_ANSWER = "控制器无应答"  # offline: max_misses replies in a row missed
LATE_ANSWER = "控制器应答超时"  # degraded: one reply missed
REFUSED = "控制器拒绝："  # degraded: + the error names of the frames it refused
RECHECK_S = 1.0  # after a missed reply the next PING goes this soon, so a dead controller is offline in seconds


@dataclass
class _AreaState:
    content: AreaContent
    dirty: bool = True
    flash_pending: bool = False
    steady_due: float | None = None  # when the steady form must follow the flash
    since: float | None = None  # when the oldest change not yet on the wire arrived (for latency figures)


@dataclass(frozen=True, slots=True)
class Batch:
    """One frame's worth of areas, each (area, content, sent flashing?); no items means a keepalive PING."""

    items: tuple[tuple[int, AreaContent, bool], ...]
    since: float | None = None  # when the oldest change in it arrived

    @property
    def is_ping(self) -> bool:
        return not self.items

    @property
    def areas(self) -> tuple[int, ...]:
        return tuple(a for a, _, _ in self.items)


class AreaScheduler:
    """When frames go out: the latest content per area, at most one content frame per `min_interval` (the
    controller's dynamic-area refresh limit), and the steady form of a flashing call `flash_s` after the flash
    went out (or at the next free slot after that).

    A keepalive PING is not a dynamic-area update, so it never takes the content slot: a call that arrives just
    after a PING goes out as soon as the PING's answer is in.  PINGs go only when the line has been idle for
    `keepalive` and no content frame is waiting or due within that time (such a frame probes the controller
    anyway).  A call that lands while a PING is out still waits for its round trip (≈ 63 ms at 9600 baud): PINGs
    are rare while the controller answers (`keepalive`, 20 s by default: 0.3 % of calls meet one) and come every
    RECHECK_S once a reply went missing (`doubt`), so a silent controller is still found out quickly.

    Newer content for an area replaces older content not yet sent and cancels a steady frame still
    waiting to follow an older flash, so the board always ends on the latest truth.  The driver calls it under
    its lock.
    """

    def __init__(
        self, initial: list[AreaContent], *, min_interval: float, keepalive: float = 0.0, now: float = 0.0
    ) -> None:
        self.min_interval = min_interval
        self.keepalive = keepalive
        self.slow = False  # a silent controller is probed at most once a second
        self.doubt = False  # a reply went missing: PING again after RECHECK_S, not after `keepalive`
        self.next_content = 0.0  # earliest moment for the next content frame
        self.last_io = now  # when the last frame or PING went on the wire
        self.areas: dict[int, _AreaState] = {}
        for c in initial:
            self.set(c, now)

    def set(self, c: AreaContent, now: float) -> None:
        st = self.areas.get(c.area)
        if st is None:
            st = self.areas[c.area] = _AreaState(c)
        st.content = c
        st.dirty = True
        st.flash_pending = c.flash_s > 0
        st.steady_due = None
        if st.since is None:
            st.since = now

    def resend_all(self) -> None:
        """The controller may have lost its RAM areas (§8.2.1): send everything again, steady."""
        for st in self.areas.values():
            st.dirty = True
            st.flash_pending = False

    def pending(self) -> bool:
        """A content frame is waiting for its slot."""
        return any(st.dirty for st in self.areas.values())

    def _frame_due_within(self, now: float, horizon: float) -> bool:
        return any(st.dirty or (st.steady_due is not None and st.steady_due < now + horizon)
                   for st in self.areas.values())

    def take(self, now: float) -> Batch | None:
        """What to send now, if anything: all changed areas in one frame, or a keepalive PING."""
        for st in self.areas.values():
            if st.steady_due is not None and now >= st.steady_due:
                st.steady_due = None
                st.dirty = True
        dirty = [(a, st) for a, st in sorted(self.areas.items()) if st.dirty]
        if not dirty:
            idle = now - self.last_io
            period = min(self.keepalive, RECHECK_S) if self.doubt else self.keepalive
            if self.keepalive and idle >= period and not self._frame_due_within(now, period):
                return Batch(())
            return None
        if now < self.next_content:
            return None  # the content waits for its slot; a PING would only hold it up
        since = [st.since for _, st in dirty if st.since is not None]
        items = []
        for a, st in dirty:
            items.append((a, st.content, st.flash_pending))
            st.dirty = st.flash_pending = False
            st.since = None
        return Batch(tuple(items), min(since) if since else None)

    def sent(self, batch: Batch, now: float) -> None:
        """The frame is on the wire: a content frame starts the limiter, flashes get their steady follow-up."""
        self.last_io = now
        if batch.is_ping:
            return
        self.next_content = now + (max(self.min_interval, 1.0) if self.slow else self.min_interval)
        for a, content, flashed in batch.items:
            st = self.areas[a]
            if flashed and st.content is content and not st.dirty:
                st.steady_due = now + content.flash_s

    def failed(self, batch: Batch, *, keep_flash: bool = True) -> None:
        """The frame did not get through (or was not acknowledged): its areas are pending again, unless newer
        content already is.  keep_flash=False resends a call steady (its moment has passed)."""
        for a, content, flashed in batch.items:
            st = self.areas[a]
            if st.content is content:
                st.dirty = True
                st.flash_pending = st.flash_pending or (flashed and keep_flash)
                st.steady_due = None
            if st.since is None:
                st.since = batch.since

    def shown(self) -> dict[int, str]:
        return {a: st.content.text for a, st in self.areas.items()}


@dataclass
class ReplyHealth:
    """Health from the controller's answers, one verdict per frame or PING.

    The reason is a fixed text per fault (counts live in `misses` / `missed`), so a controller that stays silent
    gives one health change when it goes degraded and one when it goes offline, not one per probe.  A refusal
    stays until a frame for the same area is accepted; an answered PING does not clear it, since the refused
    text is still not on the board.
    """

    max_misses: int = 2
    misses: int = 0  # replies missed in a row
    missed: int = 0  # replies missed since start
    refused: dict[int, str] = field(default_factory=dict)  # area (-1: a PING) → error name, until accepted

    def reset(self) -> None:
        """A reopened link starts over: whatever was refused is sent again and judged again."""
        self.misses = 0
        self.refused.clear()

    @property
    def silent(self) -> bool:
        return self.misses >= self.max_misses

    def no_reply(self) -> tuple[HealthState, str]:
        self.misses += 1
        self.missed += 1
        return self.verdict()

    def reply(self, reply: proto.Reply, areas: tuple[int, ...]) -> tuple[HealthState, str]:
        self.misses = 0
        keys = areas or (-1,)
        for a in keys:
            if reply.is_nack:
                self.refused[a] = reply.error_name
            else:
                self.refused.pop(a, None)
        if not reply.is_nack:
            self.refused.pop(-1, None)  # any accepted frame shows the controller takes commands again
        return self.verdict()

    def verdict(self) -> tuple[HealthState, str]:
        if self.silent:
            return HealthState.OFFLINE, NO_ANSWER
        if self.misses:
            return HealthState.DEGRADED, LATE_ANSWER
        if self.refused:
            return HealthState.DEGRADED, REFUSED + "、".join(sorted(set(self.refused.values())))
        return HealthState.OK, ""
