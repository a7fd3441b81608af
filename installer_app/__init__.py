"""installer-app: provision WeCom smart-hardware devices on site (Qt-free core)."""

# The one place the version is written: pyproject.toml reads it from here (setuptools' dynamic
# version) and build.spec too. A constant rather than importlib.metadata, which costs the wizard
# 20 ms of start-up and needs the package metadata bundled into frozen builds.
__version__ = "0.1.0"
