"""The hall TOML's [sync] and [lan] tables (and the collector's broker options): declared once, read through
kiosk.core.sections like every other section."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from msgspec import Meta

from kiosk.core.sections import OptionError, Section, parse_toml, read_section, read_text
from sync.contract import CLIENT_ID_RE

if TYPE_CHECKING:
    from kiosk.core.config import HallConfig

SECTION = "sync"
# The screens a LAN client may be, each with its own allow-list (sync/lan.py ROLE_METHODS).
LAN_ROLES = ("board", "caller", "dashboard", "evaluator", "kiosk")


class SyncSettings(Section, frozen=True, kw_only=True):
    """[sync]: the MQTT link to the province's central platform (docs/sync-contract.md)."""

    host: Annotated[str, Meta(min_length=1, description="broker host")]
    port: Annotated[int, Meta(ge=0, le=65535, description="broker port; 0 = 8883 with TLS, else 1883")] = 0
    client_id: Annotated[str, Meta(description=(
        "MQTT client id (keep it stable: the broker keeps the session under it); default `hall-<hall id>`"))] = ""
    username: Annotated[str, Meta(description="password-file credentials; username = hall id")] = ""
    password: Annotated[str, Meta(description="the password for `username`")] = ""
    tls: Annotated[bool, Meta(description="TLS; required when certificates are given")] = False
    ca_file: Annotated[str, Meta(description=(
        "the CA that signed the broker's certificate (default: the system CAs)"))] = ""
    cert_file: Annotated[str, Meta(description="client certificate (mutual TLS; CN = hall id)")] = ""
    key_file: Annotated[str, Meta(description="the client certificate's key")] = ""
    protocol: Annotated[Literal["5", "3.1.1"], Meta(description="MQTT version")] = "5"
    keepalive: Annotated[int, Meta(ge=5, le=3600, description="seconds")] = 30
    session_expiry: Annotated[int, Meta(ge=0, le=30 * 86400, description=(
        "seconds the broker keeps the session and queued central messages (0 = clean)"))] = 86400
    max_inflight: Annotated[int, Meta(ge=1, le=1000, description=(
        "events published and not yet acknowledged, at most"))] = 100
    batches: Annotated[bool, Meta(description=(
        "send waiting events several to a message (contract 2, docs/sync-contract.md); false: one event per message "
        "(contract 1), for a collector not yet upgraded to read batches ([lan] ignores it)"))] = True
    backoff_min: Annotated[float, Meta(ge=0.01, le=60, description="shortest reconnect delay, seconds")] = 0.5
    backoff_max: Annotated[float, Meta(ge=0.1, le=3600, description=(
        "longest reconnect delay, seconds (doubling, with jitter)"))] = 30.0
    connect_timeout: Annotated[float, Meta(ge=0.5, le=120, description=(
        "seconds to wait for CONNACK and SUBACK"))] = 10.0
    enabled: Annotated[bool, Meta(description="false keeps the table but runs without it")] = True

    @property
    def broker_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)

    def check(self, hall: HallConfig | None) -> None:
        for option in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, option)
            if path and not Path(path).is_file():
                raise OptionError(option, f"names no such file: {path!r}")
        if bool(self.cert_file) != bool(self.key_file):
            raise OptionError("key_file" if self.cert_file else "cert_file",
                              "is missing: 'cert_file' and 'key_file' go together")
        if (self.ca_file or self.cert_file) and not self.tls:
            raise OptionError("tls", "must be true when certificates are given")
        if self.password and not self.username:
            raise OptionError("password", "needs 'username'")
        if self.backoff_min > self.backoff_max:
            raise OptionError("backoff_min", f"is above 'backoff_max' ({self.backoff_max:g})")


class LanSettings(SyncSettings, frozen=True, kw_only=True):
    """[lan]: the hall broker that LAN screens use; the options of [sync] plus [lan.clients]."""

    clients: Annotated[dict[str, str] | None, Meta(description=(
        "`[lan.clients]`: client id = role (" + ", ".join(LAN_ROLES) + "); when given, an unlisted client is "
        "refused everything"), extra={"expect": "a table of client id = role"})] = None

    def check(self, hall: HallConfig | None) -> None:
        super().check(hall)
        for client, role in (self.clients or {}).items():
            if not CLIENT_ID_RE.match(client):
                raise OptionError(("clients", client), "is not a client id: use 1 to 64 letters, digits, - or _")
            if role not in LAN_ROLES:
                raise OptionError(("clients", client), f"must be one of {', '.join(map(repr, LAN_ROLES))} "
                                  f"(got {role!r})")


class LanClientFile(Section, kw_only=True):
    """A screen PC's LAN client file (`hall run ROLE --lan FILE`): which hall, who this PC is, its broker login."""

    hall_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the hall's [hall] id",
                                 extra={"expect": "1 to 64 letters, digits, - or _"})]
    client_id: Annotated[str, Meta(pattern=CLIENT_ID_RE.pattern, description=(
        "this screen PC's id on the hall broker (its [lan.clients] name on the server)"),
        extra={"expect": "1 to 64 letters, digits, - or _"})]
    lan: Annotated[LanSettings, Meta(description="the hall broker and this PC's login: the options of [lan]")]

    def check(self, hall: HallConfig | None) -> None:
        try:
            self.lan.check(hall)
        except OptionError as exc:
            raise OptionError(("lan", *exc.path), str(exc)) from None


def read_client_file(path: str) -> LanClientFile:
    """The client file through its Struct; errors name the file, the option and the line (exit 2, never a trace)."""
    raw, where = parse_toml(read_text(path, "the LAN client file"), path)
    return read_section(LanClientFile, raw, (), where=where)


def parse_settings(section: dict[str, Any], *, name: str = SECTION) -> SyncSettings:
    """[sync] (or the collector's options, named `name` in messages) through its Struct."""
    return read_section(SyncSettings, section, name)


def parse_lan_settings(section: dict[str, Any]) -> LanSettings:
    """[lan] through its Struct: a hall server's (with [lan.clients]) or a LAN client file's."""
    return read_section(LanSettings, section, "lan")
