"""The offline voice announcer: clip order, espeak-ng clip generation, stitched WAV length, queueing and health."""
from __future__ import annotations

import itertools
import json
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.base import HealthState
from devices.voice import clips, from_config
from devices.voice.announcer import Announcement, Announcer
from kiosk.core import events as k
from kiosk.core.errors import ConfigError
from kiosk.core.events import Event
from tests.devices.common import wait_for

_seq = itertools.count(1)


def ev(kind: str, number: str, window: int, recall: int = 0, ticket_id: str | None = None) -> Event:
    n = next(_seq)
    ticket = {"id": ticket_id or f"id-{number}", "number": number, "window": window}
    return Event(n, f"e{n}", kind, "2026-11-24T01:00:00+00:00", "2026-11-24",
                 {"ticket": ticket, "window": window, "window_name": f"{window}号窗口", "clerk": None,
                  "recall": recall})




# --- what is said, in what order (no audio needed) ------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "window", "style", "expected"),
    [
        ("A001", 3, "chinese", ["请", "A", "0", "0", "1", "号", "到", "3", "号", "窗口", "办理"]),
        ("b123", 12, "chinese", ["请", "B", "1", "2", "3", "号", "到", "十", "2", "号", "窗口", "办理"]),
        ("C007", 20, "chinese", ["请", "C", "0", "0", "7", "号", "到", "2", "十", "号", "窗口", "办理"]),
        ("Z900", 105, "chinese", ["请", "Z", "9", "0", "0", "号", "到", "1", "百", "0", "5", "号", "窗口", "办理"]),
        ("C007", 20, "digits", ["请", "C", "0", "0", "7", "号", "到", "2", "0", "号", "窗口", "办理"]),
    ],
)
def test_clip_order(number: str, window: int, style: str, expected: list[str]) -> None:
    assert clips.tokens(clips.DEFAULT_TEMPLATE, number, window, window_style=style) == expected


@pytest.mark.parametrize(
    ("n", "said"),
    [(0, "零"), (7, "七"), (10, "十"), (11, "十一"), (20, "二十"), (99, "九十九"), (100, "一百"), (101, "一百零一"),
     (110, "一百一十"), (1001, "一千零一"), (1010, "一千零一十"), (2019, "二千零一十九")],
)
def test_window_numbers_read_as_chinese_numbers(n: int, said: str) -> None:
    assert "".join(clips.spoken(key) for key in clips.cardinal(n)) == said


def test_custom_recall_template_with_a_pause() -> None:
    toks = clips.tokens("请{number}号，再次到{window}号窗口", "A12", 4)
    assert toks == ["请", "A", "1", "2", "号", clips.PAUSE, "再次", "到", "4", "号", "窗口"]
    assert clips.template_keys("请{number}号到{window}号柜台") == ["请", "号", "到", "号", "柜", "台"]


@pytest.mark.parametrize(
    ("template", "message"),
    [("请{number}号到{win}号窗口", "unknown placeholder {win}"), ("请{number}号办理", "needs {window}"),
     ("请{number}号到{window}号窗口!", "no clip can say '!'")],
)
def test_bad_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        clips.parse_template(template)


# --- clips made by espeak-ng -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clip_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if clips.espeak_path() is None:
        pytest.fail("espeak-ng is not installed: ./run setup installs it (apt-get install espeak-ng)")
    base = tmp_path_factory.mktemp("voice-clips")
    clips.ensure_clips(base, ["柜", "台"])
    return base


def test_ensure_clips_renders_every_clip_once_in_one_format(clip_base: Path) -> None:
    d = clips.clip_dir(clip_base)
    assert clips.ensure_clips(clip_base) == 0  # the fixture made them all
    paths = clips.clip_paths(clip_base)
    assert set(paths) == set(clips.base_keys())
    fmts = set()
    for key, path in paths.items():
        a = clips.read_wav(path)
        assert a.seconds > 0.05, key  # espeak-ng said something
        assert a.seconds < 2.0, key  # and its padding was trimmed
        fmts.add(a.fmt())
    assert fmts == {(1, 2, 22050)}
    # a second run renders nothing: the files are untouched
    before = {p: p.stat().st_mtime_ns for p in d.iterdir()}
    clips.ensure_clips(clip_base, ["柜", "台"])
    assert {p: p.stat().st_mtime_ns for p in d.iterdir()} == before


def test_missing_clip_is_rendered_on_demand(clip_base: Path) -> None:
    path = clips.clip_dir(clip_base) / clips.filename("7")
    path.unlink()
    assert clips.ensure_clips(clip_base) == 1
    assert clips.read_wav(path).nframes > 0


def test_without_espeak_missing_clips_fail_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(clips.ClipError, match="espeak-ng is not installed"):
        clips.ensure_clips(tmp_path / "cache")


def test_unknown_voice_fails_clearly(clip_base: Path, tmp_path: Path) -> None:
    with pytest.raises(clips.ClipError, match="voice does not exist"):
        clips.ensure_clips(tmp_path, voice="xx-no-such-voice")
    assert not list(clips.clip_dir(tmp_path, "xx-no-such-voice").iterdir())  # no half-made clip left behind


# --- stitched announcements -------------------------------------------------------------------------------
@pytest.fixture
def make(clip_base: Path, tmp_path: Path) -> Iterator[Callable[..., Announcer]]:
    started: list[Announcer] = []

    def factory(start: bool = True, **opts: Any) -> Announcer:
        section = {"kind": "voice", "sink": f"file://{tmp_path / 'out'}", "clips_dir": str(clip_base), **opts}
        a = from_config("voice1", section, None)
        if start:
            a.start()
        started.append(a)
        return a

    yield factory
    for a in started:
        a.stop()


def outputs(tmp_path: Path) -> list[str]:
    d = tmp_path / "out"
    return sorted(p.name for p in d.glob("*.wav")) if d.exists() else []


@pytest.mark.parametrize(("number", "window", "repeat"), [("A001", 3, 1), ("B123", 12, 2), ("C7", 105, 3)])
def test_wav_is_the_clips_plus_gaps(number: str, window: int, repeat: int, make: Callable[..., Announcer],
                                    clip_base: Path, tmp_path: Path) -> None:
    a = make(repeat=repeat, gap_ms=60, repeat_gap_ms=500)
    a.handle_event(ev(k.TICKET_CALLED, number, window))
    wait_for(lambda: outputs(tmp_path))
    with wave.open(str(tmp_path / "out" / outputs(tmp_path)[0]), "rb") as w:
        nframes, rate = w.getnframes(), w.getframerate()
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
    toks = clips.tokens(clips.DEFAULT_TEMPLATE, number, window)
    clip_frames = sum(clips.read_wav(clips.clip_dir(clip_base) / clips.filename(t)).nframes for t in toks)
    once = clip_frames + (len(toks) - 1) * (rate * 60 // 1000)
    assert nframes == repeat * once + (repeat - 1) * (rate * 500 // 1000)


def test_recall_replaces_a_still_queued_identical_call(make: Callable[..., Announcer], tmp_path: Path) -> None:
    a = make(start=False)
    a.handle_event(ev(k.TICKET_CALLED, "A001", 3))
    a.handle_event(ev(k.TICKET_CALLED, "B002", 4))
    a.handle_event(ev(k.TICKET_RECALLED, "A001", 3, recall=1))
    a.handle_event(ev(k.TICKET_RECALLED, "A001", 3, recall=2))
    # the same ticket called at another window is another announcement
    a.handle_event(ev(k.TICKET_CALLED, "A001", 5))
    assert a.queued() == ["A001-w3-r2", "B002-w4", "A001-w5"]
    a.start()
    wait_for(lambda: len(outputs(tmp_path)) == 3)
    assert outputs(tmp_path) == ["00001-A001-w3-r2.wav", "00002-B002-w4.wav", "00003-A001-w5.wav"]
    assert a.counters["replaced"] == 2


PLAYER = """
import sys, time, json
data = sys.stdin.buffer.read()
start = time.time()
time.sleep(0.15)
with open(sys.argv[1], "a") as f:
    f.write(json.dumps([start, time.time(), len(data)]) + "\\n")
"""


def test_announcements_never_cut_each_other_off(make: Callable[..., Announcer], tmp_path: Path) -> None:
    script, log = tmp_path / "player.py", tmp_path / "played.jsonl"
    script.write_text(PLAYER)
    a = make(sink="system", player=[sys.executable, str(script), str(log)])
    for i, n in enumerate(["A001", "A002", "A003"]):
        a.handle_event(ev(k.TICKET_CALLED, n, i + 1))
    wait_for(lambda: a.counters["played"] == 3)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    for prev, cur in itertools.pairwise(rows):
        assert cur[0] >= prev[1]  # each starts after the previous one ended
    assert len(rows) == 3 and all(r[2] > 44 for r in rows)  # a whole WAV each, not a header
    assert a.health.state == HealthState.OK


def test_recall_of_the_call_being_played_is_announced_again(make: Callable[..., Announcer], tmp_path: Path) -> None:
    script, log = tmp_path / "player.py", tmp_path / "played.jsonl"
    script.write_text(PLAYER)
    a = make(sink="system", player=[sys.executable, str(script), str(log)])
    a.handle_event(ev(k.TICKET_CALLED, "A001", 3))
    wait_for(lambda: not a.queued())  # playing now, so no longer queued
    a.handle_event(ev(k.TICKET_RECALLED, "A001", 3, recall=1))
    wait_for(lambda: a.counters["played"] == 2)
    assert a.counters["replaced"] == 0


def test_stale_announcements_are_dropped(make: Callable[..., Announcer], tmp_path: Path) -> None:
    a = make(start=False, max_age=0.05)
    a.announce(Announcement("t1", "A001", 3, 0, time.monotonic() - 1))
    a.handle_event(ev(k.TICKET_CALLED, "A002", 3))
    a.start()
    wait_for(lambda: outputs(tmp_path))
    assert outputs(tmp_path) == ["00001-A002-w3.wav"]
    assert a.counters["stale"] == 1


def test_other_events_are_not_announced(make: Callable[..., Announcer], tmp_path: Path) -> None:
    a = make(start=False)
    a.handle_event(ev(k.TICKET_ISSUED, "A001", 3))
    a.handle_event(ev(k.SERVICE_FINISHED, "A001", 3))
    assert a.queued() == []
    assert a.event_kinds == {k.TICKET_CALLED, k.TICKET_RECALLED}


# --- health -----------------------------------------------------------------------------------------------
def test_no_espeak_and_no_clips_is_offline_and_calls_still_return(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    a = from_config("voice2", {"kind": "voice", "sink": f"file://{tmp_path / 'out'}",
                               "clips_dir": str(tmp_path / "nothing")})
    a.start()
    try:
        wait_for(lambda: "espeak-ng" in a.health.reason)
        assert a.health.state == HealthState.OFFLINE
        for i in range(100):  # more than the queue holds: the oldest go, the caller never waits
            a.handle_event(ev(k.TICKET_CALLED, f"A{i:03d}", 1))
        assert a.counters["overflow"] == 100 - 32
        assert a.queued()[0] == "A068-w1" and len(a.queued()) == 32
    finally:
        a.stop()


def test_no_player_is_offline(make: Callable[..., Announcer]) -> None:
    a = make(start=False, sink="system", player=["no-such-player-xyz"])
    a.start()
    wait_for(lambda: "no-such-player-xyz" in a.health.reason)
    assert a.health.state == HealthState.OFFLINE


def test_failing_player_degrades_then_recovers(make: Callable[..., Announcer], tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    flag.write_text("1")
    script = tmp_path / "flaky.py"
    script.write_text(
        "import os, sys\nsys.stdin.buffer.read()\n"
        f"if os.path.exists({str(flag)!r}):\n    print('device busy', file=sys.stderr)\n    sys.exit(1)\n"
    )
    a = make(sink="system", player=[sys.executable, str(script)])
    a.handle_event(ev(k.TICKET_CALLED, "A001", 1))
    wait_for(lambda: a.health.state == HealthState.DEGRADED)
    assert "device busy" in a.health.reason
    wait_for(lambda: a.counters["failed"] == 1)  # tried twice, then given up: it never blocks the queue
    flag.unlink()
    a.handle_event(ev(k.TICKET_CALLED, "A002", 1))
    wait_for(lambda: a.health.state == HealthState.OK)
    assert a.counters["played"] == 1


# --- config -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "option", "message"),
    [
        ({"volume": 5}, "volume", "option 'volume' is not valid in section [devices.voice9]"),
        ({"sink": "hdmi"}, "sink", "must be \"system\" or \"file:///dir\""),
        ({"repeat": 0}, "repeat", "from 1 to 5"),
        ({"repeat": "2"}, "repeat", "from 1 to 5"),
        ({"template": "请{number}号"}, "template", "needs {window}"),
        ({"recall_template": "{number}{window}★"}, "recall_template", "no clip can say"),
        ({"window_style": "roman"}, "window_style", "chinese or digits"),
        ({"player": "vlc"}, "player", "must be auto"),
        ({"max_age": 0}, "max_age", "positive"),
        ({"kind": "printer"}, "kind", "must be 'voice'"),
    ],
)
def test_config_errors_name_option_and_section(section: dict[str, Any], option: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_config("voice9", {"kind": "voice", **section})
    assert message in str(exc.value)
    assert (exc.value.option, exc.value.section) == (option, "devices.voice9")


def test_clips_are_not_in_the_source_tree() -> None:
    root = Path(__file__).resolve().parents[2] / "devices" / "voice"
    assert not [p for p in root.rglob("*.wav")]


def test_calls_and_recalls_from_a_real_hall_are_announced(hall: Any, make: Callable[..., Announcer],
                                                          tmp_path: Path) -> None:
    a = make()
    hall.subscribe(a.handle_event, set(a.event_kinds))
    number = hall.issue_ticket("social").value.ticket["number"]
    hall.call_next(2)
    wait_for(lambda: len(outputs(tmp_path)) == 1)
    hall.recall(2)
    wait_for(lambda: len(outputs(tmp_path)) == 2)
    assert outputs(tmp_path) == [f"00001-{number}-w2.wav", f"00002-{number}-w2-r1.wav"]


def test_every_option_is_documented() -> None:
    from devices.voice.announcer import OPTIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "devices-voice.md").read_text()
    for opt in OPTIONS:
        assert f"{opt} = " in doc, opt
