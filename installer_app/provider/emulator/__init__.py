"""A local stand-in for WeCom's provider API and the partner service (docs/provider-emulator.md).

``ProviderEmulator`` serves spec A (A1-A4) and spec C on one loopback HTTP port, with WeCom's
errcodes and rules, persistent state, an operator page at ``/`` and control endpoints under
``/_emulator/``.
"""

from installer_app.provider.emulator.records import (
    DEFAULT_CORP_NAME,
    DEFAULT_CORPID,
    EmulatorStateError,
    dynamic_signature,
)
from installer_app.provider.emulator.server import (
    DEFAULT_MODEL_IDS,
    EmulatorStartError,
    ProviderEmulator,
)

__all__ = [
    "DEFAULT_CORPID",
    "DEFAULT_CORP_NAME",
    "DEFAULT_MODEL_IDS",
    "EmulatorStartError",
    "EmulatorStateError",
    "ProviderEmulator",
    "dynamic_signature",
]
