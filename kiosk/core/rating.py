"""好差评 levels: one internal enum, and the code maps at the edges (GB/T 39046 vs provincial uploads)."""
from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def is_bad(self) -> bool:
        """差评: needs a reason, then verification and rectification."""
        return self in (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


LABELS: dict[Level, str] = {
    Level.VERY_SATISFIED: "非常满意",
    Level.SATISFIED: "满意",
    Level.BASIC: "基本满意",
    Level.DISSATISFIED: "不满意",
    Level.VERY_DISSATISFIED: "非常不满意",
}

ORDER: tuple[Level, ...] = tuple(LABELS)  # best first

# GB/T 39046-2020 A.8: 1 = 非常满意 … 5 = 非常不满意
GB39046_CODE: dict[Level, int] = {lv: i + 1 for i, lv in enumerate(ORDER)}
# Provincial upload interfaces (Zhejiang-style `satisfaction`): 1 = 非常不满意 … 5 = 非常满意 — the other way round.
PROVINCIAL_CODE: dict[Level, int] = {lv: 5 - i for i, lv in enumerate(ORDER)}


def from_gb39046(code: int) -> Level:
    for lv, c in GB39046_CODE.items():
        if c == code:
            return lv
    raise ValueError(f"not a GB/T 39046 satisfaction code: {code!r}")


def from_provincial(code: int) -> Level:
    for lv, c in PROVINCIAL_CODE.items():
        if c == code:
            return lv
    raise ValueError(f"not a provincial satisfaction code: {code!r}")


class Channel(StrEnum):
    """Where a rating came from; `pf` codes of provincial interfaces are mapped in sync's adapter."""

    PC = "pc"
    MOBILE = "mobile"
    QR = "qr"
    EVALUATOR = "evaluator"  # hall tablet / keypad evaluator (pf 4)
    TERMINAL = "terminal"  # other hall terminal (pf 5)
    SMS = "sms"
    DEFAULT = "default"  # system default, e.g. unrated counted as 满意 by policy (pf 7)


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.PC: "电脑端",
    Channel.MOBILE: "移动端",
    Channel.QR: "二维码",
    Channel.EVALUATOR: "评价器",
    Channel.TERMINAL: "大厅其他终端",
    Channel.SMS: "短信",
    Channel.DEFAULT: "系统默认",
}

PF_CODE: dict[Channel, int] = {
    Channel.PC: 1,
    Channel.MOBILE: 2,
    Channel.QR: 3,
    Channel.EVALUATOR: 4,
    Channel.TERMINAL: 5,
    Channel.SMS: 6,
    Channel.DEFAULT: 7,
}
