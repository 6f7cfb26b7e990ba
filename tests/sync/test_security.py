"""Broker security with the packaged ACL: passwords, per-hall topics, TLS with certificates made by openssl."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from sync.central import CentralDB, CentralStore, Collector
from sync.link import ONLINE
from sync.service import HallSync
from tests.sync.conftest import drive, wait_for
from tests.sync.test_central import envelope

ACL = Path(__file__).resolve().parents[2] / "packaging" / "mosquitto" / "acl.example"
USERS = {"central": "c-secret", "hall-a": "a-secret", "hall-b": "b-secret"}
NOT_AUTHORIZED = 0x87  # MQTT 5 PUBACK reason code: mosquitto refuses a publish its ACL denies


def password_file(d: Path) -> Path:
    pw = d / "passwd"
    d.mkdir(parents=True, exist_ok=True)
    for i, (user, password) in enumerate(USERS.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(pw), user, password],
                       check=True, capture_output=True)
    return pw


class Spy:
    """A raw paho client that records what it receives and the broker's answer to what it publishes."""

    def __init__(self, port: int, user: str, subs: list[str], *, password: str | None = None, **tls: Any) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.sub_rc: list[Any] = []
        self.acks: dict[int, int] = {}  # mid -> PUBACK reason code
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"spy-{user}-{time.monotonic_ns()}",
                             protocol=MQTTProtocolVersion.MQTTv5)
        self.c.username_pw_set(user, USERS[user] if password is None else password)
        if tls:
            self.c.tls_set(**tls)
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.sub_rc.extend(rcs)
        self.c.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc.value)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        for s in subs:
            self.c.subscribe(s, qos=1)
        wait_for(lambda: len(self.sub_rc) == len(subs), what="SUBACK")

    def publish(self, topic: str, payload: bytes) -> int | None:
        """Publish and wait: the PUBACK's reason code (below 0x80 accepted, NOT_AUTHORIZED refused by the ACL),
        or None when none came (a broker may drop the connection after refusing a publish)."""
        info = self.c.publish(topic, payload, qos=1)
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(2)
        return self.acks.get(info.mid)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def test_acl_keeps_halls_apart(broker_factory: Any, make_hall: Any, tmp_path: Path) -> None:
    pw = password_file(tmp_path / "auth")
    broker = broker_factory(f"password_file {pw}\nacl_file {ACL}", anonymous=False)
    store = CentralStore(CentralDB(str(tmp_path / "central.db")))
    collector = Collector(broker.settings(username="central", password=USERS["central"]), store,
                          client_id="central-sec")
    collector.start()
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings(username="hall-a", password=USERS["hall-a"]))
    rogue = b_legit = None
    try:
        wait_for(lambda: collector.link.state == ONLINE, what="collector online")
        sync.start()
        drive(hall, 20)
        wait_for(lambda: store.seqs("hall-a") == list(range(1, 21)), what="hall A's own events arrive")

        # hall A's credentials, publishing as hall B and listening to hall B's commands
        rogue = Spy(broker.port, "hall-a", ["central/hall-b/#", "hall/hall-b/#"])
        b_legit = Spy(broker.port, "hall-b", ["central/hall-b/#"])
        topic, payload = envelope("hall-b", 1)
        for t, p in ((topic, payload), ("hall/hall-b/state", b'{"v":1,"hall_id":"hall-b","state":"offline"}'),
                     ("central/hall-b/catalog", b'{"forged":true}')):
            forger = Spy(broker.port, "hall-a", [])
            assert forger.publish(t, p) == NOT_AUTHORIZED, t
            forger.close()
        collector.publish_case_update("hall-b", "CASE-B-1", "accepted", case_type=1)
        wait_for(lambda: any(t == "central/hall-b/case/CASE-B-1" for t, _ in b_legit.got), what="hall B's command")
        drive(hall, 5)  # a marker from hall A after the forged messages
        wait_for(lambda: len(store.seqs("hall-a")) == 25, what="marker")
        time.sleep(0.2)
        assert "hall-b" not in {h["hall_id"] for h in store.halls()}  # nothing forged was stored
        assert rogue.got == []  # hall A read nothing of hall B's
        assert [t for t, _ in b_legit.got] == ["central/hall-b/case/CASE-B-1"]  # the forged catalogue never came

        # a wrong password never gets online, and says why
        bad = HallSync(make_hall("hall-b"), broker.settings(username="hall-b", password="wrong"))
        bad.start()
        wait_for(lambda: "refused the connection" in bad.status()["last_error"], what="refusal reported")
        assert bad.status()["state"] != ONLINE
        bad.stop()
    finally:
        for spy in (rogue, b_legit):
            if spy is not None:
                spy.close()
        sync.stop()
        collector.stop()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


def make_certs(d: Path) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Test Province CA",
             cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("hall-a", "hall-a")):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        extra = ["-extfile", "san.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", *extra, cwd=d)
    return {n: d / n for n in ("ca.crt", "server.crt", "server.key", "hall-a.crt", "hall-a.key")}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_mutual_tls_with_certificate_identity(broker_factory: Any, make_hall: Any, tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "pki")
    # TLS listener: client certificate required, its CN is the username the ACL sees
    port_conf = (f"cafile {certs['ca.crt']}\ncertfile {certs['server.crt']}\nkeyfile {certs['server.key']}\n"
                 "require_certificate true\nuse_identity_as_username true\n"
                 f"acl_file {ACL}\n")
    broker = broker_factory(port_conf, anonymous=False)
    tls_settings = {"tls": True, "ca_file": str(certs["ca.crt"]), "cert_file": str(certs["hall-a.crt"]),
                    "key_file": str(certs["hall-a.key"])}
    hall = make_hall("hall-a")
    sync = HallSync(hall, broker.settings(**tls_settings))
    sync.start()
    try:
        wait_for(lambda: sync.link.state == ONLINE, what="hall online over mutual TLS")
        drive(hall, 10)
        wait_for(lambda: sync.status()["backlog"] == 0, what="events acknowledged over TLS")
        # without a client certificate the broker refuses the handshake
        nocert = HallSync(make_hall("hall-x"), broker.settings(tls=True, ca_file=str(certs["ca.crt"])))
        nocert.start()
        wait_for(lambda: nocert.status()["last_error"], what="TLS refusal reported")
        time.sleep(0.3)
        assert nocert.status()["state"] != ONLINE
        nocert.stop()
        # a client that does not trust the province CA refuses the broker (no MITM)
        other = make_certs(tmp_path / "other-pki")
        mitm = HallSync(make_hall("hall-y"), broker.settings(tls=True, ca_file=str(other["ca.crt"]),
                                                             cert_file=str(certs["hall-a.crt"]),
                                                             key_file=str(certs["hall-a.key"])))
        mitm.start()
        wait_for(lambda: "certificate verify failed" in mitm.status()["last_error"], what="untrusted broker")
        mitm.stop()
    finally:
        sync.stop()
