"""What a frozen build was made with: build.spec writes ``build-info.json`` into the bundle.

Lets the frozen app (and its ``--self-test``) tell a feature left out on purpose from one lost by a
packaging mistake. From source there is no such file and every optional part is installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BUILD_INFO_FILE = "build-info.json"


def frozen_build_info() -> dict[str, object] | None:
    """The bundle's build information; None when not running frozen."""
    base = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or base is None:
        return None
    try:
        data = json.loads((Path(base) / BUILD_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def has_secret_service() -> bool:
    """Whether keyring's Linux Secret Service back end (SecretStorage) is meant to be present.

    Source installs get it with keyring; frozen Linux builds only with INSTALLER_SECRET_SERVICE=1
    (docs/packaging.md: it costs 11.6 MB).
    """
    info = frozen_build_info()
    return True if info is None else bool(info.get("secret_service", False))
