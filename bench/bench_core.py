"""Durable commands per second and p50/p99 latency for issue and call-next: 50 windows, 2,000 waiting tickets,
synchronous=FULL vs NORMAL side by side.  Prints figures; asserts nothing."""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import FakeClock

N_WINDOWS = 50
WAITING = 2000
OPS = 2000


def config_text() -> str:
    head = '[hall]\nid = "bench"\nname = "基准大厅"\nregion = "510104000"\n'
    biz = "".join(
        f'[[businesses]]\ncode = "b{i}"\nprefix = "{chr(65 + i)}"\nname = "业务{i}"\ndays = "all"\n'
        f'hours = ["00:00-24:00"]\ndaily_cap = 999\n' for i in range(10))
    win = "".join(f'[[windows]]\nnumber = {w}\nbusinesses = ["b{w % 10}", "b{(w + 3) % 10}"]\n'
                  for w in range(1, N_WINDOWS + 1))
    return head + biz + win


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def run(sync: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        clock = FakeClock()
        hall = Hall(loads(config_text()), Store(Path(d) / "b.db", synchronous=sync), clock=clock)
        for i in range(WAITING):
            hall.issue_ticket(f"b{i % 10}")
        issue_lat: list[float] = []
        t0 = time.perf_counter()
        for i in range(OPS):
            s = time.perf_counter()
            hall.issue_ticket(f"b{i % 10}")
            issue_lat.append(time.perf_counter() - s)
        issue_rate = OPS / (time.perf_counter() - t0)
        call_lat: list[float] = []
        t0 = time.perf_counter()
        for i in range(OPS):
            s = time.perf_counter()
            hall.call_next(1 + i % N_WINDOWS)
            call_lat.append(time.perf_counter() - s)
        call_rate = OPS / (time.perf_counter() - t0)
        hall.store.close()
    return {"issue_rate": issue_rate, "issue_p50": pct(issue_lat, .5), "issue_p99": pct(issue_lat, .99),
            "call_rate": call_rate, "call_p50": pct(call_lat, .5), "call_p99": pct(call_lat, .99),
            "issue_mean": statistics.mean(issue_lat) * 1000}


def main() -> None:
    print(f"hall core: {N_WINDOWS} windows, {WAITING} waiting tickets, {OPS} commands each, WAL")
    results = {s: run(s) for s in ("FULL", "NORMAL")}
    print(f"{'':22}{'FULL (durable)':>18}{'NORMAL':>14}{'FULL/NORMAL':>14}")
    for key, label in (("issue_rate", "issue  cmds/s"), ("issue_p50", "issue  p50 ms"), ("issue_p99", "issue  p99 ms"),
                       ("call_rate", "call-next cmds/s"), ("call_p50", "call-next p50 ms"),
                       ("call_p99", "call-next p99 ms")):
        f, n = results["FULL"][key], results["NORMAL"][key]
        print(f"{label:22}{f:18.2f}{n:14.2f}{f / n:14.2f}")
    full = results["FULL"]
    print(f"targets: p99 <= 5 ms per durable command -> issue {full['issue_p99']:.2f} ms, "
          f"call {full['call_p99']:.2f} ms;"
          f" >= 1000 durable cmds/s -> issue {full['issue_rate']:.0f}/s, call {full['call_rate']:.0f}/s")


if __name__ == "__main__":
    main()
