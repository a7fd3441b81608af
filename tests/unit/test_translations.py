"""The Chinese translation is complete, keeps every placeholder, compiles, and reads as Chinese.

The strings are extracted from the current sources with pyside6-lupdate exactly as
``tools/build_translations.py --update`` does, into a temporary file, so a string added to the code
without a translation fails here (not only after somebody remembers to run --update).
"""

from __future__ import annotations

import importlib.util
import re
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from installer_app import i18n
from installer_app.device.errors import DeviceTimeout, PortNotFound
from installer_app.workflow.errors import BindingTimedOut

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "resources" / "i18n"
ZH_TS = I18N / "installer_app_zh_CN.ts"
ALL_TS = sorted(I18N.glob("installer_app_*.ts"))

HOW_TO_FIX = (
    "run tools/build_translations.py --update and translate them in "
    "resources/i18n/installer_app_zh_CN.ts"
)

# Finished zh_CN translations that may stay in English although their source has more than three
# words: pure technical tokens only (a command line, a config line). Keyed by (context, source).
ENGLISH_ALLOWED: frozenset[tuple[str, str]] = frozenset()

# Technical fragments that are rightly left in English inside a Chinese sentence.
TECHNICAL = re.compile(r"installer-app(?: [\w-]+)*|sudo usermod -aG dialout \$USER")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3,}\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
QT_MARKERS = re.compile(r"%(?:n|v|m|p|L?\d+)")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# printf-style fields: argparse's own strings and help texts (%(default)s) are %-formatted.
PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")

# The glossary of docs/translation.md, for the terms whose Chinese must not drift.
GLOSSARY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bcompanion app", re.I), "硬件应用"),
    (re.compile(r"\bprovider secret", re.I), "服务商密钥"),
    (re.compile(r"\binstaller token", re.I), "安装人员令牌"),
    (re.compile(r"\baccess token", re.I), "访问令牌"),
    (re.compile(r"\bpartner service", re.I), "合作伙伴服务"),
    (re.compile(r"\bQR code", re.I), "二维码"),
    (re.compile(r"\bserial port", re.I), "串口"),
    (re.compile(r"\bfactory reset\b", re.I), "恢复出厂设置"),
    (re.compile(r"\bfirmware\b", re.I), "固件"),
    (re.compile(r"\bemulator\b", re.I), "模拟服务"),
    (re.compile(r"\bsimulat(?:ed|or)\b", re.I), "模拟设备"),
    (re.compile(r"\brate limit", re.I), "限流"),
    (re.compile(r"\bhistory\b", re.I), "历史记录"),
    (re.compile(r"\bWeCom\b"), "企业微信"),
)


@dataclass(frozen=True)
class Entry:
    context: str
    source: str
    numerus: bool
    finished: bool
    forms: tuple[str, ...]


def read_ts(path: Path) -> dict[tuple[str, str], Entry]:
    import xml.etree.ElementTree as ET

    entries: dict[tuple[str, str], Entry] = {}
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            source = message.findtext("source") or ""
            translation = message.find("translation")
            assert translation is not None, f"{path.name}: {source!r} has no <translation>"
            numerus = message.get("numerus") == "yes"
            if numerus:
                forms = tuple(form.text or "" for form in translation.iter("numerusform"))
            else:
                forms = (translation.text or "",)
            finished = translation.get("type") is None and all(forms)
            entries[(name, source)] = Entry(name, source, numerus, finished, forms)
    return entries


def finished(path: Path) -> Iterator[Entry]:
    return (entry for entry in read_ts(path).values() if entry.finished)


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_translations", ROOT / "tools" / "build_translations.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return load_build_script()


@pytest.fixture(scope="module")
def extracted(
    build: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Entry]:
    """Every translatable string of the current code, as lupdate sees it."""
    ts = tmp_path_factory.mktemp("lupdate") / "extracted.ts"
    build.lupdate(ts)
    return read_ts(ts)


def fields(text: str) -> Counter[tuple[str, str | None, str | None]]:
    """The ``{name!conv:spec}`` fields of a str.format template; ValueError if it is broken."""
    return Counter(
        (name, conversion, spec)
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def test_every_string_in_the_code_has_a_finished_chinese_translation(
    extracted: dict[tuple[str, str], Entry],
) -> None:
    assert len(extracted) > 100, "lupdate found almost nothing: are its arguments right?"
    committed = read_ts(ZH_TS)
    missing = []
    for key, entry in sorted(extracted.items()):
        have = committed.get(key)
        if have is None or not have.finished or have.numerus != entry.numerus:
            missing.append(f"  [{key[0]}] {key[1]!r}")
    assert not missing, (
        f"{len(missing)} string(s) in the code have no finished zh_CN translation "
        f"({HOW_TO_FIX}):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("ts", ALL_TS, ids=lambda p: p.name)
def test_translations_keep_the_placeholders_of_their_source(ts: Path) -> None:
    broken = []
    for entry in finished(ts):
        want = fields(entry.source)
        for form in entry.forms:
            try:
                got = fields(form)
            except ValueError as exc:
                broken.append(f"  [{entry.context}] {form!r}: not a format template ({exc})")
                continue
            if got != want:
                broken.append(f"  [{entry.context}] {entry.source!r} -> {form!r}")
            elif Counter(QT_MARKERS.findall(form)) != Counter(QT_MARKERS.findall(entry.source)):
                broken.append(f"  [{entry.context}] {entry.source!r} -> {form!r} (Qt %-markers)")
            elif Counter(PRINTF.findall(form)) != Counter(PRINTF.findall(entry.source)):
                broken.append(f"  [{entry.context}] {entry.source!r} -> {form!r} (%-fields)")
    assert not broken, f"{ts.name}: translations with other placeholders:\n" + "\n".join(broken)


@pytest.mark.parametrize("ts", ALL_TS, ids=lambda p: p.name)
def test_translations_keep_the_outer_spaces_and_line_breaks(ts: Path) -> None:
    # A prompt ends in ": ", an indented row starts with spaces, a dialog text has paragraphs.
    def outer(text: str) -> tuple[str, str, int]:
        return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :], text.count("\n")

    broken = [
        f"  [{entry.context}] {entry.source!r} -> {form!r}"
        for entry in finished(ts)
        for form in entry.forms
        if outer(form) != outer(entry.source)
    ]
    assert not broken, f"{ts.name}: spaces or line breaks differ:\n" + "\n".join(broken)


def test_the_chinese_plural_forms_are_one_form_with_the_count() -> None:
    numerus = [entry for entry in finished(ZH_TS) if entry.numerus]
    assert numerus, "the GUI has plural messages; none found"
    for entry in numerus:
        assert len(entry.forms) == 1 and "%n" in entry.forms[0], entry


@pytest.fixture
def restore_translator() -> Iterator[None]:
    language = i18n.current_language()
    yield
    i18n.set_translator(lambda _context, text: text, language)


def test_the_cli_catalog_renders_core_messages_in_chinese(restore_translator: None) -> None:
    catalog = i18n.load_ts_catalog("zh_CN")
    assert len(catalog) > 100

    def translate(context: str, text: str) -> str:
        return catalog.get((context, text), text)

    error = PortNotFound("/dev/ttyUSB0")
    assert error.message.render(translate) == "串口 /dev/ttyUSB0 不存在。"
    assert error.hint is not None
    assert error.hint.render(translate) == "请连接设备，然后运行 installer-app ports 查看现有端口。"

    # The translator the CLI installs, with a nested Message as a parameter.
    assert i18n.install_catalog_translator("zh_CN") == "zh_CN"
    timeout = DeviceTimeout("COM3", "HELLO", 3)
    assert str(timeout.message) == "COM3 上的设备对 HELLO 无应答（已尝试 3 次）。"
    waited = BindingTimedOut(
        "WXA2000012345",
        600.0,
        i18n.Message(i18n.QT_TRANSLATE_NOOP("workflow", "the binding")),
    )
    assert waited.describe()[0] == "SN WXA2000012345 等待绑定已超过 600 秒，已停止等待。"
    assert (
        waited.message.english()
        == "Gave up waiting for the binding of SN WXA2000012345 after 600 s."
    )


@pytest.mark.parametrize("ts", ALL_TS, ids=lambda p: p.name)
def test_the_ts_compiles_with_lrelease_and_the_qm_translates(
    ts: Path, build: ModuleType, tmp_path: Path
) -> None:
    qm = tmp_path / ts.with_suffix(".qm").name
    result = build.lrelease(ts, qm, silent=False)
    assert result.stderr.strip() == "", result.stderr
    done = sum(1 for _ in finished(ts))
    assert re.search(rf"Generated \d+ translation\(s\) \({done} finished", result.stdout), (
        result.stdout
    )

    from PySide6.QtCore import QTranslator

    translator = QTranslator()
    assert translator.load(str(qm)), f"{qm.name} does not load"
    if ts == ZH_TS:
        assert translator.translate("MainWindow", "Start") == "开始"
        assert translator.translate("device", "The serial port {port} does not exist.") == (
            "串口 {port} 不存在。"
        )
        assert translator.translate("HistoryDialog", "%n board(s)", None, 3) == "共 %n 台设备"
    else:
        assert translator.translate("HistoryDialog", "%n board(s)", None, 1) == "%n board"
        assert translator.translate("HistoryDialog", "%n board(s)", None, 2) == "%n boards"


def test_no_chinese_translation_is_left_in_english() -> None:
    suspicious = []
    for entry in finished(ZH_TS):
        if (entry.context, entry.source) in ENGLISH_ALLOWED:
            continue
        for form in entry.forms:
            text = TECHNICAL.sub("", PRINTF.sub("", PLACEHOLDER.sub("", form)))
            if len(entry.source.split()) > 3 and (form == entry.source or not CJK.search(form)):
                suspicious.append(f"  [{entry.context}] {entry.source!r} -> {form!r}")
            elif ENGLISH_RUN.search(text):
                run = ENGLISH_RUN.search(text)
                assert run is not None
                suspicious.append(f"  [{entry.context}] {form!r}: English left ({run[0]!r})")
    assert not suspicious, (
        "zh_CN translations that are still English (translate them, or add a pure technical "
        "token to ENGLISH_ALLOWED):\n" + "\n".join(suspicious)
    )


def test_the_allowlist_names_real_messages() -> None:
    committed = read_ts(ZH_TS)
    assert not [key for key in ENGLISH_ALLOWED if key not in committed]


@pytest.mark.parametrize("ts", ALL_TS, ids=lambda p: p.name)
def test_no_translation_carries_escaped_markup_or_control_characters(ts: Path) -> None:
    # The .ts parsed (read_ts); what is left to catch is text escaped twice, e.g. "&amp;lt;".
    bad = [
        f"  [{entry.context}] {form!r}"
        for entry in finished(ts)
        for form in entry.forms
        if re.search(r"&(?:amp|lt|gt|quot|apos|#\d+);", form)
        or re.search(r"[\x00-\x08\x0b-\x1f\x7f]", form)
    ]
    assert not bad, f"{ts.name}:\n" + "\n".join(bad)


def test_chinese_translations_follow_the_glossary() -> None:
    drifted = []
    for entry in finished(ZH_TS):
        source = TECHNICAL.sub("", entry.source)
        for pattern, chinese in GLOSSARY:
            if pattern.search(source) and not all(chinese in form for form in entry.forms):
                drifted.append(f"  [{entry.context}] {entry.source!r}: expected {chinese!r}")
    assert not drifted, "see the glossary in docs/translation.md:\n" + "\n".join(drifted)


def test_a_broken_translation_is_caught_by_the_placeholder_check() -> None:
    # The checks above must be able to fail: a lost or renamed placeholder differs.
    assert fields("{port} 不存在") != fields("The serial port {port} {x} does not exist.")
    assert fields("等待 {minutes}:{seconds}") != fields("Waiting for {minutes}:{seconds:02d}")
    with pytest.raises(ValueError):
        fields("未闭合 {port")
    assert PRINTF.findall("%(prog)s: error: %(message)s, %s, %r, %(default)g, 100%%") == [
        "%(prog)s",
        "%(message)s",
        "%s",
        "%r",
        "%(default)g",
        "%%",
    ]
    assert QT_MARKERS.findall("%v of %m steps, %n board(s), %1") == ["%v", "%m", "%n", "%1"]
