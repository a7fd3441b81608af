"""Which base URLs the app may send the provider secret and the installer token to.

WeCom and the partner service get secrets in every request (the provider secret in the token
call, the installer token in a header), so their base URL must be ``https://``. Plain ``http://``
is only allowed to this computer itself (127.0.0.0/8, ``::1``, ``localhost``), where the built-in
emulator and the test servers run and nothing crosses a network. Anything else (``ftp:``,
``file:``, a malformed URL, a URL carrying a user name, a query or a fragment) is refused as a
setting, never reported later as a network problem. docs/configuration.md lists the forms.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from installer_app.i18n import QT_TRANSLATE_NOOP, Message


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: addresses that never leave this computer."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True for a base URL that points at this computer (whatever its scheme)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and is_loopback_host(host)


def service_url_problem(url: str) -> Message | None:
    """Why ``url`` cannot be a WeCom or partner-service base URL, or None when it can."""
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        return Message(QT_TRANSLATE_NOOP("config", "it contains spaces or other invisible text"))
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return Message(QT_TRANSLATE_NOOP("config", "it is not a valid URL"))
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        return Message(QT_TRANSLATE_NOOP("config", "it must start with https://"))
    if not host:
        return Message(QT_TRANSLATE_NOOP("config", "it names no host"))
    if parts.username is not None or parts.password is not None:
        return Message(QT_TRANSLATE_NOOP("config", "it must not carry a user name or password"))
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return Message(QT_TRANSLATE_NOOP("config", "it must not have a query (?) or fragment (#)"))
    if scheme == "http" and not is_loopback_host(host):
        return Message(
            QT_TRANSLATE_NOOP(
                "config",
                "http:// would send the provider secret and the installer token in clear: use "
                "https:// (http:// only for 127.0.0.1, ::1 or localhost)",
            )
        )
    return None
