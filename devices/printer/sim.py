"""A simulated 80 mm ESC/POS printer: reads the same bytes a real one does, answers DLE EOT, renders tickets."""
from __future__ import annotations

import codecs
import contextlib
import functools
import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from devices.base import DeviceUrl, TransportError
from devices.printer import layout, proto

FAULTS = ("paper_out", "near_end", "cover_open", "silent", "unplug")


@dataclass(slots=True)
class Segment:
    text: str
    width: int  # GS ! multipliers
    height: int
    bold: bool


@dataclass(slots=True)
class Item:
    """One printed thing: a text line, a raster image, a native QR code, or fed paper."""

    kind: str  # "text" | "raster" | "qr" | "feed"
    align: proto.Align = proto.Align.LEFT
    segments: list[Segment] = field(default_factory=list)
    image: Image.Image | None = None  # raster: ink = 255
    data: str = ""
    dots: int = 0

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass(slots=True)
class SimTicket:
    items: list[Item]
    cut: str  # "partial" | "full" | "" (not cut yet)
    at: float = field(default_factory=time.monotonic)  # when the cut was received (after its wire time, with baud)

    def lines(self) -> list[str]:
        """Printed lines as text; raster and QR show as placeholders so tests can read the layout."""
        out = []
        for it in self.items:
            if it.kind == "text":
                out.append(it.text)
            elif it.kind == "raster" and it.image is not None:
                out.append(f"[raster {it.image.width}x{it.image.height}]")
            elif it.kind == "qr":
                out.append(f"[qr {it.data}]")
        return out

    def text_items(self) -> list[Item]:
        return [it for it in self.items if it.kind == "text"]

    def image(self, width: int = proto.DOTS_80MM) -> Image.Image:
        """The ticket as it would come out of the printer: black on white, `width` dots wide."""
        parts = [_draw_item(it, width) for it in self.items]
        out = Image.new("L", (width, sum(p.height for p in parts) + 24), 0)
        y = 12
        for p in parts:
            out.paste(p, (0, y))
            y += p.height
        return out.point(lambda v: 255 - v)


def _draw_item(it: Item, width: int) -> Image.Image:
    if it.kind == "raster" and it.image is not None:
        img = Image.new("L", (width, it.image.height), 0)
        img.paste(it.image, (0, 0))
        return img
    if it.kind == "qr":
        return layout.qr_image(it.data, it.dots or 3, width)
    if it.kind == "feed":
        return Image.new("L", (width, it.dots), 0)
    h = max((s.height for s in it.segments), default=1)
    img = Image.new("L", (width, layout.LINE * h + 6), 0)
    total = sum(_seg_dots(s) for s in it.segments)
    x = {proto.Align.LEFT: 0.0, proto.Align.CENTER: (width - total) / 2, proto.Align.RIGHT: width - total}[it.align]
    x = int(max(0.0, x))
    for s in it.segments:
        for ch in s.text:
            g = _glyph(ch, s.width, s.height, s.bold)
            img.paste(g, (x, layout.LINE * (h - s.height) + 3))
            x += g.width
    return img


@functools.lru_cache(maxsize=4096)
def _glyph(ch: str, w: int, h: int, bold: bool) -> Image.Image:
    """A printer-font glyph: fills its 12 x 24 (or 24 x 24) cell, scaled by the GS ! multipliers."""
    cells = proto.display_width(ch)
    f = layout.font("cjk-bold" if bold else "cjk", layout.LINE - 2)
    advance = max(int(f.getlength(ch)), 1)
    canvas = Image.new("L", (advance, layout.LINE), 0)
    ImageDraw.Draw(canvas).text((advance / 2, layout.LINE / 2), ch, font=f, fill=255, anchor="mm")
    return canvas.resize((cells * layout.CELL * w, layout.LINE * h), Image.Resampling.BILINEAR)


def _seg_dots(s: Segment) -> int:
    return proto.display_width(s.text) * layout.CELL * s.width


class SimPrinter:
    """The printer itself; it outlives connections, as a real one outlives a cable.

    Options (from `sim://name?…`): `chinese=off` starts in single-byte mode like printers that need FS &;
    `faults=paper_out@3,near_end@2,cover_open@5,silent@1,unplug@4` happen after that many cuts;
    `garbage=1` puts a noise byte before every status reply; `baud=9600` makes writes take wire time.
    """

    def __init__(self, name: str, options: dict[str, str] | None = None) -> None:
        opts = options or {}
        self.name = name
        self.width = int(opts.get("width", proto.DOTS_80MM))
        self.chinese_default = opts.get("chinese", "on") != "off"
        self.garbage = opts.get("garbage", "0") not in ("0", "", "off")
        self.baud = int(opts.get("baud", "0"))
        self.faults = parse_faults(opts.get("faults", ""))
        self.paper = "ok"  # ok | near_end | out
        self.cover_open = False
        self.silent = False
        self.unplugged = False
        self.tickets: list[SimTicket] = []
        self.received = 0  # bytes received in total
        self.largest_write = 0  # the biggest single write, in bytes
        self.unknown = 0  # commands it did not understand
        self.overflows = 0  # text lines wider than the paper (the printer wraps them)
        self.status_requests = 0
        self._held = bytearray()  # data received while stopped: printed once the fault is cleared
        self._tail = b""
        self._replies = bytearray()
        self._cond = threading.Condition()
        self._reset()
        self._items: list[Item] = []
        self._line: list[Segment] = []
        self._line_align = proto.Align.LEFT
        self._qr = ""
        self._qr_module = 3

    # --- state a test or the demo changes ----------------------------------------------------------------
    def set_paper(self, state: str) -> None:
        with self._cond:
            self.paper = state
        if state != "out":
            self._release()

    def set_cover(self, is_open: bool) -> None:
        with self._cond:
            self.cover_open = is_open
        if not is_open:
            self._release()

    def unplug(self) -> None:
        with self._cond:
            self.unplugged = True

    def plug(self) -> None:
        with self._cond:
            self.unplugged = False

    @property
    def stopped(self) -> bool:
        return self.paper == "out" or self.cover_open

    @property
    def held_bytes(self) -> int:
        return len(self._held)

    # --- the wire ----------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Bytes from the host.  DLE EOT is answered at once; everything else prints, or waits while stopped."""
        if self.baud:
            time.sleep(len(data) * 10 / self.baud)
        with self._cond:
            self.received += len(data)
            self.largest_write = max(self.largest_write, len(data))
            cmds, self._tail = proto.tokenize(self._tail + data)
            for c in cmds:
                if c.name == "DLE EOT":
                    self._answer(c.args[0])
                elif self.stopped or self._held:
                    self._held += _raw(c)
                else:
                    self._execute(c)

    def take(self, size: int, timeout: float) -> bytes:
        """Up to `size` reply bytes, waiting at most `timeout` for the first."""
        with self._cond:
            if not self._replies:
                self._cond.wait(timeout)
            out = bytes(self._replies[:size])
            del self._replies[:size]
            return out

    def status_byte(self, n: int) -> int:
        b = 0x12
        if n == 1 and self.stopped:
            b |= 0x08
        if n == 2:
            b |= (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        if n == 4:
            b |= (0x0C if self.paper != "ok" else 0) | (0x60 if self.paper == "out" else 0)
        return b

    def _answer(self, n: int) -> None:
        self.status_requests += 1
        if self.silent or n not in (1, 2, 3, 4):
            return
        if self.garbage:
            self._replies.append(0xFF)
        self._replies.append(self.status_byte(n))
        self._cond.notify_all()

    def _release(self) -> None:
        with self._cond:
            if self.stopped or not self._held:
                return
            data, self._held = bytes(self._held), bytearray()
            for c in proto.tokenize(data)[0]:
                self._execute(c)

    # --- the interpreter ---------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.align = proto.Align.LEFT
        self.size = (1, 1)
        self.bold = False
        self.chinese = self.chinese_default
        self._decoder = codecs.getincrementaldecoder("gb18030")("replace")

    def _execute(self, c: proto.Command) -> None:
        name, a = c.name, c.args
        if name == "text":
            text = self._decoder.decode(c.data) if self.chinese else c.data.decode("cp437")
            if not self._line:
                self._line_align = self.align
            self._line.append(Segment(text, *self.size, self.bold))
        elif name == "LF":
            self._end_line()
        elif name == "ESC @":
            self._end_line(blank=False)
            self._reset()
        elif name == "ESC a":
            self.align = {0: proto.Align.LEFT, 1: proto.Align.CENTER, 2: proto.Align.RIGHT}.get(a[0] % 48, self.align)
        elif name == "GS !":
            self.size = ((a[0] >> 4) + 1, (a[0] & 0x0F) + 1)
        elif name == "ESC E":
            self.bold = bool(a[0] & 1)
        elif name == "ESC d":
            self._end_line(blank=False)
            self._items.append(Item("feed", dots=30 * a[0]))
        elif name == "FS &":
            self.chinese = True
        elif name == "FS .":
            self.chinese = False
        elif name == "GS v 0":
            self._end_line(blank=False)
            self._items.append(Item("raster", image=_bits_image(a, c.data)))
        elif name == "GS ( k":
            self._qr_command(a, c.data)
        elif name == "GS V":
            self._end_line(blank=False)
            self._cut("full" if a[0] in (0, 48, 65, 97, 103) else "partial")
        elif name == "unknown":
            self.unknown += 1

    def _qr_command(self, a: bytes, data: bytes) -> None:
        if len(a) < 2 or a[0] != 49:
            return
        fn = a[1]
        if fn == 67 and data:
            self._qr_module = data[0]
        elif fn == 80:
            self._qr = data[1:].decode("ascii", "replace")
        elif fn == 81:
            self._end_line(blank=False)
            self._items.append(Item("qr", align=self.align, data=self._qr, dots=self._qr_module))

    def _end_line(self, blank: bool = True) -> None:
        if not self._line:
            if blank:
                self._items.append(Item("feed", dots=30))
            return
        seg = self._line
        self._line = []
        dots = sum(_seg_dots(s) for s in seg)
        if dots > self.width:
            self.overflows += 1
        self._items.append(Item("text", align=self._line_align, segments=seg))

    def _cut(self, mode: str) -> None:
        self.tickets.append(SimTicket(self._items, mode))
        self._items = []
        cuts = len(self.tickets)
        for fault, at in self.faults:
            if at == cuts:
                self._apply_fault(fault)

    def _apply_fault(self, fault: str) -> None:
        if fault == "paper_out":
            self.paper = "out"
        elif fault == "near_end":
            self.paper = "near_end"
        elif fault == "cover_open":
            self.cover_open = True
        elif fault == "silent":
            self.silent = True
        elif fault == "unplug":
            self.unplugged = True


def _raw(c: proto.Command) -> bytes:
    """Bytes of a command again, to hold while the printer is stopped."""
    if c.name == "text":
        return c.data
    if c.name == "LF":
        return b"\n"
    if c.name == "GS v 0":
        return b"\x1dv0" + c.args + c.data
    if c.name.startswith("GS ("):
        n = len(c.args) + len(c.data)
        return bytes((0x1D, 0x28, ord(c.name[-1]), n & 0xFF, n >> 8)) + c.args + c.data
    if c.name == "GS k":
        return b"\x1dk" + c.args + c.data + (b"\x00" if c.args[0] <= 6 else b"")
    if c.name == "unknown":
        return c.args
    prefix = {"ESC": 0x1B, "GS": 0x1D, "FS": 0x1C, "DLE": 0x10}[c.name.split()[0]]
    code = c.name.split()[1]
    return bytes((prefix, ord(code) if len(code) == 1 else int(code, 16))) + c.args


def _bits_image(args: bytes, data: bytes) -> Image.Image:
    wb, h = args[1] | (args[2] << 8), args[3] | (args[4] << 8)
    img = Image.frombytes("1", (wb * 8, h), data)
    return img.convert("L")


def parse_faults(spec: str) -> list[tuple[str, int]]:
    """"paper_out@3,near_end@2" -> [("paper_out", 3), ("near_end", 2)]: faults that happen after N cuts."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        fault, _, at = part.partition("@")
        if fault not in FAULTS or not at.isdigit():
            raise ValueError(f"sim fault {part!r}: use one of {', '.join(FAULTS)} as fault@N")
        out.append((fault, int(at)))
    return out


# --- transports: in process, and through a real pty ---------------------------------------------------------
_devices: dict[str, SimPrinter] = {}
_devices_lock = threading.Lock()


def device(name: str, options: dict[str, str] | None = None) -> SimPrinter:
    """The simulated printer called `name`, created on first use (options apply then)."""
    with _devices_lock:
        if name not in _devices:
            _devices[name] = SimPrinter(name, options)
        return _devices[name]


def forget(name: str) -> None:
    with _devices_lock:
        _devices.pop(name, None)


class SimLink:
    """A connection to a simulated printer, behind the same write/read/close as a serial port."""

    def __init__(self, printer: SimPrinter, read_timeout: float = 0.05) -> None:
        if printer.unplugged:
            raise TransportError(f"sim printer {printer.name} is unplugged")
        self.printer = printer
        self._timeout = read_timeout
        self._closed = False

    def write(self, data: bytes) -> int:
        if self._closed or self.printer.unplugged:
            raise TransportError(f"sim printer {self.printer.name} is unplugged")
        self.printer.feed(data)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if self._closed or self.printer.unplugged:
            raise TransportError(f"sim printer {self.printer.name} is unplugged")
        return self.printer.take(size, self._timeout)

    def close(self) -> None:
        self._closed = True


def open_sim(url: DeviceUrl) -> SimLink:
    return SimLink(device(url.path, url.opts))


class PtyPrinter:
    """A simulated printer on the far side of a real pty, reached through a stable symlink like /dev/serial/by-id.

    `unplug()` closes the pty and removes the link (the host sees I/O errors); `plug()` makes a new pty behind
    the same link, as a USB-serial adapter re-enumerating under the same by-id name.
    """

    def __init__(self, link: str | Path, printer: SimPrinter) -> None:
        self.link = Path(link)
        self.printer = printer
        self._master = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no newline translation or echo: ESC/POS is binary
        self._slave_name = os.ttyname(slave)
        os.close(slave)
        self._master = master
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(self._slave_name)
        self._stop.clear()
        self._thread = threading.Thread(target=self._pump, args=(master,), name=f"pty-sim:{self.link}", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(1.0)
        with contextlib.suppress(OSError):
            os.close(self._master)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    close = unplug

    def _pump(self, master: int) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                if ready:
                    data = os.read(master, 65536)
                    if data:
                        self.printer.feed(data)
                reply = self.printer.take(4096, 0)
                if reply:
                    os.write(master, reply)
            except OSError:
                # EIO while nobody has the slave open: wait for the host to reopen
                time.sleep(0.02)


class TcpPrinter:
    """A simulated network printer listening on loopback, like the raw port 9100 of a LAN ticket printer."""

    def __init__(self, printer: SimPrinter, host: str = "127.0.0.1", port: int = 0) -> None:
        self.printer = printer
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.05)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"tcp-sim:{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(0.02)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(65536)
                        if not data:
                            break
                        self.printer.feed(data)
                    except TimeoutError:
                        pass
                    except OSError:
                        break
                    reply = self.printer.take(4096, 0)
                    if reply:
                        with contextlib.suppress(OSError):
                            conn.sendall(reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self._server.close()


# --- example tickets for docs/tickets ---------------------------------------------------------------------------
def example_payload(number: str = "A023", **ticket: object) -> dict:
    t = {
        "id": "t-20261123-a023", "number": number, "business": "hj", "business_name": "户籍业务", "prefix": "A",
        "priority": "normal", "status": "waiting", "issued_at": "2026-11-23T01:31:07+00:00",
        "local_date": "2026-11-23", "id_masked": None, "appointment_code": None, "window": None, "recalls": 0,
    }  # fmt: skip
    t.update(ticket)
    return {"ticket": t, "ahead": 12, "hall_name": "锦江区政务服务中心"}


def render_examples(out_dir: str | Path) -> list[Path]:
    """Print example tickets through the simulator and save what comes out as PNGs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    url = "https://zwfw.example.gov.cn/q/{hall_id}/{ticket_id}"
    cases = {
        "text-gb18030": (example_payload(), layout.TicketOptions(), layout.Profile()),
        "green-qr": (
            example_payload("G005", priority="green", business_name="社保医保", id_masked="5101**********1234"),
            layout.TicketOptions(qr_url=url, hall_id="510104"),
            layout.Profile(),
        ),
        "tibetan-bilingual": (
            example_payload("B007", business_name="不动产登记 ས་ཆ་ཐོ་འགོད།"),
            layout.TicketOptions(header=("ལྷ་ས་གྲོང་ཁྱེར་གཞུང་ཞབས་ཞུ་ལྟེ་བ།",),
                                 notice=("请留意叫号，过号需重新取号", "ཨང་རྟགས་འདས་ན་ཡང་བསྐྱར་ལེན་དགོས།")),
            layout.Profile(),
        ),
        "uyghur-bilingual": (
            example_payload("C012"),
            layout.TicketOptions(
                header=("ھۆكۈمەت مۇلازىمەت مەركىزى",), notice=("请留意叫号", "نومۇرىڭىزغا دىققەت قىلىڭ")
            ),
            layout.Profile(),
        ),
        "yi-bilingual": (
            example_payload("D003"),
            layout.TicketOptions(header=("ꆈꌠ ꀉꂿ ꌋꆀ",)),
            layout.Profile(),
        ),
        "full-raster": (example_payload(), layout.TicketOptions(), layout.Profile(mode="raster")),
    }
    paths = []
    for name, (payload, opts, profile) in cases.items():
        p = SimPrinter(f"example-{name}")
        p.feed(layout.ticket_bytes(payload, opts, profile))
        path = out / f"{name}.png"
        p.tickets[-1].image(profile.width_dots).save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    for p in render_examples(sys.argv[1] if len(sys.argv) > 1 else "docs/tickets"):
        print(p)
