"""LED board figures: frame sizes, frames/s at 9600 baud against the wire limit, call → first byte at the controller.

A pty does not rate-limit: the throughput figures compute the wire time from the bytes (8N1: 10 bits per byte,
≈1.04 ms at 9600) and report it beside what the pty measured; call → first byte runs over ptys paced at 9600 baud at
the far end (devices/led/sim.py PtyLink(paced=True)), so a PING on the line costs what it costs on a real one.
Run: `.venv/bin/python bench/bench_led.py` (or `./run bench`).
"""
from __future__ import annotations

import argparse
import queue
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.base import SerialTransport
from devices.led import proto
from devices.led.content import AreaContent
from devices.led.driver import LedBoard, from_config
from devices.led.sim import LedSim, PtyLink, TcpLink
from kiosk.core import events as ek
from kiosk.core.events import Event

BAUD = 9600
MS_PER_BYTE = 10_000 / BAUD  # ≈ 1.0417 ms
ACK_BYTES = len(proto.encode_frame(proto.Frame(dst=0x8000, src=1, data=proto.ack().encode())))


def call(n: int, window: int = 3) -> Event:
    t = {"id": f"t{n}", "number": f"A{n % 1000:03d}", "business": "social", "business_name": "社保", "prefix": "A"}
    return Event(n, f"e{n}", ek.TICKET_CALLED, "", "", {"ticket": t, "window": window, "recall": 0})


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def frame_sizes() -> None:
    print("-- bytes per frame (whole frame on the wire, preamble and escapes included)")
    w = LedBoard("w", "sim://bench-size", window=3)
    h = LedBoard("h", "sim://bench-size-h", role="hall", width=256)
    h.content.apply(call(1, 3))
    h.content.apply(call(2, 5))
    h.content.apply(call(3, 1))
    h.content.set_waiting([{"business": "s", "prefix": "A", "name": "社保", "waiting": 12},
                           {"business": "t", "prefix": "C", "name": "税务", "waiting": 3}])
    ping = proto.encode_frame(proto.Frame(dst=1, src=proto.SRC_PC, data=proto.ping().encode()))
    rows = [
        ("window: call, flash (A001 请到3号窗口)", w._build([(0, AreaContent(0, "A001 请到3号窗口", 3.0), True)])),
        ("window: steady", w._build([(0, AreaContent(0, "A001 请到3号窗口"), False)])),
        ("window: 暂停服务", w._build([(0, AreaContent(0, "暂停服务"), False)])),
        ("window: welcome 欢迎光临", w._build([(0, AreaContent(0, "欢迎光临"), False)])),
        ("hall: 3 calls + waiting (2 areas)", h._build([(a, c, False) for a, c in
                                                      ((0, AreaContent(0, h.content.calls_text())),
                                                       (1, AreaContent(1, h.content.waiting_text())))])),
        ("PING (keepalive)", ping),
    ]
    print(f"   {'frame':40s} {'bytes':>6s} {'wire ms @9600':>14s} {'+ACK ms':>8s} {'max fps @9600':>14s}")
    for label, frame in rows:
        n = len(frame)
        wire = n * MS_PER_BYTE
        both = (n + ACK_BYTES) * MS_PER_BYTE
        print(f"   {label:40s} {n:6d} {wire:14.1f} {both:8.1f} {1000 / both:14.1f}")
    print(f"   controller ACK frame: {ACK_BYTES} bytes = {ACK_BYTES * MS_PER_BYTE:.1f} ms at 9600")


def throughput(kind: str, seconds: float = 3.0) -> None:
    """Send as fast as the driver can (no limiter) and compare with what 9600 baud would allow."""
    sim = LedSim()
    with tempfile.TemporaryDirectory() as d:
        link: Any = PtyLink(sim, f"{d}/tty", baud=BAUD) if kind == "pty" else TcpLink(sim)
        board = LedBoard("bench", link.url, window=3, min_interval=0.0, flash_s=0.0, keepalive=0)
        board.start()
        sim.wait_for(lambda s: s.area_text(0) is not None, 3)
        stop = threading.Event()

        def feeder() -> None:
            n = 1
            while not stop.is_set():
                board.handle_event(call(n))
                n += 1
                time.sleep(0.0005)

        f0, b0 = board.frames_sent, board.bytes_sent
        t0 = time.monotonic()
        th = threading.Thread(target=feeder, daemon=True)
        th.start()
        time.sleep(seconds)
        stop.set()
        th.join()
        dt = time.monotonic() - t0
        frames, nbytes = board.frames_sent - f0, board.bytes_sent - b0
        board.stop()
        link.unplug()
    per = nbytes / max(1, frames)
    wire_s = (nbytes + frames * ACK_BYTES) * MS_PER_BYTE / 1000
    print(f"-- throughput over {kind} (limiter off, {seconds:.0f} s of back-to-back calls)")
    print(f"   measured: {frames / dt:8.1f} frames/s, {per:.0f} bytes/frame, acks {board.acks}, bad {sim.bad_frames}")
    print(f"   same frames at 9600 baud incl. ACK would take {wire_s:.2f} s on the wire"
          f" → wire limit {frames / wire_s:.1f} frames/s per board")
    print(f"   product limit: 1 frame per min_interval (default 1.0 s) = 1.0 frame/s per board"
          f" = {100 * (per + ACK_BYTES) * MS_PER_BYTE / 1000:.0f}% of a 9600-baud line")


FAR_CONTROLLERS = r"""
import sys, threading
from devices.led import proto
from devices.led.sim import LedSim, PtyLink

out = threading.Lock()

class Reporting(LedSim):
    def _handle(self, frame, first_byte):
        answer = super()._handle(frame, first_byte)
        r = self.received[-1]
        texts = [proto.decode_text(a.text) for a in proto.decode_dynamic(proto.decode_request(frame.data)).areas] \
            if r.areas else []
        with out:  # one line per frame: who, what, when its first byte and its last arrived (CLOCK_MONOTONIC)
            sys.stdout.write(f"{self.name}\t{'|'.join(texts) or 'PING'}\t{first_byte!r}\t{r.at!r}\n")
            sys.stdout.flush()
        return answer

d, baud, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
links = [PtyLink(Reporting(name=n), f"{d}/{n}", baud=baud, paced=True) for n in names]
print("ready", flush=True)
sys.stdin.read()  # until the bench closes our stdin
"""


class FarEnd:
    """The controllers on the far ends of their ptys, each line paced at BAUD, in a process of their own (a
    controller is not in the hall PC's interpreter: sharing it would make the drivers wait for the simulators)."""

    def __init__(self, d: str, names: list[str]) -> None:
        import os
        import subprocess

        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ, PYTHONPATH=str(root))
        self.proc = subprocess.Popen([sys.executable, "-c", FAR_CONTROLLERS, d, str(BAUD), *names],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the far-end controllers did not start")
        self.frames: dict[str, queue.Queue[tuple[str, float, float]]] = {n: queue.Queue() for n in names}
        self.pings: dict[str, list[tuple[float, float]]] = {n: [] for n in names}  # (first, last byte) per PING
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            name, what, first, last = line.rstrip("\n").split("\t")
            if what == "PING":
                self.pings[name].append((float(first), float(last)))
            else:
                self.frames[name].put((what, float(first), float(last)))

    def first_byte(self, name: str, text: str, after: float, timeout: float = 3.0) -> float | None:
        """When the first byte of the next frame to `name` carrying `text` arrived, or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                what, first, _ = self.frames[name].get(timeout=left)
            except queue.Empty:
                return None
            if text in what and first >= after:
                return first
        return None

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(5)


def _board_calls(idx: int, name: str, far: FarEnd, d: str, calls: int, rnd: random.Random,
                 out: list[tuple[str, float, float]]) -> None:
    """One board at the default config on its own paced pty: calls at random moments of an idle line."""
    board = from_config(name, {"kind": "led", "url": f"serial://{d}/{name}?baud={BAUD}", "window": 3})
    board.start()
    try:
        while board.health.state != "ok":
            time.sleep(0.05)
        time.sleep(4.0)  # the welcome frame is out
        # a call comes after the previous one's flash, its steady frame 3 s later and the 1-s slot, then anywhere
        # in one whole keepalive cycle: every moment of it is as likely (PINGs restart counting after any frame)
        cycle = board.keepalive + 2 * ACK_BYTES * MS_PER_BYTE / 1000
        for n in range(1, calls + 1):
            time.sleep(rnd.uniform(4.2, 4.2 + cycle))
            seq = idx * 1000 + n
            ev = call(seq)
            text = f"A{seq % 1000:03d}"
            t0 = time.monotonic()
            board.handle_event(ev)
            at = far.first_byte(name, text, t0)
            if at is not None:
                out.append((name, t0, at - t0))
    finally:
        board.stop()


def _raw_writes(far: FarEnd, d: str, stop: threading.Event, rnd: random.Random, out: list[float]) -> None:
    """The baseline: the same frame written straight to a paced pty through the same SerialTransport, no driver."""
    port = SerialTransport(f"{d}/raw", BAUD, timeout=0.2)
    frame = LedBoard("raw", "sim://bench-raw", window=3)._build([(0, AreaContent(0, "A001 请到3号窗口", 3.0), True)])
    try:
        stop.wait(5.0)  # while the boards start, as their first calls do
        while not stop.wait(rnd.uniform(0.3, 1.0)):
            t0 = time.monotonic()
            port.write(frame)
            at = far.first_byte("raw", "A001", t0)
            if at is not None:
                out.append(at - t0)
            port.read(ACK_BYTES)  # the ACK
    finally:
        port.close()


def call_to_first_byte(boards: int = 52, calls: int = 10, seed: int = 9) -> None:
    """Call event → first byte of its frame at the controller, 9600 baud, default config, against raw pty writes.

    Each board is the default [devices] LED window board on its own pty, paced at 9600 baud at the far end (a
    controller in another process).  Each call comes 4.2 s to 4.2 s + one keepalive cycle after the previous one on
    its board — after the flash, its steady frame and the 1-s slot — so calls land at random moments of the
    keepalive cycle."""
    rnd = random.Random(seed)
    lat: list[tuple[str, float, float]] = []
    base: list[float] = []
    names = [f"w{i}" for i in range(boards)]
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as d:
        far = FarEnd(d, [*names, "raw"])
        raw = threading.Thread(target=_raw_writes, args=(far, d, stop, random.Random(seed + 1), base), daemon=True)
        raw.start()
        threads = [threading.Thread(target=_board_calls,
                                    args=(i, n, far, d, calls, random.Random(rnd.random()), lat), daemon=True)
                   for i, n in enumerate(names)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        stop.set()
        raw.join()
        far.close()
    ms = [x * 1000 for _, _, x in lat]
    bms = [x * 1000 for x in base]
    # a call met a PING when one was on the line (its first byte sent … its ACK back) as the call came
    rtt = 2 * ACK_BYTES * MS_PER_BYTE / 1000
    met = sum(1 for name, t0, _ in lat if any(first - MS_PER_BYTE / 1000 <= t0 <= last + rtt / 2
                                              for first, last in far.pings[name]))
    pings = sum(len(v) for v in far.pings.values())
    print(f"-- call → first byte at the controller: pty paced at {BAUD} baud at the far end, the default config "
          f"(min_interval 1 s, keepalive {from_config('x', {'kind': 'led', 'url': 'sim://x', 'window': 3}).keepalive:g}"
          f" s, flash 3 s); {len(ms)} calls on {boards} idle boards at random moments, {pings} PINGs")
    print(f"   {'':30} {'figure':>9} {'baseline':>9} {'ratio':>7}  target")
    p50, b50, p99, b99 = pct(ms, 50), pct(bms, 50), pct(ms, 99), pct(bms, 99)
    print(f"   {'p50 ms':30} {p50:9.2f} {b50:9.2f} {p50 / b50:7.2f}")
    print(f"   {'p99 ms':30} {p99:9.2f} {b99:9.2f} {p99 / b99:7.2f}  ≤ 20 ms: {'met' if p99 <= 20 else 'NOT MET'}")
    print(f"   {'max ms':30} {max(ms):9.2f} {max(bms):9.2f}")
    print(f"   calls over 20 ms: {sum(1 for x in ms if x > 20)} of {len(ms)}; calls that met a PING on the line: "
          f"{met}; baseline: {len(bms)} raw frame writes to a paced pty, same run")


def main() -> None:
    print(f"LED (Onbon BX-5K/6K) at {BAUD} baud: {MS_PER_BYTE:.3f} ms per byte (8N1)")
    frame_sizes()
    throughput("pty")
    throughput("tcp")
    ap = argparse.ArgumentParser()
    ap.add_argument("--led-calls", type=int, default=10, help="calls per board (52 boards)")
    call_to_first_byte(calls=ap.parse_known_args()[0].led_calls)


if __name__ == "__main__":
    main()
