"""[devices.NAME] with kind = "voice": every option of the offline announcer, declared once (docs/devices-voice.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from devices.config import DeviceSection
from devices.voice import clips
from kiosk.core.sections import OptionError

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

# player → the arguments that make it read a WAV from stdin
PLAYERS: dict[str, list[str]] = {
    "paplay": ["paplay"],
    "aplay": ["aplay", "-q", "-"],
    "play": ["play", "-q", "-t", "wav", "-"],
}


class VoiceSection(DeviceSection, kw_only=True):
    """Call announcements from espeak-ng clips rendered once, played in order."""

    kind: Literal["voice"] = "voice"
    sink: Annotated[str, Meta(description=(
        "`\"system\"` (the sound card through `player`) or `\"file:///dir\"` (one WAV per announcement)"),
        extra={"expect": "\"system\" or \"file:///dir\""})] = "system"
    player: Annotated[str | list[str], Meta(description=(
        "`\"auto\"`, " + ", ".join(f"`\"{p}\"`" for p in PLAYERS) + ", or a command list reading a WAV on stdin"),
        extra={"expect": "auto, " + ", ".join(PLAYERS) + " or a command list reading a WAV on stdin"})] = "auto"
    repeat: Annotated[int, Meta(ge=1, le=5, description="times each call is said")] = 1
    clips_dir: Annotated[str, Meta(min_length=1, description=(
        "where rendered clips are kept (default: the user's cache, /var/cache/hall/voice for the server)"))] \
        | None = None
    voice: Annotated[str, Meta(min_length=1, description="the espeak-ng voice")] = clips.DEFAULT_VOICE
    speed: Annotated[int, Meta(ge=80, le=450, description="espeak-ng words per minute")] = clips.DEFAULT_SPEED
    template: Annotated[str, Meta(description=(
        "what a call says; needs `{number}` and `{window}`"))] = clips.DEFAULT_TEMPLATE
    recall_template: Annotated[str, Meta(description=(
        "what a recall says (default: `template`)"))] | None = None
    gap_ms: Annotated[int, Meta(ge=0, le=2000, description="silence between clips, ms")] = 60
    repeat_gap_ms: Annotated[int, Meta(ge=0, le=5000, description="silence between repeats, ms")] = 700
    window_style: Annotated[Literal["chinese", "digits"], Meta(description=(
        "window numbers as numbers (`\"chinese\"`: 12 → 十二) or digit by digit (`\"digits\"`)"),
        extra={"expect": "chinese or digits"})] = "chinese"
    max_age: Annotated[float, Meta(gt=0, description=(
        "seconds an announcement may wait; an older one is dropped, never said late"))] = 60.0

    def check(self, hall: HallConfig | None) -> None:
        if not (self.sink == "system" or (self.sink.startswith("file://") and len(self.sink) > 7)):
            raise OptionError("sink", f"must be \"system\" or \"file:///dir\" (got {self.sink!r})")
        if isinstance(self.player, str) and self.player != "auto" and self.player not in PLAYERS:
            raise OptionError("player", f"must be auto, {', '.join(PLAYERS)} or a command list reading a WAV on "
                                        f"stdin (got {self.player!r})")
        if isinstance(self.player, list) and not self.player:
            raise OptionError("player", "must name a command")
        for option in ("template", "recall_template"):
            text = getattr(self, option)
            if text is not None:
                try:
                    clips.parse_template(text)
                except ValueError as exc:
                    raise OptionError(option, f"is not valid: {exc}") from None
