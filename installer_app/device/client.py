"""The host side of the provisioning protocol: one board, one port, one request at a time.

``DeviceClient.open(url)`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://h:p``,
``loop://``); ``DeviceClient(serial_obj)`` takes a port that is already open. The pieces:

- ``link.FrameLink``: the request/retry engine and the reader thread (events, device log);
- ``responses``: the typed answers (``HelloInfo``, ``VerifyResult``, ``DeviceStatus``,
  ``DeviceEvent``) and ``compute_proof``;
- ``serial_port``: opening a port (115200 8N1, DTR/RTS untouched, exclusive) and closing it.

Timing follows the spec: ``response_timeout`` (COMMIT ``commit_timeout``) per try, ``tries``
tries with the same seq; BUSY is retried for up to ``busy_budget`` seconds; REBOOT is never sent
twice. Secrets: SECRET_NO and PSK arrive as ``Secret`` and are revealed only into the frame bytes.

REBOOT is sent once, never repeated. Then: up to ``booted_wait`` seconds for EVENT BOOTED, else
HELLO (new seq each time) until it answers or ``hello_wait`` more seconds pass. A port that
vanished meanwhile (USB re-plug) is found again by USB serial number, else by VID/PID and HW_ID
(``ports.find_again``, probing candidates with ``probe_hw_id``), and reopened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from installer_app.device import errors, ports
from installer_app.device.errors import DeviceDisconnected, DeviceTimeout
from installer_app.device.link import FrameLink
from installer_app.device.ports import PortInfo
from installer_app.device.protocol import (
    COMMIT_TIMEOUT_S,
    MAX_TRIES,
    REBOOT_BOOTED_WAIT_S,
    REBOOT_HELLO_WAIT_S,
    RESPONSE_TIMEOUT_S,
    Command,
    EventCode,
    Tag,
)
from installer_app.device.responses import (
    DeviceEvent,
    DeviceStatus,
    HelloInfo,
    VerifyResult,
    parse_hello,
    parse_status,
    parse_verify,
)
from installer_app.device.serial_port import open_port
from installer_app.secrets import Secret

log = logging.getLogger(__name__)

_BUSY_BUDGET_S = 3.0


class DeviceClient(FrameLink):
    """The protocol client. Methods block and are thread-safe (one request at a time);
    ``close()`` may be called from any thread and aborts a waiting request."""

    def __init__(
        self,
        port: Any,
        *,
        response_timeout: float = RESPONSE_TIMEOUT_S,
        commit_timeout: float = COMMIT_TIMEOUT_S,
        tries: int = MAX_TRIES,
        busy_budget: float = _BUSY_BUDGET_S,
        reboot_wait: tuple[float, float] = (REBOOT_BOOTED_WAIT_S, REBOOT_HELLO_WAIT_S),
        first_seq: int | None = None,
        url: str | None = None,
    ) -> None:
        self.commit_timeout = commit_timeout
        self.reboot_wait = reboot_wait
        self.url = url  # None for a port given already open: it cannot be found again
        self._last_hello: HelloInfo | None = None
        super().__init__(
            port,
            response_timeout=response_timeout,
            tries=tries,
            busy_budget=busy_budget,
            first_seq=first_seq,
            port_name=url or str(getattr(port, "port", None) or getattr(port, "name", "?")),
        )

    @classmethod
    def open(
        cls,
        url: str,
        *,
        response_timeout: float = RESPONSE_TIMEOUT_S,
        commit_timeout: float = COMMIT_TIMEOUT_S,
        tries: int = MAX_TRIES,
        **kwargs: Any,
    ) -> DeviceClient:
        """Open ``url`` and start talking; keywords as for the constructor (``busy_budget``,
        ``reboot_wait``, ``first_seq``)."""
        return cls(
            open_port(url),
            response_timeout=response_timeout,
            commit_timeout=commit_timeout,
            tries=tries,
            url=url,
            **kwargs,
        )

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- commands -------------------------------------------------------------------------------

    @property
    def last_hello(self) -> HelloInfo | None:
        return self._last_hello

    def hello(self, *, tries: int | None = None) -> HelloInfo:
        f = self.call(Command.HELLO, tries=tries)
        proto = f.u8(Tag.PROTO)
        if proto < 1:
            raise errors.UnsupportedProtocol(self.port_name, proto)
        info = parse_hello(f)
        self._last_hello = info
        return info

    def write(self, sn: str, secret_no: Secret) -> None:
        self.call(
            Command.WRITE,
            [(Tag.SN, sn.encode("utf-8")), (Tag.SECRET_NO, secret_no.reveal().encode("utf-8"))],
        )

    def verify(self, nonce: bytes) -> VerifyResult:
        return parse_verify(self.call(Command.VERIFY, [(Tag.NONCE, nonce)]))

    def commit(self) -> None:
        self.call(Command.COMMIT, timeout=self.commit_timeout)

    def set_wifi(self, ssid: str, psk: Secret) -> None:
        self.call(
            Command.SET_WIFI,
            [(Tag.SSID, ssid.encode("utf-8")), (Tag.PSK, psk.reveal().encode("utf-8"))],
        )

    def status(self) -> DeviceStatus:
        return parse_status(self.call(Command.STATUS))

    def identify(self) -> None:
        self.call(Command.IDENTIFY)

    def factory_reset(self, hw_id: bytes) -> None:
        self.call(Command.FACTORY_RESET, [(Tag.CONFIRM, hw_id)])

    def request(self, command: int, payload: bytes = b"") -> dict[int, bytes]:
        """Send any request type with a raw TLV payload and return the response's fields.

        For probing optional commands (UNKNOWN_COMMAND answers the probe) and for diagnostics;
        the same retries and typed errors as the named commands.
        """
        return self.call(command, raw_payload=payload).fields

    def reboot(self) -> HelloInfo:
        """Restart the board and return its HELLO once it is back.

        REBOOT is sent once. Then: up to 5 s for EVENT BOOTED, else HELLO (new seq each time)
        until it answers or 5 more seconds pass. If the port vanishes meanwhile (USB re-plug), it
        is found again by USB serial number, else by VID/PID and HW_ID, and reopened.
        """
        return _reboot_and_wait(self)


@contextmanager
def connect(url: str, **kwargs: Any) -> Iterator[DeviceClient]:
    """``with connect(url) as client:`` — open, and always close."""
    client = DeviceClient.open(url, **kwargs)
    try:
        yield client
    finally:
        client.close()


# --- REBOOT and re-finding a re-plugged board ---------------------------------------------------


def _reboot_and_wait(client: DeviceClient) -> HelloInfo:
    """Restart the board behind ``client`` and return its HELLO once it is back."""
    with client.request_lock:
        before = client.last_hello or client.hello()
        previous = _port_info(client.url)
        booted = threading.Event()

        def on_event(event: DeviceEvent) -> None:
            if event.code == EventCode.BOOTED:
                booted.set()

        remove = client.add_event_listener(on_event)
        try:
            try:
                client.call(Command.REBOOT, tries=1)
            except DeviceTimeout:
                log.info(
                    "no answer to REBOOT on %s; waiting for the board anyway", client.port_name
                )
            except DeviceDisconnected:
                if client.closed:
                    raise
            booted_wait, hello_wait = client.reboot_wait
            deadline = time.monotonic() + booted_wait
            while not booted.is_set() and time.monotonic() < deadline:
                if client.link_lost is not None:
                    try:
                        _reconnect(client, previous, before.hw_id, deadline)
                    except errors.PortNotFound:
                        break  # not back yet: keep looking while sending HELLO
                    continue
                if client.wait_closed(0.05):
                    raise DeviceDisconnected(client.port_name)
            deadline = time.monotonic() + hello_wait
            while True:
                try:
                    if client.link_lost is not None:
                        _reconnect(client, previous, before.hw_id, deadline)
                    return client.hello(tries=1)
                except (DeviceTimeout, DeviceDisconnected, errors.PortNotFound):
                    if client.closed or time.monotonic() >= deadline:
                        raise
        finally:
            remove()


def _port_info(url: str | None) -> PortInfo | None:
    """How the OS describes the port now (USB serial number, VID/PID), to find it again later."""
    if url is None:
        return None
    try:
        for info in ports.list_ports():
            if info.device == url:
                return info
    except Exception:
        log.debug("listing ports failed", exc_info=True)
    return None


def _reconnect(
    client: DeviceClient, previous: PortInfo | None, hw_id: bytes, deadline: float
) -> None:
    if client.url is None or client.closed:
        raise DeviceDisconnected(client.port_name)
    client.detach()
    remaining = max(0.5, deadline - time.monotonic())
    url = ports.find_again(
        previous, hw_id, remaining, probe_timeout=client.response_timeout, probe=probe_hw_id
    )
    log.info("board on %s is back as %s", client.port_name, url)
    port = open_port(url)
    if client.closed:
        port.close()
        raise DeviceDisconnected(client.port_name)
    client.url = url
    client.port_name = url
    client.attach(port)


def probe_hw_id(device: str, timeout_s: float = 0.5) -> bytes | None:
    """Ask the board on ``device`` for its HW_ID (one HELLO); None when it cannot tell."""
    try:
        with DeviceClient.open(device, response_timeout=timeout_s, tries=1) as client:
            return client.hello().hw_id
    except errors.DeviceError as exc:
        log.debug("probing %s: %s", device, exc.message.english())
        return None
