"""`hall run server` with [lan] serves screens on other PCs; a screen PC's client file; devices by host."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devices.supervisor import device_sections
from kiosk.cli import start_server_parts
from kiosk.core.config import loads
from kiosk.core.errors import ConfigError
from kiosk.core.hall import Hall
from kiosk.store import Store
from sync.lan import RemoteHall
from tests.conftest import SMALL_CONFIG, FakeClock


def test_server_parts_serve_a_lan_client_from_its_file(tmp_path: Path, broker: Any) -> None:
    cfg = loads(SMALL_CONFIG + f'\n[lan]\nhost = "127.0.0.1"\nport = {broker.port}\n'
                '[lan.clients]\nkiosk1 = "kiosk"\n')
    hall = Hall(cfg, Store(tmp_path / "h.db"), clock=FakeClock())
    stoppers = start_server_parts(hall)
    try:
        client_file = tmp_path / "client.toml"
        client_file.write_text(f'hall_id = "test-hall"\nclient_id = "kiosk1"\n[lan]\nhost = "127.0.0.1"\n'
                               f'port = {broker.port}\n', encoding="utf-8")
        remote = RemoteHall.from_file(str(client_file), rpc_timeout=3.0)
        try:
            assert remote.config.name == "测试政务服务中心"
            t = remote.issue_ticket("tax").value.ticket
            assert hall.ticket(t["id"])["number"] == t["number"] == "C001"
        finally:
            remote.close()
    finally:
        for stop in reversed(stoppers):
            stop()


@pytest.mark.parametrize(("text", "option"), [
    ('client_id = "k"\n[lan]\nhost = "h"\n', "hall_id"),
    ('hall_id = "x"\nclient_id = "k"\n', "lan"),
    ('hall_id = "x"\nclient_id = "k"\nwindow = 3\n[lan]\nhost = "h"\n', "window"),
])
def test_client_file_errors_name_the_option(tmp_path: Path, text: str, option: str) -> None:
    f = tmp_path / "client.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        RemoteHall.from_file(str(f))
    assert exc.value.option == option and option in str(exc.value)


def test_devices_belong_to_the_server_or_to_their_host() -> None:
    cfg = loads(SMALL_CONFIG + '\n[devices.p-kiosk1]\nkind = "printer"\nurl = "sim://p1"\nhost = "kiosk1"\n'
                '\n[devices.led-hall]\nkind = "led"\nrole = "hall"\nurl = "sim://l"\n')
    assert set(device_sections(cfg)) == {"led-hall"}
    assert set(device_sections(cfg, "kiosk1")) == {"p-kiosk1"}
