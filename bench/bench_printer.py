"""Ticket printer figures: bytes and wire time per ticket by mode, encode cost, DLE EOT round trip over a pty."""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from devices.base import SerialTransport
from devices.printer import layout, proto
from devices.printer.layout import Profile, TicketOptions
from devices.printer.sim import PtyPrinter, SimPrinter, example_payload

QR = "https://zwfw.example.gov.cn/q/{hall_id}/{ticket_id}"
TIBETAN = TicketOptions(header=("ལྷ་ས་གྲོང་ཁྱེར་གཞུང་ཞབས་ཞུ་ལྟེ་བ།",))


def wire_s(n: int, baud: int) -> float:
    return n * 10 / baud  # 8N1: ten bits on the wire per byte


def sizes() -> None:
    cases = {
        "text (GB18030)": (TicketOptions(), Profile()),
        "text + native QR": (TicketOptions(qr_url=QR), Profile()),
        "text + raster QR": (TicketOptions(qr_url=QR), Profile(qr="raster")),
        "text + Tibetan line (raster)": (TIBETAN, Profile()),
        "whole ticket raster": (TicketOptions(), Profile(mode="raster")),
        "whole ticket raster + QR": (TicketOptions(qr_url=QR), Profile(mode="raster")),
    }
    base = len(layout.ticket_bytes(example_payload(), TicketOptions(), Profile()))
    print(f"{'ticket':32} {'bytes':>8} {'x text':>7} {'9600 baud':>10} {'115200':>8}")
    for name, (opts, prof) in cases.items():
        n = len(layout.ticket_bytes(example_payload(), opts, prof))
        print(f"{name:32} {n:8d} {n / base:7.1f} {wire_s(n, 9600):9.2f}s {wire_s(n, 115200):7.2f}s")


def encode_cost() -> None:
    for name, opts, prof in (
        ("text", TicketOptions(), Profile()),
        ("text + Tibetan line", TIBETAN, Profile()),
        ("whole raster", TicketOptions(), Profile(mode="raster")),
    ):
        layout.ticket_bytes(example_payload(), opts, prof)  # warm font caches
        runs = []
        for _ in range(30):
            t0 = time.perf_counter()
            layout.ticket_bytes(example_payload(), opts, prof)
            runs.append(time.perf_counter() - t0)
        print(f"layout+encode {name:22} median {statistics.median(runs) * 1e3:7.2f} ms  (on the printer thread)")


def tokenizer_rate() -> None:
    data = layout.ticket_bytes(example_payload(), TicketOptions(qr_url=QR), Profile()) * 200
    t0 = time.perf_counter()
    cmds, _ = proto.tokenize(data)
    dt = time.perf_counter() - t0
    print(f"tokenizer: {len(data) / dt / 1e6:.1f} MB/s, {len(cmds) / dt / 1e3:.0f} k commands/s")


def status_round_trip() -> None:
    with tempfile.TemporaryDirectory() as d:
        link = Path(d) / "printer"
        pty = PtyPrinter(link, SimPrinter("bench"))
        port = SerialTransport(str(link), 115200, timeout=0.5)
        try:
            rtts = []
            for _ in range(50):
                t0 = time.perf_counter()
                port.write(proto.status_request(4))
                reply = port.read(1)
                rtts.append(time.perf_counter() - t0)
                assert reply and proto.is_status_byte(reply[0])
            q = statistics.quantiles(rtts, n=20)
            print(f"DLE EOT 4 round trip over a pty: median {statistics.median(rtts) * 1e3:.2f} ms, "
                  f"p95 {q[-1] * 1e3:.2f} ms (a real printer adds wire time: 6 bytes = 6.3 ms at 9600)")
        finally:
            port.close()
            pty.close()


def python_escpos_punctuation() -> None:
    """The trap from the domain notes, measured: full-width punctuation with no Han character in the string."""
    from escpos.printer import Dummy

    line = "（）：，【】"
    d = Dummy()
    d.text(line + "\n")
    theirs = SimPrinter("escpos")
    theirs.feed(b"\x1b@\x1c&" + d.output + b"\x1dVB\x00")
    ours = SimPrinter("ours")
    ours.feed(b"\x1b@\x1c&" + proto.encode_text(line) + b"\n\x1dVB\x00")
    print(f"full-width punctuation line {line!r}: python-escpos prints {theirs.tickets[0].lines()[0]!r}, "
          f"ours prints {ours.tickets[0].lines()[0]!r}")


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sizes()
    print()
    encode_cost()
    tokenizer_rate()
    status_round_trip()
    python_escpos_punctuation()
