"""installer-app: provision WeCom smart-hardware devices on site (Qt-free core)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("installer-app")
except PackageNotFoundError:  # running from a source tree that was never installed, or frozen
    __version__ = "0.1.0"
