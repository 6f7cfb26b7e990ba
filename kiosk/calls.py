"""What a hall board may say now, without Qt: each open window's current number, the latest call first.  The board
screen and the headless demo's printed board both read it, so neither shows a number that has left its window."""
from __future__ import annotations

from typing import Any


def current_calls(windows: list[dict[str, Any]], call_seq: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Each open window's current ticket (called, or being served there), the latest call first (`call_seq`: the
    seq of each number's latest call heard, for calls within one clock tick).  A window holds one ticket at a time,
    so a number that left its window (过号, transferred, held, served, voided) leaves the board with it."""
    out = []
    for w in windows:
        t = w.get("current")
        if not t or w["state"] == "paused" or t["status"] not in ("called", "serving"):
            continue
        out.append({"number": t["number"], "window": w["number"], "window_name": w["name"],
                    "business": t.get("business", ""), "business_name": t.get("business_name", ""),
                    "status": t["status"], "called_at": t.get("called_at") or ""})
    seqs = call_seq or {}
    out.sort(key=lambda c: (c["called_at"], seqs.get(c["number"], 0)), reverse=True)
    return out
