"""The ID card reader driver against the GA 467 reader simulator on a real pty: one read per card placed, only the
ID, the masked name and the validity leave it, expired cards refused, the simulator's faults, unplug and reopen."""
from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from devices.base import HealthState
from devices.idcard import from_config, proto
from devices.idcard import sim as simmod
from devices.idcard.driver import IdCardReader
from devices.idcard.sim import CARDS, PHOTO_MARKER, IdCardReaderSim
from devices.reads import IdCardRead, Read, ReadRefused
from kiosk.core.errors import ConfigError
from tests.devices import common

TODAY = date(2026, 11, 24)
wait_for = functools.partial(common.wait_for, timeout=3.0)


def polls(reader: IdCardReaderSim, n: int = 2) -> None:
    """Let the driver look at the reader `n` more times (it sees a card taken off, or that nothing changes)."""
    seen = reader.counts["find"]
    wait_for(lambda: reader.counts["find"] >= seen + n)


class Reads:
    """What the driver handed out, in order (appended on the driver's thread)."""

    def __init__(self) -> None:
        self.items: list[Read] = []
        self._lock = threading.Lock()

    def __call__(self, item: Read) -> None:
        with self._lock:
            self.items.append(item)

    def cards(self) -> list[IdCardRead]:
        return [r for r in list(self.items) if isinstance(r, IdCardRead)]

    def refused(self) -> list[ReadRefused]:
        return [r for r in list(self.items) if isinstance(r, ReadRefused)]


@pytest.fixture
def reader(tmp_path: Any) -> Iterator[IdCardReaderSim]:
    s = IdCardReaderSim("t", link_dir=str(tmp_path)).start()
    yield s
    s.stop()


@pytest.fixture
def make_driver(reader: IdCardReaderSim) -> Iterator[Callable[..., tuple[IdCardReader, Reads]]]:
    started: list[IdCardReader] = []

    def make(**opts: Any) -> tuple[IdCardReader, Reads]:
        section = {"kind": "idcard", "url": f"serial://{reader.path}?baud=115200", "poll_interval": 0.05,
                   "reply_timeout": 0.2, **opts}
        d = from_config("id1", section, None)
        d._today = lambda: TODAY
        reads = Reads()
        d.on_read(reads)
        d.start()
        started.append(d)
        wait_for(lambda: d.health.state == HealthState.OK)
        return d, reads

    yield make
    for d in started:
        d.stop()


def test_a_placed_card_is_read_once_with_only_id_masked_name_and_validity(
        make_driver: Callable[..., tuple[IdCardReader, Reads]], reader: IdCardReaderSim,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    d, reads = make_driver()
    reader.place("demo")
    wait_for(lambda: reads.cards())
    card = CARDS["demo"]
    got = reads.cards()[0]
    assert (got.device, got.id_number, got.name_masked, got.valid_from, got.valid_to) == (
        "id1", card.id_number, "欧**华", date(2020, 5, 1), date(2040, 5, 1))
    assert got.last4 == card.id_number[-4:]
    # nothing else of the card leaves the driver: the record has exactly these fields
    assert set(IdCardRead.__slots__) == {"device", "id_number", "name_masked", "valid_from", "valid_to"}
    # still lying there: not read again (one read per placement)
    polls(reader, 5)
    assert len(reads.cards()) == 1
    # taken off and put back: read again
    reader.remove()
    polls(reader)
    reader.place("demo")
    wait_for(lambda: len(reads.cards()) == 2)
    # the clear ID, the name and the photo are in no log line, and not in the reads' repr
    text = caplog.text + repr(reads.items)
    for secret in (card.id_number, card.name, card.address, PHOTO_MARKER.decode()):
        assert secret not in text
    assert "5101**********3012" in caplog.text
    assert d.counter_values()["reads"] == 2


def test_long_term_card_and_residence_permit(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                             reader: IdCardReaderSim) -> None:
    _d, reads = make_driver()
    reader.place("longterm")
    wait_for(lambda: reads.cards())
    assert reads.cards()[0].valid_to is None
    reader.remove()
    polls(reader)
    reader.place("permit")
    wait_for(lambda: len(reads.cards()) == 2)
    assert reads.cards()[1].id_number.startswith("81")


def test_an_expired_card_is_refused_with_a_clear_message(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                                         reader: IdCardReaderSim) -> None:
    _d, reads = make_driver()
    reader.place("expired")
    wait_for(lambda: reads.refused())
    r = reads.refused()[0]
    assert (r.key, r.until, r.kind) == ("expired", date(2020, 1, 1), "idcard")
    assert "身份证已过有效期" in r.reason and "2020年01月01日" in r.reason
    assert reads.cards() == []


def test_a_card_not_yet_valid_is_refused(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                         reader: IdCardReaderSim) -> None:
    from dataclasses import replace

    _d, reads = make_driver()
    reader.place(replace(CARDS["demo"], valid_from=date(2027, 1, 1)))
    wait_for(lambda: reads.refused())
    assert reads.refused()[0].key == "not_yet_valid"


def test_no_card_fault_reads_nothing_and_stays_ok(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                                  reader: IdCardReaderSim) -> None:
    d, reads = make_driver()
    reader.set_fault("no_card")
    reader.place("demo")
    polls(reader, 5)
    assert reads.items == [] and reader.counts["select"] == 0
    assert d.health.state == HealthState.OK
    reader.set_fault("no_card", False)
    wait_for(lambda: reads.cards())


def test_a_card_that_cannot_be_read_is_retried_then_refused(
        make_driver: Callable[..., tuple[IdCardReader, Reads]], reader: IdCardReaderSim) -> None:
    d, reads = make_driver(retries=2)
    reader.set_fault("unreadable")
    reader.place("demo")
    wait_for(lambda: reads.refused())
    assert reads.refused()[0].key == "unreadable" and "读卡失败" in reads.refused()[0].reason
    assert reader.counts["read"] == 3 and d.counter_values()["retries"] == 2
    # once per placement: the citizen lifts the card and puts it back, and it reads
    polls(reader, 5)
    assert len(reads.refused()) == 1
    reader.set_fault("unreadable", False)
    reader.remove()
    polls(reader)
    reader.place("demo")
    wait_for(lambda: reads.cards())
    assert d.health.state == HealthState.OK


def test_a_bad_checksum_is_caught_and_the_read_retried(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                                       reader: IdCardReaderSim) -> None:
    d, reads = make_driver()
    reader.place("demo")
    reader.corrupt_next(2)  # the find and the select answers arrive spoiled
    wait_for(lambda: reads.cards())
    assert d.counter_values()["bad_checksum"] >= 2
    assert reads.refused() == []


def test_a_text_block_the_driver_cannot_understand_is_refused(
        make_driver: Callable[..., tuple[IdCardReader, Reads]], reader: IdCardReaderSim) -> None:
    from dataclasses import replace

    _d, reads = make_driver()
    reader.place(CARDS["demo"], text=proto.encode_text(replace(CARDS["demo"], card_type="I")))
    wait_for(lambda: reads.refused())
    assert reads.refused()[0].key == "unsupported_card"


def test_a_reader_answering_only_spoiled_frames_degrades(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                                         reader: IdCardReaderSim) -> None:
    d, _reads = make_driver()
    reader.set_fault("bad_checksum")
    wait_for(lambda: d.health.state == HealthState.DEGRADED)
    assert "校验和" in d.health.reason
    reader.set_fault("bad_checksum", False)
    wait_for(lambda: d.health.state == HealthState.OK)


def test_a_reader_that_stops_answering_goes_offline_and_back(
        make_driver: Callable[..., tuple[IdCardReader, Reads]], reader: IdCardReaderSim) -> None:
    d, reads = make_driver(miss_limit=2)
    reader.set_fault("silent")
    wait_for(lambda: d.health.state == HealthState.OFFLINE)
    assert d.health.reason == "身份证阅读器无应答（检查电源和数据线）"
    reader.set_fault("silent", False)
    wait_for(lambda: d.health.state == HealthState.OK)
    reader.place("demo")
    wait_for(lambda: reads.cards())


def test_unplug_goes_offline_and_reopens(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                         reader: IdCardReaderSim) -> None:
    d, reads = make_driver()
    common.check_unplug_goes_offline_and_reopens(d, reader)
    reader.place("demo")
    wait_for(lambda: reads.cards())


def test_garbage_on_the_line_is_counted_and_ignored(make_driver: Callable[..., tuple[IdCardReader, Reads]],
                                                    reader: IdCardReaderSim) -> None:
    d, reads = make_driver()
    reader.send(b"\xff\x00garbage\xaa\xaa\xaa\x96\x69\x00")  # noise and a cut-off frame between two polls
    wait_for(lambda: d.counter_values()["garbage"] + d.counter_values()["bad_frame"] > 0)
    reader.place("demo")
    wait_for(lambda: reads.cards())
    assert d.health.state == HealthState.OK


def test_sim_url_places_a_card_and_takes_faults() -> None:
    d = from_config("idsim", {"kind": "idcard", "url": "sim://idcard-test-url?card=demo", "poll_interval": 0.05},
                    None)
    reads = Reads()
    d.on_read(reads)
    d.start()
    try:
        wait_for(lambda: reads.cards())
        assert reads.cards()[0].name_masked == "欧**华"
    finally:
        d.stop()
        simmod.forget("idcard-test-url")
    bad = from_config("idbad", {"kind": "idcard", "url": "sim://idcard-test-bad", "poll_interval": 0.05}, None)
    bad.url = bad.url.__class__("sim", "idcard-test-bad", options={"faults": "fire"})  # past the config check
    bad.start()
    try:
        wait_for(lambda: bad.health.state == HealthState.OFFLINE and "fire" in bad.health.reason)
    finally:
        bad.stop()


@pytest.mark.parametrize(("section", "option", "message"), [
    ({"url": "file:///tmp/x"}, "url", "must be serial://, tcp:// or sim://"),
    ({"url": "sim://x?card=nobody"}, "url", "card='nobody'"),
    ({"url": "sim://x?faults=fire"}, "url", "unknown fault 'fire'"),
    ({"url": "sim://x?photo=1"}, "url", "takes no option 'photo'"),
    ({"poll_interval": 0}, "poll_interval", "option 'poll_interval'"),
    ({"retries": 9}, "retries", "option 'retries'"),
    ({"window": 1}, "window", "option 'window' is not valid in section [devices.id9]"),
])
def test_config_errors_name_option_and_section(section: dict[str, Any], option: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_config("id9", {"kind": "idcard", "url": "sim://x", **section}, None)
    assert message in str(exc.value)
    assert exc.value.option == option and exc.value.section == "devices.id9"


def test_every_option_is_documented() -> None:
    from pathlib import Path

    from devices.idcard.driver import OPTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "devices-idcard.md").read_text(encoding="utf-8")
    for opt in OPTIONS:
        assert f"`{opt}`" in doc, opt
    for fault in simmod.FAULTS:
        assert f"`{fault}`" in doc, fault
