"""The voice announcer: ticket.called / ticket.recalled → "请A001号到3号窗口办理", queued, stitched, played.

One worker thread plays announcements one after another, so they never cut each other off.  A recall while the
same call (same ticket, same window) is still queued replaces it in place instead of stacking a second one.
Sinks: ``system`` pipes the WAV to the first audio player found (paplay, aplay, or sox's play) or a configured
one; ``file:///dir`` writes each announcement as a WAV file (tests, machines without audio).

Health: clips missing and espeak-ng missing, or no player → offline with the reason; a player that fails →
degraded until one plays again.  `handle_event` only appends to the queue: it never waits on audio.
"""
from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.base import DeviceWorker, HealthState, TransportError
from devices.config import own_options
from devices.voice import clips
from devices.voice.clips import Audio, ClipError
from devices.voice.config import PLAYERS, VoiceSection
from kiosk.core import events as ev_kinds
from kiosk.core.events import Event
from kiosk.core.sections import read_section


@dataclass
class Announcement:
    ticket_id: str
    number: str
    window: int
    recall: int  # 0 for the first call
    queued_at: float
    attempts: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.ticket_id or self.number, self.window)

    @property
    def label(self) -> str:
        return f"{self.number}-w{self.window}" + (f"-r{self.recall}" if self.recall else "")


class FileSink:
    """Writes each announcement to DIR/<n>-<number>-w<window>.wav."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"cannot create {self.dir}: {exc}") from exc
        self.count = len(list(self.dir.glob("*.wav")))

    def play(self, wav: bytes, label: str, seconds: float) -> None:
        self.count += 1
        path = self.dir / f"{self.count:05d}-{label}.wav"
        tmp = path.with_suffix(".part")
        try:
            tmp.write_bytes(wav)
            tmp.replace(path)
        except OSError as exc:
            raise TransportError(f"cannot write {path}: {exc}") from exc

    # the Transport protocol, so DeviceWorker can hold a sink like any transport
    def write(self, data: bytes) -> int:
        self.play(data, "announcement", 0.0)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return b""

    def close(self) -> None:
        return None


class PlayerSink:
    """Pipes the WAV into an audio player and waits for it to finish (so nothing overlaps)."""

    def __init__(self, argv: list[str]) -> None:
        exe = shutil.which(argv[0])
        if exe is None:
            raise TransportError(f"audio player {argv[0]!r} not found")
        self.argv = [exe, *argv[1:]]
        self.name = Path(argv[0]).name

    @classmethod
    def find(cls, preference: str | list[str] = "auto") -> PlayerSink:
        if isinstance(preference, list):
            return cls(preference)
        names = list(PLAYERS) if preference == "auto" else [preference]
        for name in names:
            if shutil.which(name):
                return cls(PLAYERS[name])
        raise TransportError("没有可用的音频播放器（paplay、aplay 或 sox 的 play）")

    def play(self, wav: bytes, label: str, seconds: float) -> None:
        try:
            proc = subprocess.run(self.argv, input=wav, capture_output=True, timeout=seconds + 10, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PlayerFailed(f"{self.name} hung playing {label}") from exc
        except OSError as exc:
            raise TransportError(f"cannot run {self.name}: {exc}") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise PlayerFailed(f"{self.name} exit {proc.returncode}: {err[-1] if err else ''}"[:200])

    def write(self, data: bytes) -> int:
        self.play(data, "announcement", 60.0)
        return len(data)

    def read(self, size: int = 1) -> bytes:
        return b""

    def close(self) -> None:
        return None


class PlayerFailed(RuntimeError):
    """The player ran but could not play (no sound card, device busy): the announcer is degraded, not gone."""


Sink = FileSink | PlayerSink


class Announcer(DeviceWorker):
    kind = "voice"

    def __init__(
        self,
        name: str,
        *,
        sink: str = "system",
        player: str | list[str] = "auto",
        clips_dir: str | Path | None = None,
        voice: str = clips.DEFAULT_VOICE,
        speed: int = clips.DEFAULT_SPEED,
        template: str = clips.DEFAULT_TEMPLATE,
        recall_template: str | None = None,
        repeat: int = 1,
        gap_ms: int = 60,
        pause_ms: int = 250,
        repeat_gap_ms: int = 700,
        window_style: str = "chinese",
        max_age: float = 60.0,
        max_pending: int = 32,
    ) -> None:
        super().__init__(name, max_backoff=2.0)
        self.sink_spec, self.player = sink, player
        self.clips_dir = Path(clips_dir) if clips_dir else clips.default_dir()
        self.voice, self.speed = voice, speed
        self.template = template
        self.recall_template = recall_template or template
        clips.parse_template(self.template)  # fail at construction, not at the first call
        clips.parse_template(self.recall_template)
        self.repeat, self.gap_ms, self.pause_ms, self.repeat_gap_ms = repeat, gap_ms, pause_ms, repeat_gap_ms
        self.window_style = window_style
        self.max_age = max_age
        self._pending: deque[Announcement] = deque()
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._audio: dict[str, Audio] = {}
        self.played: list[str] = []  # labels, newest last (bounded): what the dashboard shows as "last calls"
        self.counters = {"played": 0, "replaced": 0, "stale": 0, "overflow": 0, "failed": 0}

    # --- public -------------------------------------------------------------------------------------
    @property
    def event_kinds(self) -> frozenset[str]:
        return frozenset({ev_kinds.TICKET_CALLED, ev_kinds.TICKET_RECALLED})

    def handle_event(self, ev: Event) -> None:
        if ev.kind not in (ev_kinds.TICKET_CALLED, ev_kinds.TICKET_RECALLED):
            return
        ticket = ev.payload.get("ticket") or {}
        window = ev.payload.get("window")
        number = ticket.get("number")
        if not number or not isinstance(window, int):
            self.log.warning("%s: %s without a number or window; not announced", self.name, ev.kind)
            return
        recall = int(ev.payload.get("recall") or 0) if ev.kind == ev_kinds.TICKET_RECALLED else 0
        self.announce(Announcement(ticket.get("id", ""), number, window, recall, time.monotonic()))

    def announce(self, a: Announcement) -> None:
        """Queue one announcement; an identical call still waiting is replaced in place (no stacking)."""
        with self._lock:
            for i, queued in enumerate(self._pending):
                if queued.key == a.key:
                    self._pending[i] = a
                    self.counters["replaced"] += 1
                    break
            else:
                if len(self._pending) >= self._max_pending:
                    dropped = self._pending.popleft()
                    self.counters["overflow"] += 1
                    self.log.warning("%s: queue full, dropped %s", self.name, dropped.label)
                self._pending.append(a)
        self.submit("wake")

    def queued(self) -> list[str]:
        with self._lock:
            return [a.label for a in self._pending]

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = dict(self.health.status())
        st["queued"] = len(self._pending)
        st["counters"] = dict(self.counters)
        return st

    def tokens(self, a: Announcement) -> list[str]:
        template = self.recall_template if a.recall else self.template
        return clips.tokens(template, a.number, a.window, window_style=self.window_style)

    def render(self, a: Announcement) -> Audio:
        """The whole announcement (repeats included) as one piece of audio; clips must be loaded."""
        once: list[Audio] = []
        toks = self.tokens(a)
        first = self._clip(toks[0])
        gap = clips.silence(self.gap_ms, first)
        for i, t in enumerate(toks):
            if t == clips.PAUSE:
                once.append(clips.silence(self.pause_ms, first))
                continue
            if i and toks[i - 1] != clips.PAUSE:
                once.append(gap)
            once.append(self._clip(t))
        parts: list[Audio] = []
        for r in range(self.repeat):
            if r:
                parts.append(clips.silence(self.repeat_gap_ms, first))
            parts += once
        return clips.join(parts)

    # --- worker -------------------------------------------------------------------------------------
    def _open(self) -> Sink:
        keys = clips.template_keys(self.template) + clips.template_keys(self.recall_template)
        try:
            clips.ensure_clips(self.clips_dir, keys, voice=self.voice, speed=self.speed)
            paths = clips.clip_paths(self.clips_dir, keys, voice=self.voice, speed=self.speed)
            self._audio = {k: clips.read_wav(p) for k, p in paths.items()}
        except ClipError as exc:
            raise TransportError(str(exc)) from exc
        if self.sink_spec.startswith("file://"):
            return FileSink(self.sink_spec[len("file://"):])
        return PlayerSink.find(self.player)

    def _requeue(self, job: Any) -> None:
        # announcements live in self._pending, not in the job; one wake-up after reopen is enough
        self.submit("wake")

    def _handle(self, job: Any, transport: Any) -> None:
        sink: Sink = transport
        while not self._stop.is_set():
            with self._lock:
                if not self._pending:
                    return
                a = self._pending.popleft()  # from here on it is playing, not queued: a recall queues anew
            if time.monotonic() - a.queued_at > self.max_age:
                self.counters["stale"] += 1
                self.log.info("%s: %s waited too long; not announced", self.name, a.label)
                continue
            self._play(sink, a)

    def _play(self, sink: Sink, a: Announcement) -> None:
        try:
            audio = self.render(a)
        except (ClipError, KeyError, ValueError) as exc:
            self.counters["failed"] += 1
            self.log.error("%s: cannot build %s: %s", self.name, a.label, exc)
            return
        try:
            sink.play(clips.to_wav(audio), a.label, audio.seconds)
        except PlayerFailed as exc:
            a.attempts += 1
            self._set_health(HealthState.DEGRADED, f"播放失败：{exc}")
            if a.attempts < 2:
                with self._lock:
                    self._pending.appendleft(a)
            else:
                self.counters["failed"] += 1
            return
        except TransportError:
            a.attempts += 1
            if a.attempts < 2:
                with self._lock:
                    self._pending.appendleft(a)
            raise
        self.counters["played"] += 1
        self.played = [*self.played[-19:], a.label]
        self._set_health(HealthState.OK)

    def _clip(self, key: str) -> Audio:
        try:
            return self._audio[key]
        except KeyError:
            raise ClipError(f"no clip for {key!r}") from None


# --- config ---------------------------------------------------------------------------------------------
OPTIONS = frozenset(own_options(VoiceSection))


def from_config(name: str, section: dict[str, Any], hall_config: Any = None) -> Announcer:
    """Build the announcer for ``[devices.<name>]``, read through VoiceSection (devices/voice/config.py)."""
    c = read_section(VoiceSection, section, ("devices", name), hall=hall_config)
    return Announcer(
        name,
        sink=c.sink,
        player=c.player,
        clips_dir=c.clips_dir,
        voice=c.voice,
        speed=c.speed,
        template=c.template,
        recall_template=c.recall_template,
        repeat=c.repeat,
        gap_ms=c.gap_ms,
        repeat_gap_ms=c.repeat_gap_ms,
        window_style=c.window_style,
        max_age=c.max_age,
    )
