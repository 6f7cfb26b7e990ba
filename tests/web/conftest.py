"""The phone pages on the demo hall: a real uvicorn server on a free loopback port, in its thread, on a Hall whose
clock the test sets (09:00 on a Tuesday)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.core.hall import Hall
from kiosk.schema import load
from kiosk.store import Store
from kiosk.web.server import WebServer
from kiosk.web.settings import WebSettings
from tests.conftest import DEMO_CONFIG, FakeClock


@pytest.fixture
def web_hall(tmp_path: Path, clock: FakeClock) -> Iterator[Hall]:
    s = Store(tmp_path / "web.db")
    hall = Hall(load(DEMO_CONFIG), s, clock=clock)
    for w in hall.config.windows:  # every call lands on a clerk's record
        hall.sign_in(w.number, f"10{w.number:02d}", f"窗口{w.number}")
    yield hall
    s.close()


@pytest.fixture
def web(web_hall: Hall) -> Iterator[WebServer]:
    settings = WebSettings(public_base_url="http://127.0.0.1", bind="127.0.0.1", port=0, take_per_phone=3,
                           take_per_address=50)
    server = WebServer(web_hall, settings)
    server.start()
    assert server.bound.wait(10), server.error
    yield server
    server.stop()


@pytest.fixture
def base(web: WebServer) -> str:
    return f"http://127.0.0.1:{web.port}"


@pytest.fixture
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as c:
        yield c
