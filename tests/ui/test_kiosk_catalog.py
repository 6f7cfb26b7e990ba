"""The catalogue drives the kiosk without a restart, within what the hall TOML allows: a business it adds appears,
one it renames says the new name, one it closes says 暂停取号 with its message, a `fixed` one stays as the TOML says;
every 办事指南 item of a business can be reached."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from kiosk.ui.client import HallClient
from kiosk.ui.kiosk import KioskScreen
from sync import catalog, contract
from tests.conftest import FakeClock
from tests.ui.checks import shown

TOML = """
[hall]
id = "village-1"
name = "测试便民服务中心"
region = "510104001002"

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
days = "all"
hours = ["00:00-24:00"]

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
days = "all"
hours = ["00:00-24:00"]
menu = "catalog"

[[businesses]]
code = "housing"
prefix = "B"
name = "不动产"
days = "all"
hours = ["00:00-24:00"]
menu = "fixed"

[[windows]]
number = 1
combined = true
"""


@pytest.fixture
def village(tmp_path: Path) -> Iterator[HallClient]:
    store = Store(tmp_path / "v.db", synchronous="OFF")
    hall = Hall(loads(TOML, "village.toml"), store, clock=FakeClock())
    client = HallClient(hall, heartbeat_s=0)
    yield client
    client.close()
    store.close()


def publish(hall: Hall, message_id: str, **parts: object) -> None:
    msg = contract.decode_catalog(contract.encode(contract.CatalogUpdate(
        v=1, message_id=message_id, hall_id="village-1", at_utc=datetime.now(UTC), **parts)))  # type: ignore[arg-type]
    catalog.apply_update(hall, msg, f"central:{message_id}")


def test_the_catalogue_shapes_the_menu_live(qtbot, village: HallClient) -> None:
    k = shown(qtbot, KioskScreen(village), 1080, 1920)
    buttons = k.business_buttons
    assert not buttons["tax"].isHidden() and buttons["social"].isHidden()  # social waits for the catalogue
    publish(village.hall, "cat-00000001", businesses=[
        contract.CatalogBusiness(code="social", name="社保医保", version=1),
        contract.CatalogBusiness(code="tax", name="税务", state="closed", message="系统升级，明日恢复", version=1),
        contract.CatalogBusiness(code="housing", name="房产交易", version=1)])
    qtbot.waitUntil(lambda: not buttons["social"].isHidden())
    qtbot.waitUntil(lambda: "系统升级" in buttons["tax"].text())
    assert "社保医保" in buttons["social"].text() and "暂停取号" in buttons["tax"].text()
    assert "不动产" in buttons["housing"].text()  # fixed: as the TOML says
    # laid out without a gap: social now takes the place after tax
    pos = {code: k.business_grid.getItemPosition(k.business_grid.indexOf(b)) for code, b in buttons.items()}
    assert pos["tax"][:2] == (0, 0) and pos["social"][:2] == (0, 1) and pos["housing"][:2] == (1, 0)
    # the catalogue takes social off again (a higher version), and opens tax
    publish(village.hall, "cat-00000002", businesses=[
        contract.CatalogBusiness(code="social", name="社保医保", state="closed", version=2),
        contract.CatalogBusiness(code="tax", name="税务", state="open", version=2)])
    qtbot.waitUntil(lambda: buttons["social"].isHidden() and "暂停取号" not in buttons["tax"].text())


def test_every_guide_item_can_be_reached(qtbot, village: HallClient) -> None:
    publish(village.hall, "cat-00000003", items=[
        contract.CatalogItem(code="TAX-1", business="tax", name="发票领用", version=1,
                             conditions=["已办理税务登记"]),
        contract.CatalogItem(code="TAX-2", business="tax", name="个人所得税汇算", version=1,
                             conditions=["年度综合所得"])])
    k = shown(qtbot, KioskScreen(village), 1080, 1920)
    k.show_guide("tax")
    assert k.guide_items.count() == 2 and k.guide_items.isVisible()
    assert "发票领用" in k.guide_text.text() and "已办理税务登记" in k.guide_text.text()
    k.guide_items.setCurrentRow(1)
    assert "个人所得税汇算" in k.guide_text.text() and "年度综合所得" in k.guide_text.text()
    k.show_guide("housing")  # no item: the list goes away and the page says to ask at the desk
    assert k.guide_items.count() == 0 and not k.guide_items.isVisible()
