"""The host side of the provisioning protocol: one board, one port, one request at a time.

``DeviceClient.open(url)`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://h:p``,
``loop://``); ``DeviceClient(serial_obj)`` takes a port that is already open. The pieces:

- ``link.FrameLink``: the request/retry engine and the reader thread (events, device log);
- ``reboot``: REBOOT and finding the board again after a USB re-plug;
- ``responses``: the typed answers (``HelloInfo``, ``VerifyResult``, ``DeviceStatus``,
  ``DeviceEvent``) and ``compute_proof``;
- ``serial_port``: opening a port (115200 8N1, DTR/RTS untouched, exclusive) and closing it.

Timing follows the spec: ``response_timeout`` (COMMIT ``commit_timeout``) per try, ``tries``
tries with the same seq; BUSY is retried for up to ``busy_budget`` seconds; REBOOT is never sent
twice. Secrets: SECRET_NO and PSK arrive as ``Secret`` and are revealed only into the frame bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from installer_app.device import errors
from installer_app.device.link import EventListener, FrameLink, LogListener
from installer_app.device.protocol import (
    COMMIT_TIMEOUT_S,
    MAX_TRIES,
    REBOOT_BOOTED_WAIT_S,
    REBOOT_HELLO_WAIT_S,
    RESPONSE_TIMEOUT_S,
    Command,
    Tag,
)
from installer_app.device.reboot import reboot_and_wait
from installer_app.device.responses import (
    DeviceEvent,
    DeviceStatus,
    HelloInfo,
    VerifyResult,
    compute_proof,
    parse_event,
    parse_hello,
    parse_status,
    parse_verify,
)
from installer_app.device.serial_port import open_port
from installer_app.secrets import Secret

__all__ = [
    "DeviceClient",
    "DeviceEvent",
    "DeviceStatus",
    "EventListener",
    "HelloInfo",
    "LogListener",
    "VerifyResult",
    "compute_proof",
    "connect",
    "open_port",
    "parse_event",
    "parse_hello",
    "parse_status",
]

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
        return reboot_and_wait(self)


@contextmanager
def connect(url: str, **kwargs: Any) -> Iterator[DeviceClient]:
    """``with connect(url) as client:`` — open, and always close."""
    client = DeviceClient.open(url, **kwargs)
    try:
        yield client
    finally:
        client.close()
