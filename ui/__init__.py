"""The desktop wizard (PySide6 only); it adapts the Qt-free core in ``installer_app``."""
