"""LAN clients through a real mosquitto: RemoteHall ⇄ LanServer commands, refusals, events, retries, security."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk.core import errors as E
from kiosk.core.cases import CaseCheckFailed
from kiosk.core.config import loads
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from kiosk.core.hall import Hall, Issued, Result
from kiosk.core.rating import Channel, Level
from kiosk.store import Store
from sync import contract
from sync.lan import ALLOWED, LanBadRequest, LanRefused, LanServer, LanUnavailable, RemoteHall, error_class
from tests.conftest import staff
from tests.sync.conftest import Broker, Clock, wait_for

HALL_ID = "510104-demo"  # the hall of packaging/mosquitto/acl.example's LAN users
TOML = f"""
[hall]
id = "{HALL_ID}"
name = "测试政务服务中心"
region = "510104000"
secret = "do-not-leak"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999

[[windows]]
number = 1
businesses = ["tax"]

[[windows]]
number = 2
businesses = ["tax"]

[sync]
host = "central.example"
password = "central-secret"
username = "{HALL_ID}"
"""
FAST = {"rpc_timeout": 0.6, "attempts": 3, "stale_after": 1.0}


@pytest.fixture
def broker(broker_factory: Callable[..., Broker]) -> Broker:
    return broker_factory("set_tcp_nodelay true")  # as packaging/mosquitto/hall-broker.conf: no Nagle delay


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    store = Store(tmp_path / "hall.db", synchronous="NORMAL")
    yield staff(Hall(loads(TOML, "lan.toml"), store, clock=Clock()))  # the callers' windows have a clerk
    store.close()


class Lan:
    """A LanServer on the hall and RemoteHalls made on demand; everything is stopped at teardown."""

    def __init__(self, broker: Broker, hall: Hall) -> None:
        self.broker, self.hall = broker, hall
        self.servers: list[LanServer] = []
        self.remotes: list[RemoteHall] = []

    def server(self, cls: type[LanServer] = LanServer, clients: dict[str, str] | None = None, **kw: Any
               ) -> LanServer:
        s = cls(self.hall, self.broker.settings(client_id=f"srv{len(self.servers)}", **kw), heartbeat_s=0.2,
                clients=clients)
        s.start()
        self.servers.append(s)
        return s

    def remote(self, client_id: str, **kw: Any) -> RemoteHall:
        settings_kw = {k: kw.pop(k) for k in ("username", "password") if k in kw}
        r = RemoteHall.from_settings(self.broker.settings(**settings_kw), HALL_ID, client_id, **{**FAST, **kw})
        self.remotes.append(r)
        return r

    def close(self) -> None:
        for r in self.remotes:
            r.close()
        for s in self.servers:
            s.stop()


@pytest.fixture
def lan(broker: Broker, hall: Hall) -> Iterator[Lan]:
    t = Lan(broker, hall)
    yield t
    t.close()


def tickets(hall: Hall) -> list[str]:
    return [r[0] for r in hall.store.conn().execute("SELECT number FROM tickets ORDER BY queue_pos")]


def test_two_callers_and_a_kiosk_share_one_hall(lan: Lan) -> None:
    lan.server()
    kiosk, c1, c2 = lan.remote("kiosk1"), lan.remote("caller1"), lan.remote("caller2")
    assert kiosk.config.name == "测试政务服务中心"
    assert [w.number for w in kiosk.config.windows] == [1, 2]
    assert kiosk.config.hall.secret == "" and kiosk.config.sync == {}  # no secret leaves the server

    first = kiosk.issue_ticket("tax")
    second = kiosk.issue_ticket("tax")
    assert isinstance(first, Result) and isinstance(first.value, Issued)
    assert (first.value.ticket["number"], first.value.ahead) == ("C001", 0)
    assert (second.value.ticket["number"], second.value.ahead) == ("C002", 1)
    assert [e.kind for e in first.events] == ["ticket.issued"] and isinstance(first.events[0], Event)

    # both callers press 呼叫 at the same moment: each gets a different ticket
    got: dict[int, Any] = {}
    go = threading.Barrier(2)

    def press(client: RemoteHall, window: int) -> None:
        go.wait()
        got[window] = client.call_next(window)

    threads = [threading.Thread(target=press, args=(c, w)) for c, w in ((c1, 1), (c2, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert {got[1].value["number"], got[2].value["number"]} == {"C001", "C002"}
    assert c1.ticket(first.value.ticket["id"])["status"] == "called"
    assert c2.find_ticket("C002")["window"] in (1, 2)
    assert c2.waiting() == [] and kiosk.ahead_of(second.value.ticket["id"]) == 0

    # a refusal arrives as the same HallError subclass, with its Chinese message and params
    with pytest.raises(E.QueueEmpty) as exc:
        c1.call_next(1)
    assert exc.value.message == "当前没有等候的号码" and exc.value.key == "queue_empty"
    with pytest.raises(E.UnknownWindow) as exc2:
        c1.call_next(9)
    assert exc2.value.params == {"window": 9} and "9" in exc2.value.message
    with pytest.raises(E.UnknownBusiness):
        kiosk.issue_ticket("nope")
    assert tickets(lan.hall) == ["C001", "C002"]

    # the evaluator's rating: an enum argument travels as its value; 一次一评 holds across clients
    tid = got[1].value["id"]
    c1.start_service(1)
    rating = c1.rate(tid, Level.SATISFIED, channel=Channel.EVALUATOR).value
    assert rating["level"] == "satisfied" and rating["ticket_id"] == tid
    with pytest.raises(E.RatingExists):
        c2.rate(tid, Level.VERY_SATISFIED)


def test_subscriber_gets_events_in_seq_order_and_repairs_a_gap(lan: Lan) -> None:
    server = lan.server()
    board, kiosk = lan.remote("board1"), lan.remote("kiosk1")
    seen: list[Event] = []
    board.subscribe(seen.append)
    called: list[str] = []
    board.subscribe(lambda e: called.append(e.payload["ticket"]["number"]), {"ticket.called"})
    for _ in range(5):
        kiosk.issue_ticket("tax")
    kiosk.call_next(1)
    last = lan.hall.store.last_seq()
    wait_for(lambda: seen and seen[-1].seq == last, what="events on the board")
    assert [e.seq for e in seen] == list(range(seen[0].seq, last + 1))
    assert [e.kind for e in seen] == ["ticket.issued"] * 5 + ["ticket.called"]
    assert called == ["C001"]

    # the board is away while the hall moves on: the heartbeat shows the gap, events_after fills it, in order
    board.link.stop()
    for _ in range(3):
        lan.hall.issue_ticket("tax")
    board.link.start()
    last = lan.hall.store.last_seq()
    wait_for(lambda: seen[-1].seq == last, what="gap repaired")
    assert [e.seq for e in seen] == list(range(seen[0].seq, last + 1))
    assert board.counters["repaired"] >= 3
    wait_for(lambda: server.status()["last_seq"] == last, what="server published up to the last event")


def test_a_screen_steps_over_seqs_the_hall_never_had(lan: Lan) -> None:
    """After `hall restore` the log has a skipped range (docs/events.md store.restored): a screen that is behind
    repairs across it from the server's log instead of waiting for seqs that will never exist."""
    lan.server()
    board = lan.remote("board1")
    seen: list[Event] = []
    board.subscribe(seen.append)
    lan.hall.issue_ticket("tax")
    first = lan.hall.store.last_seq()
    wait_for(lambda: seen and seen[-1].seq == first, what="the first event on the board")
    board.link.stop()
    with lan.hall.store.write() as c:  # what a restore leaves: a marker above a range of seqs never used here
        c.execute("INSERT INTO events(seq, id, kind, at_utc, local_date, payload, actor, terminal) VALUES "
                  "(?, 'restored-marker', 'store.restored', '2026-11-24T01:00:00+00:00', '2026-11-24', '{}', "
                  "'console', 'cli')", (first + 50,))
    lan.hall.issue_ticket("tax")
    board.link.start()
    last = lan.hall.store.last_seq()
    wait_for(lambda: seen[-1].seq == last, what="repaired across the skipped range")
    assert [e.seq for e in seen][-3:] == [first, first + 50, first + 51] and last == first + 51


def test_lost_reply_is_resent_without_a_second_ticket(lan: Lan) -> None:
    class DropFirstReply(LanServer):
        dropped = 0

        def _publish_reply(self, client: str, data: bytes) -> None:
            if self.dropped == 0 and b"ticket" in data:
                self.dropped += 1  # the command ran and committed; its answer is lost on the way
                return
            super()._publish_reply(client, data)

    server = lan.server(DropFirstReply)
    kiosk = lan.remote("kiosk1")
    res = kiosk.issue_ticket("tax")
    assert server.dropped == 1 and kiosk.counters["resent"] >= 1 and server.counters["replayed"] >= 1
    assert res.value.ticket["number"] == "C001" and tickets(lan.hall) == ["C001"]


def test_server_restart_mid_call_keeps_one_ticket(lan: Lan) -> None:
    class Mute(LanServer):
        def _publish_reply(self, client: str, data: bytes) -> None:
            if b'"issued"' not in data:  # runs issue_ticket, never answers it; then a fresh server takes over
                super()._publish_reply(client, data)

    mute = lan.server(Mute)
    kiosk = lan.remote("kiosk1", rpc_timeout=1.0, attempts=4)
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(kiosk.issue_ticket("tax")))
    t.start()
    wait_for(lambda: tickets(lan.hall) == ["C001"], what="first attempt committed")
    mute.stop()
    lan.servers.remove(mute)
    lan.server()
    t.join(15)
    assert out and out[0].value.ticket["number"] == "C001"  # the idem_key replayed the first result
    assert tickets(lan.hall) == ["C001"]
    assert [e.kind for e in out[0].events] == ["ticket.issued"]


def test_broker_restart_mid_call(lan: Lan) -> None:
    lan.server()
    kiosk = lan.remote("kiosk1", rpc_timeout=1.5, attempts=6)
    kiosk.issue_ticket("tax")
    out: list[Any] = []
    lan.broker.stop()
    t = threading.Thread(target=lambda: out.append(kiosk.call_ticket(1, "C001")))
    t.start()
    time.sleep(0.5)
    lan.broker.start()
    t.join(20)
    assert out and out[0].value["number"] == "C001"
    assert lan.hall.ticket(out[0].value["id"])["status"] == "called"
    assert len([e for e in lan.hall.events_after(0) if e.kind == "ticket.called"]) == 1


def _raw_client(broker: Broker, **auth: str) -> tuple[mqtt.Client, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{time.monotonic_ns()}",
                    protocol=MQTTProtocolVersion.MQTTv5)
    if auth:
        c.username_pw_set(auth["username"], auth["password"])
    c.on_message = lambda cl, u, m: got.append(json.loads(m.payload))
    subscribed = threading.Event()
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.subscribe(f"hall/{HALL_ID}/reply/raw1", qos=1)
    assert subscribed.wait(5)
    return c, got


def test_not_allowed_and_malformed_requests_are_answered_and_harmless(lan: Lan) -> None:
    server = lan.server()
    kiosk = lan.remote("kiosk1")
    for method in ("run", "store", "set_roster", "book_appointment", "report_print_x"):
        assert method not in ALLOWED
        with pytest.raises(LanRefused) as exc:
            kiosk.call(method, "tax")
        assert method in exc.value.message
    with pytest.raises(LanBadRequest):
        kiosk.call("issue_ticket", "tax", bogus=1)  # wrong arguments
    with pytest.raises(LanBadRequest):
        kiosk.call("events_after", "x")

    raw, got = _raw_client(lan.broker)
    bad = [
        ("issue_ticket", b"not json", None),
        ("issue_ticket", b"[1, 2]", None),
        ("issue_ticket", b'{"id": "r1", "args": "tax"}', "r1"),  # args not a list
        ("issue_ticket", b'{"id": "r2", "kwargs": [1]}', "r2"),
        ("issue_ticket", b'{"id": "r3", "v": 99, "args": ["tax"]}', "r3"),  # unknown version
        ("issue_ticket", b'{"id": "r4", "args": ["tax", "two", "three"], "extra": 1}', "r4"),  # too many args
        ("issue_ticket", b'{"id": "r5"' + b" " * (contract.MAX_INBOUND_BYTES + 10) + b"}", "r5"),
        ("__init__", b'{"id": "r6"}', None),  # not even a method name: the topic is refused
        ("cases.store", b'{"id": "r7"}', "r7"),
        ("issue_ticket", b"\xff\xfe\x00garbage", None),
    ]
    for method, payload, _ in bad:
        raw.publish(f"hall/{HALL_ID}/cmd/raw1/{method}", payload, qos=1).wait_for_publish(5)
    raw.publish(f"hall/{HALL_ID}/cmd/raw1", b'{"id": "r8"}', qos=1).wait_for_publish(5)  # short topic
    want = {rid for _, _, rid in bad if rid}
    wait_for(lambda: want <= {g.get("id") for g in got}, what="error replies")
    for g in got:
        assert g["ok"] is False and g["error"]["key"] in ("lan_bad_request", "lan_method_not_allowed")
    raw.loop_stop()
    raw.disconnect()

    # the server is still serving, and nothing was issued by any of it
    assert kiosk.issue_ticket("tax").value.ticket["number"] == "C001"
    assert tickets(lan.hall) == ["C001"]
    st = server.status()
    assert st["malformed"] >= 6 and st["refused"] >= 6 and st["lan_error"]


def test_heartbeat_stops_client_notices_and_recovers(lan: Lan) -> None:
    server = lan.server()
    board = lan.remote("board1")
    assert board.alive() and board.tick() == []
    server.stop()
    lan.servers.remove(server)
    wait_for(lambda: not board.alive(), timeout=5, what="board notices the server is gone")
    with pytest.raises(LanUnavailable) as exc:
        board.tick()
    assert exc.value.message == "与大厅服务器的连接中断" and isinstance(exc.value, E.HallError)
    t0 = time.monotonic()
    with pytest.raises(LanUnavailable):
        board.waiting()  # one timeout, not one per attempt, while the server is known to be gone
    assert time.monotonic() - t0 < 3 * FAST["rpc_timeout"]
    lan.server()
    wait_for(board.alive, timeout=5, what="heartbeat back")
    assert board.waiting_counts()[0]["business"] == "tax"


def test_cases_catalog_and_queries_through_the_lan(lan: Lan) -> None:
    lan.server()
    caller = lan.remote("caller1")
    assert caller.cases.card_counts() == {"yellow": 0, "red": 0, "rectify_yellow": 0, "rectify_red": 0}
    assert caller.cases.cards(window=1, limit=5) == [] and caller.cases.rectifications() == []
    assert isinstance(caller.cases.figures("hall", date(2026, 11, 24)), list)
    with pytest.raises(CaseCheckFailed) as exc:
        caller.cases.lookup("NO-SUCH-CASE", "1234")
    assert "还可以再试" in exc.value.message
    assert caller.catalog_for("tax") is None
    assert caller.notice() == "" and caller.counts() is not None and caller.devices() == []
    assert [w["number"] for w in caller.windows()] == [1, 2]
    assert caller.rating_summary() is not None and caller.bad_ratings() == []


def test_a_kiosk_with_a_local_printer_reports_through_the_lan(lan: Lan) -> None:
    lan.server()
    kiosk = lan.remote("kiosk1")
    t = kiosk.issue_ticket("tax", terminal="kiosk1").value.ticket
    kiosk.report_print(t["id"], ok=False, device="printer1", reason="缺纸")
    kiosk.report_device_health("printer1", "printer", "degraded", "缺纸")
    kinds = [e.kind for e in lan.hall.events_after(0)]
    assert "print.failed" in kinds and "device.health" in kinds
    assert kiosk.devices()[0]["name"] == "printer1"


def test_roles_limit_what_each_screen_may_do(lan: Lan) -> None:
    lan.server(clients={"board1": "board", "kiosk1": "kiosk", "caller1": "caller"})
    board, kiosk, caller = lan.remote("board1"), lan.remote("kiosk1"), lan.remote("caller1")
    t = kiosk.issue_ticket("tax").value.ticket
    assert board.waiting_counts()[0]["waiting"] == 1
    with pytest.raises(LanRefused):
        board.void(t["number"], "恶意作废")
    with pytest.raises(LanRefused):
        kiosk.call_next(1)
    assert caller.call_next(1).value["id"] == t["id"]
    with pytest.raises(LanRefused):
        caller.set_notice("停电")
    with pytest.raises(LanRefused):  # not listed at all: refused from the first call
        lan.remote("stranger")
    assert lan.hall.ticket(t["id"])["status"] == "called"


def test_server_from_section_checks_lan_options(hall: Hall, broker: Broker) -> None:
    assert LanServer.from_section(hall, {}) is None
    assert LanServer.from_section(hall, {"host": "127.0.0.1", "enabled": False}) is None
    section = {"host": "127.0.0.1", "port": broker.port, "backoff_min": 0.05, "clients": {"kiosk1": "kiosk"}}
    s = LanServer.from_section(hall, section)
    assert s is not None and s.clients == {"kiosk1": "kiosk"} and s.settings.session_expiry == 0
    s.start()
    try:
        r = RemoteHall.from_section(section, HALL_ID, "kiosk1", **FAST)
        assert r.issue_ticket("tax").value.ticket["number"] == "C001"
        r.close()
    finally:
        s.stop()
    with pytest.raises(ConfigError, match=r"option 'kiosk1' in section \[lan.clients\]"):
        LanServer.from_section(hall, {"host": "127.0.0.1", "clients": {"kiosk1": "root"}})
    with pytest.raises(ConfigError, match=r"option 'bogus' is not valid in section \[lan\]"):
        LanServer.from_section(hall, {"host": "127.0.0.1", "bogus": 1})


def test_hall_client_runs_on_a_remote_hall(lan: Lan, qtbot: Any) -> None:
    from kiosk.ui.client import HallClient

    lan.server()
    remote = lan.remote("kiosk1")
    client = HallClient(remote, heartbeat_s=0.1)
    try:
        with qtbot.waitSignal(client.events, timeout=5000) as sig:
            issued = client.issue_ticket("tax")
        assert sig.args[0].kind == "ticket.issued" and issued.value.ticket["number"] == "C001"
        with qtbot.waitSignal(client.heartbeat, timeout=5000):
            pass
        assert client.config.name == "测试政务服务中心" and client.now().tzinfo is not None
        assert client.waiting_counts()[0]["waiting"] == 1
        with pytest.raises(E.HallError, match="没有这项业务"):
            client.issue_ticket("nope")
    finally:
        client.close()


def test_error_registry_covers_every_refusal() -> None:
    assert error_class("queue_empty") is E.QueueEmpty
    assert error_class("case_check_failed") is CaseCheckFailed
    assert error_class("lan_unavailable") is LanUnavailable
    odd = error_class("from_a_newer_server", "新版本的提示 {x}")
    assert issubclass(odd, E.HallError) and odd().message == "新版本的提示 {x}"


USERS = {HALL_ID: "srv-secret", f"{HALL_ID}.kiosk1": "k1-secret", f"{HALL_ID}.caller1": "c1-secret"}
ACL = Path(__file__).resolve().parents[2] / "packaging" / "mosquitto" / "acl.example"


def test_acl_binds_each_client_to_its_own_topics(broker_factory: Callable[..., Broker], hall: Hall,
                                                 tmp_path: Path) -> None:
    pw = tmp_path / "passwd"
    for i, (user, password) in enumerate(USERS.items()):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(pw), user, password],
                       check=True, capture_output=True)
    broker = broker_factory(f"password_file {pw}\nacl_file {ACL}\nset_tcp_nodelay true", anonymous=False)
    lan = Lan(broker, hall)
    try:
        lan.server(username=HALL_ID, password=USERS[HALL_ID])
        kiosk = lan.remote("kiosk1", username=f"{HALL_ID}.kiosk1", password=USERS[f"{HALL_ID}.kiosk1"])
        assert kiosk.issue_ticket("tax").value.ticket["number"] == "C001"
        # the kiosk's credentials pretending to be caller 1: its commands are dropped, no reply can reach it
        with pytest.raises(LanUnavailable):
            lan.remote("caller1", username=f"{HALL_ID}.kiosk1", password=USERS[f"{HALL_ID}.kiosk1"],
                       connect_timeout=2.0)
        caller = lan.remote("caller1", username=f"{HALL_ID}.caller1", password=USERS[f"{HALL_ID}.caller1"])
        seen: list[str] = []
        caller.subscribe(lambda e: seen.append(e.kind))
        assert caller.call_next(1).value["number"] == "C001"
        wait_for(lambda: "ticket.called" in seen, what="the caller reads the event topic")
        # a raw client with the kiosk's credentials cannot read the caller's replies
        spy, got = _raw_client(broker, username=f"{HALL_ID}.kiosk1", password=USERS[f"{HALL_ID}.kiosk1"])
        spy.subscribe(f"hall/{HALL_ID}/reply/caller1", qos=1)
        time.sleep(0.2)
        caller.windows()
        time.sleep(0.3)
        assert got == []
        spy.loop_stop()
        spy.disconnect()
    finally:
        lan.close()


def test_documented_lan_examples_follow_the_contract(hall: Hall) -> None:
    """docs/sync-contract.md "LAN clients": every example decodes, every topic and error key is documented."""
    from sync.lan import check_arguments
    from tests.sync.test_contract import DOC, _doc_examples

    ex = _doc_examples()
    bad = contract.decode_lan_reply(json.dumps(ex["lan_reply_bad_request"]).encode())
    with pytest.raises(LanBadRequest) as exc:
        RemoteHall._value(bad)
    with pytest.raises(LanBadRequest) as real:  # the documented reason is the one the server gives
        check_arguments("issue_ticket", hall.issue_ticket, ["tax"], {"id_number": 110105194912310020})
    assert exc.value.params == real.value.params and exc.value.message == real.value.message
    req = contract.decode_lan_request(json.dumps(ex["lan_request"]).encode())
    assert req.args == ["tax"] and req.kwargs["terminal"] == "kiosk1"
    reply = contract.decode_lan_reply(json.dumps(ex["lan_reply"]).encode())
    res = RemoteHall._value(reply)
    assert isinstance(res.value, Issued) and res.value.ticket["number"] == "C001" and res.events[0].seq == 1
    with pytest.raises(E.QueueEmpty):
        RemoteHall._value(contract.decode_lan_reply(json.dumps(ex["lan_reply_error"]).encode()))
    assert contract.decode_lan_event(json.dumps(ex["lan_event"]).encode()).seq == 42
    assert contract.decode_lan_heartbeat(json.dumps(ex["lan_heartbeat"]).encode()).last_seq == 42
    text = DOC.read_text(encoding="utf-8")
    for t in (contract.LAN_CMD_TOPIC, contract.LAN_REPLY_TOPIC, contract.LAN_EVENT_TOPIC,
              contract.LAN_HEARTBEAT_TOPIC, contract.LAN_SERVER_TOPIC):
        assert f"`{t}`" in text
    from sync.lan import ROLE_METHODS, LanBusy, LanServerError

    for cls in (LanUnavailable, LanRefused, LanBadRequest, LanServerError, LanBusy):
        assert f"`{cls.key}`" in text
    for role in ROLE_METHODS:
        assert f"`{role}`" in text
    for method in ALLOWED:
        assert method in text


CLEAR_ID = "11010519491231002X"


def test_every_bad_request_gets_a_bad_request_reply_quickly(lan: Lan, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    server = lan.server()
    kiosk = lan.remote("kiosk1")
    # through the client: each is answered at once (no timeout, no resend), the reason names what is wrong
    wrong = [
        (("issue_ticket", "tax"), {"id_number": int(CLEAR_ID[:17] + "0")},
         "argument 'id_number' must be str | None, not int"),
        (("issue_ticket", "tax"), {"id_number": CLEAR_ID, "bogus": 1}, "unexpected keyword argument 'bogus'"),
        (("issue_ticket",), {"id_number": CLEAR_ID}, "missing a required argument: 'business'"),
        (("call_next", True), {}, "argument 'window' must be int, not bool"),
        (("call_next", 1, 2), {}, "too many positional arguments"),
        (("cases.lookup", "P1", 1234), {}, "argument 'check' must be str, not int"),
        (("events_after", -1), {}, "seq must be >= 0"),
        (("hello", 1), {}, "too many positional arguments"),
        (("issue_ticket", "tax"), {"terminal": [[[[[[[[[[[[[[[[[["k"]]]]]]]]]]]]]]]]]]}, "nested deeper than 16"),
    ]
    for (method, *args), kwargs, reason in wrong:
        t0 = time.monotonic()
        with pytest.raises(LanBadRequest) as exc:
            kiosk.call(method, *args, **kwargs)
        assert time.monotonic() - t0 < FAST["rpc_timeout"], method  # a reply, not a timeout
        assert exc.value.key == "lan_bad_request" and reason in exc.value.params["detail"], exc.value.params
    assert kiosk.counters["timeouts"] == 0 and kiosk.counters["resent"] == 0

    # raw payloads the client library would never send
    raw, got = _raw_client(lan.broker)
    arrived: dict[str, float] = {}

    def on_reply(cl: Any, u: Any, m: Any) -> None:
        got.append(json.loads(m.payload))
        arrived.setdefault(str(got[-1].get("id")), time.monotonic())

    raw.on_message = on_reply
    bad = {
        "deep": b'{"id": "deep", "args": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        "deep-open": b'{"id": "deep-open", "kwargs": {"a": ' + b'{"a": ' * 40_000,
        "not-json": b'{"id": "not-json", args: tax}',
        "not-utf8": b'{"id": "not-utf8", "args": ["\xff\xfe\xb2\xe2"]}',
        "int-id": b'{"id": "int-id", "args": ["tax"], "kwargs": {"id_number": 110105194912310020}}',
    }
    sent: dict[str, float] = {}
    for rid, payload in bad.items():
        sent[rid] = time.monotonic()
        raw.publish(f"hall/{HALL_ID}/cmd/raw1/issue_ticket", payload, qos=1).wait_for_publish(5)
    wait_for(lambda: set(bad) <= set(arrived), timeout=10, what="a reply to every bad request")
    for g in got:
        assert g["ok"] is False and g["error"]["key"] == "lan_bad_request", g
        assert arrived[g["id"]] - sent[g["id"]] < 2.0, g["id"]
    details = {g["id"]: g["error"]["params"]["detail"] for g in got}
    assert "nested too deeply" in details["deep"] and "nested too deeply" in details["deep-open"]
    assert "not int" in details["int-id"] and "UTF-8" in details["not-utf8"]
    raw.loop_stop()
    raw.disconnect()

    # still serving, nothing issued by any of it, and the clear ID went nowhere it would be kept
    assert kiosk.issue_ticket("tax", id_number=CLEAR_ID).value.ticket["number"] == "C001"
    assert tickets(lan.hall) == ["C001"]
    assert server.status()["malformed"] >= len(wrong) + len(bad) - 1
    for text in (caplog.text, server.status()["lan_error"], json.dumps(got)):
        assert CLEAR_ID not in text and CLEAR_ID[:17] not in text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_lan_clients_over_tls(broker_factory: Callable[..., Broker], hall: Hall, tmp_path: Path) -> None:
    """The kiosk sends the citizen's ID number with issue_ticket: on a TLS listener it never crosses the LAN in
    clear.  [lan] tls + ca_file on both sides; a client that does not trust the hall's CA cannot connect."""
    from tests.sync.test_security import make_certs

    certs = make_certs(tmp_path / "pki")
    broker = broker_factory(f"cafile {certs['ca.crt']}\ncertfile {certs['server.crt']}\n"
                            f"keyfile {certs['server.key']}\nset_tcp_nodelay true")
    section = {"host": "127.0.0.1", "port": broker.port, "tls": True, "ca_file": str(certs["ca.crt"]),
               "backoff_min": 0.05}
    server = LanServer.from_section(hall, section, heartbeat_s=0.2)
    assert server is not None and server.settings.tls
    server.start()
    try:
        kiosk = RemoteHall.from_section(section, HALL_ID, "kiosk1", **FAST)
        try:
            assert kiosk.settings.tls and kiosk.config.source.startswith("lan://127.0.0.1:")
            t = kiosk.issue_ticket("tax", id_number=CLEAR_ID).value.ticket
            assert t["number"] == "C001" and CLEAR_ID not in json.dumps(t)
        finally:
            kiosk.close()
        other = make_certs(tmp_path / "other-pki")
        with pytest.raises(LanUnavailable):
            RemoteHall.from_section(dict(section, ca_file=str(other["ca.crt"])), HALL_ID, "kiosk2",
                                    connect_timeout=2.0, **FAST)
        with pytest.raises(LanUnavailable):  # plain MQTT to the TLS listener gets nowhere either
            RemoteHall.from_section({k: v for k, v in section.items() if k not in ("tls", "ca_file")}, HALL_ID,
                                    "kiosk3", connect_timeout=2.0, **FAST)
    finally:
        server.stop()
