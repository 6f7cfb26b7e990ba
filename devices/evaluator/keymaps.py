"""Key maps per keypad model: every key code a model can send, mapped explicitly onto the five 好差评 levels.

A key map is checked when it is built: it must cover exactly the codes the hardware can send, so a keypad that
sends a code we never thought about is a load-time error, not a silently dropped rating at the counter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kiosk.core.rating import Level


class _Unrated:
    """The citizen pressed 暂不评价 (or the keypad timed out on its own): not a level, an explicit non-rating."""

    _instance: _Unrated | None = None

    def __new__(cls) -> _Unrated:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNRATED"


UNRATED: Final = _Unrated()
Outcome = Level | _Unrated


class KeyMapError(ValueError):
    """A key map that does not cover its model's keys, or maps a key onto nothing we know."""


@dataclass(frozen=True, slots=True)
class KeyMap:
    model: str
    description: str
    codes: frozenset[int]  # every key code the hardware can send
    keys: dict[int, Outcome]

    def __post_init__(self) -> None:
        missing = sorted(self.codes - set(self.keys))
        extra = sorted(set(self.keys) - self.codes)
        if missing:
            raise KeyMapError(f"key map {self.model!r} does not map key code(s) {missing}")
        if extra:
            raise KeyMapError(f"key map {self.model!r} maps code(s) {extra} the keypad cannot send")
        for code, outcome in self.keys.items():
            if not (isinstance(outcome, Level) or outcome is UNRATED):
                raise KeyMapError(f"key map {self.model!r}: code {code} maps to {outcome!r}, not a Level or UNRATED")
            if not 0 <= code <= 255:
                raise KeyMapError(f"key map {self.model!r}: code {code} does not fit in one byte")

    def outcome(self, code: int) -> Outcome | None:
        """The level for a key code, UNRATED, or None for a code this model cannot send (count and ignore it)."""
        return self.keys.get(code)


def _map(model: str, description: str, keys: dict[int, Outcome]) -> KeyMap:
    return KeyMap(model, description, frozenset(keys), dict(keys))


# The common field 4-key keypad (DOMAIN.md §3): 0 is sent when the citizen presses 暂不评价 / the keypad gives up;
# its 一般 key is our 基本满意; it has no 非常不满意 key.  Note the odd order: 4 is the best.
KEY4: Final = _map(
    "key4",
    "四键评价器：0 未评 1 满意 2 一般 3 不满意 4 非常满意",
    {0: UNRATED, 1: Level.SATISFIED, 2: Level.BASIC, 3: Level.DISSATISFIED, 4: Level.VERY_SATISFIED},
)

# Five keys numbered in GB/T 39046-2020 A.8 order: 1 = 非常满意 … 5 = 非常不满意.
KEY5_GB: Final = _map(
    "key5-gb",
    "五键评价器（GB/T 39046 顺序）：1 非常满意 … 5 非常不满意",
    {1: Level.VERY_SATISFIED, 2: Level.SATISFIED, 3: Level.BASIC, 4: Level.DISSATISFIED, 5: Level.VERY_DISSATISFIED},
)

# Five keys numbered the provincial-upload way round (Zhejiang-style `satisfaction`): 1 = 非常不满意 … 5 = 非常满意.
KEY5_REV: Final = _map(
    "key5-rev",
    "五键评价器（省平台顺序）：1 非常不满意 … 5 非常满意",
    {1: Level.VERY_DISSATISFIED, 2: Level.DISSATISFIED, 3: Level.BASIC, 4: Level.SATISFIED, 5: Level.VERY_SATISFIED},
)

MODELS: Final[dict[str, KeyMap]] = {m.model: m for m in (KEY4, KEY5_GB, KEY5_REV)}
DEFAULT_MODEL: Final = KEY5_GB.model


def get(model: str) -> KeyMap:
    try:
        return MODELS[model]
    except KeyError:
        raise KeyMapError(f"unknown keypad model {model!r} (known: {', '.join(sorted(MODELS))})") from None
