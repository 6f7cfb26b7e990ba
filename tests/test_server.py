"""`hall run server`: the hall core with its simulated devices in one process, stopped cleanly by SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.store import Store


def test_server_runs_devices_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "server", "--db", str(db)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        seen_ok: set[str] = set()
        while time.monotonic() < deadline and len(seen_ok) < 6:
            time.sleep(0.3)
            if db.exists():
                s = Store(db)
                seen_ok = {r[0] for r in s.conn().execute("SELECT name FROM devices WHERE state = 'ok'")}
                s.close()
        assert seen_ok >= {"printer1", "led-w1", "led-w3", "led-hall", "evaluator1"}, seen_ok
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
        assert p.returncode == 0, out
        assert "serving from" in out
    finally:
        if p.poll() is None:
            p.kill()
