"""Words for the states the core reports by name (board, network, WeCom, store lifecycle).

The core speaks in protocol and store names (``BLANK``, ``ONLINE``, ``committed``); an installer
reads them in their own language. Unknown names are shown as they are.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

# Name -> English marked for lupdate; translated on each call, so a language switch applies.
_BOARD_STATES: dict[str, object] = {
    "BLANK": QT_TRANSLATE_NOOP("labels", "blank (no credential)"),
    "STAGED": QT_TRANSLATE_NOOP("labels", "credential written, not locked"),
    "PROVISIONED": QT_TRANSLATE_NOOP("labels", "provisioned (locked)"),
}
_NET_STATES: dict[str, object] = {
    "DOWN": QT_TRANSLATE_NOOP("labels", "not connected"),
    "LINK_UP": QT_TRANSLATE_NOOP("labels", "on the network, not yet online"),
    "ONLINE": QT_TRANSLATE_NOOP("labels", "online (reached WeCom)"),
}
_WECOM_STATES: dict[str, object] = {
    "IDLE": QT_TRANSLATE_NOOP("labels", "idle"),
    "REGISTERED": QT_TRANSLATE_NOOP("labels", "registered"),
    "WAITING_BIND": QT_TRANSLATE_NOOP("labels", "waiting for the binding"),
    "BOUND": QT_TRANSLATE_NOOP("labels", "bound to an enterprise"),
}
_STAGES: dict[str, object] = {
    "free": QT_TRANSLATE_NOOP("labels", "in the inventory"),
    "reserved": QT_TRANSLATE_NOOP("labels", "credential reserved"),
    "written": QT_TRANSLATE_NOOP("labels", "credential written"),
    "verified": QT_TRANSLATE_NOOP("labels", "credential verified"),
    "committed": QT_TRANSLATE_NOOP("labels", "locked"),
    "bound": QT_TRANSLATE_NOOP("labels", "bound"),
    "app_installed": QT_TRANSLATE_NOOP("labels", "companion app installed"),
}


def _label(table: dict[str, object], name: str) -> str:
    text = table.get(name)
    return QCoreApplication.translate("labels", str(text)) if text is not None else name


def board_state(name: str) -> str:
    return _label(_BOARD_STATES, name)


def net_state(name: str) -> str:
    return _label(_NET_STATES, name)


def wecom_state(name: str) -> str:
    return _label(_WECOM_STATES, name)


def stage(name: str) -> str:
    return _label(_STAGES, name)
