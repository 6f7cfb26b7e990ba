"""Windows and the hall's controls: clerks signing in and out, pausing, closing a business, the notice.
Part of Hall (kiosk/core/hall.py), over its one command context."""
from __future__ import annotations

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import staff as S
from kiosk.core.command import (
    Result,
    Tx,
)


class WindowCommands:
    """Hall commands on windows, businesses and the notice."""

    # ================================================================================================
    # window actions
    # ================================================================================================
    def sign_in(self, window: int, clerk_id: str, clerk_name: str) -> Result[None]:
        """签到 by name, for a hall with no staff accounts; once one account exists: PinRequired (sign_in_staff)."""
        def body(tx: Tx) -> None:
            self._window_row(tx, window)
            if S.any_accounts(tx.conn):
                raise S.PinRequired()
            self._sign_in(tx, window, clerk_id, clerk_name)

        return self.run("sign_in", None, body)

    def sign_in_staff(self, window: int, staff_no: str, pin: str) -> Result[None]:
        """签到 with a staff number (or badge code) and PIN: lock, roster, one window each (kiosk/core/staff.py)."""
        return S.sign_in(self, window, staff_no, pin)

    def _sign_in(self, tx: Tx, window: int, clerk_id: str, clerk_name: str) -> None:
        tx.by_clerk(clerk_id)
        tx.exec("UPDATE windows SET clerk_id = ?, clerk_name = ? WHERE number = ?", clerk_id, clerk_name, window)
        p = self._window_payload(tx, window)
        p.update(clerk_id=clerk_id, clerk_name=clerk_name)
        tx.emit(ev.WINDOW_SIGNED_IN, p)

    def sign_out(self, window: int) -> Result[None]:
        def body(tx: Tx) -> None:
            self._sign_out(tx, window)

        return self.run("sign_out", None, body)

    def _sign_out(self, tx: Tx, window: int, reason: str | None = None) -> None:
        """`reason`: day_end (the rollover), disabled (the account stopped); None: the clerk's own 签退."""
        w = self._window_row(tx, window)
        if w["current_ticket"]:
            t = tx.one("SELECT number FROM tickets WHERE id = ?", w["current_ticket"])
            raise E.WindowBusy(window=window, number=t["number"] if t else "")
        if reason is None:  # the clerk's own 签退 (day end: the system's; disabled: whoever disabled the account)
            tx.by_clerk(w["clerk_id"])
        p = self._window_payload(tx, window)
        p.update(clerk_id=w["clerk_id"], clerk_name=w["clerk_name"])
        if reason:
            p["reason"] = reason
        tx.exec("UPDATE windows SET clerk_id = NULL, clerk_name = NULL WHERE number = ?", window)
        tx.emit(ev.WINDOW_SIGNED_OUT, p)

    def pause(self, window: int, reason: str) -> Result[None]:
        """暂停: the window stops calling; boards show 暂停服务 and the reason."""

        def body(tx: Tx) -> None:
            w = self._staffed(tx, window)
            if w["current_ticket"]:
                cur = tx.one("SELECT number FROM tickets WHERE id = ?", w["current_ticket"])
                raise E.WindowBusy(window=window, number=cur["number"] if cur else "")
            tx.exec("UPDATE windows SET state = 'paused', pause_reason = ?, since = ? WHERE number = ?",
                    reason, tx.at, window)
            p = self._window_payload(tx, window)
            p["reason"] = reason
            tx.emit(ev.WINDOW_PAUSED, p)

        return self.run("pause", None, body)

    def resume_window(self, window: int) -> Result[None]:
        def body(tx: Tx) -> None:
            w = self._staffed(tx, window)
            if w["state"] != "paused":
                raise E.WindowNotPaused(window=window)
            tx.exec("UPDATE windows SET state = 'idle', pause_reason = NULL, since = ? WHERE number = ?",
                    tx.at, window)
            tx.emit(ev.WINDOW_RESUMED, self._window_payload(tx, window))

        return self.run("resume_window", None, body)

    # --- businesses and notices ---------------------------------------------------------------------
    def close_business(self, business: str, message: str) -> Result[None]:
        """Stop issuing for a business with a message the kiosk shows (系统维护, 今日号已满…)."""

        def body(tx: Tx) -> None:
            if self.config.business(business) is None:
                raise E.UnknownBusiness(business=business)
            tx.exec("UPDATE business_state SET closed = 1, message = ? WHERE code = ?", message, business)
            tx.emit(ev.BUSINESS_CLOSED, {"business": business, "message": message})

        return self.run("close_business", None, body)

    def open_business(self, business: str) -> Result[None]:
        def body(tx: Tx) -> None:
            if self.config.business(business) is None:
                raise E.UnknownBusiness(business=business)
            tx.exec("UPDATE business_state SET closed = 0, message = '' WHERE code = ?", business)
            tx.emit(ev.BUSINESS_OPENED, {"business": business})

        return self.run("open_business", None, body)

    def set_notice(self, text: str) -> Result[None]:
        def body(tx: Tx) -> None:
            tx.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('notice', ?)", text)
            tx.emit(ev.NOTICE_CHANGED, {"notice": text})

        return self.run("set_notice", None, body)
