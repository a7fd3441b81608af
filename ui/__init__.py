"""The desktop wizard (PySide6 only); it adapts the Qt-free core in ``installer_app``."""

from ui.compat import immortalize_singletons

immortalize_singletons()
