"""Offline voice clips: render words with espeak-ng once into a cache dir, then stitch announcements from them.

Clips are generated at install / first run (`python -m devices.voice.clips [DIR]`, or `ensure_clips(dir)`),
never committed.  Every clip is a mono 16-bit WAV at espeak-ng's rate with its leading and trailing silence
trimmed, so announcements are stitched with gaps we choose.

Voice: espeak-ng 1.51's ``cmn`` voice reads Chinese characters as pinyin *and then speaks the tone digits as
English* ("请" → "king three"); ``cmn-latn-pinyin`` reads them correctly and still says single Latin letters with
the Mandarin-style English letter names halls use (A "诶", B "比", C "西" …), so it is the default.
"""
from __future__ import annotations

import array
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VOICE = "cmn-latn-pinyin"
DEFAULT_SPEED = 150  # espeak-ng words per minute; a little slower than its default for a noisy hall
DIGITS = {str(i): w for i, w in enumerate("零一二三四五六七八九")}
LETTERS = {c: c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
# words spoken as one clip (better prosody than character by character); other Chinese characters in a template
# become single-character clips
WORDS = ("请", "号", "到", "窗口", "办理", "十", "百", "千", "再次", "前往")
PAUSE = "，"  # a template comma: a longer silence, no clip
DEFAULT_TEMPLATE = "请{number}号到{window}号窗口办理"
SILENCE_THRESHOLD = 400  # of 32767: below this at the ends of a clip is espeak-ng's padding
KEEP_MS = 15  # keep a little of the fade at each end so words do not click


class ClipError(RuntimeError):
    """Clips cannot be made or used (espeak-ng missing or failing, a clip in another format)."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Raw PCM frames and their format; every clip and announcement shares one format."""

    frames: bytes
    channels: int
    width: int
    rate: int

    @property
    def nframes(self) -> int:
        return len(self.frames) // (self.channels * self.width)

    @property
    def seconds(self) -> float:
        return self.nframes / self.rate

    def fmt(self) -> tuple[int, int, int]:
        return (self.channels, self.width, self.rate)


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hall" / "voice"


def spoken(key: str) -> str:
    """What espeak-ng is asked to say for a clip key."""
    return DIGITS.get(key, key)


def filename(key: str) -> str:
    if key in DIGITS:
        return f"digit-{key}.wav"
    if key in LETTERS:
        return f"letter-{key}.wav"
    return "word-" + "-".join(f"{ord(c):04x}" for c in key) + ".wav"


def base_keys() -> list[str]:
    return [*DIGITS, *LETTERS, *WORDS]


def clip_dir(base: str | Path, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED) -> Path:
    """Clips of different voices or speeds never mix: each pair has its own subdirectory."""
    return Path(base) / f"{voice}-{speed}"


def espeak_path() -> str | None:
    return shutil.which("espeak-ng")


def ensure_clips(
    base: str | Path | None = None,
    keys: Iterable[str] = (),
    *,
    voice: str = DEFAULT_VOICE,
    speed: int = DEFAULT_SPEED,
) -> int:
    """Render every missing clip (the base set plus `keys`); returns how many were rendered (0: all cached).

    The install step (`hall voice-clips --dir DIR`) and the announcer at start call this; existing clips are kept.
    """
    paths = clip_paths(base, keys, voice=voice, speed=speed)
    missing = [(k, p) for k, p in paths.items() if not p.exists()]
    if not missing:
        return 0
    exe = espeak_path()
    if exe is None:
        raise ClipError(
            f"espeak-ng is not installed, so {len(missing)} voice clip(s) cannot be made in "
            f"{clip_dir(base or default_dir(), voice, speed)} (./run setup installs it: apt-get install espeak-ng)"
        )
    missing[0][1].parent.mkdir(parents=True, exist_ok=True)
    for key, path in missing:
        _render(exe, key, path, voice, speed)
    return len(missing)


def clip_paths(
    base: str | Path | None = None,
    keys: Iterable[str] = (),
    *,
    voice: str = DEFAULT_VOICE,
    speed: int = DEFAULT_SPEED,
) -> dict[str, Path]:
    """Clip key → where its WAV is (or will be) for the base set plus `keys`."""
    d = clip_dir(base or default_dir(), voice, speed)
    return {k: d / filename(k) for k in dict.fromkeys([*base_keys(), *keys])}


def _render(exe: str, key: str, path: Path, voice: str, speed: int) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.wav")  # two processes may race
    try:
        proc = subprocess.run(
            [exe, "-v", voice, "-s", str(speed), "-w", str(tmp), spoken(key)],
            capture_output=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClipError(f"espeak-ng failed on {key!r}: {exc}") from exc
    if proc.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        err = proc.stderr.decode(errors="replace").strip()[-300:]
        raise ClipError(f"espeak-ng -v {voice} failed on {key!r} (exit {proc.returncode}): {err}")
    audio = trim(read_wav(tmp))
    if audio.nframes == 0:
        tmp.unlink(missing_ok=True)
        raise ClipError(f"espeak-ng -v {voice} produced silence for {key!r}: is the voice installed?")
    tmp.write_bytes(to_wav(audio))
    os.replace(tmp, path)  # a half-written clip never looks like a finished one


def read_wav(path: str | Path) -> Audio:
    try:
        with wave.open(str(path), "rb") as w:
            return Audio(w.readframes(w.getnframes()), w.getnchannels(), w.getsampwidth(), w.getframerate())
    except (OSError, EOFError, wave.Error) as exc:
        raise ClipError(f"cannot read clip {path}: {exc}") from exc


def to_wav(audio: Audio) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(audio.channels)
        w.setsampwidth(audio.width)
        w.setframerate(audio.rate)
        w.writeframes(audio.frames)
    return buf.getvalue()


def _samples(audio: Audio) -> array.array[int]:
    a = array.array("h")
    a.frombytes(audio.frames)
    if sys.byteorder == "big":
        a.byteswap()  # WAV is little-endian
    return a


def trim(audio: Audio) -> Audio:
    """Cut espeak-ng's leading and trailing near-silence (16-bit mono), keeping KEEP_MS at each end."""
    if audio.width != 2 or audio.channels != 1:
        return audio
    s = _samples(audio)
    first = next((i for i, v in enumerate(s) if abs(v) > SILENCE_THRESHOLD), None)
    if first is None:
        return Audio(b"", audio.channels, audio.width, audio.rate)
    last = next(i for i in range(len(s) - 1, -1, -1) if abs(s[i]) > SILENCE_THRESHOLD)
    keep = audio.rate * KEEP_MS // 1000
    lo, hi = max(0, first - keep), min(len(s), last + 1 + keep)
    return Audio(audio.frames[lo * 2:hi * 2], audio.channels, audio.width, audio.rate)


def silence(ms: int, like: Audio) -> Audio:
    n = like.rate * ms // 1000
    return Audio(bytes(n * like.channels * like.width), like.channels, like.width, like.rate)


def join(parts: list[Audio]) -> Audio:
    if not parts:
        raise ClipError("nothing to join")
    fmt = parts[0].fmt()
    for p in parts:
        if p.fmt() != fmt:
            raise ClipError(f"clip format {p.fmt()} differs from {fmt}: delete the clip cache and regenerate")
    return Audio(b"".join(p.frames for p in parts), *fmt)


# --- what to say --------------------------------------------------------------------------------------
_SLOT = re.compile(r"\{(\w*)\}")
SLOTS = ("number", "window")


def cardinal(n: int) -> list[str]:
    """A window number read as a Chinese number, as clip keys: 3 → 三, 12 → 十二, 20 → 二十, 105 → 一百零五."""
    if n < 0 or n > 9999:
        raise ValueError(f"cannot read {n} as a window number")
    if n < 10:
        return [str(n)]
    out: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十")]
    rest, zero = n, False
    for value, word in units:
        d, rest = divmod(rest, value)
        if d:
            if zero:
                out.append("0")
                zero = False
            if not (value == 10 and d == 1 and not out):  # 十二, not 一十二; but 一百一十
                out.append(str(d))
            out.append(word)
        elif out:
            zero = True
    if rest:
        if zero:
            out.append("0")
        out.append(str(rest))
    return out


def spell(number: str) -> list[str]:
    """A ticket number read key by key: A001 → A 0 0 1 (零零一, as halls call it)."""
    return [c for c in number.upper() if c in DIGITS or c in LETTERS]


def segment(text: str) -> list[str]:
    """Literal template text → clip keys: known words first (longest match), else one character each."""
    out: list[str] = []
    i = 0
    words = sorted(WORDS, key=len, reverse=True)
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in PAUSE + ",、。":
            out.append(PAUSE)
            i += 1
            continue
        w = next((w for w in words if text.startswith(w, i)), None)
        if w:
            out.append(w)
            i += len(w)
            continue
        if ch.upper() in LETTERS or ch in DIGITS:
            out.append(ch.upper())
        elif "\u4e00" <= ch <= "\u9fff":
            out.append(ch)
        else:
            raise ValueError(f"no clip can say {ch!r}")
        i += 1
    return out


def parse_template(template: str) -> list[str]:
    """Split a template into literal clip keys and slot markers ("{number}", "{window}"); ValueError if bad."""
    out: list[str] = []
    pos = 0
    seen: set[str] = set()
    for m in _SLOT.finditer(template):
        if m.group(1) not in SLOTS:
            raise ValueError(f"unknown placeholder {m.group(0)} (use {{number}} and {{window}})")
        out += segment(template[pos:m.start()])
        out.append(m.group(0))
        seen.add(m.group(1))
        pos = m.end()
    out += segment(template[pos:])
    for slot in SLOTS:
        if slot not in seen:
            raise ValueError(f"template needs {{{slot}}}")
    return out


def template_keys(template: str) -> list[str]:
    """The literal clip keys a template needs (to render them at start-up)."""
    return [t for t in parse_template(template) if not t.startswith("{") and t != PAUSE]


def tokens(template: str, number: str, window: int, *, window_style: str = "chinese") -> list[str]:
    """The clip keys of one announcement, in order (PAUSE marks a longer gap)."""
    out: list[str] = []
    for t in parse_template(template):
        if t == "{number}":
            out += spell(number)
        elif t == "{window}":
            out += cardinal(window) if window_style == "chinese" else list(str(window))
        else:
            out.append(t)
    return out


def main(argv: list[str] | None = None) -> int:
    """Install step: render every clip into DIR (default: the user's cache) and say where they are."""
    args = sys.argv[1:] if argv is None else argv
    base = Path(args[0]) if args else default_dir()
    try:
        made = ensure_clips(base)
    except ClipError as exc:
        print(f"voice clips: {exc}", file=sys.stderr)
        return 1
    print(f"voice clips: {len(clip_paths(base))} in {clip_dir(base)} ({made} rendered)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
