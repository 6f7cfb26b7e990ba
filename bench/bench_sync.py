"""Sync benchmark: backlog drain through mosquitto to the collector, commit → stored latency, vs a naive loop."""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from kiosk.core.config import loads  # noqa: E402
from kiosk.core.hall import Hall  # noqa: E402
from kiosk.store import Store  # noqa: E402
from sync import contract  # noqa: E402
from sync.central import CentralDB, CentralStore  # noqa: E402
from sync.service import HallSync  # noqa: E402
from sync.settings import SyncSettings  # noqa: E402

HALL_TOML = """
[hall]
id = "{hall_id}"
name = "基准测试政务服务中心"
region = "510104000"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"

[[windows]]
number = 1
businesses = ["tax"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(d: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text("\n".join([
        f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
        "user root" if os.geteuid() == 0 else "", "max_queued_messages 0", "max_inflight_messages 0",
    ]) + "\n")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(500):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.01)
    raise RuntimeError("mosquitto did not start")


def wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.005)


def stored(collector: CentralStore, hall_id: str) -> int:
    rows = collector.db.query("SELECT events FROM halls WHERE hall_id = ?", (hall_id,))
    return int(rows[0][0]) if rows else 0


def present(collector: CentralStore) -> bool:
    """The collector is subscribed once a probe hall's presence shows up in its store."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=MQTTProtocolVersion.MQTTv5)
    try:
        c.connect("127.0.0.1", PORT[0])
    except OSError:
        return False
    c.loop_start()
    msg = contract.PresenceMsg(hall_id="probe", state="online")
    c.publish(contract.state_topic("probe"), contract.encode(msg), qos=1).wait_for_publish(2)
    c.loop_stop()
    c.disconnect()
    time.sleep(0.2)
    return bool(collector.db.query("SELECT 1 FROM halls WHERE hall_id = 'probe'"))


PORT = [0]


def make_hall(d: Path, hall_id: str) -> Hall:
    t0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    return Hall(loads(HALL_TOML.format(hall_id=hall_id)), Store(d / f"{hall_id}.db"), clock=lambda: t0)


def synth_events(hall: Hall, n: int, chunk: int = 10_000) -> float:
    """Synthetic events straight into the event log in big transactions (Hall commands would take minutes for
    100k; the outbox reads the log the same way whatever wrote it)."""
    t = time.perf_counter()
    payload = {"ticket": {"id": "x" * 32, "number": "C001", "business": "tax", "business_name": "税务",
                          "prefix": "C", "priority": "normal", "status": "waiting", "window": None}, "ahead": 3}
    at = datetime.now(UTC).isoformat()
    done = 0
    while done < n:
        k = min(chunk, n - done)
        with hall.store.write() as conn:
            for _ in range(k):
                Store.append_event(conn, "ticket.issued", payload, at, "2026-11-24")
        done += k
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--naive", type=int, default=3_000)
    ap.add_argument("--latency", type=int, default=2_000)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        proc, port = start_broker(d)
        PORT[0] = port
        settings = SyncSettings(host="127.0.0.1", port=port, backoff_min=0.05, backoff_max=0.5)
        # the collector runs as its own process (`hall central run`), as on the central side in reality
        central_db = d / "central.db"
        central = subprocess.Popen([sys.executable, "-m", "sync.central", "run", "--db", str(central_db), "--port",
                                    str(port), "--client-id", "bench-central"], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: central_db.exists(), 10, "collector db")
        collector = CentralStore(CentralDB(str(central_db)))
        wait(lambda: present(collector), 10, "collector subscribed")
        try:
            # 1. backlog drain: events queued while offline, then connect
            hall = make_hall(d, "bench-a")
            gen_s = synth_events(hall, a.events)
            print(f"synthetic backlog: {a.events} events appended in {gen_s:.1f} s (store.append_event, 10k/txn)")
            sync = HallSync(hall, settings)
            t0 = time.perf_counter()
            sync.start()
            wait(lambda: stored(collector, "bench-a") >= a.events, 600, "drain")
            drain_s = time.perf_counter() - t0
            rate = a.events / drain_s
            print(f"backlog drain: {a.events} events hall → mosquitto → collector (stored) in {drain_s:.2f} s = "
                  f"{rate:,.0f} events/s (target ≥ 5,000/s), max_inflight={settings.max_inflight}")
            wait(lambda: sync.status()["backlog"] == 0, 30, "acked")

            # 2. steady state: commits through Hall commands, latency commit → stored at the collector
            committed: dict[int, datetime] = {}
            hall.subscribe(lambda ev: committed.__setitem__(ev.seq, datetime.now(UTC)))
            state = "ok"
            for _ in range(a.latency):
                state = "offline" if state == "ok" else "ok"
                hall.report_device_health("printer1", "printer", state)
                time.sleep(0.001)
            last = hall.store.last_seq()
            wait(lambda: stored(collector, "bench-a") >= last, 60, "steady state stored")
            rows = collector.db.query("SELECT seq, received_at FROM hall_events WHERE hall_id = 'bench-a' AND seq > ?",
                                      (a.events,))
            lat = sorted((datetime.fromisoformat(r) - committed[s]).total_seconds() * 1000 for s, r in rows
                         if s in committed)
            p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
            print(f"steady state: {len(lat)} Hall commands (FULL fsync each), commit → stored at collector "
                  f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            sync.stop()

            # 3. naive: publish one event and wait for its PUBACK before the next
            naive_hall = make_hall(d, "bench-naive")
            synth_events(naive_hall, a.naive)
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive", protocol=MQTTProtocolVersion.MQTTv5)
            c.connect("127.0.0.1", port)
            c.loop_start()
            cfg = naive_hall.config
            t0 = time.perf_counter()
            for ev in naive_hall.store.events_after(0, a.naive):
                msg = contract.event_message(ev, cfg.hall_id, cfg.hall.region, cfg.tz)
                c.publish(contract.event_topic(cfg.hall_id, ev.kind), contract.encode(msg), qos=1).wait_for_publish()
                with naive_hall.store.write() as conn:  # durable progress per event, as the outbox's contract needs
                    naive_hall.store.meta_set(conn, "sync.acked_seq", str(ev.seq))
            wait(lambda: stored(collector, "bench-naive") >= a.naive, 120, "naive stored")
            naive_s = time.perf_counter() - t0
            naive_rate = a.naive / naive_s
            c.loop_stop()
            c.disconnect()
            print(f"naive publish-and-wait-each: {a.naive} events in {naive_s:.2f} s = {naive_rate:,.0f} events/s")
            print(f"ratio outbox / naive: {rate / naive_rate:.1f}x")
        finally:
            central.send_signal(signal.SIGINT)
            central.wait(10)
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
