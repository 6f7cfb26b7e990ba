"""Staff accounts: PINs kept only as scrypt hashes, lock-out that survives a restart, the roster, one window per
clerk, the day's end signing everyone out, and a hall without accounts signing in by name as before."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core import staff as S
from kiosk.core.config import HallConfig
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import FakeClock

PIN = "246810"


@pytest.fixture
def bare(config: HallConfig, store: Store, clock: FakeClock) -> Hall:
    """A hall nobody is signed in at yet."""
    return Hall(config, store, clock=clock)


def clerk(hall: Hall, no: str = "1001", windows: tuple[int, ...] = (1, 2), role: str = "clerk",
          card: str | None = None) -> None:
    S.add(hall, no, "王芳", role, PIN, card=card)
    S.set_roster(hall, no, windows)


def kinds(hall: Hall) -> list[str]:
    return [e.kind for e in hall.events_after(0)]


def test_add_stores_only_a_scrypt_hash_and_events_never_carry_the_pin(bare: Hall) -> None:
    r = S.add(bare, "1001", "王芳", "clerk", PIN, card="CARD77")
    assert r.value.staff_no == "1001" and r.value.active and r.value.card == "CARD77"
    row = bare.store.conn().execute("SELECT pin_salt, pin_hash FROM staff").fetchone()
    assert len(row["pin_salt"]) == S.SALT_BYTES and row["pin_hash"] == hashlib.scrypt(
        PIN.encode(), salt=row["pin_salt"], n=S.SCRYPT_N, r=S.SCRYPT_R, p=S.SCRYPT_P, dklen=S.SCRYPT_DKLEN)
    S.reset_pin(bare, "1001", "135790")
    for _ in range(2):
        with pytest.raises(S.WrongPin):
            bare.sign_in_staff(1, "1001", PIN)
    dump = bare.store.conn().execute("SELECT group_concat(payload, ' ') FROM events").fetchone()[0]
    assert PIN not in dump and "135790" not in dump
    assert PIN.encode() not in Path(bare.store.path).read_bytes()
    assert kinds(bare)[:2] == [S.STAFF_ADDED, S.STAFF_PIN_RESET]


@pytest.mark.parametrize(("args", "err"), [
    (("10 01", "王芳", "clerk", PIN), S.BadStaffNo),
    (("1001", "", "clerk", PIN), S.BadStaffName),
    (("1001", "王芳", "boss", PIN), S.BadRole),
    (("1001", "王芳", "clerk", "12345"), S.BadPin),
    (("1001", "王芳", "clerk", "12345a"), S.BadPin),
])
def test_add_refuses_bad_fields(bare: Hall, args: tuple[str, str, str, str], err: type[E.HallError]) -> None:
    with pytest.raises(err):
        S.add(bare, *args)


def test_add_refuses_a_taken_number_or_badge(bare: Hall) -> None:
    S.add(bare, "1001", "王芳", "clerk", PIN, card="C1")
    with pytest.raises(S.StaffExists):
        S.add(bare, "1001", "李雷", "clerk", PIN)
    with pytest.raises(S.CardInUse, match="1001"):
        S.add(bare, "1002", "李雷", "clerk", PIN, card="C1")


def test_sign_in_with_pin_or_badge_then_sign_out(bare: Hall) -> None:
    clerk(bare, card="CARD77")
    r = bare.sign_in_staff(1, "1001", PIN)
    assert [e.kind for e in r.events] == [ev.WINDOW_SIGNED_IN]
    assert bare.window(1)["clerk_id"] == "1001" and bare.window(1)["clerk_name"] == "王芳"
    bare.issue_ticket("social")
    assert bare.call_next(1).value["number"] == "A001"  # a staffed window works
    bare.no_show(1)
    bare.sign_out(1)
    bare.sign_in_staff(2, "CARD77", PIN)  # the badge names the account; the PIN is still asked
    assert bare.window(2)["clerk_id"] == "1001"


def test_wrong_pin_says_tries_left_and_the_fifth_locks_for_15_minutes(bare: Hall, clock: FakeClock) -> None:
    clerk(bare)
    for left in (4, 3, 2, 1):
        with pytest.raises(S.WrongPin) as e:
            bare.sign_in_staff(1, "1001", "000000")
        assert e.value.params["tries_left"] == left and f"还可以再试 {left} 次" in e.value.message
    with pytest.raises(S.StaffLocked) as e:
        bare.sign_in_staff(1, "1001", "000000")
    assert "锁定至 09:15" in e.value.message
    with pytest.raises(S.StaffLocked):  # the right PIN does not open a lock early
        bare.sign_in_staff(1, "1001", PIN)
    refused = [e for e in bare.events_after(0) if e.kind == S.STAFF_SIGNIN_REFUSED]
    assert [e.payload["reason"] for e in refused] == ["wrong_pin"] * 4 + ["locked"] * 2
    assert all("pin" not in e.payload for e in refused)
    clock.advance(minutes=S.LOCK_MINUTES)
    bare.sign_in_staff(1, "1001", PIN)
    assert S.member(bare, "1001").failures == 0


def test_failures_and_lock_survive_a_restart(config: HallConfig, tmp_path: Path, clock: FakeClock) -> None:
    s1 = Store(tmp_path / "h.db")
    h1 = Hall(config, s1, clock=clock)
    clerk(h1)
    for _ in range(3):
        with pytest.raises(S.WrongPin):
            h1.sign_in_staff(1, "1001", "000000")
    s1.close()
    s2 = Store(tmp_path / "h.db")
    h2 = Hall(config, s2, clock=clock)
    with pytest.raises(S.WrongPin) as e:
        h2.sign_in_staff(1, "1001", "000000")
    assert e.value.params["tries_left"] == 1
    with pytest.raises(S.StaffLocked):
        h2.sign_in_staff(1, "1001", "000000")
    s2.close()
    s3 = Store(tmp_path / "h.db")
    with pytest.raises(S.StaffLocked):
        Hall(config, s3, clock=clock).sign_in_staff(1, "1001", PIN)
    s3.close()


def test_reset_pin_clears_a_lock(bare: Hall) -> None:
    clerk(bare)
    for _ in range(S.MAX_FAILURES):
        with pytest.raises(E.HallError):
            bare.sign_in_staff(1, "1001", "000000")
    S.reset_pin(bare, "1001", "112233")
    bare.sign_in_staff(1, "1001", "112233")


def test_unknown_number_is_said_as_a_wrong_pin(bare: Hall) -> None:
    clerk(bare)
    with pytest.raises(S.WrongPin):
        bare.sign_in_staff(1, "9999", PIN)
    assert bare.events_after(0)[-1].payload["reason"] == "unknown"


def test_disabled_account_is_refused_and_signed_out(bare: Hall) -> None:
    clerk(bare)
    bare.sign_in_staff(1, "1001", PIN)
    r = S.disable(bare, "1001")
    assert [e.kind for e in r.events] == [ev.WINDOW_SIGNED_OUT, S.STAFF_DISABLED]
    assert r.events[0].payload["reason"] == "disabled" and bare.window(1)["clerk_id"] is None
    with pytest.raises(S.StaffDisabled, match="1001 已停用"):
        bare.sign_in_staff(1, "1001", PIN)


def test_roster_windows_and_businesses(bare: Hall) -> None:
    clerk(bare, windows=(1,))
    with pytest.raises(S.NotOnRoster, match="未排班"):
        bare.sign_in_staff(3, "1001", PIN)
    assert bare.events_after(0)[-1].payload["reason"] == "roster"
    r = S.set_roster(bare, "1001", [2, 3], ["housing"])
    assert r.value.windows == (2, 3) and r.value.businesses == ("housing",)
    assert r.events[0].payload == {"staff_no": "1001", "windows": [2, 3], "businesses": ["housing"]}
    with pytest.raises(S.NotOnRoster):  # window 2 serves social and tax, none of the clerk's businesses
        bare.sign_in_staff(2, "1001", PIN)
    bare.sign_in_staff(3, "1001", PIN)
    with pytest.raises(S.UnknownRosterWindow):
        S.set_roster(bare, "1001", [42])
    with pytest.raises(S.UnknownRosterBusiness):
        S.set_roster(bare, "1001", [1], ["nope"])


def test_a_manager_covers_any_window_and_an_admin_none(bare: Hall) -> None:
    S.add(bare, "M01", "张经理", "manager", PIN)
    S.add(bare, "A01", "运维", "admin", PIN)
    bare.sign_in_staff(3, "M01", PIN)
    with pytest.raises(S.RoleNotAllowed, match="系统管理员不能在窗口签到"):
        bare.sign_in_staff(1, "A01", PIN)


def test_one_clerk_at_one_window(bare: Hall) -> None:
    clerk(bare)
    bare.sign_in_staff(1, "1001", PIN)
    bare.sign_in_staff(1, "1001", PIN)  # again at the same window: fine
    with pytest.raises(S.AlreadySignedIn, match="请先在那里签退"):
        bare.sign_in_staff(2, "1001", PIN)
    assert bare.events_after(0)[-1].payload["reason"] == "elsewhere"
    bare.sign_out(1)
    bare.sign_in_staff(2, "1001", PIN)


def test_accounts_make_the_pin_mandatory(bare: Hall) -> None:
    bare.sign_in(1, "c01", "测试员")  # no accounts: by name, as before
    assert not bare.has_staff_accounts()
    clerk(bare)
    assert bare.has_staff_accounts()
    with pytest.raises(S.PinRequired):
        bare.sign_in(2, "c02", "测试员")


def test_the_day_end_signs_accounts_out(bare: Hall, clock: FakeClock) -> None:
    clerk(bare)
    bare.sign_in_staff(1, "1001", PIN)
    clock.advance(days=1)
    out = [e for e in bare.tick() if e.kind == ev.WINDOW_SIGNED_OUT]
    assert [(e.payload["window"], e.payload["reason"]) for e in out] == [(1, "day_end")]
    assert bare.window(1)["clerk_id"] is None
    with pytest.raises(E.NoClerkSignedIn):
        bare.call_next(1)


def test_members_list_never_shows_the_hash(bare: Hall) -> None:
    clerk(bare, card="C9")
    (m,) = S.members(bare)
    assert m.to_dict() == {"staff_no": "1001", "name": "王芳", "role": "clerk", "role_label": "窗口人员",
                           "active": True, "card": "C9", "windows": [1, 2], "businesses": [], "failures": 0,
                           "locked_until": None}
