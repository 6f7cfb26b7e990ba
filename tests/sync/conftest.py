"""Sync fixtures: a real mosquitto on a free loopback port (stoppable, restartable), halls with [sync], waits."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.config import HallConfig, loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync import rollup
from sync.central import CentralDB, CentralStore
from sync.settings import SyncSettings
from tests import pg
from tests.pg import free_port

MOSQUITTO = "/usr/sbin/mosquitto"

HALL_TOML = """
[hall]
id = "{hall_id}"
name = "测试政务服务中心{hall_id}"
region = "{region}"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999

[[windows]]
number = 1
businesses = ["tax", "social"]
"""


def wait_for(pred: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Broker:
    """mosquitto run from a config the test writes; stop() and start() keep the same port (outage tests)."""

    def __init__(self, workdir: Path, extra: str = "", *, anonymous: bool = True, tls: bool = False) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra = extra
        self.anonymous = anonymous
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "mosquitto.log"

    def write_conf(self) -> Path:
        conf = self.dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            # sessions (the collector's subscription and its queue) survive a broker restart, as in production
            "persistence true",
            f"persistence_location {self.dir}/",
            "user root" if os.geteuid() == 0 else "",
            # the hall's PUBACK must mean "kept": never drop queued QoS 1 messages for a slow collector
            "max_queued_messages 0",
            "max_inflight_messages 0",
            self.extra,
        ]
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> None:
        conf = self.write_conf()
        out = open(self.log, "ab")  # noqa: SIM115 - owned by the child process
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def settings(self, **kw: Any) -> SyncSettings:
        base: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "backoff_min": 0.05, "backoff_max": 0.5,
                                "connect_timeout": 5.0}
        base.update(kw)
        return SyncSettings(**base)


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (/usr/sbin/mosquitto)")
    made: list[Broker] = []

    def make(extra: str = "", *, anonymous: bool = True, start: bool = True, name: str = "broker") -> Broker:
        b = Broker(tmp_path / f"{name}{len(made)}", extra, anonymous=anonymous)
        made.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def broker(broker_factory: Callable[..., Broker]) -> Broker:
    return broker_factory()


def hall_config(hall_id: str = "hall-a", region: str = "510104000", sync: dict[str, Any] | None = None
                ) -> HallConfig:
    cfg = loads(HALL_TOML.format(hall_id=hall_id, region=region), f"{hall_id}.toml")
    if sync:
        cfg.sync.update(sync)
    return cfg


class Clock:
    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.t = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)

    def __call__(self) -> Any:
        return self.t


@pytest.fixture
def make_hall(tmp_path: Path) -> Iterator[Callable[..., Hall]]:
    stores: list[Store] = []

    def make(hall_id: str = "hall-a", region: str = "510104000", path: Path | None = None) -> Hall:
        # synchronous=NORMAL: test speed; the product default (FULL) is the core's business
        s = Store(path or tmp_path / f"{hall_id}.db", synchronous="NORMAL")
        stores.append(s)
        return Hall(hall_config(hall_id, region), s, clock=Clock())

    yield make
    for s in stores:
        s.close()


LEVELS = ["very_satisfied", "satisfied", "satisfied", "basic", "very_satisfied", "dissatisfied"]


def drive(hall: Hall, n_events: int) -> None:
    """Run the hall through real commands (issue, call, serve, finish, rate) until n_events more exist."""
    from datetime import timedelta

    target = hall.store.last_seq() + n_events
    if not hall.window(1)["clerk_id"]:
        hall.sign_in(1, "c01", "测试员1")  # window commands need a clerk (one of the n events)
    i = 0
    while hall.store.last_seq() + 6 <= target:
        hall.clock.t += timedelta(seconds=2)  # type: ignore[attr-defined]
        hall.issue_ticket("tax" if i % 2 else "social")
        hall.clock.t += timedelta(seconds=3)  # type: ignore[attr-defined]
        t = hall.call_next(1).value  # also finishes the previous service (service.finished)
        hall.start_service(1)
        lv = LEVELS[i % len(LEVELS)]
        hall.rate(t["id"], lv, reason="等候时间长" if lv == "dissatisfied" else None)
        i += 1
    state = hall.store.conn().execute("SELECT state FROM devices WHERE name = 'printer1'").fetchone()
    state = state[0] if state else "ok"
    while hall.store.last_seq() < target:
        state = "offline" if state == "ok" else "ok"
        hall.report_device_health("printer1", "printer", state, "测试" if state == "offline" else "")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL server (tests/pg.py), fsync off: a test's durability is SQLite's, not this server's."""
    try:
        with pg.server(tmp_path_factory.mktemp("pg"), options="-c fsync=off") as url:
            yield url
    except pg.NoPostgres as exc:
        pytest.skip(str(exc))


def fresh_central(url: str) -> CentralStore:
    """A collector's store on `url` with no table left from an earlier test (the PostgreSQL server is shared)."""
    db = CentralDB(url)
    with db.tx() as cur:
        for t in ("hall_events", "halls", "rejected", *rollup.TABLES):
            cur.execute(f"DROP TABLE IF EXISTS {t}")
    db.close()
    return CentralStore(CentralDB(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def central_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CentralStore]:
    """The collector's store on SQLite and on PostgreSQL (a fresh schema for each test)."""
    if request.param == "sqlite":
        store = CentralStore(CentralDB(str(tmp_path / "central.db")))
    else:
        store = fresh_central(request.getfixturevalue("postgres_url"))
    yield store
    store.db.close()


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[CentralStore]:
    """The collector's store on PostgreSQL alone (a fresh schema)."""
    store = fresh_central(postgres_url)
    yield store
    store.db.close()
