"""The phone pages' server for `hall run server`: uvicorn in a thread of its own, on the one Hall, started from [web].

Why Starlette and uvicorn: both are maintained by the Encode team with regular releases, small (no ORM, no template
engine, nothing we do not use), and pure Python over asyncio, so one thread holds thousands of idle Server-Sent Events
streams; uvicorn's h11 protocol needs no compiled extension.  sse-starlette is not used: an SSE stream is a
StreamingResponse of `event:`/`data:` lines, a dozen lines in kiosk/web/app.py."""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import uvicorn

from kiosk.web.app import create_app
from kiosk.web.hub import Hub
from kiosk.web.settings import WebSettings, parse_web_settings

log = logging.getLogger(__name__)

BIND_RETRY_S = 5.0  # a port still held (the old server stopping) is tried again this often; the hall runs on


class WebServer:
    """Serves the phone pages for `hall`.  start() returns at once; stop() ends every stream and the thread."""

    def __init__(self, hall: Any, settings: WebSettings) -> None:
        self.hall = hall
        self.settings = settings
        self.hub = Hub(hall, settings)
        self.app = create_app(hall, settings, self.hub)
        self.config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", loop="asyncio", http="h11", ws="none",
            ssl_certfile=settings.cert_file or None, ssl_keyfile=settings.key_file or None,
            timeout_graceful_shutdown=3, timeout_keep_alive=20, backlog=1024)
        self.server = uvicorn.Server(self.config)
        self.port = 0  # the port bound (settings.port, or the one picked for port 0)
        self.bound = threading.Event()
        self.error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_section(cls, hall: Any, section: dict[str, Any]) -> WebServer | None:
        """None when there is no [web] or it says enabled = false."""
        if not section:
            return None
        settings = parse_web_settings(section)
        return cls(hall, settings) if settings.enabled else None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="web", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.hub.detach)  # open pages end now, not after the grace period
            except RuntimeError:
                pass
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def status(self) -> dict[str, Any]:
        return {"bound": self.bound.is_set(), "port": self.port, "streams": self.hub.count, "web_error": self.error}

    def _bind(self) -> socket.socket:
        family, kind, proto, _name, address = socket.getaddrinfo(
            self.settings.bind, self.settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(self.config.backlog)
        except OSError:
            sock.close()
            raise
        return sock

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = self._bind()
            except OSError as exc:
                text = f"phone pages cannot listen on {self.settings.bind}:{self.settings.port}: {exc.strerror or exc}"
                if text != self.error:
                    log.error("%s; retrying every %.0f s", text, BIND_RETRY_S)
                self.error = text
                self._stop.wait(BIND_RETRY_S)
                continue
            self.port = sock.getsockname()[1]
            self.error = ""
            log.info("phone pages on %s (%s:%d)", self.settings.base_url, self.settings.bind, self.port)
            asyncio.run(self._serve(sock))
            return

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self.bound.set()
        try:
            await self.server.serve(sockets=[sock])
        finally:
            self._loop = None
            self.bound.clear()
