"""The shipped hall broker run for real: packaging/mosquitto's hall-broker.conf (in conf.d/ under Debian's main file),
acl.example and passwd.example, with only ports and site paths rewritten.  Every LAN role and the central collector
start and do their job with their packaged logins over the TLS listener; what the ACL forbids is refused."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kiosk.core.config import loads
from kiosk.core.events import Event
from kiosk.core.hall import Hall
from kiosk.core.rating import Channel, Level
from kiosk.store import Store
from sync.central import CentralDB, CentralStore, Collector
from sync.lan import LanRefused, LanUnavailable, RemoteHall
from sync.link import ONLINE
from sync.service import HallSync
from sync.settings import SyncSettings
from tests.conftest import staff
from tests.packaging.contract import PACKAGING
from tests.sync.conftest import MOSQUITTO, Broker, Clock, free_port, wait_for
from tests.sync.test_central import envelope
from tests.sync.test_lan import HALL_ID, TOML, Lan
from tests.sync.test_security import NOT_AUTHORIZED, Spy, make_certs

MOSQ = PACKAGING / "mosquitto"
ROLES = {"kiosk1": "kiosk", "caller1": "caller", "board1": "board", "evaluator1": "evaluator",
         "dashboard1": "dashboard"}  # the screen users of acl.example, as the server's [lan.clients]
# passwd.example's passwords (packaging/mosquitto/README.md), and one more hall added the documented way
PASSWORDS = {HALL_ID: "change-me", "central": "change-me-too", "hall-b": "b-secret",
             **{f"{HALL_ID}.{c}": f"change-me-{c}" for c in ROLES}}

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists() or shutil.which("openssl") is None
                                or shutil.which("mosquitto_passwd") is None,
                                reason="needs mosquitto, mosquitto_passwd and the openssl CLI")


# Debian 12's /etc/mosquitto/mosquitto.conf (mosquitto 2.0.11), which reads the packaged file from conf.d/: its
# directives with the test's directories.  It sets persistence_location, so the packaged file must not.
DEBIAN_MAIN = """pid_file {dir}/mosquitto.pid
persistence true
persistence_location {dir}/
log_dest stdout
include_dir {dir}/conf.d
"""


def render_conf(text: str, *, tls_port: int, plain_port: int, certs: Path, passwd: Path) -> str:
    """The shipped conf with each site-specific line replaced exactly once (so a change of its shape fails here):
    the listeners on free loopback ports, the site's files in the test's directories."""
    for pattern, new in ((r"^listener 8883$", f"listener {tls_port} 127.0.0.1"),
                         (r"^listener 1883 127\.0\.0\.1$", f"listener {plain_port} 127.0.0.1"),
                         (r"^password_file /etc/mosquitto/passwd$", f"password_file {passwd}"),
                         (r"^acl_file /etc/mosquitto/acl$", f"acl_file {MOSQ / 'acl.example'}")):
        text, n = re.subn(pattern, new, text, flags=re.M)
        assert n == 1, f"hall-broker.conf: expected one line matching {pattern}"
    return text.replace("/etc/mosquitto/certs/", f"{certs}/")


class PackagedBroker(Broker):
    """mosquitto on the shipped configuration: `port` is its TLS listener, `plain_port` its loopback-only one."""

    def __init__(self, workdir: Path, certs: dict[str, Path]) -> None:
        super().__init__(workdir, anonymous=False)
        self.plain_port = free_port()
        self.certs = certs
        # passwd.example as shipped, plus a second hall added with mosquitto_passwd (which must be able to edit it)
        self.passwd = workdir / "passwd"
        shutil.copy(MOSQ / "passwd.example", self.passwd)
        subprocess.run(["mosquitto_passwd", "-b", str(self.passwd), "hall-b", PASSWORDS["hall-b"]], check=True,
                       capture_output=True)

    def write_conf(self) -> Path:
        """Debian's main file including the packaged one as /etc/mosquitto/conf.d/hall-edge.conf."""
        (self.dir / "conf.d").mkdir(exist_ok=True)
        (self.dir / "conf.d" / "hall-edge.conf").write_text(render_conf(
            (MOSQ / "hall-broker.conf").read_text(), tls_port=self.port, plain_port=self.plain_port,
            certs=self.certs["ca.crt"].parent, passwd=self.passwd))
        conf = self.dir / "mosquitto.conf"
        # as root mosquitto would drop to the 'mosquitto' user, who cannot read the test's files
        conf.write_text(DEBIAN_MAIN.format(dir=self.dir) + ("user root\n" if os.geteuid() == 0 else ""))
        return conf

    def settings(self, **kw: Any) -> SyncSettings:
        """user=NAME logs in with its packaged password; TLS with the test CA, or loopback=True for plain 1883."""
        user = kw.pop("user", None)
        if user is not None:
            kw.update(username=user, password=PASSWORDS[user])
        if kw.pop("loopback", False):
            kw["port"] = self.plain_port
        else:
            kw = {"tls": True, "ca_file": str(self.certs["ca.crt"]), **kw}
        return super().settings(**kw)

    def spy(self, user: str, subs: list[str]) -> Spy:
        return Spy(self.port, user, subs, password=PASSWORDS[user], ca_certs=str(self.certs["ca.crt"]))

    def publish_as(self, user: str, topic: str, payload: bytes) -> int | None:
        """The PUBACK reason code for one publish on a fresh connection: with max_queued_messages 0, mosquitto 2.0
        drops a client right after refusing its publish, so every attempt gets its own connection."""
        spy = self.spy(user, [])
        try:
            return spy.publish(topic, payload)
        finally:
            spy.close()


def accepted(code: int | None) -> bool:
    return code is not None and code < 0x80  # 0, or 0x10 "no matching subscribers"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certs(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def broker(tmp_path: Path, certs: dict[str, Path]) -> Iterator[PackagedBroker]:
    b = PackagedBroker(tmp_path / "broker", certs)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    yield Hall(loads(TOML, "lan.toml"), store, clock=Clock())
    store.close()


@pytest.fixture
def lan(broker: PackagedBroker, hall: Hall) -> Iterator[Lan]:
    t = Lan(broker, staff(hall))  # the callers' windows have a clerk
    yield t
    t.close()


def screen(lan: Lan, client_id: str) -> RemoteHall:
    """A screen PC as packaged: its client id, its own login."""
    login = f"{HALL_ID}.{client_id}"
    return lan.remote(client_id, username=login, password=PASSWORDS[login])


def _blocks(acl: str) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in acl.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user":
            current = users.setdefault(words[1], [])
        elif words[0] == "topic":
            assert current is not None, f"acl.example: a topic line for anonymous clients: {line}"
            current.append(" ".join(words[1:]))
    return users


def test_every_user_that_is_not_a_hall_is_kept_out_of_the_hall_patterns() -> None:
    """Patterns apply to every user: each user block must deny itself the two roots the patterns grant on %u."""
    text = (MOSQ / "acl.example").read_text()
    patterns = re.findall(r"^pattern \w+ (\S+)", text, re.M)
    assert patterns and all(p.startswith(("hall/%u/", "central/%u/")) for p in patterns)
    users = _blocks(text)
    assert {"central", *(f"{HALL_ID}.{c}" for c in ROLES)} <= set(users)
    for user, lines in users.items():
        assert f"deny hall/{user}/#" in lines and f"deny central/{user}/#" in lines, user


def test_shipped_listeners_are_tls_except_on_loopback() -> None:
    """Every active listener has the TLS files, or is bound to 127.0.0.1: a kiosk's request carries the citizen's
    ID number, so nothing reaches the LAN in clear."""
    sections: list[list[str]] = []
    for line in (MOSQ / "hall-broker.conf").read_text().splitlines():
        if line.startswith("listener "):
            sections.append([line])
        elif sections and line and not line.startswith("#"):
            sections[-1].append(line.split()[0])
    plain = [s[0] for s in sections if not {"cafile", "certfile", "keyfile"} <= set(s)]
    assert plain == ["listener 1883 127.0.0.1"]
    assert len(sections) == 2


def test_lan_listener_is_tls_and_the_server_uses_loopback(lan: Lan, broker: PackagedBroker) -> None:
    lan.server(clients=ROLES, user=HALL_ID, loopback=True)  # `hall run server` on the broker's own PC
    kiosk = screen(lan, "kiosk1")
    assert kiosk.config.hall_id == HALL_ID and kiosk.link.status()["broker"] == f"127.0.0.1:{broker.port}"
    assert kiosk.issue_ticket("tax", terminal="kiosk1").value.ticket["number"] == "C001"
    # a screen without TLS gets nowhere on the LAN listener
    plain = broker.settings(user=f"{HALL_ID}.board1", tls=False, ca_file="")
    with pytest.raises(LanUnavailable):
        RemoteHall.from_settings(plain, HALL_ID, "board1", connect_timeout=1.5)


def test_every_lan_role_starts_and_does_its_job_over_tls(lan: Lan) -> None:
    server = lan.server(clients=ROLES, user=HALL_ID)
    kiosk, caller, board, evaluator, dashboard = (screen(lan, c) for c in ROLES)  # each says hello and gets a reply
    assert {r.config.hall_id for r in (kiosk, caller, board, evaluator, dashboard)} == {HALL_ID}
    seen: list[Event] = []
    board.subscribe(seen.append)

    issued = kiosk.issue_ticket("tax", terminal="kiosk1").value.ticket
    called = caller.call_next(1).value
    assert called["id"] == issued["id"]
    wait_for(lambda: [e.kind for e in seen] == ["ticket.issued", "ticket.called"], what="the board's events")
    assert board.alive() and board.waiting() == []
    caller.start_service(1)
    rating = evaluator.rate(called["id"], Level.SATISFIED, channel=Channel.EVALUATOR).value
    assert rating["level"] == "satisfied"
    assert dashboard.rating_summary()["rated"] == 1
    assert isinstance(dashboard.cases.figures("hall", date(2026, 11, 24)), list)
    assert dashboard.counts() is not None
    # what a screen may call is the server's [lan.clients] role: a board only reads
    with pytest.raises(LanRefused):
        board.issue_ticket("tax")
    with pytest.raises(LanRefused):
        evaluator.call_next(1)
    assert server.status()["refused"] == 2


def test_screens_and_other_halls_cannot_overstep(lan: Lan, broker: PackagedBroker) -> None:
    lan.server(clients=ROLES, user=HALL_ID)
    kiosk, caller = screen(lan, "kiosk1"), screen(lan, "caller1")
    h = f"hall/{HALL_ID}"
    # the kiosk's login listening to another screen's replies and requests (ID numbers travel in requests)
    nosy = broker.spy(f"{HALL_ID}.kiosk1", [f"{h}/reply/caller1", f"{h}/cmd/#", f"{h}/lan/event"])
    other = broker.spy("hall-b", [f"{h}/cmd/#", f"{h}/reply/#", f"{h}/lan/#", "central/hall-b/#"])
    try:
        kiosk.issue_ticket("tax", terminal="kiosk1")
        caller.call_next(1)
        wait_for(lambda: any(t == f"{h}/lan/event" for t, _ in nosy.got), what="the kiosk login reads events")
        caller.windows()
        time.sleep(0.3)
        assert {t for t, _ in nosy.got} == {f"{h}/lan/event"}
        assert other.got == []

        forged = (b'{"v":1,"seq":99,"id":"x","kind":"ticket.called","at_utc":"2026-11-24T01:00:00+00:00",'
                  b'"local_date":"2026-11-24","payload":{}}')
        k1, b1 = f"{HALL_ID}.kiosk1", f"{HALL_ID}.board1"
        assert accepted(broker.publish_as(k1, f"{h}/cmd/kiosk1/windows", b"{}"))  # its own requests (the control)
        assert accepted(broker.publish_as("hall-b", "hall/hall-b/state", b"{}"))
        for user, topic in ((b1, f"{h}/cmd/kiosk1/issue_ticket"),  # act as another screen
                            (k1, f"{h}/lan/event"),  # forge events to every screen
                            (k1, f"{h}/reply/caller1"),
                            (k1, f"{h}/event/ticket.issued"),  # speak to central as the hall
                            (k1, f"hall/{k1}/event/ticket.issued"),  # what the patterns would give its login
                            ("hall-b", f"{h}/lan/event"),  # another hall, on this hall's LAN and sync topics
                            ("hall-b", f"{h}/reply/kiosk1"),
                            ("hall-b", f"{h}/lan/server"),
                            ("hall-b", f"{h}/event/ticket.issued"),
                            ("hall-b", f"{h}/state")):
            assert broker.publish_as(user, topic, forged) == NOT_AUTHORIZED, (user, topic)
    finally:
        for spy in (nosy, other):
            spy.close()


def test_central_collects_and_cannot_pose_as_a_hall(broker: PackagedBroker, hall: Hall, tmp_path: Path) -> None:
    store = CentralStore(CentralDB(str(tmp_path / "central.db")))
    collector = Collector(broker.settings(user="central"), store, client_id="central-packaged")
    sync = HallSync(hall, broker.settings(user=HALL_ID))
    hall_b = broker.spy("hall-b", ["central/hall-b/#"])
    collector.start()
    sync.start()
    try:
        wait_for(lambda: collector.link.state == ONLINE and sync.link.state == ONLINE, what="both online over TLS")
        for _ in range(3):
            hall.issue_ticket("tax")
        wait_for(lambda: store.seqs(HALL_ID) == [1, 2, 3], what="the hall's events at central")
        collector.publish_case_update("hall-b", "CASE-B-1", "accepted", case_type=1)
        wait_for(lambda: [t for t, _ in hall_b.got] == ["central/hall-b/case/CASE-B-1"], what="a case to hall B")

        topic, payload = envelope("central", 1)
        for t in (topic, "hall/central/state", "central/central/catalog"):
            assert broker.publish_as("central", t, payload) == NOT_AUTHORIZED, t
        assert accepted(broker.publish_as("central", "central/hall-b/resend", b"{}"))  # its own topics (the control)
        hall.issue_ticket("tax")
        wait_for(lambda: store.seqs(HALL_ID) == [1, 2, 3, 4], what="a marker after the forgeries")
        assert {h["hall_id"] for h in store.halls()} == {HALL_ID}
    finally:
        hall_b.close()
        sync.stop()
        collector.stop()
