"""A hall process for the crash test: runs a Hall with its outbox and keeps appending events until killed."""
from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from kiosk.core.hall import Hall
from kiosk.store import Store
from sync.service import HallSync
from sync.settings import SyncSettings
from tests.sync.conftest import hall_config


def main(db: str, port: int, mode: str) -> None:
    hall = Hall(hall_config("hall-k"), Store(db, synchronous="NORMAL"), clock=lambda: datetime.now(UTC))
    sync = HallSync(hall, SyncSettings(host="127.0.0.1", port=port, backoff_min=0.05, backoff_max=0.2,
                                       client_id="hall-k"))
    sync.start()
    while sync.link.state != "online":
        time.sleep(0.01)
    print("online", flush=True)
    state = "ok"
    while True:
        if mode == "work":
            state = "offline" if state == "ok" else "ok"
            hall.report_device_health("printer1", "printer", state)
            time.sleep(0.0005)
        else:
            time.sleep(0.05)
        st = sync.status()
        if mode == "drain" and st["backlog"] == 0:
            print("drained", st["acked_seq"], flush=True)
            sync.stop()
            return


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
