"""One driver per RS-485 port serving every evaluator keypad on it: prompts, polls, key presses → hall.rate.

Flow: `rating.requested` (or `service.finished` with prompt_on_finish) for window W → the keypad of window W gets
PROMPT and remembers the ticket → a key press → `hall.rate(...)` once (一次一评) → CLEAR.  No press within
`timeout` → `hall.mark_unrated(ticket)` → CLEAR.  The hall calls run on this driver's thread (Hall is
thread-safe); `handle_event` only queues.

On a noisy line a reply can be lost, and a PROMPT or CLEAR wipes a key the keypad has not reported yet, so the
driver never re-sends a PROMPT blindly: when its ACK is lost it POLLs, and lights the keypad again only when the
keypad answers that it is idle (no light, no key).  A key is read (KEY), recorded once (the ticket's open prompt
ends with the hall call), then cleared; a CLEAR is only ever sent with no rating open, so re-sending it wipes
nothing that counts.  Only a poll whose frame went out after the previous frame's answer came in is acted on.

Health: the bus (the port) is this worker's health; each keypad has its own, sent to the same listeners as a
`Health` whose device is ``"<bus>/<address>"``.  A keypad that misses `miss_limit` polls in a row is offline while
the bus stays ok; when no keypad answers at all the bus is degraded (cable or adapter fault).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from devices.base import (
    DeviceUrl,
    DeviceWorker,
    Health,
    HealthState,
    SerialTransport,
    Transport,
    open_transport,
    parse_url,
)
from devices.config import own_options
from devices.evaluator import keymaps, proto
from devices.evaluator.config import EvaluatorSection, KeypadRow
from devices.evaluator.keymaps import UNRATED, KeyMap
from devices.evaluator.proto import Cmd
from kiosk.core import events as ev_kinds
from kiosk.core.context import Operator, acting, device
from kiosk.core.errors import HallError, RatingExists
from kiosk.core.events import Event
from kiosk.core.rating import Channel, Level
from kiosk.core.sections import read_section


class RatingSink(Protocol):
    """The two Hall commands this driver needs (kiosk.core.hall.Hall satisfies it)."""

    def rate(self, ticket_id: str, level: Level, *, channel: Channel = ..., reason: str | None = ...,
             text: str | None = ..., idem_key: str | None = ...) -> Any: ...

    def mark_unrated(self, ticket_id: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class KeypadConfig:
    address: int
    window: int
    keymap: KeyMap


@dataclass
class Pending:
    ticket_id: str
    number: str
    deadline: float
    acked: bool = False  # the keypad confirmed PROMPT (ACK, or a POLL answered "prompting"): its 请评价 is lit
    failures: int = 0  # hall.rate failures other than a refusal; retried, then given up


@dataclass
class Keypad:
    cfg: KeypadConfig
    state: HealthState = HealthState.OFFLINE
    reason: str = "not polled yet"
    misses: int = 0
    next_poll: float = 0.0
    pending: Pending | None = None
    needs_clear: bool = True  # clear on first contact: the light may still be on from before a restart
    in_step: bool = True  # the last frame sent got its answer: no late answer can pass for the next one's

    @property
    def address(self) -> int:
        return self.cfg.address


@dataclass
class Counters:
    ratings: int = 0
    unrated: int = 0
    refused: int = 0  # RatingExists and other HallError refusals
    hall_failures: int = 0
    ignored_presses: int = 0  # a key with no prompt open (second press, press before the prompt)
    unknown_keys: int = 0
    missed_replies: int = 0  # silence: no byte came back
    garbled_replies: int = 0  # a reply spoiled on the line (caught by proto's checks): the keypad is there
    out_of_turn: int = 0  # a reply from another keypad, or not answering the frame sent (a late answer)


PROMPT_KINDS = frozenset({ev_kinds.RATING_REQUESTED, ev_kinds.SERVICE_FINISHED})
SETTLED_KINDS = frozenset({ev_kinds.RATING_RECORDED, ev_kinds.RATING_UNRATED})
RATE_RETRIES = 3


class EvaluatorBus(DeviceWorker):
    kind = "evaluator"

    def __init__(
        self,
        name: str,
        url: DeviceUrl,
        keypads: list[KeypadConfig],
        *,
        timeout: float = 60.0,
        prompt_on_finish: bool = False,
        checksum: str = "xor",
        reply_timeout: float = 0.15,
        poll_interval: float = 0.1,
        miss_limit: int = 3,
        offline_poll: float = 1.0,
        hall: RatingSink | None = None,
    ) -> None:
        super().__init__(name, max_backoff=1.0)
        self.url = url
        self.timeout = timeout
        self.prompt_on_finish = prompt_on_finish
        self.checksum = checksum
        self.reply_timeout = reply_timeout
        self.idle_interval = poll_interval
        self.miss_limit = miss_limit
        self.offline_poll = offline_poll
        self._hall = hall
        self._citizen = Operator("citizen", device(self.name).terminal)  # a citizen pressed this keypad's key
        self.keypads = {k.address: Keypad(k) for k in keypads}
        self._by_window = {k.window: k.address for k in keypads}
        self.decoder = proto.Decoder(
            checksum_kind=checksum, addresses=frozenset(self.keypads), accept=proto.KEYPAD_CMDS
        )
        self.counters = Counters()
        self._rated: deque[str] = deque(maxlen=512)  # tickets rated here: never prompt them again (一次一评)

    # --- public -------------------------------------------------------------------------------------
    def bind(self, hall: RatingSink) -> None:
        """The hall (anything with rate/mark_unrated) that key presses go to; call before start()."""
        self._hall = hall

    @property
    def windows(self) -> frozenset[int]:
        return frozenset(self._by_window)

    @property
    def event_kinds(self) -> frozenset[str]:
        """What to subscribe this driver to."""
        return PROMPT_KINDS | SETTLED_KINDS

    def handle_event(self, ev: Event) -> None:
        p = ev.payload
        if ev.kind == ev_kinds.RATING_REQUESTED or (ev.kind == ev_kinds.SERVICE_FINISHED and self.prompt_on_finish):
            window, ticket = p.get("window"), p.get("ticket") or {}
            if window in self._by_window and ticket.get("id"):
                self.submit(("prompt", window, ticket["id"], ticket.get("number", "")))
        elif ev.kind == ev_kinds.RATING_RECORDED:
            rating = p.get("rating") or {}
            if rating.get("window") in self._by_window and rating.get("ticket_id"):
                self.submit(("settled", rating["ticket_id"]))
        elif ev.kind == ev_kinds.RATING_UNRATED:
            ticket = p.get("ticket") or {}
            if p.get("window") in self._by_window and ticket.get("id"):
                self.submit(("settled", ticket["id"]))

    def keypad_health(self) -> list[Health]:
        return [self._kp_health(kp) for kp in self.keypads.values()]

    def status(self) -> dict[str, Any]:
        """Bus health plus one line per keypad and the fault counters, for the dashboard and `hall doctor`."""
        st: dict[str, Any] = dict(self.health.status())
        st["keypads"] = [
            {**self._kp_health(kp).status(), "address": kp.address, "window": kp.cfg.window,
             "model": kp.cfg.keymap.model, "pending": kp.pending.number if kp.pending else ""}
            for kp in self.keypads.values()
        ]
        st["counters"] = self.counter_values()
        return st

    def counter_values(self) -> dict[str, int]:
        c = self.counters
        return {
            **self.decoder.counters(),
            "ratings": c.ratings, "unrated": c.unrated, "refused": c.refused, "hall_failures": c.hall_failures,
            "ignored_presses": c.ignored_presses, "unknown_keys": c.unknown_keys, "missed_replies": c.missed_replies,
            "garbled_replies": c.garbled_replies, "out_of_turn": c.out_of_turn, "dropped_jobs": self.dropped,
        }

    # --- worker -------------------------------------------------------------------------------------
    def _open(self) -> Transport:
        if self.url.scheme == "sim":
            from devices.evaluator import sim

            bus = sim.open_bus(self.url.path, sorted(self.keypads), checksum_kind=self.checksum, opts=self.url.opts)
            return SerialTransport(bus.path, 9600, timeout=0.02)
        if self.url.scheme == "serial":
            # a short read timeout: replies are read a byte at a time and a silent keypad must cost little
            return SerialTransport(self.url.path, int(self.url.opts.get("baud", 9600)), timeout=0.02)
        return open_transport(self.url)

    def _requeue(self, job: Any) -> None:
        # state is recorded before any byte is sent (pending prompt, needs_clear), so a job lost to an unplug
        # is redone from that state after reopen; requeueing it would prompt twice
        return None

    def _handle(self, job: Any, transport: Transport) -> None:
        op = job[0]
        if op == "prompt":
            _, window, ticket_id, number = job
            self._prompt(transport, self.keypads[self._by_window[window]], ticket_id, number)
        elif op == "settled":
            for kp in self.keypads.values():
                if kp.pending and kp.pending.ticket_id == job[1]:
                    self.log.info("%s/%d: %s settled elsewhere, clearing", self.name, kp.address, kp.pending.number)
                    kp.pending = None
                    kp.needs_clear = True
                    self._clear(transport, kp)

    def _idle(self, transport: Transport) -> None:
        now = time.monotonic()
        for kp in self.keypads.values():
            if kp.pending and now >= kp.pending.deadline:
                self._timed_out(kp)
            if now < kp.next_poll:
                continue
            if kp.needs_clear:
                self._clear(transport, kp)  # no rating is open (needs_clear is never set with one): wipes nothing
            else:
                self._poll(transport, kp)  # also when a PROMPT went unconfirmed: a re-send would wipe a press
            kp.next_poll = time.monotonic() + (self.offline_poll if kp.state == HealthState.OFFLINE else 0.0)
        self._bus_health()

    # --- keypad conversation ------------------------------------------------------------------------
    def _exchange(self, transport: Transport, kp: Keypad, frame: bytes) -> proto.Frame | None:
        """Send one frame and return that keypad's answer to it, or None.

        Silence is a miss (`miss_limit` in a row: offline).  A reply spoiled on the line is counted as garbled and
        is no miss: the keypad answered, the line is noisy.  A whole frame failing its checksum is the spoiled
        answer, so the wait ends there; a cut-off one waits out `reply_timeout`.
        """
        sent = frame[2]
        dec = self.decoder
        spoiled_before = dec.garbage + dec.bad_checksum + dec.bad_frame
        bad_checksum = dec.bad_checksum
        heard = False  # anything from this keypad, or bytes from nobody in particular
        transport.write(frame)
        deadline = time.monotonic() + self.reply_timeout
        while time.monotonic() < deadline:
            data = transport.read(1)
            if not data:
                continue
            for reply in dec.feed(data):
                if reply.addr == kp.address and proto.answers(sent, reply):
                    kp.in_step = True
                    self._answered(kp)
                    return reply
                heard = heard or reply.addr == kp.address
                self.counters.out_of_turn += 1
            if dec.bad_checksum > bad_checksum and not dec.pending:
                kp.in_step = True
                break
        else:
            kp.in_step = False  # its answer may still come, and would look like the next frame's
        dec.expire()
        if heard or dec.garbage + dec.bad_checksum + dec.bad_frame > spoiled_before:
            self.counters.garbled_replies += 1
        else:
            self._missed(kp)
        return None

    def _prompt(self, transport: Transport, kp: Keypad, ticket_id: str, number: str) -> None:
        if ticket_id in self._rated:
            self.log.info("%s/%d: %s was already rated here, no new prompt", self.name, kp.address, number)
            return
        if kp.pending and kp.pending.ticket_id == ticket_id:
            return  # rating.requested after service.finished: the prompt is already open
        if kp.pending:
            # the next citizen is at the window before the last one rated: the old prompt times out now
            self._timed_out(kp)
        kp.pending = Pending(ticket_id, number, time.monotonic() + self.timeout)
        kp.needs_clear = False
        self._send_prompt(transport, kp)

    def _send_prompt(self, transport: Transport, kp: Keypad) -> None:
        assert kp.pending is not None
        left = max(1.0, kp.pending.deadline - time.monotonic())
        kp.pending.acked = False
        if self._exchange(transport, kp, proto.prompt(kp.address, left, self.checksum)) is not None:
            self._lit(kp)
        # no ACK: the light may be on and a key pressed since; the next round polls before anything is re-sent

    def _lit(self, kp: Keypad) -> None:
        assert kp.pending is not None
        if not kp.pending.acked:
            kp.pending.acked = True
            self.log.info("%s/%d: 请评价 lit for %s (window %d)", self.name, kp.address, kp.pending.number,
                          kp.cfg.window)

    def _clear(self, transport: Transport, kp: Keypad) -> None:
        if self._exchange(transport, kp, proto.clear(kp.address, self.checksum)) is not None:
            kp.needs_clear = False

    def _poll(self, transport: Transport, kp: Keypad) -> None:
        in_step = kp.in_step
        reply = self._exchange(transport, kp, proto.poll(kp.address, self.checksum))
        if reply is None or not in_step:
            # not in step: this may be the late answer to the frame before (from before a PROMPT or CLEAR, say);
            # the keypad repeats its key and state, so the next poll tells
            return
        state = reply.data[0]
        if reply.cmd == Cmd.KEY:
            self._key(transport, kp, state)
        elif kp.pending is None:
            if state == 1:
                kp.needs_clear = True
        elif state == 1:
            self._lit(kp)
        elif kp.pending.deadline - time.monotonic() > 1.0:
            # idle with a rating open: the PROMPT never took, or the keypad restarted.  Only now may it be re-sent:
            # no light is on and no key is latched for it to wipe.  (Not when the keypad's own timer just ran out.)
            self._send_prompt(transport, kp)

    def _key(self, transport: Transport, kp: Keypad, code: int) -> None:
        outcome = kp.cfg.keymap.outcome(code)
        pending = kp.pending
        if outcome is None:
            self.counters.unknown_keys += 1
            self.log.warning("%s/%d: key code %d is not a key of model %s; ignored", self.name, kp.address, code,
                             kp.cfg.keymap.model)
        elif pending is None:
            self.counters.ignored_presses += 1
            self.log.info("%s/%d: key %d pressed with no rating open; ignored (一次一评)", self.name, kp.address, code)
        elif outcome is UNRATED:
            self._mark_unrated(kp, pending, "citizen chose not to rate")
        else:
            assert isinstance(outcome, Level)
            if not self._rate(kp, pending, outcome):
                return  # transient failure: the keypad keeps repeating the key until we clear it; retry then
        if kp.pending is not None and outcome is None:
            self._send_prompt(transport, kp)  # drops the stray key on the keypad and keeps the light on
        else:
            kp.needs_clear = True
            self._clear(transport, kp)

    # --- hall calls (on this thread) ----------------------------------------------------------------
    def _rate(self, kp: Keypad, pending: Pending, level: Level) -> bool:
        """True when the press is settled (recorded or refused); False to retry on the next poll."""
        hall = self._hall
        if hall is None:
            self._set_health(HealthState.DEGRADED, "评价器未接入大厅，评价无法记录")
            return False
        try:
            with acting(self._citizen):  # a citizen pressed the key; the record names this keypad as the terminal
                hall.rate(pending.ticket_id, level, channel=Channel.EVALUATOR,
                          idem_key=f"evaluator:{self.name}:{pending.ticket_id}")
        except RatingExists:
            self.counters.refused += 1
            self.log.info("%s/%d: %s already rated; press ignored", self.name, kp.address, pending.number)
        except HallError as exc:
            self.counters.refused += 1
            self.log.warning("%s/%d: hall refused rating of %s: %s", self.name, kp.address, pending.number, exc)
        except Exception:
            self.counters.hall_failures += 1
            pending.failures += 1
            self.log.exception("%s/%d: recording the rating of %s failed (try %d of %d)", self.name, kp.address,
                               pending.number, pending.failures, RATE_RETRIES)
            if pending.failures < RATE_RETRIES:
                return False
        else:
            self.counters.ratings += 1
            self.log.info("%s/%d: %s rated %s", self.name, kp.address, pending.number, level.label)
        self._rated.append(pending.ticket_id)
        kp.pending = None
        return True

    def _timed_out(self, kp: Keypad) -> None:
        assert kp.pending is not None
        self._mark_unrated(kp, kp.pending, f"no key within {self.timeout:g} s")

    def _mark_unrated(self, kp: Keypad, pending: Pending, why: str) -> None:
        kp.pending = None
        kp.needs_clear = True
        hall = self._hall
        if hall is None:
            return
        try:
            with acting(self._citizen):
                hall.mark_unrated(pending.ticket_id)
            self.counters.unrated += 1
            self.log.info("%s/%d: %s unrated (%s)", self.name, kp.address, pending.number, why)
        except HallError as exc:
            self.counters.refused += 1
            self.log.info("%s/%d: hall refused unrated for %s: %s", self.name, kp.address, pending.number, exc)
        except Exception:
            self.counters.hall_failures += 1
            self.log.exception("%s/%d: mark_unrated(%s) failed", self.name, kp.address, pending.number)

    # --- health -------------------------------------------------------------------------------------
    def _kp_health(self, kp: Keypad) -> Health:
        return Health(f"{self.name}/{kp.address}", self.kind, kp.state, kp.reason)

    def _set_kp(self, kp: Keypad, state: HealthState, reason: str) -> None:
        if kp.state == state and kp.reason == reason:
            return
        kp.state, kp.reason = state, reason
        h = self._kp_health(kp)
        self.log.info("%s: %s %s", h.device, state, reason)
        for fn in list(self._listeners):
            try:
                fn(h)
            except Exception:
                self.log.exception("%s: health listener failed", h.device)

    def _answered(self, kp: Keypad) -> None:
        kp.misses = 0
        self._set_kp(kp, HealthState.OK, "")

    def _missed(self, kp: Keypad) -> None:
        kp.misses += 1
        self.counters.missed_replies += 1
        if kp.misses >= self.miss_limit:
            self._set_kp(kp, HealthState.OFFLINE, f"{kp.cfg.window}号窗口评价器（地址 {kp.address}）无应答")

    def _bus_health(self) -> None:
        if self.health.state == HealthState.DEGRADED and self._hall is None:
            return
        if self.keypads and all(kp.state == HealthState.OFFLINE for kp in self.keypads.values()):
            self._set_health(HealthState.DEGRADED, "总线上没有评价器应答（检查 RS-485 线缆和转换器）")
        else:
            self._set_health(HealthState.OK)


# --- config ---------------------------------------------------------------------------------------------
OPTIONS = frozenset(own_options(EvaluatorSection))
KEYPAD_OPTIONS = frozenset(f.name for f in msgspec.structs.fields(KeypadRow))


def from_config(name: str, section: dict[str, Any], hall_config: Any, *, hall: RatingSink | None = None,
                ) -> EvaluatorBus:
    """Build the bus driver for ``[devices.<name>]``, read through EvaluatorSection (devices/evaluator/config.py)."""
    c = read_section(EvaluatorSection, section, ("devices", name), hall=hall_config)
    return EvaluatorBus(
        name,
        parse_url(c.url),
        [KeypadConfig(addr, window, keymaps.get(model)) for addr, window, model in c.rows()],
        timeout=c.timeout,
        prompt_on_finish=c.prompt_on_finish,
        checksum=c.checksum,
        poll_interval=c.poll_interval,
        reply_timeout=c.reply_timeout,
        hall=hall,
    )
