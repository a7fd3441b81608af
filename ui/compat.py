"""Work around a reference-count bug of PySide6 6.12 on CPython 3.11.

PySide6-Essentials 6.12.0 drops one reference to ``None`` on every call of a C++ method that
returns void (``setText``, ``click``, ``QPainter.drawRect``, ``processEvents``...), and to ``True``
/ ``False`` on some bool paths. On CPython 3.12+ these objects are immortal (PEP 683), so nothing
happens; on 3.11 their count reaches zero after some thousands of calls and the interpreter aborts
("Fatal Python error: none_dealloc"), at exit or in the middle of a session.

Until the dependency is pinned to a fixed release (or the app moves to Python 3.12), make the three
singletons effectively immortal the way 3.12 does: give them a reference count no session can use
up. This touches only ``ob_refcnt`` of three objects that are never freed anyway.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40


def immortalize_singletons() -> bool:
    """Returns True when the workaround was applied (CPython before 3.12 only)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        if refcount.value < _HEADROOM:
            refcount.value += _HEADROOM
    return True
