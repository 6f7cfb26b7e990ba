"""The outbox: publishes every hall event after the last acknowledged one, in seq order, QoS 1, bounded in flight.

The event log in SQLite is the buffer.  Progress (the acked seq) is kept in the store's meta table and advances
only over a contiguous prefix of PUBACKs, so a restart or a reconnect resumes at the first unacknowledged event;
what was in flight is published again (at-least-once) and the receiver deduplicates by (hall id, seq).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from sync import contract
from sync.link import ONLINE, Link

log = logging.getLogger(__name__)

ACKED_KEY = "sync.acked_seq"


class AckWindow:
    """Seqs sent and acknowledged.  `acked` only moves over a gap-free run of acknowledgements."""

    def __init__(self, acked: int) -> None:
        self.acked = acked
        self.next = acked + 1  # next seq to publish
        self._done: set[int] = set()

    @property
    def outstanding(self) -> int:
        """Published and not yet part of the acked prefix (out-of-order acks still hold their slot)."""
        return self.next - 1 - self.acked

    def sent(self, seq: int) -> None:
        if seq != self.next:
            raise ValueError(f"events must be sent in order: expected {self.next}, got {seq}")
        self.next += 1

    def ack(self, seq: int) -> bool:
        """Record a PUBACK; True when the acked prefix moved."""
        if seq <= self.acked or seq >= self.next:
            return False
        self._done.add(seq)
        moved = False
        while self.acked + 1 in self._done:
            self._done.remove(self.acked + 1)
            self.acked += 1
            moved = True
        return moved

    def rewind(self) -> None:
        """The connection went away: whatever was in flight is published again."""
        self.next = self.acked + 1
        self._done.clear()


class Outbox:
    """One thread reading the store and publishing; paho's callbacks only append acks and wake it."""

    def __init__(self, hall: Any, link: Link, *, window: int | None = None, persist_every: float = 0.05,
                 idle_wait: float = 0.02) -> None:
        self.hall = hall
        self.store = hall.store
        self.link = link
        self.hall_id: str = hall.config.hall_id
        self.region: str = hall.config.hall.region
        self.tz = hall.config.tz
        self.window_size = window or link.settings.max_inflight
        self._ack_batch = max(1, self.window_size // 4)
        self.persist_every = persist_every
        self.idle_wait = idle_wait  # bounds how late trailing PUBACKs are counted and new events polled
        self.win = AckWindow(int(self.store.meta_get(ACKED_KEY, "0") or 0))
        self._persisted = self.win.acked
        self._mids: dict[int, int] = {}  # mid → seq on the current connection
        self._gen = -1
        self._repairs: deque[tuple[int, int]] = deque()  # seq ranges to publish again (gap repair)
        self._repair_mids: set[int] = set()
        self._acks: deque[tuple[int, int, bool]] = deque()  # appended by paho's thread, drained by ours
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsub: Any = None
        self.published = 0
        self.republished = 0
        self.last_error = ""

    # --- hooks given to the hall and the link (other threads; return at once) ------------------------------
    def on_event(self, _ev: Any) -> None:
        self._wake.set()

    def on_publish(self, gen: int, mid: int, ok: bool, reason: str) -> None:
        self._acks.append((gen, mid, ok))
        # wake the outbox once a quarter window is acknowledged (room for a refill batch), not at every PUBACK;
        # the rest are picked up by the short idle wait
        if len(self._acks) >= self._ack_batch or not ok:
            self._wake.set()

    def on_state(self, state: str, gen: int) -> None:
        self._wake.set()

    def resend(self, from_seq: int, to_seq: int) -> int:
        """Publish from_seq..to_seq again (already acknowledged: the acked seq does not move).  Returns how many
        events that is; called from the inbox thread."""
        to_seq = min(to_seq, self.win.acked)  # beyond the acked prefix they are being published anyway
        if to_seq < from_seq:
            return 0
        self._repairs.append((from_seq, to_seq))
        self._wake.set()
        return to_seq - from_seq + 1

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._unsub = self.hall.subscribe(self.on_event)
        self._thread = threading.Thread(target=self._run, name="sync-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def acked_seq(self) -> int:
        return self.win.acked

    def status(self) -> dict[str, Any]:
        last = self.store.last_seq()
        return {"acked_seq": self.win.acked, "last_seq": last, "backlog": max(0, last - self.win.acked),
                "inflight": self.win.outstanding, "published": self.published,
                "republished": self.republished, "outbox_error": self.last_error}

    # --- the outbox thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        last_persist = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._drain_acks()
                now = time.monotonic()
                if self.win.acked != self._persisted and (
                    now - last_persist >= self.persist_every or self.win.outstanding == 0
                ):
                    self._persist()
                    last_persist = now
                self._fill()
            except Exception as e:  # a store hiccup (locked, disk) must not end publishing for good
                self.last_error = f"{type(e).__name__}: {e}"
                log.exception("sync outbox: iteration failed")
                self._stop.wait(1.0)
            # short waits only while PUBACKs are outstanding; otherwise a new event or a state change wakes us
            busy = self.win.outstanding or self._repair_mids or self._repairs
            self._wake.wait(self.idle_wait if busy else 1.0)
        self._drain_acks()
        if self.win.acked != self._persisted:
            self._persist()

    def _drain_acks(self) -> None:
        while self._acks:
            gen, mid, ok = self._acks.popleft()
            if gen != self._gen:
                continue  # an ack from a connection we have given up on: its events are being resent
            seq = self._mids.pop(mid, None)
            if seq is None:
                self._repair_mids.discard(mid)
                continue  # a repair publish, the birth message, or a mid we never registered
            if ok:
                self.win.ack(seq)
            else:
                # refused (e.g. not authorised): never skip an event — resend from here after a reconnect
                self.last_error = f"broker refused event #{seq}"

    def _persist(self) -> None:
        with self.store.write() as conn:
            self.store.meta_set(conn, ACKED_KEY, str(self.win.acked))
        self._persisted = self.win.acked

    def _fill(self) -> None:
        if self.link.state != ONLINE:
            return
        gen = self.link.generation
        if gen != self._gen:  # a new connection: start again after the acked prefix
            self._gen = gen
            self._mids.clear()
            self._repair_mids.clear()
            self.win.rewind()
        self._repair(gen)
        room = self.window_size - self.win.outstanding - len(self._repair_mids)
        # refill in batches (one store read per quarter window), not one read per PUBACK
        if room <= 0 or (self.win.outstanding and room < max(1, self.window_size // 4)):
            return
        for ev in self.store.events_after(self.win.next - 1, room):
            msg = contract.event_message(ev, self.hall_id, self.region, self.tz)
            mid = self.link.publish(contract.event_topic(self.hall_id, ev.kind), contract.encode(msg),
                                    qos=contract.QOS, gen=gen)
            if mid is None:
                return  # went offline (or a newer connection): the next round starts over
            self._mids[mid] = ev.seq
            self.win.sent(ev.seq)
            self.published += 1

    def _repair(self, gen: int) -> None:
        """Publish requested old events, within the same in-flight bound as new ones."""
        while self._repairs:
            room = self.window_size - self.win.outstanding - len(self._repair_mids)
            if room <= 0:
                return
            lo, hi = self._repairs[0]
            evs = self.store.events_after(lo - 1, min(room, hi - lo + 1))
            for ev in evs:
                msg = contract.event_message(ev, self.hall_id, self.region, self.tz)
                mid = self.link.publish(contract.event_topic(self.hall_id, ev.kind), contract.encode(msg),
                                        qos=contract.QOS, gen=gen)
                if mid is None:
                    return
                self._repair_mids.add(mid)
                self.republished += 1
                lo = ev.seq + 1
            if not evs or lo > hi:
                self._repairs.popleft()
            else:
                self._repairs[0] = (lo, hi)
