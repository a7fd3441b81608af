"""REBOOT, and finding the board again when its port vanished while it restarted (USB re-plug).

REBOOT is sent once, never repeated. Then: up to ``booted_wait`` seconds for EVENT BOOTED, else
HELLO (new seq each time) until it answers or ``hello_wait`` more seconds pass. A port that
vanished meanwhile is found again by USB serial number, else by VID/PID and HW_ID, and reopened.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from installer_app.device import errors
from installer_app.device.errors import DeviceDisconnected, DeviceTimeout
from installer_app.device.protocol import Command, EventCode
from installer_app.device.responses import DeviceEvent, HelloInfo
from installer_app.device.serial_port import open_port

if TYPE_CHECKING:
    from installer_app.device.client import DeviceClient
    from installer_app.device.ports import PortInfo

log = logging.getLogger(__name__)


def reboot_and_wait(client: DeviceClient) -> HelloInfo:
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
    from installer_app.device import ports

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
    from installer_app.device import ports

    client.detach()
    remaining = max(0.5, deadline - time.monotonic())
    url = ports.find_again(previous, hw_id, remaining, probe_timeout=client.response_timeout)
    log.info("board on %s is back as %s", client.port_name, url)
    port = open_port(url)
    if client.closed:
        port.close()
        raise DeviceDisconnected(client.port_name)
    client.url = url
    client.port_name = url
    client.attach(port)
