"""The device simulator: a board's side of the provisioning protocol, served on a pty or TCP.

It stands beside the device link, not on it: it imports only the protocol and the codec
(``installer_app.device.protocol``, ``installer_app.device.codec``) and core helpers, never the
host-side client (tests/unit/test_layering.py checks it). The host side reads one thing of it:
``registry.list_running()``, the ports running simulators serve (``device.ports``).

``device_simulator.DeviceSimulator`` (request pipeline, public API) composes ``board.Board`` (one
board's whole state, output, flash writes) with the parts acting on it: ``network`` (Wi-Fi/ethernet
and WeCom state, binding probe), ``power`` (boot, noise) and ``commands`` (the command handlers);
``config`` (``SimulatorConfig``), ``flash`` (the state file), ``faults``, ``timers``; ``server``
(``PtySimulator``, ``TcpSimulator``) and ``registry``.
"""
