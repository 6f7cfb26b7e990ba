"""Device health said for the hall's staff, in Chinese unless a screen asks for another of the table's languages:
kinds, states and reasons, and the order a list of devices is read in (the ones that need a person first).  Drivers
report their own attention states in Chinese; the common ones are said in the screen's language (DRIVER_KEYS), the
others as the driver wrote them.  A transport error arrives as the operating system words it, and is said here."""
from __future__ import annotations

import re
from typing import Any

from kiosk.strings import STRINGS, tr

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
_WHERE = [  # transport messages (devices/base.py, devices/voice) → what was being done (string table keys)
    (re.compile(r"^cannot open (\S+?):"), "where_open"),
    (re.compile(r"^cannot connect to (\S+?):\s"), "where_connect"),
    (re.compile(r"^write to (\S+) failed"), "where_send"),
    (re.compile(r"^send to (\S+) failed"), "where_send"),
    (re.compile(r"^read from (\S+) failed"), "where_read"),
    (re.compile(r"^recv from (\S+) failed"), "where_read"),
    (re.compile(r"^(\S+) closed the connection"), "where_closed"),
    (re.compile(r"^audio player '?([^' ]+)'? not found"), "where_player"),
    (re.compile(r"^cannot create (\S+?):"), "where_mkdir"),
    (re.compile(r"^cannot write (\S+?):"), "where_write"),
    (re.compile(r"^cannot run (\S+?):"), "where_run"),
]
_HAN = re.compile(r"[\u4e00-\u9fff]")
# the drivers' own Chinese words for their commonest states → the string table (devices/printer, led, evaluator, voice)
DRIVER_KEYS: dict[str, str] = {STRINGS[k]["zh"]: k for k in (
    "dev_printer_paper_out", "dev_printer_paper_low", "dev_printer_cover_open", "dev_printer_cutter",
    "dev_printer_fault", "dev_printer_no_answer", "dev_printer_queue_full", "dev_printer_queue_slow",
    "dev_printer_stopped", "dev_led_no_answer", "dev_led_late", "dev_evaluator_bus", "dev_voice_no_player")}
_KEYPAD = re.compile(r"^(\d+)号窗口评价器（地址 (\d+)）无应答$")  # devices/evaluator/driver.py


def kind_text(kind: str, lang: str = "zh") -> str:
    key = f"kind_{kind}"
    return tr(lang, key) if key in STRINGS else KIND_NAMES.get(kind, kind)


def state_text(state: str, lang: str = "zh") -> str:
    key = f"dstate_{state}"
    return tr(lang, key) if key in STRINGS else STATE_NAMES.get(state, state)


def reason_text(reason: str | None, lang: str = "zh") -> str:
    """A driver's reason as a hall's staff reads it: its known words in `lang`, other Chinese as the driver wrote it,
    a transport error said from its errno."""
    raw = (reason or "").strip()
    if raw in DRIVER_KEYS:
        return tr(lang, DRIVER_KEYS[raw])
    if m := _KEYPAD.match(raw):
        return tr(lang, "dev_evaluator_window", window=m.group(1), address=m.group(2))
    if not raw or _HAN.search(raw):
        return raw
    where = next(((STRINGS[key].get(lang) or STRINGS[key]["zh"]).format(*m.groups())
                  for pattern, key in _WHERE if (m := pattern.search(raw))), "")
    errno = _ERRNO.search(raw)
    code = int(errno.group(1)) if errno else 0
    why = tr(lang, f"errno_{code}") if code in ERRNO_TEXT else ""
    if "timed out" in raw.lower() and not why:
        why = tr(lang, "errno_110")
    return ("：" if lang == "zh" else ": ").join(p for p in (where, why) if p) or tr(lang, "comm_fault")


def reason_detail(reason: str | None, lang: str = "zh") -> str:
    """The reason said, with the operating system's own words after it, for the technician."""
    raw = (reason or "").strip()
    said = reason_text(raw, lang)
    return said if said == raw else (f"{said}（{raw}）" if lang == "zh" else f"{said} ({raw})")


def by_attention(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Offline first, then degraded, then the working ones; by name within each."""
    return sorted(devices, key=lambda d: (STATE_ORDER.get(str(d.get("state")), 1), str(d.get("name", ""))))
