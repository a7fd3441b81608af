"""Where the enterprise admin adds a device in the WeCom mobile app: the two ways to bind.

WeCom's own menu names; the CLI and the wizard show them in Chinese in every language (with a
gloss in English), because that is what the admin's phone says. Adding by SN is WeCom's "input"
way of discovering a device (``addDevice`` with ``type: input``): the fallback when the code does
not scan (no camera, a glare on the screen, a printed label far away).
"""

from __future__ import annotations

SCAN_PATH: tuple[str, ...] = ("工作台", "管理企业", "智慧硬件", "添加设备", "扫码")
TYPE_SN_PATH: tuple[str, ...] = ("工作台", "管理企业", "智慧硬件", "添加设备", "输入SN")


def arrows(path: tuple[str, ...]) -> str:
    return " → ".join(path)
