"""The command context: every event records who did it and from which terminal, without any command taking them as
arguments (kiosk/core/context.py)."""
from __future__ import annotations

import threading

import pytest

from kiosk.core import context as C
from kiosk.core import staff as S
from kiosk.core.hall import Hall
from kiosk.store import Store


def who(hall: Hall, since: int = 0) -> list[tuple[str, str, str]]:
    return [(e.kind, e.actor, e.terminal) for e in hall.store.events_after(since, 10_000)]


def test_each_event_names_its_actor_and_terminal(hall: Hall, clock) -> None:
    start = hall.store.last_seq()
    with C.acting(C.Operator("citizen", "kiosk")):
        t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)  # no context: a window command is its signed-in clerk's
    with C.acting(C.Operator("system", "caller-1")):  # a caller screen: the clerk, at that terminal
        hall.start_service(1)
    with C.acting(C.Operator("citizen", "evaluator-1")):
        hall.finish_service(1)  # an odd place for it, but the clerk is still the one who did it
        hall.rate(t["id"], "satisfied")
    with C.acting(C.CONSOLE):
        hall.set_notice("系统维护")
    hall.report_device_health("printer-1", "printer", "fault", "缺纸")
    assert who(hall, start) == [
        ("ticket.issued", "citizen", "kiosk"),
        ("ticket.called", "staff:c01", ""),
        ("service.started", "staff:c01", "caller-1"),
        ("service.finished", "staff:c01", "evaluator-1"),
        ("rating.recorded", "citizen", "evaluator-1"),
        ("notice.changed", "console", "cli"),
        ("device.health", "device:printer-1", ""),
    ]


def test_a_person_in_the_context_is_not_replaced_by_the_window_clerk(hall: Hall) -> None:
    start = hall.store.last_seq()
    with C.acting(C.staff("m01", "dashboard", "manager")):  # a manager pauses window 2 from the dashboard
        hall.pause(2, "午休")
    assert who(hall, start) == [("window.paused", "staff:m01", "dashboard")]


def test_sign_in_and_out_are_the_clerks_and_day_end_is_the_systems(hall: Hall, clock) -> None:
    hall.sign_out(2)
    with C.acting(C.Operator("system", "caller-2")):
        hall.sign_in(2, "c22", "王五")
    start = hall.store.last_seq()
    clock.advance(days=1)
    hall.tick()
    day_end = [w for w in who(hall, start)]
    assert day_end[0] == ("day.closed", "system", "")
    events = hall.store.events_after(0, 1000)
    assert [(e.actor, e.terminal) for e in events if e.kind == "window.signed_in" and e.payload["window"] == 2] \
        == [("staff:c02", ""), ("staff:c22", "caller-2")]
    assert next((e.actor, e.terminal) for e in events if e.kind == "window.signed_out" and e.payload["window"] == 2) \
        == ("staff:c02", "")


def test_the_rollover_before_a_command_is_the_systems_not_the_commands(hall: Hall, clock) -> None:
    clock.advance(days=1)
    start = hall.store.last_seq()
    with C.acting(C.Operator("citizen", "kiosk")):
        hall.issue_ticket("social")
    kinds = who(hall, start)
    assert kinds[0] == ("day.closed", "system", "")
    assert kinds[-1] == ("ticket.issued", "citizen", "kiosk")


def test_staff_sign_in_refusals_and_admin_commands_are_recorded(hall: Hall) -> None:
    with C.acting(C.CONSOLE):
        S.add(hall, "0012", "李四", "clerk", "135790")
        S.set_roster(hall, "0012", [3])
    with C.acting(C.Operator("system", "caller-3")):
        with pytest.raises(S.WrongPin):
            hall.sign_in_staff(3, "0012", "000000")
        hall.sign_in_staff(3, "0012", "135790")
    rows = [(e.kind, e.actor, e.terminal) for e in hall.store.events_after(0, 1000) if e.kind.startswith(("staff.",
                                                                                                           "window.signed_in"))]
    assert ("staff.added", "console", "cli") in rows and ("staff.roster_set", "console", "cli") in rows
    assert ("staff.signin_refused", "system", "caller-3") in rows
    assert rows[-1] == ("window.signed_in", "staff:0012", "caller-3")


def test_the_context_is_per_thread(hall: Hall) -> None:
    seen: list[C.Operator | None] = []
    with C.acting(C.Operator("citizen", "kiosk")):
        th = threading.Thread(target=lambda: seen.append(C.current()))
        th.start()
        th.join()
        assert C.current() == C.Operator("citizen", "kiosk")
    assert seen == [None] and C.current() is None


def test_actor_and_terminal_survive_a_restart_and_old_events_read_empty(hall: Hall, config, clock, tmp_path) -> None:
    with C.acting(C.Operator("citizen", "kiosk")):
        hall.issue_ticket("social")
    again = Hall(config, hall.store, clock=clock)
    e = again.store.events_after(0, 10_000)[-1]
    assert (e.actor, e.terminal) == ("citizen", "kiosk")
    assert e.to_dict()["actor"] == "citizen"
    # an event from before the audit migration: '' for both (nobody recorded who did it then)
    with hall.store.write() as c:
        c.execute("UPDATE events SET actor = '', terminal = '' WHERE seq = ?", (e.seq,))
    old = Store.events_after(hall.store, e.seq - 1, 1)[0]
    assert (old.actor, old.terminal) == ("", "")


@pytest.mark.parametrize("actor", ["someone", "staff:", "staff:a b", "device:", ""])
def test_a_malformed_actor_is_refused(actor: str) -> None:
    with pytest.raises(ValueError):
        C.Operator(actor)


def test_a_malformed_terminal_is_refused() -> None:
    with pytest.raises(ValueError):
        C.Operator("citizen", "kiosk 1")


def test_a_device_named_by_any_toml_key_gets_an_operator(hall: Hall) -> None:
    """[devices."打印机 1"] is a valid TOML table: its reports and its keypad's terminal must not fail on the name."""
    op = C.device("打印机 1")
    assert (op.actor, op.terminal) == ("device:打印机1", "device:打印机1")
    hall.report_device_health("打印机 1", "printer", "fault", "缺纸")
    assert hall.store.events_after(0, 10_000)[-1].actor == "device:打印机1"
