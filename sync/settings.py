"""The hall TOML's [sync] table: validated here, errors naming the option and the section."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kiosk.core.errors import ConfigError

SECTION = "sync"


@dataclass(frozen=True, slots=True)
class SyncSettings:
    host: str
    port: int = 0  # 0 = 8883 with TLS, 1883 without
    client_id: str = ""  # default "hall-<hall id>"
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""  # client certificate (mutual TLS)
    key_file: str = ""
    protocol: str = "5"  # "5" or "3.1.1"
    keepalive: int = 30
    session_expiry: int = 86400  # seconds the broker keeps our session (and queued central messages)
    max_inflight: int = 100  # unacknowledged publishes at a time
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 10.0
    enabled: bool = True

    @property
    def broker_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)


_RANGES: dict[str, tuple[float, float]] = {
    "port": (0, 65535), "keepalive": (5, 3600), "session_expiry": (0, 30 * 86400), "max_inflight": (1, 1000),
    "backoff_min": (0.01, 60), "backoff_max": (0.1, 3600), "connect_timeout": (0.5, 120),
}


def parse_settings(section: dict[str, Any], *, name: str = SECTION) -> SyncSettings:
    """Check every option of [sync]: unknown names, types, ranges and files are refused at start-up."""
    known = {f.name: f for f in fields(SyncSettings)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(f"option '{key}' is not valid in section [{name}]", option=key, section=name)
        want = {"str": str, "int": int, "float": (int, float), "bool": bool}[str(f.type)]
        if (isinstance(value, bool) and str(f.type) != "bool") or not isinstance(value, want):
            raise ConfigError(
                f"option '{key}' in section [{name}] must be a {f.type} (got {value!r})", option=key, section=name
            )
        if key in _RANGES:
            lo, hi = _RANGES[key]
            if not lo <= value <= hi:
                raise ConfigError(
                    f"option '{key}' in section [{name}] must be between {lo:g} and {hi:g} (got {value!r})",
                    option=key, section=name,
                )
        values[key] = float(value) if str(f.type) == "float" else value
    if "host" not in values or not values["host"]:
        raise ConfigError(f"option 'host' is required in section [{name}]", option="host", section=name)
    if values.get("protocol", "5") not in ("5", "3.1.1"):
        raise ConfigError(f"option 'protocol' in section [{name}] must be \"5\" or \"3.1.1\"", option="protocol",
                          section=name)
    for key in ("ca_file", "cert_file", "key_file"):
        path = values.get(key)
        if path and not Path(path).is_file():
            raise ConfigError(f"option '{key}' in section [{name}]: no such file {path!r}", option=key, section=name)
    if bool(values.get("cert_file")) != bool(values.get("key_file")):
        raise ConfigError(f"options 'cert_file' and 'key_file' in section [{name}] go together",
                          option="cert_file", section=name)
    if (values.get("ca_file") or values.get("cert_file")) and not values.get("tls", False):
        raise ConfigError(f"option 'tls' in section [{name}] must be true when certificates are given",
                          option="tls", section=name)
    if values.get("password") and not values.get("username"):
        raise ConfigError(f"option 'password' in section [{name}] needs 'username'", option="password",
                          section=name)
    s = SyncSettings(**values)
    if s.backoff_min > s.backoff_max:
        raise ConfigError(f"option 'backoff_min' in section [{name}] is above 'backoff_max'", option="backoff_min",
                          section=name)
    return s
