"""Translatable messages for the Qt-free core.

Every string a person reads is written as ``QT_TRANSLATE_NOOP("context", "text {param}")`` so that
Qt's ``pyside6-lupdate`` extracts it into ``resources/i18n/*.ts`` beside the GUI's own strings. The
core never imports Qt: a ``Message`` is rendered through whatever translator the process installed.
The GUI installs ``QCoreApplication.translate`` (backed by the compiled ``.qm``); the CLI installs a
catalog read from the same ``.ts`` source with the standard library's XML parser.
"""

from __future__ import annotations

import locale
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any, NamedTuple

Translate = Callable[[str, str], str]

SUPPORTED_LANGUAGES = ("en", "zh_CN")


class Source(NamedTuple):
    context: str
    text: str


def QT_TRANSLATE_NOOP(context: str, text: str) -> Source:  # noqa: N802 - the name lupdate knows
    """Mark ``text`` for translation in ``context``; lupdate extracts it, Python keeps both."""
    return Source(context, text)


def _identity(context: str, text: str) -> str:
    return text


_lock = threading.Lock()
_translate: Translate = _identity
_language = "en"


def set_translator(translate: Translate, language: str) -> None:
    global _translate, _language
    with _lock:
        _translate, _language = translate, language


def current_language() -> str:
    return _language


def translate(context: str, text: str) -> str:
    return _translate(context, text)


class Message:
    """A translatable sentence with named ``{placeholders}``, rendered late."""

    __slots__ = ("params", "source")

    def __init__(self, source: Source, **params: Any) -> None:
        self.source = source
        self.params: Mapping[str, Any] = params

    def render(self, translator: Translate | None = None) -> str:
        template = (translator or _translate)(self.source.context, self.source.text)
        params = {
            k: (v.render(translator) if isinstance(v, Message) else v)
            for k, v in self.params.items()
        }
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            # A translation that lost or broke a placeholder must not hide the message.
            return self.source.text.format(**params)

    def english(self) -> str:
        return self.render(_identity)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Message({self.source.text!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message)
            and self.source == other.source
            and dict(self.params) == dict(other.params)
        )

    def __hash__(self) -> int:
        return hash(self.source)


def detect_language(preference: str | None = None) -> str:
    """``preference`` is a setting ("auto", "en", "zh_CN"); auto follows the system locale."""
    if preference and preference != "auto":
        return "zh_CN" if preference.lower().replace("-", "_").startswith("zh") else "en"
    for var in ("INSTALLER_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    system = locale.getlocale()[0] or ""
    return "zh_CN" if system.lower().startswith(("zh", "chinese")) else "en"


def ts_resource_name(language: str) -> str:
    return f"installer_app_{language}.ts"


class TsTranslation(NamedTuple):
    """One finished translation of a ``.ts`` file."""

    context: str
    source: str
    comment: str | None  # Qt's disambiguation
    numerus: bool
    forms: tuple[str, ...]  # the plural forms of a numerus message, else the one text


def finished_ts_translations(ts_bytes: bytes) -> Iterator[TsTranslation]:
    """Every translation of a ``.ts`` file that is neither unfinished nor obsolete.

    Raises ``ET.ParseError`` for a malformed file."""
    for ctx in ET.fromstring(ts_bytes).iter("context"):
        name = ctx.findtext("name") or ""
        for msg in ctx.iter("message"):
            src = msg.findtext("source")
            tr = msg.find("translation")
            if src is None or tr is None:
                continue
            if tr.get("type") in ("unfinished", "obsolete", "vanished"):
                continue
            numerus = msg.get("numerus") == "yes"
            # A plural message keeps its forms in <numerusform>, not in the text around them.
            if numerus:
                forms = tuple(form.text or "" for form in tr.iter("numerusform"))
            else:
                forms = (tr.text or "",)
            yield TsTranslation(name, src, msg.findtext("comment"), numerus, forms)


def load_ts_catalog(language: str) -> dict[tuple[str, str], str]:
    """Read finished translations from the bundled ``.ts`` source of ``language``."""
    if language == "en":
        return {}
    ref = resources.files("resources.i18n").joinpath(ts_resource_name(language))
    catalog: dict[tuple[str, str], str] = {}
    try:
        # Chinese has one plural form: the first is the one.
        for entry in finished_ts_translations(ref.read_bytes()):
            if entry.forms and entry.forms[0].strip():
                catalog[(entry.context, entry.source)] = entry.forms[0]
    except (FileNotFoundError, ET.ParseError):
        return {}
    return catalog


def install_catalog_translator(preference: str | None = None) -> str:
    """Install the ``.ts``-backed translator (CLI) and return the chosen language."""
    language = detect_language(preference)
    catalog = load_ts_catalog(language)

    def translate_from_catalog(context: str, text: str) -> str:
        return catalog.get((context, text), text)

    set_translator(translate_from_catalog, language)
    return language
