"""The device simulator's window on the provider emulator: is this SN bound, and to whom?

The simulator polls this about once a second while its board is provisioned and online (the
demo wires it with ``simulate-device --provider-url``). Only provider/ speaks HTTP, hence this
tiny module here rather than in device/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0


def emulator_binding(base_url: str, sn: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """The enterprise name the emulator has ``sn`` bound to; None when unbound or on any error
    (an unknown SN, the emulator stopped, a malformed answer)."""
    url = f"{base_url.rstrip('/')}/_emulator/devices/{quote(sn, safe='')}"
    try:
        response = httpx.get(url, timeout=timeout_s)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.debug("binding probe of %s failed: %s", sn, exc)
        return None
    if not isinstance(data, dict) or data.get("bound") is not True:
        return None
    corp_name = data.get("corp_name")
    return corp_name if isinstance(corp_name, str) else ""


def emulator_binding_probe(
    base_url: str, timeout_s: float = PROBE_TIMEOUT_S
) -> Callable[[str], str | None]:
    """A ``SimulatorConfig.binding_probe`` that asks the emulator at ``base_url``."""

    def probe(sn: str) -> str | None:
        return emulator_binding(base_url, sn, timeout_s)

    return probe
