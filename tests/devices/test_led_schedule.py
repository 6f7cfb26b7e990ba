"""When LED frames go out (AreaScheduler): coalescing, the one-frame-per-interval limit, flash then steady, PINGs
only on an idle line; and what answers mean for health (ReplyHealth).

The clock is a number the test moves, so every timing rule is checked exactly and instantly.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import HealthState
from devices.led import proto
from devices.led.content import AreaContent
from devices.led.schedule import LATE_ANSWER, NO_ANSWER, AreaScheduler, Batch, ReplyHealth

WELCOME = AreaContent(0, "欢迎光临")


def call(n: int, flash: float = 3.0) -> AreaContent:
    return AreaContent(0, f"A{n:03d} 请到3号窗口", flash)


def run(sched: AreaScheduler, until: float, step: float = 0.01, start: float = 0.0) -> list[tuple[float, Batch]]:
    """Advance the clock, 'sending' whatever the scheduler hands out (each send succeeds at once)."""
    out = []
    t = start
    while t <= until + 1e-9:
        b = sched.take(t)
        if b is not None:
            sched.sent(b, t)
            out.append((round(t, 2), b))
        t = round(t + step, 6)
    return out


def texts(frames: list[tuple[float, Batch]]) -> list[tuple[float, str, bool]]:
    return [(t, c.text, flash) for t, b in frames for _, c, flash in b.items]


def test_initial_content_goes_out_at_once() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0)
    assert texts(run(s, 0.5)) == [(0.0, "欢迎光临", False)]


def test_flash_then_steady_after_flash_time() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0)
    run(s, 0.0)
    s.set(call(1), 2.0)
    assert texts(run(s, 8.0, start=2.0)) == [(2.0, "A001 请到3号窗口", True), (5.0, "A001 请到3号窗口", False)]


def test_steady_waits_for_the_limiter_when_flash_is_shorter() -> None:
    s = AreaScheduler([], min_interval=1.0)
    s.set(call(1, flash=0.3), 0.0)
    assert texts(run(s, 3.0)) == [(0.0, "A001 请到3号窗口", True), (1.0, "A001 请到3号窗口", False)]


def test_burst_coalesces_into_one_frame_and_ends_on_the_last() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0)
    run(s, 0.0)  # welcome at t=0
    for i in range(1, 21):
        s.set(call(i), 0.1 + i * 0.01)
    frames = texts(run(s, 6.0, start=0.1))
    assert frames == [(1.0, "A020 请到3号窗口", True), (4.0, "A020 请到3号窗口", False)]


def test_newer_content_cancels_a_pending_steady() -> None:
    s = AreaScheduler([], min_interval=1.0)
    s.set(call(1), 0.0)
    run(s, 0.0)
    assert run(s, 1.49, start=0.01) == []
    s.set(AreaContent(0, "欢迎光临"), 1.5)  # served and finished before the flash ended
    frames = texts(run(s, 6.0, start=1.5))
    assert frames == [(1.5, "欢迎光临", False)]  # no stale "A001" steady frame afterwards


def test_a_call_during_a_flash_flashes_the_new_number() -> None:
    s = AreaScheduler([], min_interval=1.0)
    s.set(call(1), 0.0)
    run(s, 0.0)
    s.set(call(2), 0.5)
    frames = texts(run(s, 6.0, start=0.01))
    assert frames == [(1.0, "A002 请到3号窗口", True), (4.0, "A002 请到3号窗口", False)]


def test_two_areas_share_one_frame() -> None:
    s = AreaScheduler([AreaContent(0, "calls"), AreaContent(1, "等候 0人")], min_interval=1.0)
    ((_, b),) = run(s, 0.5)
    assert [a for a, _, _ in b.items] == [0, 1]


def test_keepalive_ping_only_when_idle() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0, keepalive=2.0)
    frames = run(s, 4.5)
    assert [(t, b.is_ping) for t, b in frames] == [(0.0, False), (2.0, True), (4.0, True)]


def test_call_right_after_a_ping_goes_out_at_once() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0, keepalive=2.0)
    frames = run(s, 2.0)
    assert [(t, b.is_ping) for t, b in frames] == [(0.0, False), (2.0, True)]
    s.set(call(12), 2.0)  # the PING just went out: the content slot is still free
    b = s.take(2.0)
    assert b is not None and [(c.text, f) for _, c, f in b.items] == [("A012 请到3号窗口", True)]


def test_ping_waits_while_a_frame_is_pending() -> None:
    s = AreaScheduler([WELCOME], min_interval=5.0, keepalive=2.0)
    run(s, 0.0)
    s.set(call(1), 1.0)  # must wait for the slot at 5.0; the line is idle 2.0 s at 2.0 but a frame is pending
    frames = run(s, 5.0, start=1.0)
    assert [(t, b.is_ping) for t, b in frames] == [(5.0, False)]


def test_ping_waits_for_a_steady_frame_due_soon() -> None:
    s = AreaScheduler([], min_interval=1.0, keepalive=2.0)
    s.set(call(1, flash=3.0), 0.0)
    frames = run(s, 7.5)
    # the steady frame at 3.0 probes the controller anyway; the first PING comes 2 s after it
    assert [(t, b.is_ping) for t, b in frames] == [(0.0, False), (3.0, False), (5.0, True), (7.0, True)]


def test_burst_on_an_idle_board_sends_the_first_at_once_and_ends_on_the_last() -> None:
    s = AreaScheduler([WELCOME], min_interval=1.0, keepalive=2.0)
    frames = run(s, 10.0)
    assert frames[-1] == (10.0, Batch(()))  # a PING just went out
    sent = []
    for i in range(1, 21):  # 20 calls 10 ms apart, the first at the PING's moment
        t = round(10.0 + (i - 1) * 0.01, 2)
        s.set(call(i), t)
        sent += run(s, t, start=t)
    sent += run(s, 16.0, start=10.2)
    assert texts(sent) == [
        (10.0, "A001 请到3号窗口", True),  # the first call: not delayed
        (11.0, "A020 请到3号窗口", True),  # the other 19: one frame with the newest, at the next slot
        (14.0, "A020 请到3号窗口", False),
    ]
    assert [t for t, b in sent if b.is_ping] == [16.0]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 4.0), st.sampled_from([0.0, 0.3, 3.0])), min_size=1, max_size=30),
    st.sampled_from([0.3, 1.0, 2.0]),
    st.sampled_from([0.5, 1.0]),
)
def test_pings_never_hold_content_back(changes: list[tuple[float, float]], keepalive: float, interval: float) -> None:
    """Observed from outside: a change is sent the moment it arrives when no content frame went out in the last
    `interval` (PINGs do not count); no PING goes while a change is unsent; PINGs only after `keepalive` idle."""
    s = AreaScheduler([WELCOME], min_interval=interval, keepalive=keepalive)
    last_content = last_io = -1e9
    unsent: str | None = None
    t = 0.0

    def step(now: float) -> Batch | None:
        nonlocal last_content, last_io, unsent
        b = s.take(now)
        if b is None:
            return None
        s.sent(b, now)
        if b.is_ping:
            assert unsent is None, "PING while a change waited"
            assert now - last_io >= keepalive - 1e-9
        else:
            assert now - last_content >= interval - 1e-9
            last_content = now
            if unsent in [c.text for _, c, _ in b.items]:
                unsent = None
        last_io = now
        return b

    for n, (gap, flash) in enumerate(changes, 1):
        t_next = round(t + gap, 2)
        while t < t_next:
            step(t)
            t = round(t + 0.01, 2)
        s.set(call(n, flash), t)
        unsent = call(n).text
        free = t - last_content >= interval - 1e-9
        b = step(t)
        if free:
            assert b is not None and unsent is None, "a change waited although the slot was free"
        t = round(t + 0.01, 2)
    while t < t_next + 10.0:
        step(t)
        t = round(t + 0.01, 2)
    assert unsent is None


def test_failed_write_keeps_the_flash_and_the_latest() -> None:
    s = AreaScheduler([], min_interval=1.0)
    s.set(call(1), 0.0)
    b = s.take(0.0)
    assert b is not None
    s.failed(b)  # the cable was out: nothing went out, nothing was sent()
    s.set(call(2), 0.2)
    b2 = s.take(0.3)
    assert b2 is not None and [(c.text, f) for _, c, f in b2.items] == [("A002 请到3号窗口", True)]
    assert b2.since == 0.0  # the latency clock keeps running from the first unsent change


def test_unacknowledged_call_is_resent_steady() -> None:
    s = AreaScheduler([], min_interval=1.0)
    s.set(call(1), 0.0)
    b = s.take(0.0)
    assert b is not None
    s.sent(b, 0.0)
    s.failed(b, keep_flash=False)
    assert texts(run(s, 5.0, start=0.01)) == [(1.0, "A001 请到3号窗口", False)]


def test_resend_all_after_reopen_is_steady() -> None:
    s = AreaScheduler([AreaContent(0, "x"), AreaContent(1, "y")], min_interval=1.0)
    run(s, 0.0)
    s.set(call(5), 0.5)
    s.resend_all()
    frames = texts(run(s, 3.0, start=0.5))
    assert frames[0] == (1.0, "A005 请到3号窗口", False) and (1.0, "y", False) in frames


def test_slow_mode_probes_once_a_second() -> None:
    s = AreaScheduler([], min_interval=0.05)
    s.slow = True
    s.set(AreaContent(0, "a"), 0.0)
    run(s, 0.0)
    s.set(AreaContent(0, "b"), 0.1)
    assert texts(run(s, 2.0, start=0.1)) == [(1.0, "b", False)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 0.5), st.integers(0, 1), st.integers(0, 99), st.sampled_from([0.0, 0.3, 3.0])),
        min_size=1,
        max_size=40,
    )
)
def test_never_faster_than_the_limit_and_ends_on_the_latest(changes: list[tuple[float, int, int, float]]) -> None:
    s = AreaScheduler([AreaContent(0, "w"), AreaContent(1, "0")], min_interval=1.0)
    t, sent, latest = 0.0, [], {0: "w", 1: "0"}
    last_frame: dict[int, tuple[str, bool]] = {}
    for gap, area, n, flash in changes:
        t_next = round(t + gap, 2)
        sent += run(s, t_next, start=t)
        t = round(t_next + 0.01, 2)
        s.set(AreaContent(area, f"{area}:{n}", flash), t_next)
        latest[area] = f"{area}:{n}"
    sent += run(s, t + 10.0, start=t)
    times = [ts for ts, _ in sent]
    assert all(b - a >= 1.0 - 1e-6 for a, b in itertools.pairwise(times))
    for _, b in sent:
        for area, c, flash in b.items:
            last_frame[area] = (c.text, flash)
    # the board ends on the latest text of every area, and steady
    assert {a: txt for a, (txt, _) in last_frame.items()} == latest
    assert not any(flash for _, flash in last_frame.values())


@pytest.mark.parametrize("interval", [0.05, 1.0, 2.5])
def test_frame_rate_bound(interval: float) -> None:
    s = AreaScheduler([], min_interval=interval)
    frames = []
    t = 0.0
    for i in range(300):  # a change every 10 ms for 3 s
        s.set(AreaContent(0, str(i)), t)
        b = s.take(t)
        if b is not None:
            s.sent(b, t)
            frames.append(t)
        t = round(t + 0.01, 6)
    assert len(frames) <= int(3.0 / interval) + 1


# --- what answers mean for health ---------------------------------------------------------------------------
ACK = proto.ack()
NACK_MEM = proto.nack(proto.ERR_MEMORYVOLUME)


def verdicts(h: ReplyHealth, steps: list[tuple[str, tuple[int, ...]]]) -> list[tuple[HealthState, str]]:
    """Feed answers in order; return the health after each, with repeats dropped (what listeners would see)."""
    out: list[tuple[HealthState, str]] = []
    for what, areas in steps:
        v = h.no_reply() if what == "miss" else h.reply(ACK if what == "ack" else NACK_MEM, areas)
        if not out or out[-1] != v:
            out.append(v)
    return out


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # a controller silent for 100 probes: one change to degraded, one to offline, whatever the count
        ([("miss", ())] * 100, [(HealthState.DEGRADED, LATE_ANSWER), (HealthState.OFFLINE, NO_ANSWER)]),
        # it answers again: the reason clears
        (
            [("miss", ())] * 5 + [("ack", (0,))],
            [(HealthState.DEGRADED, LATE_ANSWER), (HealthState.OFFLINE, NO_ANSWER), (HealthState.OK, "")],
        ),
        ([("miss", ()), ("ack", ())], [(HealthState.DEGRADED, LATE_ANSWER), (HealthState.OK, "")]),
        # a refused area stays degraded through answered PINGs, and clears when that area is accepted
        (
            [("nack", (0,)), ("ack", ()), ("ack", ()), ("ack", (0,))],
            [(HealthState.DEGRADED, "控制器拒绝：ERR_MEMORYVOLUME"), (HealthState.OK, "")],
        ),
        (
            [("nack", (0,)), ("ack", (1,))],
            [(HealthState.DEGRADED, "控制器拒绝：ERR_MEMORYVOLUME")],  # another area's success is not this one's
        ),
        # refused, then silent, then back: offline wins while silent, the refusal shows again after
        (
            [("nack", (0,)), ("miss", ()), ("miss", ()), ("miss", ()), ("ack", ()), ("ack", (0,))],
            [
                (HealthState.DEGRADED, "控制器拒绝：ERR_MEMORYVOLUME"),
                (HealthState.DEGRADED, LATE_ANSWER),
                (HealthState.OFFLINE, NO_ANSWER),
                (HealthState.DEGRADED, "控制器拒绝：ERR_MEMORYVOLUME"),
                (HealthState.OK, ""),
            ],
        ),
    ],
    ids=["silent-100", "silent-then-back", "one-miss", "refusal-survives-pings", "other-area", "refused-silent"],
)
def test_reply_health(steps: list[tuple[str, tuple[int, ...]]], expected: list[tuple[HealthState, str]]) -> None:
    h = ReplyHealth(max_misses=2)
    assert verdicts(h, steps) == expected
    assert h.missed == sum(1 for what, _ in steps if what == "miss")
