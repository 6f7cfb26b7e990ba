"""The hall process is SIGKILLed while publishing, 50 times: nothing lost, nothing counted twice at the collector."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kiosk.store import Store
from tests.sync.conftest import wait_for
from tests.sync.test_outage import start_collector

ROOT = Path(__file__).resolve().parents[2]


def _spawn(db: Path, port: int, mode: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "tests.sync.hall_child", str(db), str(port), mode],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)


@pytest.mark.slow
def test_sigkill_while_publishing_50_times(broker: Any, tmp_path: Path) -> None:
    collector = start_collector(broker, tmp_path)
    db = tmp_path / "hall-k.db"
    rng = random.Random(7)
    try:
        for _ in range(50):
            p = _spawn(db, broker.port, "work")
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "online"
            wait_for(lambda: collector.counts["new"] + collector.counts["duplicate"] > 0, what="something arrives")
            # kill at a random moment: mid-publish, mid-PUBACK, mid-commit of the acked seq
            time.sleep(rng.uniform(0.02, 0.3))
            p.send_signal(signal.SIGKILL)
            p.wait()
        p = _spawn(db, broker.port, "drain")
        assert p.stdout is not None
        out = p.stdout.read()
        assert p.wait(60) == 0, out
        store = Store(db)
        last = store.last_seq()
        store.close()
        assert last > 500  # the hall really worked between kills
        assert out.split()[-1] == str(last)
        wait_for(lambda: collector.store.halls() and collector.store.halls()[0]["events"] == last, timeout=30,
                 what="collector has every event")
        assert collector.store.seqs("hall-k") == list(range(1, last + 1))  # none lost, each stored once
        assert collector.store.gaps() == {}
        assert collector.store.halls()[0]["duplicates"] == collector.counts["duplicate"]
        # the kills really hit events in flight: the restarted hall published some again, and they were ignored
        assert collector.counts["duplicate"] > 0
    finally:
        collector.stop()
