"""Secrets stay masked; messages render through the installed translator."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from installer_app import i18n
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.secrets import RedactingFilter, Secret, redact


def test_secret_never_shows_itself() -> None:
    s = Secret("very-secret-value-42")
    assert "very-secret" not in repr(s)
    assert "very-secret" not in str(s)
    assert "very-secret" not in f"{s} {s!r} {s:>30}"
    assert s.reveal() == "very-secret-value-42"


def test_redact_masks_registered_values_and_token_params() -> None:
    Secret("registered-secret-xyz")
    text = (
        "POST /cgi-bin/service/add_device?provider_access_token=abcDEF123 "
        "value registered-secret-xyz Authorization: Bearer tok-123 "
        '{"provider_secret": "plain"}'
    )
    clean = redact(text)
    for leaked in ("abcDEF123", "registered-secret-xyz", "tok-123", "plain"):
        assert leaked not in clean


def test_redacting_filter_on_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("filter-me-secret-99")
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="test.redact"):
        logger.debug("url %s", "https://x/y?access_token=TOKENVALUE")
        try:
            raise RuntimeError(f"boom {secret.reveal()}")
        except RuntimeError:
            logger.exception("failed")
    logger.filters.clear()
    assert "TOKENVALUE" not in caplog.text
    assert "filter-me-secret-99" not in caplog.text


def test_message_renders_with_translator_and_survives_broken_translation() -> None:
    msg = Message(QT_TRANSLATE_NOOP("test", "Port {port} is busy."), port="COM3")
    assert msg.english() == "Port COM3 is busy."
    assert msg.render(lambda c, t: "端口 {port} 正忙。") == "端口 COM3 正忙。"
    assert msg.render(lambda c, t: "端口 {prot} 正忙。") == "Port COM3 is busy."


def test_nested_message_parameters_are_translated() -> None:
    inner = Message(QT_TRANSLATE_NOOP("test", "cable"))
    outer = Message(QT_TRANSLATE_NOOP("test", "Check the {what}."), what=inner)
    table = {"cable": "线缆", "Check the {what}.": "请检查{what}。"}
    assert outer.render(lambda c, t: table.get(t, t)) == "请检查线缆。"


@pytest.mark.parametrize(
    ("pref", "env", "expected"),
    [
        ("zh_CN", {}, "zh_CN"),
        ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
        ("auto", {"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ("auto", {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"INSTALLER_LANG": "zh_CN", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ],
)
def test_language_detection(
    monkeypatch: pytest.MonkeyPatch, pref: str | None, env: dict[str, str], expected: str
) -> None:
    for var in ("INSTALLER_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert i18n.detect_language(pref) == expected


def test_redact_leaves_human_text_alone() -> None:
    assert redact("Partner token: ok; token fetches: 1") == "Partner token: ok; token fetches: 1"
    assert redact('{"credential": "abc!def", "sn": "X1"}') == '{"credential": "***", "sn": "X1"}'


def test_ts_catalog_reads_finished_singular_and_plural_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ts = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS><TS version="2.1" language="zh_CN">
<context><name>cli</name>
<message><source>Error</source><translation>错误</translation></message>
<message><source>Later</source><translation type="unfinished">稍后</translation></message>
<message numerus="yes"><source>%n boards</source>
  <translation><numerusform>%n 台设备</numerusform></translation></message>
</context></TS>"""
    root = tmp_path / "pkg"
    (root / "i18n").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "i18n" / "__init__.py").write_text("")
    (root / "i18n" / "installer_app_zh_CN.ts").write_text(ts, encoding="utf-8")
    monkeypatch.setattr(i18n.resources, "files", lambda _name: root / "i18n")
    catalog = i18n.load_ts_catalog("zh_CN")
    assert catalog == {("cli", "Error"): "错误", ("cli", "%n boards"): "%n 台设备"}
