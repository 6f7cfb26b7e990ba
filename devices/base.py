"""What every device kind shares: health states, byte transports chosen by URL, and the worker thread."""
from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

log = logging.getLogger(__name__)


class HealthState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # works, but needs attention soon (paper near end, a retry succeeded late)
    OFFLINE = "offline"  # cannot do its job now


@dataclass(frozen=True, slots=True)
class Health:
    device: str
    kind: str
    state: HealthState
    reason: str = ""

    def status(self) -> dict[str, str]:
        """A plain dict that the dashboard shows and sync can publish."""
        return {"device": self.device, "kind": self.kind, "state": str(self.state), "reason": self.reason}


class Transport(Protocol):
    """The tiny byte pipe a driver talks through; a simulator sits behind the same three calls."""

    def write(self, data: bytes) -> int: ...
    def read(self, size: int = 1) -> bytes: ...
    def close(self) -> None: ...


class TransportError(OSError):
    """The device is unreachable (unplugged, refused, timed out). Drivers treat it as transient."""


def seconds(text: str) -> float:
    """A simulator's URL option in seconds (at least 0)."""
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise ValueError("must be a number of seconds, at least 0")
    return value


def sim_options(name: str, opts: Mapping[str, str] | None, options: Mapping[str, Callable[[str], object]]
                ) -> dict[str, Any]:
    """``sim://<name>?…`` parsed by its kind's URL_OPTIONS.  A typo or a bad value raises TransportError naming
    it: this runs on the driver's thread, where the device then shows offline with that reason instead of the
    thread dying (the config check at start-up refuses it before that)."""
    values: dict[str, Any] = {}
    for key, text in (opts or {}).items():
        parse = options.get(key)
        if parse is None:
            raise TransportError(f"sim://{name}: no option {key!r} (options: {', '.join(options)})")
        try:
            values[key] = parse(text)
        except ValueError as exc:
            raise TransportError(f"sim://{name}: bad option {key}={text!r} ({exc})") from None
    return values


class SerialTransport:
    def __init__(self, path: str, baud: int = 9600, timeout: float = 0.2) -> None:
        import serial  # pyserial: only devices/ imports it

        try:
            self._port = serial.Serial(path, baudrate=baud, timeout=timeout, write_timeout=2.0)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open {path}: {exc}") from exc
        self.path = path

    def write(self, data: bytes) -> int:
        import serial

        try:
            n = self._port.write(data)
            self._port.flush()
            return int(n or 0)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"write to {self.path} failed: {exc}") from exc

    def read(self, size: int = 1) -> bytes:
        import serial

        try:
            return bytes(self._port.read(size))
        except (serial.SerialException, OSError, TypeError) as exc:
            # pyserial raises TypeError inside read() when the fd vanished under it (pty closed)
            raise TransportError(f"read from {self.path} failed: {exc}") from exc

    def close(self) -> None:
        # closing a vanished port must not raise into the reconnect loop
        with contextlib.suppress(Exception):
            self._port.close()


class TcpTransport:
    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
        self._sock.settimeout(0.2)
        self.addr = f"{host}:{port}"

    def write(self, data: bytes) -> int:
        try:
            self._sock.sendall(data)
            return len(data)
        except OSError as exc:
            raise TransportError(f"send to {self.addr} failed: {exc}") from exc

    def read(self, size: int = 1) -> bytes:
        try:
            data = self._sock.recv(size)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise TransportError(f"recv from {self.addr} failed: {exc}") from exc
        if not data:
            raise TransportError(f"{self.addr} closed the connection")
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class FileTransport:
    """Appends bytes to a file (a spool, or /dev/usb/lp0); reads answer nothing."""

    def __init__(self, path: str) -> None:
        try:
            self._f = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the transport
        except OSError as exc:
            raise TransportError(f"cannot open {path}: {exc}") from exc

    def write(self, data: bytes) -> int:
        try:
            return self._f.write(data) or 0
        except OSError as exc:
            raise TransportError(str(exc)) from exc

    def read(self, size: int = 1) -> bytes:
        return b""

    def close(self) -> None:
        self._f.close()


@dataclass(frozen=True, slots=True)
class DeviceUrl:
    scheme: str  # serial | tcp | file | sim
    path: str  # serial device path, file path, or sim name
    host: str = ""
    port: int = 0
    options: dict[str, str] | None = None

    @property
    def opts(self) -> dict[str, str]:
        return self.options or {}


def parse_url(url: str) -> DeviceUrl:
    """serial:///dev/serial/by-id/…?baud=9600, tcp://10.0.0.5:5005, file:///tmp/ticket.bin, sim://name?faults=…"""
    u = urlparse(url)
    opts = {k: v[-1] for k, v in parse_qs(u.query).items()}
    if u.scheme == "serial":
        if not u.path:
            raise ValueError(f"serial URL needs a device path: {url!r}")
        return DeviceUrl("serial", u.path, options=opts)
    if u.scheme == "tcp":
        if not u.hostname or not u.port:
            raise ValueError(f"tcp URL needs host and port: {url!r}")
        return DeviceUrl("tcp", "", u.hostname, u.port, opts)
    if u.scheme == "file":
        return DeviceUrl("file", u.path, options=opts)
    if u.scheme == "sim":
        return DeviceUrl("sim", (u.netloc + u.path).strip("/"), options=opts)
    raise ValueError(f"unknown device URL scheme {u.scheme!r} in {url!r} (serial, tcp, file, sim)")


def open_transport(url: DeviceUrl, default_baud: int = 9600) -> Transport:
    """Open a real transport.  `sim://` URLs are opened by each kind's sim module, never here."""
    if url.scheme == "serial":
        return SerialTransport(url.path, int(url.opts.get("baud", default_baud)))
    if url.scheme == "tcp":
        return TcpTransport(url.host, url.port)
    if url.scheme == "file":
        return FileTransport(url.path)
    raise ValueError(f"open_transport cannot open {url.scheme}:// URLs")


HealthListener = Callable[[Health], None]


class DeviceWorker(ABC):
    """One I/O thread per device with a bounded job queue, capped-backoff reopen and a health state.

    Subclasses implement `_open()` (return a transport, raise TransportError) and `_handle(job)`; they call
    `_set_health` for attention states.  `submit()` never blocks the caller: when the queue is full the
    oldest job is dropped and counted, so a dead device can never delay a call or a ticket.
    """

    kind = "device"

    def __init__(self, name: str, *, queue_size: int = 64, max_backoff: float = 2.0) -> None:
        self.name = name
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._listeners: list[HealthListener] = []
        self._health = Health(name, self.kind, HealthState.OFFLINE, "not started")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport: Transport | None = None
        self._max_backoff = max_backoff
        self.dropped = 0
        self.log = logging.getLogger(f"devices.{self.kind}.{name}")

    # --- public -------------------------------------------------------------------------------------
    @property
    def health(self) -> Health:
        return self._health

    def status(self) -> dict[str, str]:
        return self._health.status()

    def on_health(self, fn: HealthListener) -> None:
        self._listeners.append(fn)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}:{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        if self._thread:
            self._thread.join(timeout)
        self._close()

    def submit(self, job: Any) -> None:
        while True:
            try:
                self._jobs.put_nowait(job)
                return
            except queue.Full:
                try:
                    self._jobs.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    # --- for subclasses -----------------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> Transport:
        """Open the transport; raise TransportError when the device is not there."""

    @abstractmethod
    def _handle(self, job: Any, transport: Transport) -> None:
        """Do one job (print a ticket, send a frame); raise TransportError when the link dies."""

    def _idle(self, transport: Transport) -> None:
        """Called when no job arrived for a while (poll status, read keypresses)."""
        return None

    idle_interval = 0.2

    def _while_offline(self) -> None:
        """Called after every failed open, before the backoff wait.  A kind that owes an answer for each job (a
        printer owes one per ticket) gives it here instead of holding jobs silently while unplugged."""
        return None

    def _drain_jobs(self) -> list[Any]:
        """Every job queued so far, taken without waiting (stop markers left out)."""
        jobs: list[Any] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return jobs
            if job is not None:
                jobs.append(job)

    def _set_health(self, state: HealthState, reason: str = "") -> None:
        if state == self._health.state and reason == self._health.reason:
            return
        self._health = Health(self.name, self.kind, state, reason)
        self.log.info("%s: %s %s", self.name, state, reason)
        for fn in list(self._listeners):
            try:
                fn(self._health)
            except Exception:
                self.log.exception("%s: health listener failed", self.name)

    # --- the loop -----------------------------------------------------------------------------------
    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _ensure_open(self) -> Transport | None:
        if self._transport is not None:
            return self._transport
        try:
            self._transport = self._open()
        except (TransportError, OSError) as exc:
            self._set_health(HealthState.OFFLINE, str(exc))
            return None
        self._set_health(HealthState.OK)
        return self._transport

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            transport = self._ensure_open()
            if transport is None:
                self._while_offline()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            try:
                job = self._jobs.get(timeout=self.idle_interval)
            except queue.Empty:
                job = None
            if self._stop.is_set():
                break
            try:
                if job is None:
                    self._idle(transport)
                else:
                    self._handle(job, transport)
            except (TransportError, OSError) as exc:
                self._set_health(HealthState.OFFLINE, str(exc))
                self._close()
                if job is not None:
                    self._requeue(job)
            except Exception:
                self.log.exception("%s: job failed", self.name)

    def _requeue(self, job: Any) -> None:
        """A job lost to an unplug is retried after reopen; subclasses may coalesce instead."""
        self.submit(job)
