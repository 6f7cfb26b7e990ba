"""A simulated GA 467 ID card reader on a real pty: answers find/select/read like a SAM module, with cards a test or
the demo places and removes, and the faults a hall meets (no card seen, a card that cannot be read, a bad checksum,
a reader that stops answering, the USB cable pulled).

Like a real reader, once a card has been read it is not found again until it is taken off and put back (vendor
notes: "身份证成功读取后必须移出机具读取感应区…否则下次…找卡会出现找卡失败").  The cards are fictitious: their ID
numbers pass the GB 11643 check but name nobody.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from devices.base import sim_options
from devices.idcard import proto
from devices.idcard.proto import FIND, READ, SAM_STATUS, SELECT, CardText, Status
from devices.ptysim import PtySim
from kiosk.core.privacy import check_digit


def fictitious_id(body17: str) -> str:
    return body17 + check_digit(body17)


# A WLT photo is 1024 opaque bytes; the simulator's carries a marker so tests can prove it never leaves the driver.
PHOTO_MARKER = b"WLT-PHOTO-NEVER-LEAVES-THE-READER"
PHOTO = (PHOTO_MARKER * 32)[:proto.PHOTO_SIZE]

CARDS: dict[str, CardText] = {
    "demo": CardText(name="欧阳明华", sex="男", nation="汉", birth=date(1978, 3, 15),
                     address="四川省成都市锦江区测试路1号",
                     id_number=fictitious_id("51010419780315301"), issuer="成都市公安局锦江分局",
                     valid_from=date(2020, 5, 1), valid_to=date(2040, 5, 1)),
    "longterm": CardText(name="司马春燕", sex="女", nation="彝", birth=date(1950, 7, 7),
                         address="四川省凉山州西昌市测试街2号",
                         id_number=fictitious_id("51340119500707512"), issuer="西昌市公安局",
                         valid_from=date(2010, 1, 1), valid_to=None),
    "expired": CardText(name="诸葛建国", sex="男", nation="汉", birth=date(1990, 11, 1),
                        address="四川省绵阳市涪城区测试巷3号",
                        id_number=fictitious_id("51070319901101733"), issuer="绵阳市公安局涪城分局",
                        valid_from=date(2010, 1, 1), valid_to=date(2020, 1, 1)),
    "permit": CardText(name="陈大文", sex="男", nation="", birth=date(1985, 2, 2), address="香港特别行政区测试道4号",
                       id_number=fictitious_id("81000019850202118"), issuer="四川省成都市公安局",
                       valid_from=date(2021, 1, 1), valid_to=date(2031, 1, 1), card_type=proto.RESIDENCE_PERMIT),
}

FAULTS = ("no_card", "unreadable", "bad_checksum", "silent")


@dataclass
class Placed:
    card: CardText
    text: bytes  # its 256-byte block (a test may place a malformed one)
    found: bool = False  # found since placed: a select may follow
    selected: bool = False
    read_out: bool = False  # read since placed: not found again until put back


class IdCardReaderSim(PtySim):
    """The reader.  `place()`/`remove()` a card; faults are switches a test turns on and off."""

    def __init__(self, name: str = "idcard", *, link_dir: str | None = None, card: str | None = None,
                 faults: tuple[str, ...] = ()) -> None:
        super().__init__(name, link_dir=link_dir, prefix="ttyIdCard")
        self.placed: Placed | None = None
        self.no_card = "no_card" in faults  # the antenna sees nothing (card on the wrong spot, a shielded wallet)
        self.unreadable = "unreadable" in faults  # found and selected, but the read fails (41)
        self.corrupt = 1_000_000 if "bad_checksum" in faults else 0  # the next N replies carry a wrong CHK
        self.silent = "silent" in faults  # stops answering altogether
        self.counts = {"find": 0, "select": 0, "read": 0, "other": 0, "reads_ok": 0}
        self._decoder = proto.Decoder(host=False)
        if card is not None:
            self.place(card)

    # --- the script -----------------------------------------------------------------------------------
    def place(self, card: str | CardText, *, text: bytes | None = None) -> None:
        c = CARDS[card] if isinstance(card, str) else card
        with self._lock:
            self.placed = Placed(c, text if text is not None else proto.encode_text(c))

    def remove(self) -> None:
        with self._lock:
            self.placed = None

    def corrupt_next(self, n: int = 1) -> None:
        with self._lock:
            self.corrupt = n

    def set_fault(self, fault: str, on: bool = True) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} ({', '.join(FAULTS)})")
        with self._lock:
            if fault == "bad_checksum":
                self.corrupt = 1_000_000 if on else 0
            else:
                setattr(self, fault, on)

    # --- the reader's side ----------------------------------------------------------------------------
    def _received(self, data: bytes) -> bytes:
        out = bytearray()
        for req in self._decoder.feed(data):
            assert isinstance(req, proto.Request)
            if self.silent:
                continue
            frame = self._answer(req)
            if self.corrupt:
                self.corrupt -= 1
                frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
            out += frame
        return bytes(out)

    def _answer(self, req: proto.Request) -> bytes:
        p = self.placed
        cmd = req.command
        if cmd == FIND:
            self.counts["find"] += 1
            if p is None or self.no_card or p.read_out:
                if p is not None:
                    p.found = p.selected = False
                return proto.reply(Status.NOT_FOUND)
            p.found, p.selected = True, False
            return proto.reply(Status.FOUND, bytes(4))
        if cmd == SELECT:
            self.counts["select"] += 1
            if p is None or not p.found:
                return proto.reply(Status.SELECT_FAILED)
            p.selected = True
            return proto.reply(Status.OK, bytes(8))
        if cmd == READ:
            self.counts["read"] += 1
            if p is None or not p.selected or self.unreadable:
                return proto.reply(Status.READ_FAILED)
            p.read_out = True
            p.found = p.selected = False
            self.counts["reads_ok"] += 1
            return proto.reply(Status.OK, proto.read_data(p.text, PHOTO))
        if cmd == SAM_STATUS:
            self.counts["other"] += 1
            return proto.reply(Status.OK)
        self.counts["other"] += 1
        return proto.reply(Status.RX_COMMAND)

    def _unplugged(self) -> None:
        self._decoder.expire()


# Readers opened through sim:// URLs, by name, so a demo or a test can place cards on the reader behind a driver.
SIMS: dict[str, IdCardReaderSim] = {}
_SIMS_LOCK = threading.Lock()


def _card(text: str) -> str:
    if text not in CARDS:
        raise ValueError(f"must be one of {', '.join(CARDS)}")
    return text


def parse_faults(text: str) -> tuple[str, ...]:
    faults = tuple(f.strip() for f in text.split(",") if f.strip())
    for f in faults:
        if f not in FAULTS:
            raise ValueError(f"unknown fault {f!r}; faults are {', '.join(FAULTS)}")
    return faults


# sim://NAME?… options and their parsers (a bad value raises ValueError): the one list the config check reads too
URL_OPTIONS: Mapping[str, Callable[[str], object]] = {
    "card": _card,  # a card lying on the reader from the start (demo, longterm, expired, permit)
    "faults": parse_faults,  # switched on from the start: no_card, unreadable, bad_checksum, silent
}


def open_reader(name: str, opts: Mapping[str, str] | None = None) -> IdCardReaderSim:
    """The running simulator for ``sim://<name>``, started on first use.  A bad option raises TransportError: this
    runs on the driver's thread, where the reader then shows offline with that reason (the config check at
    start-up refuses it before that)."""
    values = sim_options(name, opts, URL_OPTIONS)
    with _SIMS_LOCK:
        sim = SIMS.get(name)
        if sim is None:
            sim = IdCardReaderSim(name, card=values.get("card"), faults=values.get("faults", ()))
            sim.start()
            SIMS[name] = sim
        return sim


def forget(name: str) -> None:
    """Stop and drop the simulator behind ``sim://<name>`` (tests)."""
    with _SIMS_LOCK:
        sim = SIMS.pop(name, None)
    if sim is not None:
        sim.stop()

