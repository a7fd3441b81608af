"""The team server's settings: the ``[server]`` section of the TOML file plus secrets from the
environment (team-server.md "Running").

The laptop's settings parser ignores ``[server]`` so one file may serve both. Every problem is one
``ServerConfigError`` naming the key or variable (CLI exit code 2).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source
from installer_app.secrets import Secret

ENV_DATABASE_URL = "INSTALLER_DATABASE_URL"
ENV_PROVIDER_SECRET = "INSTALLER_PROVIDER_SECRET"
ENV_SUITE_SECRET = "INSTALLER_SUITE_SECRET"
ENV_CALLBACK_TOKEN = "INSTALLER_CALLBACK_TOKEN"
ENV_CALLBACK_AES_KEY = "INSTALLER_CALLBACK_AES_KEY"
ENV_SERVER_KEY = "INSTALLER_SERVER_KEY"
# How ``serve`` hands the file it read to its worker processes.
ENV_CONFIG_FILE = "INSTALLER_SERVER_CONFIG"

SERVER_KEY_BYTES = 32


class ServerConfigError(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class ServerSecrets:
    provider_secret: Secret | None
    suite_secret: Secret | None
    callback_token: Secret | None
    callback_aes_key: Secret | None
    server_key: bytes | None = field(repr=False)


@dataclass(frozen=True)
class ServerConfig:
    corpid: str = ""
    model_ids: tuple[str, ...] = ()
    source: Literal["register", "inventory"] = "inventory"
    sn_prefix: str = "WX"
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    suite_id: str = ""
    poll_interval_s: float = 3.0
    public_url: str = ""
    database_url: str = ""
    key_file: str = ""
    # Requests a second per token (per worker), bursts of twice as many; not in the spec's list
    # of keys: an extension (docs/server.md), the spec asks for "at least 20".
    rate_limit_per_s: float = 50.0
    source_file: Path | None = None


_KEYS: dict[str, type | tuple[type, ...]] = {
    "corpid": str,
    "model_ids": list,
    "source": str,
    "sn_prefix": str,
    "wecom_base_url": str,
    "suite_id": str,
    "poll_interval_s": (int, float),
    "public_url": str,
    "database_url": str,
    "key_file": str,
    "rate_limit_per_s": (int, float),
}


def _bad(key: str, problem: Source) -> ServerConfigError:
    return ServerConfigError(
        Message(
            QT_TRANSLATE_NOOP("server", "Server setting {key}: {problem}"),
            key=key,
            problem=Message(problem),
        ),
        Message(QT_TRANSLATE_NOOP("server", "Fix it in the [server] section or the environment.")),
    )


def load_server_config(path: Path | None) -> ServerConfig:
    """The ``[server]`` section of ``path`` (defaults when there is no file)."""
    if path is None:
        return ServerConfig()
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise ServerConfigError(
            Message(
                QT_TRANSLATE_NOOP("config", "The configuration file {file} does not exist."),
                file=str(path),
            )
        ) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ServerConfigError(
            Message(
                QT_TRANSLATE_NOOP("config", "{file} is not valid TOML: {reason}"),
                file=str(path),
                reason=str(exc),
            )
        ) from None
    section = data.get("server", {})
    if not isinstance(section, Mapping):
        raise _bad("[server]", QT_TRANSLATE_NOOP("server", "must be a table"))
    values: dict[str, Any] = {}
    for name, value in section.items():
        kind = _KEYS.get(name)
        if kind is None:
            raise _bad(
                f"[server] {name}",
                QT_TRANSLATE_NOOP("server", "unknown key (secrets come from the environment)"),
            )
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _bad(f"[server] {name}", QT_TRANSLATE_NOOP("server", "wrong type"))
        values[name] = value
    if "model_ids" in values:
        ids = values["model_ids"]
        if not all(isinstance(i, str) and i for i in ids):
            raise _bad(
                "[server] model_ids", QT_TRANSLATE_NOOP("server", "a list of model IDs (text)")
            )
        values["model_ids"] = tuple(ids)
    if values.get("source", "inventory") not in ("register", "inventory"):
        raise _bad("[server] source", QT_TRANSLATE_NOOP("server", "register or inventory"))
    if "poll_interval_s" in values:
        values["poll_interval_s"] = float(values["poll_interval_s"])
        if not 0.1 <= values["poll_interval_s"] <= 3600:
            raise _bad(
                "[server] poll_interval_s", QT_TRANSLATE_NOOP("server", "from 0.1 to 3600 seconds")
            )
    if "rate_limit_per_s" in values:
        values["rate_limit_per_s"] = float(values["rate_limit_per_s"])
        if not 20 <= values["rate_limit_per_s"] <= 1_000_000:
            raise _bad("[server] rate_limit_per_s", QT_TRANSLATE_NOOP("server", "20 or more"))
    config = ServerConfig(**values, source_file=path)
    for key, url in (("public_url", config.public_url), ("wecom_base_url", config.wecom_base_url)):
        if url and not secure_url(url):
            raise _bad(
                f"[server] {key}",
                QT_TRANSLATE_NOOP("server", "must use https unless the host is loopback"),
            )
    return config


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback(parts.hostname or "")


def database_url(cli_value: str | None, config: ServerConfig, env: Mapping[str, str]) -> str:
    """``--database-url``, else the environment, else ``[server] database_url``."""
    url = cli_value or env.get(ENV_DATABASE_URL) or config.database_url
    if not url:
        raise ServerConfigError(
            Message(QT_TRANSLATE_NOOP("server", "No database is configured.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "server",
                    "Give --database-url postgresql://user:pass@host:port/db, or set "
                    "INSTALLER_DATABASE_URL, or [server] database_url.",
                )
            ),
        )
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise _bad("database URL", QT_TRANSLATE_NOOP("server", "must start with postgresql://"))
    host = parts.hostname or ""
    # A Unix socket directory (host=/path in the query) or loopback needs no TLS; others do.
    socket_dir = "host=/" in parts.query or host.startswith("/") or host == ""
    if (
        not socket_dir
        and not is_loopback(host)
        and "sslmode=require" not in parts.query
        and "sslmode=verify" not in parts.query
    ):
        raise _bad(
            "database URL",
            QT_TRANSLATE_NOOP(
                "server", "a database on another host needs sslmode=require or verify-full"
            ),
        )
    return url


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = env.get(name, "")
    return Secret(value) if value else None


def decode_server_key(text: str) -> bytes | None:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == SERVER_KEY_BYTES else None


def load_server_secrets(
    config: ServerConfig, env: Mapping[str, str] | None = None
) -> ServerSecrets:
    """The secrets from the environment, each checked; the server key also from ``key_file``."""
    env = os.environ if env is None else env
    aes = _secret(env, ENV_CALLBACK_AES_KEY)
    if aes is not None:
        from installer_app.provider.wecom_crypto import aes_key

        try:
            aes_key(aes)
        except ValueError:
            raise _bad(
                ENV_CALLBACK_AES_KEY, QT_TRANSLATE_NOOP("server", "the 43-character EncodingAESKey")
            ) from None
    key: bytes | None = None
    raw = env.get(ENV_SERVER_KEY, "")
    where = ENV_SERVER_KEY
    if not raw and config.key_file:
        where = "[server] key_file"
        try:
            raw = Path(config.key_file).expanduser().read_text("ascii")
        except (OSError, UnicodeDecodeError):
            raise _bad(where, QT_TRANSLATE_NOOP("server", "cannot be read")) from None
    if raw:
        key = decode_server_key(raw)
        if key is None:
            raise _bad(
                where,
                QT_TRANSLATE_NOOP("server", "32 random bytes in standard Base64 (44 characters)"),
            )
    return ServerSecrets(
        provider_secret=_secret(env, ENV_PROVIDER_SECRET),
        suite_secret=_secret(env, ENV_SUITE_SECRET),
        callback_token=_secret(env, ENV_CALLBACK_TOKEN),
        callback_aes_key=aes,
        server_key=key,
    )


def require(value: object, name: str) -> None:
    """A secret or setting ``serve`` cannot start without: one clear message naming it."""
    if value is None or value == "" or value == ():
        raise ServerConfigError(
            Message(QT_TRANSLATE_NOOP("server", "{name} is not set."), name=name),
            Message(QT_TRANSLATE_NOOP("server", "The team server needs it: see docs/server.md.")),
        )
