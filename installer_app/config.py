"""Typed settings from one TOML file, with environment and command-line overrides.

Precedence: command-line flags > environment variables > the file > defaults. Secrets are never in
the file: they come from the environment (``INSTALLER_PROVIDER_SECRET``,
``INSTALLER_PARTNER_TOKEN``) or the OS credential store (keyring). A bad file or value raises
``ConfigError`` naming the key and the file (CLI exit code 2).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import tomli_w

from installer_app.atomic_write import SHARED, replace_atomically
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.paths import default_config_file
from installer_app.secrets import Secret
from installer_app.service_url import is_loopback_url, service_url_problem

KEYRING_SERVICE = "installer-app"
ENV_PROVIDER_SECRET = "INSTALLER_PROVIDER_SECRET"
ENV_PARTNER_TOKEN = "INSTALLER_PARTNER_TOKEN"
ENV_KEY_FILE = "INSTALLER_KEY_FILE"

# The USB-serial bridges the device spec names, most likely first.
DEFAULT_ALLOWLIST = ("10C4:EA60", "1A86:7523", "1A86:55D4", "0403:6001", "303A:1001")


class ConfigError(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class ProviderSettings:
    mode: Literal["direct", "cloud"] = "direct"
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    corpid: str = ""
    model_id: str = ""
    # "seed": the model ships one shared initial SecretNo that each device exchanges for its own
    # on first connection (configured in the provider admin), so the laptop never knows the
    # device's own secret: static QR codes only, and the store marks the secret as a seed.
    secret_mode: Literal["per_device", "seed"] = "per_device"


@dataclass(frozen=True)
class PartnerSettings:
    base_url: str = ""


@dataclass(frozen=True)
class TeamSettings:
    """Team mode (docs/team-mode.md): set ``url`` to the team server's and the laptop holds no
    provider secret; the installer token is the partner token (credential store or
    INSTALLER_PARTNER_TOKEN)."""

    url: str = ""


@dataclass(frozen=True)
class CredentialSettings:
    source: Literal["register", "inventory", "partner"] = "register"
    sn_prefix: str = ""


@dataclass(frozen=True)
class BindingSettings:
    qr: Literal["static", "dynamic"] = "static"
    poll_interval_s: float = 3.0
    timeout_s: float = 900.0


@dataclass(frozen=True)
class StoreSettings:
    key_file: str = ""


@dataclass(frozen=True)
class DeviceSettings:
    allowlist: tuple[str, ...] = DEFAULT_ALLOWLIST
    min_fw_version: str = ""  # "" accepts any firmware; else a board below it is refused
    wifi_ssid: str = ""  # the site's network offered by default (never its password)


@dataclass(frozen=True)
class UiSettings:
    language: str = "auto"
    # Zero clicks: a newly plugged blank board of the profile's model starts by itself.
    auto_start: bool = True


@dataclass(frozen=True)
class InstallerSettings:
    name: str = ""
    profile: str = ""  # the named profile in use ([profiles.NAME]); "" is the default profile


@dataclass(frozen=True)
class ProfileSettings:
    """One customer project or model: ``[profiles.NAME]``. An empty value keeps the file's
    own setting (the default profile is the file without any ``[profiles]`` table)."""

    model_id: str = ""
    credential_source: str = ""
    qr: str = ""
    min_fw_version: str = ""
    wifi_ssid: str = ""


@dataclass(frozen=True)
class Settings:
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    partner: PartnerSettings = field(default_factory=PartnerSettings)
    team: TeamSettings = field(default_factory=TeamSettings)
    credentials: CredentialSettings = field(default_factory=CredentialSettings)
    binding: BindingSettings = field(default_factory=BindingSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    device: DeviceSettings = field(default_factory=DeviceSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    installer: InstallerSettings = field(default_factory=InstallerSettings)
    profiles: Mapping[str, ProfileSettings] = field(default_factory=dict)
    # Secrets: filled from the environment or keyring by ``load_secrets``; never written to TOML.
    provider_secret: Secret | None = None
    partner_token: Secret | None = None
    source_file: Path | None = None

    def with_secrets(
        self, provider_secret: Secret | None, partner_token: Secret | None
    ) -> Settings:
        return replace(self, provider_secret=provider_secret, partner_token=partner_token)

    def key_file(self) -> Path | None:
        """``INSTALLER_KEY_FILE`` (relative: to the current folder), else ``[store] key_file``
        (relative: to the folder of the settings file that names it, wherever the app runs)."""
        env = os.environ.get(ENV_KEY_FILE)
        if env:
            return Path(env).expanduser()
        if not self.store.key_file:
            return None
        path = Path(self.store.key_file).expanduser()
        if not path.is_absolute() and self.source_file is not None:
            path = self.source_file.parent / path
        return path

    @property
    def team_mode(self) -> bool:
        return bool(self.team.url)

    def installer_name(self) -> str:
        if self.installer.name:
            return self.installer.name
        try:
            import getpass

            return getpass.getuser()
        except Exception:  # noqa: BLE001 - no user name is not worth failing for
            return "installer"


_SECTIONS: dict[str, type[Any]] = {
    "provider": ProviderSettings,
    "partner": PartnerSettings,
    "team": TeamSettings,
    "credentials": CredentialSettings,
    "binding": BindingSettings,
    "store": StoreSettings,
    "device": DeviceSettings,
    "ui": UiSettings,
    "installer": InstallerSettings,
}

_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("provider", "mode"): ("direct", "cloud"),
    ("credentials", "source"): ("register", "inventory", "partner"),
    ("provider", "secret_mode"): ("per_device", "seed"),
    ("binding", "qr"): ("static", "dynamic"),
    ("ui", "language"): ("auto", "en", "zh_CN"),
    ("profiles", "credential_source"): ("", "register", "inventory", "partner"),
    ("profiles", "qr"): ("", "static", "dynamic"),
}


# Every number a setting holds, with its sane range (docs/configuration.md says why):
# polling faster than once a second per board risks WeCom's 60-second block of the whole provider
# account (45009); slower than a minute makes the installer wait for nothing. A binding wait
# shorter than a second cannot succeed, one longer than a day is an installer who went home.
BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("binding", "poll_interval_s"): (1.0, 60.0),
    ("binding", "timeout_s"): (1.0, 86400.0),
}
# Polling the built-in emulator or a test server on this computer costs WeCom nothing: when every
# provider URL in use is loopback, the poll interval may go down to this.
LOOPBACK_MIN_POLL_INTERVAL_S = 0.05
# The base URLs secrets are sent to (service_url.py).
URL_KEYS: tuple[tuple[str, str], ...] = (
    ("provider", "wecom_base_url"),
    ("partner", "base_url"),
    ("team", "url"),
)


def _bad(file: Path | None, key: str, problem: Message) -> ConfigError:
    return ConfigError(
        Message(
            QT_TRANSLATE_NOOP("config", "Setting {key} in {file}: {problem}"),
            key=key,
            file=str(file) if file else "(defaults)",
            problem=problem,
        ),
        Message(
            QT_TRANSLATE_NOOP("config", "Correct the file, or remove the key to use the default.")
        ),
    )


# The register source makes an SN as prefix + HW_ID in hex (up to 16 bytes: 32 digits), and an SN
# is 1 to 128 letters and digits: a prefix that breaks that must stop the load, not a board.
_SN_PREFIX_MAX = 128 - 32
_SN_PREFIX_RE = re.compile(r"[0-9A-Za-z]*")


def _check_sn_prefix(file: Path | None, key: str, value: str) -> None:
    if not _SN_PREFIX_RE.fullmatch(value) or len(value) > _SN_PREFIX_MAX:
        raise _bad(
            file,
            key,
            Message(
                QT_TRANSLATE_NOOP(
                    "config", "must be at most {limit} letters A-Z, a-z and digits, found {found!r}"
                ),
                limit=_SN_PREFIX_MAX,
                found=value,
            ),
        )


def _coerce(
    file: Path | None, section: str, name: str, default: Any, value: Any, shown: str = ""
) -> Any:
    key = f"[{shown or section}] {name}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        expected = QT_TRANSLATE_NOOP("config", "expected {kind}, found {found!r}")
        raise _bad(file, key, Message(expected, kind=type(default).__name__, found=value))
    if (section, name) == ("credentials", "sn_prefix"):
        _check_sn_prefix(file, key, value)
    choices = _CHOICES.get((section, name))
    if choices and value not in choices:
        raise _bad(
            file,
            key,
            Message(
                QT_TRANSLATE_NOOP("config", "must be one of {choices}"),
                choices=", ".join(c or '""' for c in choices),
            ),
        )
    return value


def _parse_section(
    file: Path | None, section: str, cls: type[Any], values: Mapping[str, Any], shown: str
) -> Any:
    defaults = cls()
    known = {f.name: getattr(defaults, f.name) for f in fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in known:
            problem = (
                QT_TRANSLATE_NOOP(
                    "config",
                    "unknown key (secrets go to the credential store or the environment)",
                )
                if "secret" in name or "token" in name
                else QT_TRANSLATE_NOOP("config", "unknown key")
            )
            raise _bad(file, f"[{shown}] {name}", Message(problem))
        kwargs[name] = _coerce(file, section, name, known[name], value, shown)
    return cls(**kwargs)


def _parse_profiles(file: Path | None, values: Mapping[str, Any]) -> dict[str, ProfileSettings]:
    profiles: dict[str, ProfileSettings] = {}
    for name, table in values.items():
        if not isinstance(table, Mapping) or not name.strip():
            raise _bad(
                file,
                f"[profiles.{name}]",
                Message(QT_TRANSLATE_NOOP("config", "a profile is a table of settings")),
            )
        profiles[name] = _parse_section(
            file, "profiles", ProfileSettings, table, f"profiles.{name}"
        )
    return profiles


def parse_settings(data: Mapping[str, Any], file: Path | None = None) -> Settings:
    sections: dict[str, Any] = {}
    profiles: dict[str, ProfileSettings] = {}
    for section, values in data.items():
        if section == "profiles" and isinstance(values, Mapping):
            profiles = _parse_profiles(file, values)
            continue
        if section == "server":
            continue  # the team server's own section (installer_app/server/config.py)
        cls = _SECTIONS.get(section)
        if cls is None or not isinstance(values, Mapping):
            raise _bad(
                file, f"[{section}]", Message(QT_TRANSLATE_NOOP("config", "unknown section"))
            )
        sections[section] = _parse_section(file, section, cls, values, section)
    installer = sections.get("installer", InstallerSettings())
    if installer.profile and installer.profile not in profiles:
        raise _bad(
            file,
            "[installer] profile",
            Message(
                QT_TRANSLATE_NOOP("config", "no [profiles.{name}] table"), name=installer.profile
            ),
        )
    settings = Settings(**sections, profiles=profiles, source_file=file)
    validate_settings(settings)
    return settings


def _range_problem(value: float, low: float, high: float) -> Message | None:
    if not math.isfinite(value):
        return Message(
            QT_TRANSLATE_NOOP("config", "must be a finite number, not {value}"), value=value
        )
    if not low <= value <= high:
        return Message(
            QT_TRANSLATE_NOOP("config", "must be from {low} to {high}, not {value}"),
            low=f"{low:g}",
            high=f"{high:g}",
            value=f"{value:g}",
        )
    return None


def _provider_urls(settings: Settings) -> list[str]:
    """The base URLs this configuration sends requests to."""
    if settings.team_mode:
        return [settings.team.url]
    urls = [settings.partner.base_url] if settings.partner.base_url else []
    if settings.provider.mode == "direct":
        urls.append(settings.provider.wecom_base_url)
    return urls


def validate_settings(settings: Settings) -> None:
    """The checks on values (ranges, URLs, settings that exclude each other), for a loaded file
    and for what the Settings dialog is about to save. Raises ConfigError naming the key."""
    file = settings.source_file
    for section, name in URL_KEYS:
        url = getattr(getattr(settings, section), name)
        problem = service_url_problem(url) if url else None
        if problem is not None:
            raise _bad(file, f"[{section}] {name}", problem)
    for (section, name), (low, high) in BOUNDS.items():
        value = getattr(getattr(settings, section), name)
        urls = _provider_urls(settings)
        if (
            (section, name) == ("binding", "poll_interval_s")
            and urls
            and all(map(is_loopback_url, urls))
        ):
            low = LOOPBACK_MIN_POLL_INTERVAL_S
        problem = _range_problem(value, low, high)
        if problem is not None:
            raise _bad(file, f"[{section}] {name}", problem)
    if settings.provider.secret_mode == "seed" and settings.binding.qr == "dynamic":
        raise _bad(
            file,
            "[binding] qr",
            Message(
                QT_TRANSLATE_NOOP(
                    "config",
                    "a dynamic QR code is signed with the device's own SecretNo, which the "
                    'app does not know with [provider] secret_mode = "seed": use qr = "static"',
                )
            ),
        )


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file; a missing default file means defaults, a missing named file is an
    error."""
    explicit = path is not None
    path = path or default_config_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                Message(
                    QT_TRANSLATE_NOOP("config", "The configuration file {file} does not exist."),
                    file=str(path),
                )
            ) from None
        return Settings(source_file=path)
    except OSError as exc:
        raise ConfigError(
            Message(
                QT_TRANSLATE_NOOP("config", "Cannot read {file}: {reason}"),
                file=str(path),
                reason=exc.strerror or str(exc),
            )
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            Message(
                QT_TRANSLATE_NOOP("config", "{file} is not valid TOML: {reason}"),
                file=str(path),
                reason=str(exc),
            )
        ) from None
    return parse_settings(data, path)


def settings_to_toml(settings: Settings) -> str:
    data: dict[str, Any] = {}
    for section in _SECTIONS:
        values = asdict(getattr(settings, section))
        data[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    if settings.profiles:
        data["profiles"] = {name: asdict(p) for name, p in settings.profiles.items()}
    return tomli_w.dumps(data)


def save_settings(settings: Settings, path: Path) -> None:
    """Write atomically (temp file + replace) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path, mode=SHARED) as out:
        out.write(settings_to_toml(settings))


def _keyring_get(name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            value = keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError:
            return None
        return value if isinstance(value, str) else None
    except Exception:  # noqa: BLE001 - no usable credential store is a normal situation
        return None


def load_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """Environment first, then the OS credential store. In team mode the provider secret is
    not even looked for: the team server holds it, never the laptop."""
    env = os.environ if env is None else env
    provider = None
    if not settings.team_mode:
        provider = env.get(ENV_PROVIDER_SECRET) or _keyring_get("provider_secret")
    partner = env.get(ENV_PARTNER_TOKEN) or _keyring_get("partner_token")
    return settings.with_secrets(
        Secret(provider) if provider else None, Secret(partner) if partner else None
    )


def fill_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """``load_secrets`` for the secrets ``settings`` does not carry yet; those it carries win.

    The wizard calls it on a worker: the credential store may be slow (D-Bus) or ask the user to
    unlock it, and must not hold up the first frame.
    """
    if settings.partner_token is not None and (
        settings.provider_secret is not None or settings.team_mode
    ):
        return settings
    loaded = load_secrets(settings, env)
    return settings.with_secrets(
        settings.provider_secret or loaded.provider_secret,
        settings.partner_token or loaded.partner_token,
    )


def store_secret_in_keyring(name: str, value: Secret) -> None:
    """Save a secret to the OS credential store; raises ConfigError when there is none."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, name, value.reveal())
    except (KeyringError, RuntimeError) as exc:
        raise ConfigError(
            Message(
                QT_TRANSLATE_NOOP(
                    "config", "This computer has no usable credential store ({reason})."
                ),
                reason=type(exc).__name__,
            ),
            Message(
                QT_TRANSLATE_NOOP("config", "Set {env} in the environment instead."),
                env=ENV_PROVIDER_SECRET if name == "provider_secret" else ENV_PARTNER_TOKEN,
            ),
        ) from None
