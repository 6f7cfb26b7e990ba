"""The inbox: central → hall messages validated, applied once through Hall commands, or kept as dead letters.

paho's callback only queues the message; one worker thread dispatches by topic kind to a handler.  Anything
that does not follow the contract (bad JSON or schema, unknown version, another hall's id, too big, no handler)
is logged and stored in dead_letters, ID numbers, phones and names masked (kiosk.core.privacy.scrub_payload), and
acknowledged so the broker does not redeliver it forever.  The PUBACK is sent only after the message was applied
or dead-lettered, so a crash in between means redelivery, and the message id (the Hall command's idempotency key)
makes the second application change nothing.
"""
from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kiosk.core.context import CENTRAL, acting
from kiosk.core.errors import HallError, StoreFault
from kiosk.core.privacy import ScrubLogFilter, scrub_text
from sync import catalog, contract
from sync.contract import ContractError
from sync.link import InMessage

log = logging.getLogger(__name__)
log.addFilter(ScrubLogFilter())  # errors and tracebacks may quote a refused message's personal fields

Handler = Callable[[Any, str, str | None, bytes], str]  # (hall, topic, key from topic, payload) → what was done


def idem_key(message_id: str) -> str:
    return f"central:{message_id}"


def handle_case(hall: Any, topic: str, case_no: str | None, payload: bytes) -> str:
    msg = contract.decode_case(payload)
    _own(hall, msg.hall_id)
    if msg.case_no != case_no:
        raise ContractError(f"case number {msg.case_no!r} does not match the topic's {case_no!r}")
    api = _cases_api(hall)
    api.apply_central_update(msg.to_case_payload(), msg.message_id)
    return f"case {msg.case_no} → {msg.status}"


def _cases_api(hall: Any) -> Any:
    """The cases module (kiosk.core.cases.Cases) applies case updates; without it they are kept, not dropped."""
    try:
        mod = importlib.import_module("kiosk.core.cases")
    except ImportError:
        raise ContractError("case updates cannot be applied: kiosk.core.cases is not installed") from None
    cls = getattr(mod, "Cases", None)
    if cls is None or not hasattr(cls, "apply_central_update"):
        raise ContractError("case updates cannot be applied: kiosk.core.cases.Cases.apply_central_update missing")
    return cls(hall)


def handle_catalog(hall: Any, topic: str, _key: str | None, payload: bytes) -> str:
    msg = contract.decode_catalog(payload)
    _own(hall, msg.hall_id)
    res = catalog.apply_update(hall, msg, idem_key(msg.message_id))
    return f"catalogue: {len(res['updated'])} updated, {len(res['removed'])} removed"


def handle_calendar(hall: Any, topic: str, _key: str | None, payload: bytes) -> str:
    """The province's holiday calendar: used when newer than the one in use (kiosk.core.holidays)."""
    from kiosk.core import holidays

    msg = contract.decode_calendar(payload)
    _own(hall, msg.hall_id)
    cal = holidays.PublishedCalendar(
        version=msg.version, years=list(msg.years),
        holidays=[holidays.PublishedDay(date=d.date, name=d.name) for d in msg.holidays],
        workdays=[holidays.PublishedDay(date=d.date, name=d.name) for d in msg.workdays])
    res = holidays.apply(hall, cal, message_id=msg.message_id, idem_key=idem_key(msg.message_id))
    kept = res["version"]
    return f"calendar v{msg.version}: " + ("applied" if res["applied"] else f"not newer than v{kept} in use")


def handle_appointment(hall: Any, topic: str, _key: str | None, payload: bytes) -> str:
    """A booking or cancellation from the province's platform: applied once by its message id and answered by an
    event carrying that id (booked, cancelled, or refused with why) — a refusal is an answer, not a dead letter."""
    from kiosk.core import appointments

    msg = contract.decode_appointment(payload)
    _own(hall, msg.hall_id)
    r = appointments.apply_central(
        hall, message_id=msg.message_id, action=msg.action, code=msg.code, business=msg.business, day=msg.date,
        slot_start=msg.slot_start, id_number=msg.id_number, name=msg.name, idem_key=idem_key(msg.message_id))
    answer = r.events[0].kind if r.events else "nothing"
    return f"appointment {msg.action} {msg.code}: {answer}"


def _own(hall: Any, hall_id: str) -> None:
    if hall_id != hall.config.hall_id:
        raise ContractError(f"message for hall {hall_id!r} delivered to hall {hall.config.hall_id!r}")


HANDLERS: dict[str, Handler] = {"case": handle_case, "catalog": handle_catalog, "calendar": handle_calendar,
                                 "appointment": handle_appointment}


class Inbox:
    """One worker thread; `submit` is called from paho's thread and never blocks."""

    def __init__(self, hall: Any, *, ack: Callable[[InMessage], None] | None = None,
                 handlers: dict[str, Handler] | None = None, maxsize: int = 1000) -> None:
        self.hall = hall
        self.hall_id: str = hall.config.hall_id
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self._ack = ack
        self._q: queue.Queue[InMessage | None] = queue.Queue(maxsize)
        self._thread: threading.Thread | None = None
        self.applied = 0
        self.rejected = 0
        self.overflow = 0
        self.last_error = ""
        self._stopping = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sync-inbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._q.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, msg: InMessage) -> None:
        try:
            self._q.put_nowait(msg)
        except queue.Full:
            # not acknowledged, so the broker redelivers it on the next session; counted, never silent
            self.overflow += 1
            log.error("sync inbox: queue full, %s left unacknowledged for redelivery", msg.topic)

    def join(self) -> None:
        """Wait until everything submitted so far is handled (tests, orderly shutdown)."""
        self._q.join()

    def _run(self) -> None:
        while True:
            msg = self._q.get()
            try:
                if msg is None:
                    return
                if self._handle_until_stored(msg) and self._ack is not None:
                    self._ack(msg)
            except Exception:  # handle() already keeps everything it can; this is the last guard
                log.exception("sync inbox: unexpected failure")
            finally:
                self._q.task_done()

    def _handle_until_stored(self, msg: InMessage) -> bool:
        """handle(), retried while the hall's store is faulty (full, read-only, locked): the message is neither
        applied nor a dead letter then, and acknowledging it would lose it.  False: stopped before it was kept."""
        delay = 0.5
        while True:
            try:
                self.handle(msg.topic, msg.payload)
                return True
            except StoreFault as e:
                self.last_error = e.message
                log.warning("sync inbox: %s; %s kept unacknowledged, retrying in %.0f s", e.message,
                            msg.topic[:200], delay)
                if self._stopping.wait(delay):
                    return False  # unacknowledged: the broker delivers it again on the next session
                delay = min(delay * 2, 30.0)

    def handle(self, topic: str, payload: bytes) -> bool:
        """Apply one message or dead-letter it.  True when applied (or already applied).

        Raises StoreFault when the store cannot keep anything: the message is not at fault."""
        if not payload:
            # an empty payload is how central clears a retained message (a concluded case): nothing to apply
            log.debug("sync inbox: retained message cleared on %s", topic[:200])
            return True
        try:
            if len(payload) > contract.MAX_INBOUND_BYTES:
                raise ContractError(f"payload too big ({len(payload)} bytes > {contract.MAX_INBOUND_BYTES})")
            hall_id, kind, key = contract.parse_inbound_topic(topic)
            if hall_id != self.hall_id:
                raise ContractError(f"topic for hall {hall_id!r} delivered to hall {self.hall_id!r}")
            handler = self.handlers.get(kind)
            if handler is None:
                raise ContractError(f"no handler for {kind!r} messages")
            with acting(CENTRAL):  # what the province sends is the province's doing
                what = handler(self.hall, topic, key, payload)
        except StoreFault:
            raise
        except (ContractError, HallError, ValueError) as e:
            self._dead(topic, payload, str(e))
            return False
        except Exception as e:  # a bug in a handler: keep the message, keep the hall running
            log.exception("sync inbox: handler failed on %s", topic)
            self._dead(topic, payload, f"internal error: {type(e).__name__}: {e}")
            return False
        self.applied += 1
        log.info("sync inbox: %s (%s)", what, topic)
        return True

    def _dead(self, topic: str, payload: bytes, error: str) -> None:
        self.rejected += 1
        self.last_error = scrub_text(error)  # shown on the dashboard
        log.warning("sync inbox: rejected %s: %s", topic[:200], error)
        self.hall.store.add_dead_letter("sync.inbox", topic[:1000], payload[: contract.MAX_INBOUND_BYTES], error,
                                        datetime.now(UTC).isoformat())

    def status(self) -> dict[str, Any]:
        return {"applied": self.applied, "rejected": self.rejected, "overflow": self.overflow,
                "inbox_error": self.last_error}
