"""The outbox: publishes every hall event after the last acknowledged one, in seq order, QoS 1, bounded in flight.

The event log in SQLite is the buffer.  Progress (the acked seq) is kept in the store's meta table and advances
only over a contiguous prefix of PUBACKs, so a restart or a reconnect resumes at the first unacknowledged event;
what was in flight is published again (at-least-once) and the receiver deduplicates by (hall id, seq).

Events that are ready together (a backlog after an outage, a burst) go several to a message, as contract 2's event
batch: a message per event would cap a drain at what paho and the broker do per PUBLISH.  An event ready alone goes
as it always did, one v1 message on its kind's topic.
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
    """Seqs sent and acknowledged.  `acked` only moves over a gap-free run of acknowledgements — and over the seqs
    the hall's log skips (after `hall restore`, docs/events.md `store.restored`), which are never sent."""

    def __init__(self, acked: int) -> None:
        self.acked = acked
        self.next = acked + 1  # next seq to publish
        self._done: set[int] = set()
        self._holes: dict[int, int] = {}  # first → last seq of each skipped run not yet inside the acked prefix

    @property
    def outstanding(self) -> int:
        """Published and not yet part of the acked prefix (out-of-order acks still hold their slot; skipped seqs
        take none)."""
        return self.next - 1 - self.acked - sum(last - first + 1 for first, last in self._holes.items())

    def sent(self, seq: int, last: int | None = None) -> None:
        """seq (through `last`, for a batch) went out."""
        if seq != self.next:
            raise ValueError(f"events must be sent in order: expected {self.next}, got {seq}")
        self.next = (seq if last is None else last) + 1

    def skip(self, seq: int) -> bool:
        """The log's next event is `seq`: the seqs before it from `next` on do not exist and never will.  They count
        as acknowledged (as a range: a restore may skip a million).  True when the acked prefix moved."""
        if seq <= self.next:
            return False
        self._holes[self.next] = seq - 1
        self.next = seq
        return self._advance()

    def ack(self, seq: int, last: int | None = None) -> bool:
        """Record a PUBACK for seq (through `last`, for a batch); True when the acked prefix moved."""
        if seq <= self.acked or seq >= self.next:
            return False
        self._done.update(range(seq, min(seq if last is None else last, self.next - 1) + 1))
        return self._advance()

    def _advance(self) -> bool:
        moved = False
        while True:
            if self.acked + 1 in self._done:
                self._done.remove(self.acked + 1)
                self.acked += 1
            elif self.acked + 1 in self._holes:
                self.acked = self._holes.pop(self.acked + 1)
            else:
                return moved
            moved = True

    def rewind(self) -> None:
        """The connection went away: whatever was in flight is published again (skips are found again on the
        way)."""
        self.next = self.acked + 1
        self._done.clear()
        self._holes.clear()


class Outbox:
    """One thread reading the store and publishing; paho's callbacks only append acks and wake it."""

    def __init__(self, hall: Any, link: Link, *, window: int | None = None, persist_every: float = 0.05,
                 idle_wait: float = 0.02, batch_events: int | None = None) -> None:
        self.hall = hall
        self.store = hall.store
        self.link = link
        self.hall_id: str = hall.config.hall_id
        self.region: str = hall.config.hall.region
        self.tz = hall.config.tz
        self.window_size = window or link.settings.max_inflight  # events in flight, at most
        # events per message, at most: a quarter window, so that four messages or more are in flight and PUBACKs
        # keep the pipe full (1 = contract 1 only, one message per event: [sync] batches = false)
        self.batch_events = batch_events or (
            min(contract.BATCH_EVENTS, max(1, self.window_size // 4)) if link.settings.batches else 1)
        self._ack_batch = max(1, self.window_size // (4 * self.batch_events))  # PUBACKs worth a quarter window
        self.persist_every = persist_every
        self.idle_wait = idle_wait  # bounds how late trailing PUBACKs are counted and new events polled
        self.win = AckWindow(int(self.store.meta_get(ACKED_KEY, "0") or 0))
        self._persisted = self.win.acked
        self._mids: dict[int, tuple[int, int]] = {}  # mid → (first, last seq) on the current connection
        self._gen = -1
        self._repairs: deque[tuple[int, int]] = deque()  # seq ranges to publish again (gap repair)
        self._repair_mids: dict[int, int] = {}  # mid → events in that repair message
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
            busy = self._mids or self._repair_mids or self._repairs
            self._wake.wait(self.idle_wait if busy else 1.0)
        self._drain_acks()
        if self.win.acked != self._persisted:
            self._persist()

    def _drain_acks(self) -> None:
        while self._acks:
            gen, mid, ok = self._acks.popleft()
            if gen != self._gen:
                continue  # an ack from a connection we have given up on: its events are being resent
            seqs = self._mids.pop(mid, None)
            if seqs is None:
                self._repair_mids.pop(mid, None)
                continue  # a repair publish, the birth message, or a mid we never registered
            if ok:
                self.win.ack(*seqs)
            else:
                # refused (e.g. not authorised): never skip an event — resend from here after a reconnect
                self.last_error = f"broker refused event #{seqs[0]}" + (f"..#{seqs[1]}" if seqs[1] > seqs[0] else "")

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
        inflight = self._inflight()
        room = self.window_size - inflight
        # refill in batches (one store read per quarter window), not one read per PUBACK
        if room <= 0 or (inflight and room < max(1, self.window_size // 4)):
            return
        while room > 0:
            # a few messages per store read: the first PUBLISH goes out at once, not after a whole window's worth
            ask = min(room, 4 * self.batch_events)
            msgs = self._messages(self.win.next - 1, ask)
            for first, last, topic, payload in msgs:
                self.win.skip(first)  # seqs a restore skipped lie before it: none to send, none to wait for
                mid = self.link.publish(topic, payload, qos=contract.QOS, gen=gen)
                if mid is None:
                    return  # went offline (or a newer connection): the next round starts over
                self._mids[mid] = (first, last)
                self.win.sent(first, last)
                self.published += last - first + 1
            sent = sum(last - first + 1 for first, last, _, _ in msgs)
            if sent < ask:
                return  # the store has no more for now
            room -= sent

    def _inflight(self) -> int:
        """Events published on this connection and not yet part of the acked prefix, repairs included."""
        return self.win.outstanding + sum(self._repair_mids.values())

    def _messages(self, after: int, limit: int, upto: int | None = None) -> list[tuple[int, int, str, bytes]]:
        """At most `limit` events after seq `after` (through `upto`) as messages: (first, last seq, topic,
        payload).  Events go together up to batch_events or BATCH_BYTES; one alone is a plain v1 event.  A message
        never spans seqs the log skips (a restore's): each message's first..last is all sent events."""
        if upto is not None:
            limit = min(limit, upto - after)
        out: list[tuple[int, int, str, bytes]] = []
        group: list[tuple[int, str, bytes]] = []  # (seq, kind, encoded v1 event)
        size = 0

        def flush() -> None:
            if len(group) == 1:
                seq, kind, data = group[0]
                out.append((seq, seq, contract.event_topic(self.hall_id, kind), data))
            elif group:
                out.append((group[0][0], group[-1][0], contract.events_topic(self.hall_id),
                            contract.encode_batch(self.hall_id, [d for _, _, d in group])))
            group.clear()

        for ev in self.store.events_after(after, limit):
            if upto is not None and ev.seq > upto:
                break  # past a skipped range: a repair asked for seqs the hall does not have
            data = contract.encode(contract.event_message(ev, self.hall_id, self.region, self.tz))
            if group and (len(group) >= self.batch_events or size + len(data) > contract.BATCH_BYTES
                          or ev.seq != group[-1][0] + 1):
                flush()
                size = 0
            group.append((ev.seq, ev.kind, data))
            size += len(data) + 1
        flush()
        return out

    def _repair(self, gen: int) -> None:
        """Publish requested old events, within the same in-flight bound as new ones."""
        while self._repairs:
            room = self.window_size - self._inflight()
            if room <= 0:
                return
            lo, hi = self._repairs[0]
            msgs = self._messages(lo - 1, room, hi)
            for first, last, topic, payload in msgs:
                mid = self.link.publish(topic, payload, qos=contract.QOS, gen=gen)
                if mid is None:
                    return
                self._repair_mids[mid] = last - first + 1
                self.republished += last - first + 1
                lo = last + 1
            if not msgs or lo > hi:
                self._repairs.popleft()
            else:
                self._repairs[0] = (lo, hi)
