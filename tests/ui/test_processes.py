"""Roles as separate processes on one store stay in step: a kiosk, a board, a caller and an evaluator, each a real
process as `hall run ROLE` builds it, see each other's changes through the store's event log (tests/ui/roles.py).
The time each takes is measured by bench/bench_ui.py; here only that it happens."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import DEMO_CONFIG
from tests.ui.roles import hall_round, start_roles


def test_four_role_processes_on_one_store_see_each_others_changes(tmp_path: Path) -> None:
    procs = start_roles(tmp_path / "hall.db", DEMO_CONFIG, home=tmp_path)
    try:
        took = hall_round(procs)  # each step awaited in another process (a generous deadline, not a time limit)
        assert set(took) == {"签到 → 评价器", "取号 → 叫号器", "呼叫 → 综合屏", "呼叫 → 取号机", "开始办理 → 综合屏",
                             "评价 → 评价器", "满意 → 叫号器"}
        assert procs["board"].now()["stale"] is False
        from kiosk.core.hall import Hall
        from kiosk.schema import load
        from kiosk.store import Store
        from tests.ui.roles import NOW

        store = Store(tmp_path / "hall.db")
        try:  # what the screens showed is what the store holds
            hall = Hall(load(DEMO_CONFIG), store, clock=lambda: NOW)
            assert hall.rating_summary()["distribution"]["satisfied"] == 1
            assert hall.window(1)["clerk_name"] == "王晓明" and hall.window(1)["current"]["status"] == "serving"
        finally:
            store.close()
    finally:
        for p in procs.values():
            p.close()
