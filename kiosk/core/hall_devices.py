"""Devices report through commands too (events are the record): health and printing.  Part of Hall
(kiosk/core/hall.py), over its one command context."""
from __future__ import annotations

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.command import (
    Result,
    Tx,
    _device_actor,
)


class DeviceReports:
    """Hall commands devices run."""

    # ================================================================================================
    # devices report through commands too (events are the record)
    # ================================================================================================
    def report_device_health(self, device: str, kind: str, state: str, reason: str = "") -> Result[None]:
        def body(tx: Tx) -> None:
            tx.actor = _device_actor(device)
            old = tx.one("SELECT state, reason FROM devices WHERE name = ?", device)
            if old is not None and old["state"] == state and (old["reason"] or "") == reason:
                return
            tx.exec("INSERT OR REPLACE INTO devices(name, kind, state, reason, since) VALUES (?, ?, ?, ?, ?)",
                    device, kind, state, reason, tx.at)
            tx.emit(ev.DEVICE_HEALTH, {"device": device, "kind": kind, "state": state, "reason": reason})

        return self.run("report_device_health", None, body)

    def report_print(self, ticket_id: str, *, ok: bool, device: str, reason: str = "") -> Result[None]:
        def body(tx: Tx) -> None:
            tx.actor = _device_actor(device)
            t = tx.one("SELECT * FROM tickets WHERE id = ?", ticket_id)
            if t is None:
                raise E.TicketNotFound(ticket=ticket_id)
            tx.exec("UPDATE tickets SET printed = ? WHERE id = ?", 1 if ok else -1, ticket_id)
            tx.emit(ev.PRINT_DONE if ok else ev.PRINT_FAILED,
                    {"ticket": self._row_ticket(t), "device": device, "reason": reason})

        return self.run("report_print", None, body)
