"""Phone pages under load: N phones hold a live page (SSE) each while the hall issues and calls; for every call, the
time until every page it changed has its new view (call → page), p50/p99/max, and the server's memory with them
connected.  Baseline, in the same run: the same calls with one phone connected.  Target: p99 ≤ 500 ms for 500 phones.

The hall and its web server run in this process (as in `hall run server`); the phones are a second process of raw
asyncio connections, so their cost is not the server's.  Run: `.venv/bin/python bench/bench_web.py [--phones 500]`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.core.hall import Hall
from kiosk.schema import load
from kiosk.store import Store
from kiosk.web.server import WebServer
from kiosk.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 500.0
AHEAD = re.compile(r"<b>(\d+)</b>")


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


# --- the phones (a child process) ----------------------------------------------------------------------------------
async def phone(port: int, index: int, token: str, got: list[tuple[int, float, int]], ready: asyncio.Event,
                n_ready: list[int], total: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /t/{token}/events HTTP/1.1\r\nHost: hall\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    first = True
    while True:
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"data: {"):
            at = time.monotonic()
            view = json.loads(line[6:])
            m = AHEAD.search(view["html"])
            # the number of calls this view reflects: p0 - ahead while waiting, p0 + 1 once called (see main)
            got.append((index, at, int(m.group(1)) if view["state"] == "waiting" and m else -1))
            if first:
                first = False
                n_ready[0] += 1
                if n_ready[0] == total:
                    ready.set()


async def phones_main(port: int, tokens: list[str]) -> None:
    got: list[tuple[int, float, int]] = []
    ready, n_ready = asyncio.Event(), [0]
    tasks = [asyncio.create_task(phone(port, i, tok, got, ready, n_ready, len(tokens))) for i, tok in enumerate(tokens)]
    await ready.wait()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until the driver says stop
    for t in tasks:
        t.cancel()
    print(json.dumps(got), flush=True)


# --- the hall and the driver ---------------------------------------------------------------------------------------
def run(phones: int, calls: int, interval: float) -> dict[str, float]:
    start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in the hall
    t0 = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - t0)

    with tempfile.TemporaryDirectory() as d:
        cfg = load(ROOT / "kiosk" / "demo_hall.toml")
        for b in cfg.businesses:
            b.daily_cap = 999  # every phone's ticket in one queue: each call changes every page
        hall = Hall(cfg, Store(Path(d) / "bench.db", synchronous="NORMAL"), clock=clock)
        hall.sign_in(1, "1001", "bench")
        for _ in range(calls):  # the tickets the calls take; the phones' tickets wait behind them
            hall.issue_ticket("social")
        tokens, position = [], []
        for _ in range(phones):
            r = hall.issue_ticket("social")
            tokens.append(r.events[0].payload["token"])
            position.append(r.value.ahead)
        server = WebServer(hall, WebSettings(public_base_url="http://127.0.0.1", bind="127.0.0.1", port=0))
        server.start()
        assert server.bound.wait(10), server.error
        before = rss_mb()
        child = subprocess.Popen([sys.executable, __file__, "--phones-of", str(server.port)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("\n".join(tokens) + "\n\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "ready"
        connected = rss_mb()
        stop = threading.Event()

        def issuing() -> None:  # walk-ins keep arriving at the kiosks meanwhile
            while not stop.wait(0.1):
                hall.issue_ticket("tax")

        side = threading.Thread(target=issuing, daemon=True)
        side.start()
        call_at: list[float] = []
        for _ in range(calls):
            call_at.append(time.monotonic())
            hall.call_next(1)
            hall.start_service(1)
            time.sleep(interval)
        time.sleep(1.0)
        stop.set()
        side.join()
        peak = rss_mb()
        child.stdin.write("stop\n")
        child.stdin.flush()
        got = json.loads(child.stdout.readline())
        child.wait(10)
        server.stop()
        hall.store.close()

    latencies: list[float] = []
    for index, at, ahead in got:
        done = position[index] - ahead if ahead >= 0 else 0  # the calls this view reflects
        if 1 <= done <= len(call_at):
            latencies.append((at - call_at[done - 1]) * 1000)
    return {"p50": pct(latencies, 50), "p99": pct(latencies, 99), "max": max(latencies, default=float("nan")),
            "samples": len(latencies), "rss_before": before, "rss_connected": connected, "rss_peak": peak}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phones", type=int, default=500)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between calls")
    ap.add_argument("--phones-of", type=int, help=argparse.SUPPRESS)  # the child: phones on this port
    a = ap.parse_args()
    if a.phones_of:
        tokens = [line.strip() for line in iter(sys.stdin.readline, "\n")]
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        asyncio.run(phones_main(a.phones_of, tokens))
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"phone pages: {a.phones} phones on live pages (SSE), {a.calls} calls {a.interval:g} s apart while "
          "walk-ins are issued 10/s; call → every changed page")
    base = run(1, a.calls, a.interval)
    load_ = run(a.phones, a.calls, a.interval)
    print(f"  baseline, 1 phone:   p50 {base['p50']:.1f} ms  p99 {base['p99']:.1f} ms  ({base['samples']} views)")
    print(f"  {a.phones} phones:        p50 {load_['p50']:.1f} ms  p99 {load_['p99']:.1f} ms  max {load_['max']:.1f} ms"
          f"  ({load_['samples']} views)")
    print(f"  figure p99 {load_['p99']:.1f} ms, baseline {base['p99']:.1f} ms, ratio {load_['p99'] / base['p99']:.1f}, "
          f"target ≤ {TARGET_P99_MS:.0f} ms: {'met' if load_['p99'] <= TARGET_P99_MS else 'NOT met'}")
    print(f"  server memory (RSS): {load_['rss_before']:.0f} MB before, {load_['rss_connected']:.0f} MB with "
          f"{a.phones} connected, {load_['rss_peak']:.0f} MB after the calls "
          f"(+{(load_['rss_connected'] - load_['rss_before']) * 1024 / max(1, a.phones):.0f} KB a phone)")


if __name__ == "__main__":
    main()
