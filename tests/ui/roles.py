"""Role screens as separate processes on one store, as `hall run ROLE` builds them (kiosk.ui.app.open_role): each
child is driven over stdin and says on stdout what its screen shows whenever that changes.  The cross-process tests
and bench/bench_ui.py use it.

Child: python -m tests.ui.roles ROLE DB CONFIG  (prints {"ready": …}, then {"view": {...}, "t": …} on each change and
{"did": cmd, "t": …} after each command; `t` is time.monotonic(), one clock for every process on the machine)."""
from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # a Tuesday, 09:30 in the hall: every business takes tickets
CLERK = ("c01", "王晓明")


# --- the child ---------------------------------------------------------------------------------------------------
def _view(role: str, s: Any) -> dict[str, Any]:
    """What a person sees on the screen, as text."""
    if role == "kiosk":
        return {"social": s.business_buttons["social"].text()}
    if role == "board":
        return {"headline": s.new_banner.text(), "rows": [[n.text(), w.text(), b.text()] for _f, n, w, b in s.rows
                                                           if n.text()],
                "social": s.count_labels["social"].text(), "stale": s.stale}
    if role == "caller":
        return {"clerk": s.clerk_label.text(), "current": s.current_label.text(), "waiting": s.waiting_list.count(),
                "rating": s.rating_label.text() if s.rating_label.isVisible() else ""}
    return {"header": s.header.text(), "page": s.stack.currentIndex(), "prompt": s.prompt.text()}


def _command(role: str, s: Any, cmd: str) -> None:
    from kiosk.core.rating import Level

    verb, _, arg = cmd.partition(" ")
    if role == "kiosk" and verb == "take":
        s.go_home()  # the next citizen
        s.business_buttons[arg].click()
    elif role == "caller" and verb == "sign_in":
        s.clerk_id.setText(CLERK[0])
        s.clerk_name.setText(CLERK[1])
        s.sign_in_button.click()
    elif role == "caller":
        s.buttons[verb].click()
    elif role == "evaluator" and verb == "face":
        s.faces[Level(arg)].click()
    else:
        raise ValueError(f"{role} cannot {cmd!r}")


def child(role: str, db: str, config: str) -> int:
    from PySide6.QtCore import QObject, Qt, QTimer, Signal

    from kiosk.ui import app as app_module

    app = app_module._app()
    run = app_module.open_role(role, config, db, window=1, devices=False, clock=lambda: NOW)
    size = {"kiosk": (1080, 1920), "evaluator": (800, 480), "caller": (1366, 768)}.get(role, (1920, 1080))
    run.screen.resize(*size)
    run.screen.show()

    def say(**kw: Any) -> None:
        print(json.dumps({**kw, "t": time.monotonic()}, ensure_ascii=False), flush=True)

    class Doorway(QObject):  # stdin is read in a thread; commands run in the Qt thread
        line = Signal(str)

    door = Doorway()
    last: list[Any] = [None]

    def look() -> None:
        v = _view(role, run.screen)
        if v != last[0]:
            last[0] = v
            say(view=v)

    def on_line(text: str) -> None:
        if text == "quit":
            app.quit()
            return
        _command(role, run.screen, text)
        say(did=text)
        look()

    door.line.connect(on_line, Qt.ConnectionType.QueuedConnection)

    def read() -> None:
        for raw in sys.stdin:
            door.line.emit(raw.strip())
        door.line.emit("quit")

    threading.Thread(target=read, daemon=True).start()
    watch = QTimer()
    watch.timeout.connect(look)
    watch.start(5)  # what the screen shows, to within 5 ms
    say(ready=role)
    look()
    try:
        return app.exec()
    finally:
        watch.stop()
        run.close()


# --- the parent --------------------------------------------------------------------------------------------------
class Role:
    """One child process and what it said, in order."""

    def __init__(self, role: str, db: Path, config: Path, env: dict[str, str]) -> None:
        self.role = role
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.ui.roles", role, str(db), str(config)], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8")
        self.lines: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self.views: list[tuple[float, dict[str, Any]]] = []
        self.done: dict[str, float] = {}
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if "view" in msg:
                self.views.append((msg["t"], msg["view"]))
            if "did" in msg:
                self.done[msg["did"]] = msg["t"]
            self.lines.put(msg)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.err.extend(self.proc.stderr)

    def send(self, cmd: str, timeout: float = 30.0) -> float:
        """Run a command in the child; returns when it ran there (monotonic)."""
        assert self.proc.stdin is not None
        self.done.pop(cmd, None)  # the same command again: wait for this run of it
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        end = time.monotonic() + timeout
        while cmd not in self.done:
            self._alive(end)
            time.sleep(0.005)
        return self.done[cmd]

    def seen(self, check: Callable[[dict[str, Any]], bool], after: float, timeout: float = 30.0) -> float:
        """When this screen first showed a view passing `check`, at or after `after` (monotonic)."""
        end = time.monotonic() + timeout
        while True:
            for t, v in list(self.views):
                if t >= after and check(v):
                    return t
            self._alive(end, f"{self.role} never showed it; last view: {self.views[-1][1] if self.views else None}")
            time.sleep(0.005)

    def now(self) -> dict[str, Any]:
        return self.views[-1][1] if self.views else {}

    def _alive(self, end: float, what: str = "") -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.role} exited {self.proc.returncode}: {''.join(self.err)[-3000:]}")
        if time.monotonic() > end:
            raise AssertionError(what or f"{self.role} did not answer")

    def ready(self, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while True:
            self._alive(end, f"{self.role} did not start: {''.join(self.err)[-3000:]}")
            try:
                if "ready" in self.lines.get(timeout=0.1):
                    return
            except queue.Empty:
                continue

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


def start_roles(db: Path, config: Path, roles: tuple[str, ...] = ("kiosk", "board", "caller", "evaluator"),
                home: Path | None = None) -> dict[str, Role]:
    """The store made once (its schema, its windows), then one process per role on it, each ready."""
    from kiosk.core.hall import Hall
    from kiosk.schema import load
    from kiosk.store import Store

    store = Store(db)
    Hall(load(config), store, clock=lambda: NOW)
    store.close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    if home is not None:
        env["HOME"] = str(home)
    env.pop("QT_IM_MODULE", None)
    procs = {r: Role(r, db, config, env) for r in roles}
    try:
        for p in procs.values():
            p.ready()
    except BaseException:
        for p in procs.values():
            p.close()
        raise
    return procs


def waiting(kiosk_view: dict[str, Any]) -> int | None:
    """How many wait for 社保, as the kiosk's button says it ("等候 3 人")."""
    m = re.search(r"等候\s*(\d+)\s*人", kiosk_view.get("social", ""))
    return int(m.group(1)) if m else None


def hall_round(p: dict[str, Role], sign_in: bool = True) -> dict[str, float]:
    """One citizen through the hall, each step pressed in one process and awaited in another: seconds from the press
    to the other screen showing it.  The clerk signs in first (`sign_in`), once."""
    lat: dict[str, float] = {}
    if sign_in:
        t = p["caller"].send("sign_in")
        lat["签到 → 评价器"] = p["evaluator"].seen(lambda v: CLERK[1] in v["header"], t) - t
    before = p["caller"].now().get("waiting", 0)
    t = p["kiosk"].send("take social")
    lat["取号 → 叫号器"] = p["caller"].seen(lambda v: v["waiting"] == before + 1, t) - t
    p["kiosk"].seen(lambda v: waiting(v) == before + 1, t)  # its own ticket, counted on its own button
    t = p["caller"].send("call")
    called = {"n": ""}

    def on_board(v: dict[str, Any]) -> bool:
        if v["rows"] and v["rows"][0][1] == "→ 1号窗口" and v["headline"].endswith("号到 1号窗口 办理"):
            called["n"] = v["rows"][0][0]
            return True
        return False

    lat["呼叫 → 综合屏"] = p["board"].seen(on_board, t) - t
    lat["呼叫 → 取号机"] = p["kiosk"].seen(lambda v: waiting(v) == before, t) - t  # one fewer waiting
    assert called["n"]
    t = p["caller"].send("start")
    lat["开始办理 → 综合屏"] = p["board"].seen(lambda v: [called["n"], "1号窗口", "正在办理"] in v["rows"], t) - t
    t = p["caller"].send("rate")
    lat["评价 → 评价器"] = p["evaluator"].seen(lambda v: v["page"] == 1 and called["n"] in v["prompt"], t) - t
    t = p["evaluator"].send("face satisfied")
    lat["满意 → 叫号器"] = p["caller"].seen(lambda v: v["rating"] == f"✔ {called['n']} 已评价：满意", t) - t
    return lat


if __name__ == "__main__":
    raise SystemExit(child(*sys.argv[1:4]))
