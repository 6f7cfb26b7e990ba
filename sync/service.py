"""HallSync: the hall's side of sync wired together — link (presence, LWT), outbox and inbox — with one status()."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kiosk.core.errors import StoreFault
from sync import contract
from sync.inbox import Inbox
from sync.link import InMessage, Link
from sync.outbox import Outbox
from sync.settings import SyncSettings, parse_settings
from sync.slots import SlotsPublisher


class HallSync:
    """Start it next to the Hall; the hall keeps issuing, calling and rating whatever the link does."""

    def __init__(self, hall: Any, settings: SyncSettings) -> None:
        self.hall = hall
        cfg = hall.config
        hid: str = cfg.hall_id
        self.settings = settings
        self.inbox = Inbox(hall, ack=self._ack)
        offline = contract.PresenceMsg(hall_id=hid, state="offline", region=cfg.hall.region, name=cfg.name)
        self.link = Link(
            settings,
            client_id=settings.client_id or f"hall-{hid}",
            name=f"sync[{hid}]",
            subscriptions=[(contract.hall_inbox_filter(hid), contract.QOS)],
            will=(contract.state_topic(hid), contract.encode(offline), True),
            birth=self._birth,
            on_message=self.inbox.submit,
            on_publish=self._on_publish,
            on_state=self._on_state,
        )
        self.outbox = Outbox(hall, self.link)
        self.slots = SlotsPublisher(hall, self.link)  # retained hall/{hall_id}/slots for the province's bookings
        self.inbox.handlers["resend"] = self._handle_resend

    def _handle_resend(self, hall: Any, topic: str, _key: str | None, payload: bytes) -> str:
        msg = contract.decode_resend(payload)
        if msg.hall_id != hall.config.hall_id:
            raise contract.ContractError(f"resend for hall {msg.hall_id!r} delivered to {hall.config.hall_id!r}")
        n = self.outbox.resend(msg.from_seq, msg.to_seq)
        return f"resend #{msg.from_seq}..#{msg.to_seq}: {n} events"

    @classmethod
    def from_config(cls, hall: Any) -> HallSync | None:
        """None when the hall has no [sync] table or it says enabled = false (an island hall)."""
        section = hall.config.sync
        if not section:
            return None
        settings = parse_settings(section)
        return cls(hall, settings) if settings.enabled else None

    def _birth(self) -> tuple[str, bytes, bool]:
        cfg = self.hall.config
        try:
            last: int | None = self.hall.store.last_seq()
        except StoreFault:  # a store fault must not keep the hall from saying it is online; the watermark waits
            last = None
        msg = contract.PresenceMsg(hall_id=cfg.hall_id, state="online", at_utc=datetime.now(UTC),
                                   region=cfg.hall.region, name=cfg.name, last_seq=last)
        return contract.state_topic(cfg.hall_id), contract.encode(msg), True

    def _ack(self, msg: InMessage) -> None:
        self.link.ack(msg)

    def _on_publish(self, gen: int, mid: int, ok: bool, reason: str) -> None:
        self.outbox.on_publish(gen, mid, ok, reason)

    def _on_state(self, state: str, gen: int) -> None:
        self.outbox.on_state(state, gen)
        self.slots.on_state(state, gen)

    def start(self) -> None:
        self.inbox.start()
        self.outbox.start()
        self.slots.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.slots.stop()
        self.outbox.stop()
        self.inbox.stop()

    def status(self) -> dict[str, Any]:
        """For the board and dashboard: state, backlog (last seq − acked seq), last error, counters."""
        link = self.link.status()
        out = self.outbox.status()
        inbox = self.inbox.status()
        slots = self.slots.status()
        errors = [e for e in (link["last_error"], out["outbox_error"], inbox["inbox_error"], slots["slots_error"]) if e]
        return {**link, **out, **inbox, **slots, "last_error": errors[0] if errors else ""}
