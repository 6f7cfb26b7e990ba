"""Device health said in Chinese for the hall's staff: kinds, states and reasons, and the order a list of devices is
read in (the ones that need a person first).  Drivers report their own attention states in Chinese already; a
transport error arrives as the operating system words it, and is said here."""
from __future__ import annotations

import re
from typing import Any

KIND_NAMES = {"printer": "打印机", "led": "LED 屏", "evaluator": "评价器", "voice": "语音播报",
              "idcard": "身份证阅读器",
              "scanner": "扫码器"}
STATE_NAMES = {"ok": "✔ 正常", "degraded": "▲ 异常", "offline": "✖ 离线"}
STATE_ORDER = {"offline": 0, "degraded": 1, "ok": 2}

# errno → what a person can check (the words Linux gives, in any locale, carry the number)
ERRNO_TEXT = {
    2: "设备不存在（没有接上，或配置的路径不对）",
    5: "输入输出错误（线缆或设备故障）",
    6: "设备已拔出或没有电",
    13: "没有权限（检查 udev 规则和 dialout 组）",
    16: "设备被其他程序占用",
    19: "设备不存在（没有接上）",
    32: "连接已断开",
    101: "网络不可达",
    104: "对方重置了连接",
    110: "连接超时（设备没有开机，或地址不对）",
    111: "对方拒绝连接（设备没有开机，或端口不对）",
    113: "网络不通（检查网线和交换机）",
}
_ERRNO = re.compile(r"\[Errno (\d+)\]")
_WHERE = [  # transport messages (devices/base.py, devices/voice) → what was being done, in Chinese
    (re.compile(r"^cannot open (\S+?):"), "无法打开 {0}"),
    (re.compile(r"^cannot connect to (\S+?):\s"), "无法连接 {0}"),
    (re.compile(r"^write to (\S+) failed"), "向 {0} 发送失败"),
    (re.compile(r"^send to (\S+) failed"), "向 {0} 发送失败"),
    (re.compile(r"^read from (\S+) failed"), "从 {0} 读取失败"),
    (re.compile(r"^recv from (\S+) failed"), "从 {0} 读取失败"),
    (re.compile(r"^(\S+) closed the connection"), "{0} 断开了连接"),
    (re.compile(r"^audio player '?([^' ]+)'? not found"), "找不到音频播放器 {0}"),
    (re.compile(r"^cannot create (\S+?):"), "无法创建目录 {0}"),
    (re.compile(r"^cannot write (\S+?):"), "无法写入 {0}"),
    (re.compile(r"^cannot run (\S+?):"), "无法运行 {0}"),
]
_HAN = re.compile(r"[\u4e00-\u9fff]")


def kind_text(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def state_text(state: str) -> str:
    return STATE_NAMES.get(state, state)


def reason_text(reason: str | None) -> str:
    """A driver's reason as a hall's staff reads it; a Chinese reason passes unchanged."""
    raw = (reason or "").strip()
    if not raw or _HAN.search(raw):
        return raw
    where = next((text.format(*m.groups()) for pattern, text in _WHERE if (m := pattern.search(raw))), "")
    errno = _ERRNO.search(raw)
    why = ERRNO_TEXT.get(int(errno.group(1)), "") if errno else ""
    if "timed out" in raw.lower() and not why:
        why = ERRNO_TEXT[110]
    return "：".join(p for p in (where, why) if p) or "通信故障"


def reason_detail(reason: str | None) -> str:
    """The reason in Chinese with the operating system's own words after it, for the technician."""
    raw = (reason or "").strip()
    said = reason_text(raw)
    return said if said == raw else f"{said}（{raw}）"


def by_attention(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Offline first, then degraded, then the working ones; by name within each."""
    return sorted(devices, key=lambda d: (STATE_ORDER.get(str(d.get("state")), 1), str(d.get("name", ""))))
