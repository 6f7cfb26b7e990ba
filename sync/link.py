"""The MQTT link (the only paho user): TLS, credentials, LWT, our own reconnect loop with capped backoff.

Threads: the link thread runs the reconnect loop; paho's network thread (loop_start) runs the callbacks, which
only record facts and hand work off (queues, events) — they never block and never touch SQLite.  A fresh paho
client is made for every connection ("generation"), so paho's own queue never outlives a connection: the outbox
republishes from the store instead, and callbacks of an old generation are ignored.
"""
from __future__ import annotations

import logging
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.settings import SyncSettings

log = logging.getLogger(__name__)

OFFLINE, CONNECTING, ONLINE, STOPPED = "offline", "connecting", "online", "stopped"


@dataclass(frozen=True, slots=True)
class InMessage:
    """A received PUBLISH.  Hand it back to `Link.ack` once it is durably handled (manual PUBACK)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    gen: int


Message = tuple[str, bytes, bool]  # topic, payload, retain


class Link:
    """One MQTT connection kept up by our own loop.  `publish` is safe from any thread and never blocks."""

    def __init__(
        self,
        settings: SyncSettings,
        *,
        client_id: str,
        name: str = "sync",
        subscriptions: list[tuple[str, int]] | None = None,
        will: Message | None = None,
        birth: Callable[[], Message] | None = None,
        on_message: Callable[[InMessage], None] | None = None,
        on_publish: Callable[[int, int, bool, str], None] | None = None,
        on_state: Callable[[str, int], None] | None = None,
        receive_maximum: int = 100,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.name = name
        self.subscriptions = subscriptions or []
        self.will = will
        self.birth = birth
        self._on_message = on_message
        self._on_publish = on_publish
        self._on_state = on_state
        self.receive_maximum = receive_maximum
        self.state = OFFLINE
        self.last_error = ""
        self.connected_since: str | None = None
        self.connects = 0
        self._gen = 0
        self._refused_gen = -1
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._signals: queue.Queue[tuple[str, int, str]] = queue.Queue()
        self._stop = threading.Event()
        self._graceful = True
        self._thread: threading.Thread | None = None

    # --- public ---------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.state = OFFLINE
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-link", daemon=True)
        self._thread.start()

    def stop(self, *, graceful: bool = True, timeout: float = 5.0) -> None:
        """Stop.  graceful: publish the will's message ourselves (a clean DISCONNECT suppresses the LWT)."""
        self._graceful = graceful
        self._stop.set()
        self._signals.put(("stop", -1, ""))
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_state(STOPPED, self._gen)

    @property
    def generation(self) -> int:
        return self._gen

    @property
    def online(self) -> bool:
        return self.state == ONLINE

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, gen: int | None = None
                ) -> int | None:
        """Queue one PUBLISH on the current connection; returns its mid, or None when not online (or when the
        connection `gen` the caller expects has gone).  Never blocks."""
        with self._lock:
            client, cur = self._client, self._gen
        if client is None or self.state != ONLINE or (gen is not None and gen != cur):
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    def ack(self, msg: InMessage) -> None:
        """Send the PUBACK for a message once it is stored or dead-lettered (manual ack)."""
        with self._lock:
            client, cur = self._client, self._gen
        if client is not None and msg.gen == cur and msg.qos > 0:
            client.ack(msg.mid, msg.qos)

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {"state": self.state, "broker": f"{s.host}:{s.broker_port}", "client_id": self.client_id,
                "last_error": self.last_error, "connected_since": self.connected_since, "connects": self.connects}

    # --- the reconnect loop (link thread) -----------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.settings.backoff_min
        while not self._stop.is_set():
            with self._lock:
                self._gen += 1
                gen = self._gen
            self._set_state(CONNECTING, gen)
            ok = False
            client: mqtt.Client | None = None
            try:
                client = self._make_client(gen)
                with self._lock:
                    self._client = client
                self._connect(client)
                client.loop_start()
                ok = self._wait_online(gen)
                if ok:
                    backoff = self.settings.backoff_min
                    self._wait_down(gen)
            except (OSError, ssl.SSLError, ValueError) as e:
                self._error(f"connect to {self.settings.host}:{self.settings.broker_port} failed: {e}")
            finally:
                self._close(client, gen)
            if self._stop.is_set():
                break
            # capped exponential backoff with jitter, so a hundred halls do not reconnect in lock-step
            delay = backoff * (0.5 + random.random() / 2) if not ok else self.settings.backoff_min
            backoff = min(backoff * 2, self.settings.backoff_max)
            self._stop.wait(delay)

    def _make_client(self, gen: int) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        kw: dict[str, Any] = {}
        if not v5:
            kw["clean_session"] = s.session_expiry == 0
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id, userdata=gen,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False, manual_ack=True, **kw,
        )
        # paho's queue stays small: the store is the buffer, and we publish only while online
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(s.max_inflight + 16)
        client.connect_timeout = s.connect_timeout
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls:
            client.tls_set(ca_certs=s.ca_file or None, certfile=s.cert_file or None, keyfile=s.key_file or None,
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if self.will is not None:  # set before connect: the broker publishes it if we vanish
            topic, payload, retain = self.will
            client.will_set(topic, payload, qos=1, retain=retain)
        client.on_connect = self._cb_connect
        client.on_subscribe = self._cb_subscribe
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_publish = self._cb_publish
        client.on_connect_fail = self._cb_connect_fail
        return client

    def _connect(self, client: mqtt.Client) -> None:
        s = self.settings
        if s.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = s.session_expiry
            props.ReceiveMaximum = self.receive_maximum  # bounds what the broker sends us unacknowledged
            client.connect(s.host, s.broker_port, s.keepalive, clean_start=s.session_expiry == 0, properties=props)
        else:
            client.connect(s.host, s.broker_port, s.keepalive)

    def _wait_online(self, gen: int) -> bool:
        deadline = time.monotonic() + self.settings.connect_timeout
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self._error("no CONNACK/SUBACK in time")
                return False
            try:
                what, g, _ = self._signals.get(timeout=left)
            except queue.Empty:
                continue
            if what == "stop":
                return False
            if g != gen:
                continue
            if what == "online":
                return True
            if what == "down":
                return False
        return False

    def _wait_down(self, gen: int) -> None:
        while not self._stop.is_set():
            what, g, _ = self._signals.get()
            if what == "stop" or (what == "down" and g == gen):
                return

    def _close(self, client: mqtt.Client | None, gen: int) -> None:
        was_online = self.state == ONLINE
        self._set_state(OFFLINE, gen)
        if client is None:
            return
        if self._stop.is_set() and was_online and self._graceful and self.will is not None:
            topic, payload, retain = self.will
            with suppress(Exception):
                client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(1.0)
        with suppress(Exception):
            client.disconnect()
        with suppress(Exception):
            client.loop_stop()
        with self._lock:
            if self._client is client:
                self._client = None

    # --- paho callbacks (paho's thread): record and hand off, never block -----------------------------------
    def _cb_connect(self, client: mqtt.Client, gen: int, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            self._refused_gen = gen
            self._error(f"broker refused the connection: {rc}")
            return
        if self.subscriptions:
            client.subscribe([(f, q) for f, q in self.subscriptions])
        else:
            self._went_online(client, gen)

    def _cb_subscribe(self, client: mqtt.Client, gen: int, mid: int, rcs: list[Any], props: Any) -> None:
        bad = [str(rc) for rc in rcs if rc.is_failure]
        if bad:
            # a refused subscription (ACL) is a configuration fault: stay connected for publishing, say so
            self._error(f"subscription refused by the broker: {', '.join(bad)}")
        self._went_online(client, gen)

    def _went_online(self, client: mqtt.Client, gen: int) -> None:
        if self.birth is not None:  # retained "online" only after (re)subscribing
            topic, payload, retain = self.birth()
            client.publish(topic, payload, qos=1, retain=retain)
        self.connects += 1
        self.connected_since = datetime.now(UTC).isoformat()
        self._set_state(ONLINE, gen)
        self._signals.put(("online", gen, ""))

    def _cb_disconnect(self, client: mqtt.Client, gen: int, flags: Any, rc: Any, props: Any) -> None:
        if self._stop.is_set():
            pass
        elif self.state == ONLINE:
            self._error(f"disconnected: {rc}")
        elif self._refused_gen != gen:  # a refusal (CONNACK) was already reported more precisely
            self._error(f"connection closed before the broker accepted it (TLS client certificate?): {rc}")
        self._set_state(OFFLINE, gen)
        self._signals.put(("down", gen, str(rc)))

    def _cb_connect_fail(self, client: mqtt.Client, gen: int) -> None:
        self._error("connection failed")
        self._signals.put(("down", gen, "connect failed"))

    def _cb_message(self, client: mqtt.Client, gen: int, m: mqtt.MQTTMessage) -> None:
        msg = InMessage(m.topic, bytes(m.payload), m.qos, bool(m.retain), m.mid, gen)
        if self._on_message is None:
            self.ack(msg)
            return
        try:
            self._on_message(msg)
        except Exception:  # a consumer bug must not kill paho's thread
            log.exception("%s: message handler failed on %s", self.name, m.topic)

    def _cb_publish(self, client: mqtt.Client, gen: int, mid: int, rc: Any, props: Any) -> None:
        ok = not rc.is_failure
        if not ok:
            self._error(f"broker refused publish mid {mid}: {rc}")
        if self._on_publish is not None:
            self._on_publish(gen, mid, ok, str(rc))

    # --- helpers ------------------------------------------------------------------------------------------
    def _set_state(self, state: str, gen: int) -> None:
        if gen != self._gen or self.state == state:
            return
        if self.state == STOPPED and state != STOPPED:
            return
        self.state = state
        log.info("%s: link %s", self.name, state)
        if self._on_state is not None:
            try:
                self._on_state(state, gen)
            except Exception:
                log.exception("%s: state listener failed", self.name)

    def _error(self, text: str) -> None:
        self.last_error = f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}"
        log.warning("%s: %s", self.name, text)

