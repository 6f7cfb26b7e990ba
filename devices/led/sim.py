"""A simulated Onbon BX controller: checks frames, answers ACK/NACK like the real one, keeps what each area shows.

It is reachable three ways: in-process (`sim://name`, what `open_sim` returns), over a real pty (`PtyLink`, the
driver opens it with `serial://<path>`), and over loopback TCP (`TcpLink`, `tcp://127.0.0.1:<port>`).  Tests and
the bench can unplug and replug a link, make the controller silent, power-cycle it, and inject garbage.
"""
from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from devices.base import DeviceUrl, TransportError
from devices.led import proto


@dataclass(frozen=True, slots=True)
class Received:
    at: float  # time.monotonic() when the frame was complete
    frame: proto.Frame
    areas: tuple[int, ...]  # areas an A3 06 updated (empty for other commands)
    first_byte: float  # when the chunk holding its first byte arrived (what a citizen waits for, less wire time)


class LedSim:
    """The controller logic, independent of how bytes reach it (`feed` in, answer bytes out)."""

    def __init__(self, address: int = 1, *, name: str = "led", area_limit: int = proto.MAX_AREA_TEXT) -> None:
        self.name = name
        self.address = address
        self.area_limit = area_limit  # bytes of text per dynamic area: 1024 on a 6K, 512 on a 5K (§8.2.1)
        self.areas: dict[int, proto.Area] = {}
        self.received: deque[Received] = deque(maxlen=10_000)  # the demo runs sims all day: keep the recent
        self.silent = False  # powered off with the cable in: reads and drops everything
        self.nacks_sent = 0
        self.bad_requests = 0  # well-framed packets whose command could not be parsed
        self.ignored = 0  # frames for another address
        self._decoder = proto.FrameDecoder()
        self._frame_start: float | None = None  # arrival of the first byte of the frame being received
        self._cond = threading.Condition()

    # --- what tests read ----------------------------------------------------------------------------------
    @property
    def bad_frames(self) -> int:
        """Frames rejected at the framing level (CRC, escaping, length, cut off) plus unparsable commands."""
        return self._decoder.stats.bad_total + self.bad_requests

    @property
    def bad_reasons(self) -> dict[str, int]:
        return dict(self._decoder.stats.bad)

    def area_text(self, area: int) -> str | None:
        with self._cond:
            a = self.areas.get(area)
        return None if a is None else proto.decode_text(a.text)

    def area(self, area: int) -> proto.Area | None:
        with self._cond:
            return self.areas.get(area)

    def update_times(self) -> list[float]:
        with self._cond:
            return [r.at for r in self.received if r.areas]

    def wait_for(self, pred: Callable[[LedSim], bool], timeout: float = 3.0) -> bool:
        """Block until pred(self) holds (re-checked on every accepted frame), or the timeout passes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def power_cycle(self) -> None:
        """Dynamic areas live in RAM (§8.2.1): a power cycle forgets them."""
        with self._cond:
            self.areas.clear()
            self._decoder.reset()

    # --- the controller -------------------------------------------------------------------------------------
    def feed(self, data: bytes, at: float | None = None) -> bytes:
        """Take bytes from the host (that arrived at `at`, default now), return the bytes the controller answers."""
        if self.silent:
            return b""
        at = time.monotonic() if at is None else at
        out = bytearray()
        with self._cond:
            start = self._frame_start if self._decoder.in_frame and self._frame_start is not None else at
            frames = self._decoder.feed(data)
            for reason, packet in self._decoder.take_rejected():
                if reason == "crc":
                    out += self._nack_bad_checksum(packet)
            for frame in frames:
                out += self._handle(frame, start)
                start = at  # a later frame in the same chunk began in it
            self._frame_start = at if self._decoder.in_frame else None
            self._cond.notify_all()
        return bytes(out)

    def _for_me(self, dst: int) -> bool:
        # own address, both broadcasts, and the 0x8000..0xDFFF range that TCP/GPRS senders may use (§4)
        return dst in (self.address, proto.BROADCAST, proto.BROADCAST_REPLY) or 0x8000 <= dst <= 0xDFFF

    def _nack_bad_checksum(self, packet: bytes) -> bytes:
        # §7.2 example 5: a frame whose CRC fails is answered with NACK ERR_CHECKSUM, when its header is readable
        if len(packet) < proto.HEADER_LEN:
            return b""
        dst, src = int.from_bytes(packet[0:2], "little"), int.from_bytes(packet[2:4], "little")
        if not self._for_me(dst) or dst == proto.BROADCAST:
            return b""
        self.nacks_sent += 1
        req = proto.Frame(dst=dst, src=src, data=b"")
        return proto.encode_frame(proto.reply_frame(req, proto.nack(proto.ERR_CHECKSUM), self.address))

    def _handle(self, frame: proto.Frame, first_byte: float) -> bytes:
        if not self._for_me(frame.dst):
            self.ignored += 1
            return b""
        updated: tuple[int, ...] = ()
        try:
            req = proto.decode_request(frame.data)
        except proto.FrameError:
            self.bad_requests += 1
            self.received.append(Received(time.monotonic(), frame, (), first_byte))
            return b""  # no command bytes to answer to
        reply, updated = self._execute(req)
        self.received.append(Received(time.monotonic(), frame, updated, first_byte))
        if frame.dst == proto.BROADCAST or req.response == proto.RESPONSE_NONE:
            return b""  # §4 broadcast 1 and §5.1.1 Response 0x02: the controller stays quiet
        if not reply.is_ack:
            self.nacks_sent += 1
        return proto.encode_frame(proto.reply_frame(frame, reply, self.address))

    def _execute(self, req: proto.Request) -> tuple[proto.Reply, tuple[int, ...]]:
        if req.group == proto.GROUP_SYS and req.cmd == proto.CMD_PING:
            return proto.ack(), ()
        if req.group == proto.GROUP_DISPLAY and req.cmd == proto.CMD_CLEAR:
            self.areas.clear()
            return proto.ack(), ()
        if req.group == proto.GROUP_DISPLAY and req.cmd == proto.CMD_DYNAMIC:
            try:
                update = proto.decode_dynamic(req)
            except proto.FrameError:
                self.bad_requests += 1
                # the doc has no "bad format" code; ERR_NOCMD is what a controller that cannot parse it returns
                return proto.nack(proto.ERR_NOCMD), ()
            if any(len(a.text) > self.area_limit for a in update.areas):
                return proto.nack(proto.ERR_MEMORYVOLUME), ()
            if update.delete_ids == (0xFF,):
                self.areas.clear()
            for area_id in update.delete_ids:
                self.areas.pop(area_id, None)
            for area in update.areas:
                self.areas[area.area_id] = area
            return proto.ack(), tuple(a.area_id for a in update.areas)
        if req.group in (0xA1, 0xA2, 0xA3, 0xA4):
            return proto.nack(proto.ERR_NOCMD), ()
        return proto.nack(proto.ERR_OUTOFGROUP), ()


# --- in-process link: sim://name -------------------------------------------------------------------------------
_SIMS: dict[str, LedSim] = {}
_SIMS_LOCK = threading.Lock()
_UNPLUGGED: set[str] = set()


def get_sim(name: str, address: int = 1) -> LedSim:
    """The in-process controller behind sim://name (created on first use)."""
    with _SIMS_LOCK:
        sim = _SIMS.get(name)
        if sim is None:
            sim = _SIMS[name] = LedSim(address, name=name)
        return sim


def unplug_sim(name: str, plugged: bool = False) -> None:
    """Pull (or, with plugged=True, put back) the cable of sim://name."""
    with _SIMS_LOCK:
        if plugged:
            _UNPLUGGED.discard(name)
        else:
            _UNPLUGGED.add(name)


class SimTransport:
    """The Transport the driver gets for sim://name: writes feed the controller, reads return its answers."""

    def __init__(self, sim: LedSim) -> None:
        self.sim = sim
        self._rx = bytearray()
        self._cond = threading.Condition()
        self._closed = False

    def _check(self) -> None:
        if self._closed or self.sim.name in _UNPLUGGED:
            raise TransportError(f"sim://{self.sim.name} is unplugged")

    def write(self, data: bytes) -> int:
        self._check()
        answer = self.sim.feed(data)
        if answer:
            with self._cond:
                self._rx += answer
                self._cond.notify_all()
        return len(data)

    def read(self, size: int = 1) -> bytes:
        self._check()
        with self._cond:
            if not self._rx:
                self._cond.wait(0.05)
            out = bytes(self._rx[:size])
            del self._rx[:size]
            return out

    def close(self) -> None:
        self._closed = True


def open_sim(url: DeviceUrl) -> SimTransport:
    name = url.path or "led"
    if name in _UNPLUGGED:
        raise TransportError(f"sim://{name} is unplugged")
    address = int(url.opts.get("address", "1"), 0)
    return SimTransport(get_sim(name, address))


# --- pty link: serial://<path> -------------------------------------------------------------------------------
class PtyLink:
    """The controller on a real pty.  `path` is a stable symlink to the current slave (like /dev/serial/by-id),
    so the driver's URL survives an unplug/replug that creates a new pty.

    A pty moves bytes at memory speed.  `paced=True` gives them the line's time: each byte the host writes reaches
    the controller 10 bits' time after the one before (8N1 at `baud`), and each answer byte reaches the host the
    same way, both directions at once (RS-232).  The bench measures 9600-baud latencies with it."""

    def __init__(self, sim: LedSim, path: str, baud: int = 9600, *, paced: bool = False) -> None:
        self.sim = sim
        self.path = path
        self.baud = baud
        self.paced = paced
        self.bytes_in = 0
        self._master = -1
        self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wlock = threading.Lock()
        self.replug()

    @property
    def url(self) -> str:
        return f"serial://{self.path}?baud={self.baud}"

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def replug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a pty must behave like a plain serial line
        self._master, self._slave = master, slave
        tmp = f"{self.path}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)
        self._stop = threading.Event()
        serve = self._serve_paced if self.paced else self._serve
        self._thread = threading.Thread(target=serve, args=(master, self._stop), daemon=True, name="led-pty")
        self._thread.start()

    def unplug(self) -> None:
        """Pull the cable: the driver's next read or write fails, and the path disappears until replug()."""
        if not self.plugged:
            return
        self._stop.set()
        if self._thread:
            self._thread.join(1.0)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    close = unplug

    def inject(self, data: bytes) -> None:
        """Bytes from the 'controller' that it did not mean to send (line noise, a confused firmware)."""
        with self._wlock:
            if self.plugged:
                os.write(self._master, data)

    def _serve(self, master: int, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
                at = time.monotonic()
            except OSError:
                # EIO when no slave side is open: wait for the driver to (re)open it
                stop.wait(0.02)
                continue
            self.bytes_in += len(data)
            answer = self.sim.feed(data, at)
            if answer:
                with self._wlock, contextlib.suppress(OSError):
                    os.write(master, answer)

    def _serve_paced(self, master: int, stop: threading.Event) -> None:
        byte_s = 10 / self.baud
        inbound: deque[tuple[float, bytes, float]] = deque()  # (last byte arrives, bytes, first byte arrives)
        outbound: deque[tuple[float, bytes]] = deque()  # (last answer byte reaches the host, bytes)
        line_in = line_out = 0.0  # when each direction of the line is free again
        while not stop.is_set():
            now = time.monotonic()
            while inbound and inbound[0][0] <= now:
                _, data, first = inbound.popleft()
                answer = self.sim.feed(data, first)
                if answer:
                    line_out = max(line_out, now) + len(answer) * byte_s
                    outbound.append((line_out, answer))
            while outbound and outbound[0][0] <= now:
                with self._wlock, contextlib.suppress(OSError):
                    os.write(master, outbound.popleft()[1])
            due = [q[0][0] for q in (inbound, outbound) if q]
            try:
                ready, _, _ = select.select([master], [], [], max(0.0, min(due) - now) if due else 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
                at = time.monotonic()
            except OSError:
                stop.wait(0.02)
                continue
            self.bytes_in += len(data)
            start = max(line_in, at)
            line_in = start + len(data) * byte_s
            inbound.append((line_in, data, start + byte_s))


# --- TCP link: tcp://127.0.0.1:<port> ------------------------------------------------------------------------
class TcpLink:
    """The controller behind a loopback TCP server (a BX-6K's Ethernet port, default 5005 on real boards)."""

    def __init__(self, sim: LedSim, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._accepter: threading.Thread | None = None
        self.replug()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def plugged(self) -> bool:
        return self._server is not None

    def replug(self) -> None:
        if self.plugged:
            return
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self.host, self.port))
        srv.listen(4)
        srv.settimeout(0.05)
        self.port = srv.getsockname()[1]
        self._server = srv
        self._stop = threading.Event()
        self._accepter = threading.Thread(target=self._accept, args=(srv, self._stop), daemon=True, name="led-tcp")
        self._accepter.start()

    def unplug(self) -> None:
        """Stop the server and drop every connection (the cable is out)."""
        if self._server is None:
            return
        self._stop.set()
        if self._accepter is not None:
            self._accepter.join(1.0)  # closing under a thread blocked in accept() would leave the port listening
        with contextlib.suppress(OSError):
            self._server.close()
        self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    close = unplug

    def inject(self, data: bytes) -> None:
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.sendall(data)

    def _accept(self, srv: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.05)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, stop), daemon=True, name="led-tcp-conn").start()

    def _serve(self, conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = conn.recv(4096)
                at = time.monotonic()
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            answer = self.sim.feed(data, at)
            if answer:
                with contextlib.suppress(OSError):
                    conn.sendall(answer)
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        with contextlib.suppress(OSError):
            conn.close()
