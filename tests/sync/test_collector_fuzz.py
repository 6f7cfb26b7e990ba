"""10,000 generated payloads through a real mosquitto into the collector: valid events mixed with the payloads that
once rolled back a whole batch and stayed unacknowledged.  Every valid event is stored once, every invalid payload
is rejected alone with its reason, and the broker holds nothing unacknowledged for the collector afterwards."""
from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from kiosk.core.rating import Level
from sync import contract
from sync.central import CentralDB, CentralStore, Collector
from sync.link import ONLINE
from tests.sync.conftest import Broker, wait_for
from tests.sync.test_outage import start_collector

EXAMPLES, PER_EXAMPLE = 100, 100  # 10,000 generated payloads
ROOT = Path(__file__).resolve().parents[2]
BIG = contract.BIGINT_MAX
RAW = "\ue000"  # placeholder for JSON text json.dumps will not write (NaN, 1e999, broken bytes, deep nesting)
LEVELS = [lv.value for lv in Level]


@dataclass(frozen=True)
class Good:
    hall: int  # one of three halls of the example; seqs are given in order, gap-free
    kind: str
    payload: dict[str, Any]
    redeliver: bool  # published twice, as after a PUBACK the hall never saw
    edge: bool  # alone in its hall with seq 2^63 - 1, the largest a BIGINT holds


@dataclass(frozen=True)
class Bad:
    what: str
    make: Callable[[str], tuple[str, bytes]]  # its own hall id → (topic, payload)
    reason: str  # what the rejection's error must say (regex)


def event(hall: str, seq: int = 1, kind: str = "ticket.issued", payload: Any = None, **fields: Any
          ) -> dict[str, Any]:
    ev = {"v": 1, "hall_id": hall, "region": "510104000", "seq": seq, "id": f"{hall}.{seq}", "kind": kind,
          "at_utc": "2026-11-24T01:00:00+00:00", "local_time": "2026-11-24T09:00:00+08:00",
          "local_date": "2026-11-24", "payload": {"n": 1} if payload is None else payload}
    ev.update(fields)
    return ev


def encode(ev: dict[str, Any], raw: bytes | None = None) -> bytes:
    """JSON of ev; with raw given, the value RAW (a string) is replaced by those bytes."""
    text = json.dumps(ev, ensure_ascii=False).encode()
    return text if raw is None else text.replace(json.dumps(RAW, ensure_ascii=False).encode(), raw)


def on_topic(ev: dict[str, Any], raw: bytes | None = None) -> tuple[str, bytes]:
    return f"hall/{ev['hall_id']}/event/{ev['kind']}", encode(ev, raw)


# --- valid events -----------------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(contract.BIGINT_MIN, BIG),
                    st.floats(-contract.MAX_FLOAT, contract.MAX_FLOAT, allow_nan=False), st.text(max_size=12))
keys = st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                      max_leaves=6).filter(lambda v: contract.nesting(json.dumps(v).encode()) < 7)
extra = st.dictionaries(keys.filter(lambda k: k not in ("wait_s", "rating")), values, max_size=3)
wait = st.one_of(st.none(), st.floats(0, contract.MAX_WAIT_S), st.integers(0, contract.MAX_WAIT_S))


@st.composite
def goods(draw: st.DrawFn) -> Good:
    kind = draw(st.sampled_from(["ticket.issued", "ticket.called", "service.finished", "rating.recorded"]))
    payload = draw(extra)
    if kind == "service.finished":
        payload["wait_s"] = draw(wait)
    elif kind == "rating.recorded":
        payload["rating"] = {"level": draw(st.sampled_from(LEVELS)), "window": draw(st.integers(1, 99))}
    return Good(draw(st.integers(0, 2)), kind, payload, draw(st.integers(0, 9)) == 0, draw(st.integers(0, 49)) == 0)


# --- invalid payloads: one strategy per way to be wrong -------------------------------------------------------
def _finished(h: str, wait_s: Any) -> tuple[str, bytes]:
    return on_topic(event(h, kind="service.finished", payload={"wait_s": wait_s}))


@st.composite
def seq_too_big(draw: st.DrawFn) -> Bad:
    s = draw(st.integers(2**63, 2**200))
    return Bad("seq ≥ 2^63", lambda h: on_topic(event(h, seq=s)), r"<= 9223372036854775807 - at `\$\.seq`")


@st.composite
def seq_not_positive(draw: st.DrawFn) -> Bad:
    s = draw(st.integers(-(2**80), 0))
    return Bad("seq ≤ 0", lambda h: on_topic(event(h, seq=s)), r">= 1 - at `\$\.seq`")


@st.composite
def wait_too_big_for_a_float(draw: st.DrawFn) -> Bad:
    n = draw(st.integers(309, 600).flatmap(lambda e: st.integers(10**e, 9 * 10**e)))
    return Bad("wait_s beyond any float", lambda h: _finished(h, n), r"<= 9223372036854775807 - at `\$\.payload")


@st.composite
def wait_out_of_bounds(draw: st.DrawFn) -> Bad:
    w = draw(st.one_of(st.integers(contract.MAX_WAIT_S + 1, BIG),
                       st.floats(contract.MAX_WAIT_S + 1, contract.MAX_FLOAT), st.floats(-contract.MAX_FLOAT, -1e-3),
                       st.sampled_from([True, "60", [1], {"s": 1}])))
    return Bad(f"wait_s {w!r}", lambda h: _finished(h, w), r"service\.finished payload")


@st.composite
def int_beyond_bigint(draw: st.DrawFn) -> Bad:
    n = draw(st.one_of(st.integers(BIG + 1, 2**128), st.integers(-(2**128), contract.BIGINT_MIN - 1)))
    return Bad("payload int beyond BIGINT", lambda h: on_topic(event(h, payload={"a": {"b": [0, n]}})),
               r"9223372036854775\d+ - at `\$\.payload")


@st.composite
def float_too_big(draw: st.DrawFn) -> Bad:
    f = draw(st.floats(contract.MAX_FLOAT * 1.0001, 1e308)) * draw(st.sampled_from([1, -1]))
    return Bad("payload float beyond 1e15", lambda h: on_topic(event(h, payload={"f": f})),
               r"`float` [<>]= .* - at `\$\.payload")


@st.composite
def not_finite(draw: st.DrawFn) -> Bad:
    raw = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"nan", b"1e999", b"-1e400", b"1E+99999"]))
    return Bad(f"wait_s {raw!r}", lambda h: on_topic(event(h, kind="service.finished", payload={"wait_s": RAW}), raw),
               r"malformed|Number out of range")


@st.composite
def deep(draw: st.DrawFn, depths: st.SearchStrategy[int], objects: bool = True) -> Bad:
    depth = draw(depths)
    obj = objects and draw(st.booleans())
    raw = b'{"a":' * depth + b"1" + b"}" * depth if obj else b"[" * depth + b"]" * depth
    # the envelope and the payload object are two levels; a payload value may nest MAX_PAYLOAD_NESTING - 1
    reason = "nested too deeply" if depth + 2 > contract.MAX_NESTING else "got `(array|object)`"
    return Bad(f"nested {depth}", lambda h: on_topic(event(h, payload={"x": RAW}), raw), reason)


WRONG_TYPES = [("seq", "1"), ("seq", 1.5), ("seq", True), ("seq", None), ("hall_id", 7), ("payload", []),
               ("payload", "x"), ("at_utc", "yesterday"), ("at_utc", 12), ("v", "1"), ("kind", ["x"]),
               ("local_date", 20261124), ("region", 510104000), ("id", {"a": 1})]


@st.composite
def wrong_type(draw: st.DrawFn) -> Bad:
    field, value = draw(st.sampled_from(WRONG_TYPES))
    return Bad(f"{field} = {value!r}", lambda h: (f"hall/{h}/event/ticket.issued", encode(event(h, **{field: value}))),
               rf"at `\$\.{field}`")


@st.composite
def truncated(draw: st.DrawFn) -> Bad:
    k = draw(st.integers(1, 9999))

    def make(h: str) -> tuple[str, bytes]:
        topic, payload = on_topic(event(h))
        return topic, payload[: max(1, len(payload) * k // 10000)]
    return Bad("truncated", make, r"truncated|malformed")


@st.composite
def not_utf8(draw: st.DrawFn) -> Bad:
    junk = draw(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80",
                                 b"\xc0\xaf"]))
    field = draw(st.sampled_from(["payload", "id"]))
    ev = (lambda h: event(h, payload={"note": RAW})) if field == "payload" else (lambda h: event(h, id=RAW))
    return Bad(f"{junk!r} in {field}", lambda h: on_topic(ev(h), b'"a' + junk + b'b"'), "UTF-8")


@st.composite
def oversized(draw: st.DrawFn) -> Bad:
    n = contract.MAX_INBOUND_BYTES + draw(st.integers(1, 4096))
    return Bad("oversized", lambda h: on_topic(event(h, payload={"note": "x" * n})), "too big")


@st.composite
def another_halls_event(draw: st.DrawFn) -> Bad:
    other = draw(st.sampled_from(["someone-else", "h1"]))
    return Bad("another hall's event", lambda h: (f"hall/{h}/event/ticket.issued", encode(event(other))),
               "published on")


@st.composite
def unknown_version(draw: st.DrawFn) -> Bad:
    v = draw(st.integers(2, 9999))
    return Bad(f"v {v}", lambda h: on_topic(event(h, v=v)), r"version \d+ not supported")


@st.composite
def not_storable_text(draw: st.DrawFn) -> Bad:
    ch = draw(st.sampled_from(["\x00", "\n", "\x1f", "\u2028", " ", "é"]))
    field = draw(st.sampled_from(["id", "local_date", "region"]))
    return Bad(f"{field} + {ch!r}", lambda h: on_topic(event(h, **{field: event(h)[field] + ch})),
               rf"at `\$\.{field}`")


@st.composite
def unknown_level(draw: st.DrawFn) -> Bad:
    lv = draw(st.one_of(st.text(max_size=20).filter(lambda s: s not in LEVELS), st.integers(1, 5)))
    return Bad(f"level {lv!r}", lambda h: on_topic(event(h, kind="rating.recorded", payload={"rating": {"level": lv}})),
               r"rating\.recorded payload")


@st.composite
def random_bytes(draw: st.DrawFn) -> Bad:
    b = draw(st.binary(max_size=300))
    return Bad(f"bytes {b[:20]!r}", lambda h: (f"hall/{h}/event/ticket.issued", b), r"^(bad )?event payload")


@st.composite
def bad_kind_in_topic(draw: st.DrawFn) -> Bad:
    k = draw(st.sampled_from(["Bad", "a..b", "x" * 65, "1abc", "a.b.c.d.e.f.g.h.i", "ticket.issued/extra"]))
    return Bad(f"kind {k!r}", lambda h: (f"hall/{h}/event/{k}", encode(event(h))), "not a hall → central topic")


@st.composite
def bad_presence(draw: st.DrawFn) -> Bad:
    fields = draw(st.sampled_from([{"state": "maybe"}, {"name": "锦江\x00"}, {"region": "12"},
                                   {"hall_id": "someone-else"}, {"junk": RAW}]))
    return Bad(f"presence {fields}", lambda h: (f"hall/{h}/state", encode(
        {"v": 1, "hall_id": h, "state": "online", **fields}, b"[" * 40 + b"]" * 40)), "presence")


# Each light way five times as likely as a heavy one (quarter-megabyte payloads), so the run moves ~20 MB, not 200.
LIGHT = [seq_too_big(), seq_not_positive(), wait_too_big_for_a_float(), wait_out_of_bounds(), int_beyond_bigint(),
         float_too_big(), not_finite(), wrong_type(), truncated(), not_utf8(), another_halls_event(),
         unknown_version(), not_storable_text(), unknown_level(), random_bytes(), bad_kind_in_topic(), bad_presence(),
         deep(st.integers(contract.MAX_PAYLOAD_NESTING, 5000))]
HEAVY = [oversized(), deep(st.integers(100_000, 120_000), objects=False)]  # 100,000 "{"a":" would be too big
bads = st.sampled_from(LIGHT * 5 + HEAVY).flatmap(lambda s: s)
payloads = st.booleans().flatmap(lambda valid: goods() if valid else bads)  # about half of them valid


# --- one example of a hundred payloads, as concrete messages and what must become of them ------------------------
Want = dict[tuple[str, int], tuple[str, float | None, str | None, dict[str, Any]]]  # (hall, seq) → id, figures, payload


@dataclass
class Example:
    msgs: list[tuple[str, bytes]]  # in publishing order, redeliveries included
    want: Want  # the valid events, as hall_events must hold them
    refused: dict[str, tuple[str, str]]  # topic → (what is wrong, the reason the rejection must give)
    redelivered: int


def materialize(ex: int, items: list[Good | Bad]) -> Example:
    """Example `ex`'s messages: halls v{ex}-… carry its valid events, x{ex}-b{i} is invalid payload i's own hall."""
    out = Example([], {}, {}, 0)
    seqs: defaultdict[str, int] = defaultdict(int)
    for i, it in enumerate(items):
        if isinstance(it, Bad):
            topic, payload = it.make(f"x{ex}-b{i}")
            out.msgs.append((topic, payload))
            out.refused[topic] = (it.what, it.reason)
            continue
        if it.edge:
            hall, seq = f"v{ex}-e{i}", BIG
        else:
            hall = f"v{ex}-h{it.hall}"
            seqs[hall] += 1
            seq = seqs[hall]
        m = on_topic(event(hall, seq, it.kind, it.payload))
        out.msgs += [m, m] if it.redeliver else [m]
        out.redelivered += it.redeliver
        w = it.payload.get("wait_s") if it.kind == "service.finished" else None
        level = it.payload["rating"]["level"] if it.kind == "rating.recorded" else None
        out.want[(hall, seq)] = (f"{hall}.{seq}", None if w is None else float(w), level, it.payload)
    return out


def generate(path: str) -> None:
    """Draw EXAMPLES examples of PER_EXAMPLE payloads and pickle them (builtins only) to path.  Run by the test in a
    child with PYTHONHASHSEED=0: Hypothesis labels strategies by hash(), and its mutator picks among those labels,
    so even derandomize draws other payloads in each process unless str hashes are fixed."""
    examples: list[Example] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.lists(payloads, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def draw(items: list[Good | Bad]) -> None:
        examples.append(materialize(len(examples), items))

    draw()
    with open(path, "wb") as f:
        pickle.dump([(e.msgs, e.want, e.refused, e.redelivered) for e in examples], f)


def push(c: mqtt.Client, msgs: list[tuple[str, bytes]]) -> None:
    infos = [c.publish(t, p, qos=1) for t, p in msgs]
    for info in infos:
        info.wait_for_publish(30)


def check(collector: Collector, c: mqtt.Client, ex: int, e: Example) -> None:
    before = dict(collector.counts)
    push(c, e.msgs)
    wait_for(lambda: sum(collector.counts.values()) - sum(before.values()) == len(e.msgs), timeout=30,
             what=f"example {ex}: all {len(e.msgs)} messages handled")
    delta = {k: collector.counts[k] - before[k] for k in before}
    assert delta == {"new": len(e.want), "duplicate": e.redelivered, "rejected": len(e.refused), "state": 0}

    rows = collector.store.db.query(
        "SELECT hall_id, seq, id, wait_s, level, payload FROM hall_events WHERE hall_id LIKE ?", (f"v{ex}-%",))
    got = {(r[0], int(r[1])): (r[2], r[3], r[4], json.loads(r[5])) for r in rows}
    assert len(rows) == len(got) and got == e.want  # each valid event once, with its figures and its payload
    rejected = collector.store.db.query("SELECT topic, error FROM rejected WHERE topic LIKE ?", (f"hall/x{ex}-%",))
    assert Counter(r[0] for r in rejected) == Counter(list(e.refused))  # each invalid payload once, alone
    for topic, error in rejected:
        what, reason = e.refused[topic]
        assert re.search(reason, error), f"example {ex}, {what}: {error[:300]!r} does not match {reason!r}"


def test_10000_generated_payloads_through_the_broker(broker_factory: Callable[..., Broker], tmp_path: Path
                                                     ) -> None:
    t0 = time.monotonic()
    data = tmp_path / "examples.pickle"
    subprocess.run([sys.executable, "-c", f"from {__name__} import generate; generate({str(data)!r})"],
                   cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True, timeout=300)
    with open(data, "rb") as f:  # written just now by our own child
        examples = [Example(*t) for t in pickle.load(f)]
    generated = time.monotonic() - t0
    assert len(examples) == EXAMPLES and all(len(e.want) + len(e.refused) == PER_EXAMPLE for e in examples)
    valid, invalid = sum(len(e.want) for e in examples), sum(len(e.refused) for e in examples)
    assert valid > 3000 and invalid > 3000

    broker = broker_factory()
    # repair_after: the edge halls (seq 2^63 - 1 alone) have open gaps by design; no resend requests for them
    collector = start_collector(broker, tmp_path, client_id="central-fuzz", repair_after=3600)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fuzz-halls", protocol=MQTTProtocolVersion.MQTTv5)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        for ex, e in enumerate(examples):
            check(collector, c, ex, e)
        published = sum(len(e.msgs) for e in examples)
        print(f"\nfuzz: {valid} valid and {invalid} invalid payloads ({published} messages with redeliveries); "
              f"generated in {generated:.1f} s, through the broker in {time.monotonic() - t0 - generated:.1f} s")

        # Nothing left unacknowledged: the broker resends a session's unacknowledged messages when it resumes, before
        # anything new.  A collector resuming the same session must see only the one event published after it.
        collector.stop()
        again = Collector(broker.settings(), CentralStore(CentralDB(str(tmp_path / "central.db"))),
                          client_id="central-fuzz", repair_after=3600)
        again.start()
        try:
            wait_for(lambda: again.link.state == ONLINE, what="collector back online")
            push(c, [on_topic(event("after-fuzz"))])
            wait_for(lambda: again.counts["new"] == 1, what="the event after the run")
            assert again.counts == {"new": 1, "duplicate": 0, "rejected": 0, "state": 0}
        finally:
            again.stop()
            again.store.db.close()
    finally:
        c.loop_stop()
        c.disconnect()
        collector.stop()
