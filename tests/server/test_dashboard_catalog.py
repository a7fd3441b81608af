"""Every string of the dashboard exists in English and Simplified Chinese, with the same
placeholders, and every key the templates and routes ask for is in the catalog."""

from __future__ import annotations

import re
import string
from importlib import resources

from installer_app.server.accounts import ROLES
from installer_app.server.dashboard.catalog import ACTIONS, EN, OUTCOMES, STAGES, ZH_CN
from installer_app.server.dashboard.queries import NEEDS

PACKAGE = resources.files("installer_app.server.dashboard")
# Text that is the same in both languages: identifiers, and the other language's own name.
SAME_IN_BOTH = {"col.sn", "col.hw_id", "stage.wifi"}


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for folder in (PACKAGE.joinpath("templates"), PACKAGE):
        for entry in folder.iterdir():
            if entry.name.endswith((".html", ".py")):
                text = entry.read_text("utf-8")
                keys |= set(re.findall(r'\bt\(\s*"([a-z_.-]+)"', text))
                keys |= set(re.findall(r'translate\(\s*lang,\s*"([a-z_.-]+)"', text))
                keys |= set(re.findall(r'"(col\.[a-z_]+)"', text))
    return keys


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    assert set(EN) == set(ZH_CN)
    for key, english in EN.items():
        assert _placeholders(english) == _placeholders(ZH_CN[key]), key


def test_the_chinese_is_chinese() -> None:
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for key, text in ZH_CN.items():
        if key in SAME_IN_BOTH or key == "lang.other":
            continue
        assert cjk.search(text), f"{key} is not translated: {text!r}"
    assert not any(cjk.search(v) for k, v in EN.items() if k != "lang.other")


def test_every_key_the_pages_use_exists() -> None:
    used = _used_keys()
    assert len(used) > 100
    dynamic = (
        {f"stage.{s}" for s in STAGES}
        | {f"outcome.{o}" for o in OUTCOMES}
        | {f"action.{a}" for a in ACTIONS}
        | {f"need.{n}" for n in NEEDS}
        | {f"need.{n}.todo" for n in NEEDS}
        | {f"role.{r}" for r in ROLES}
        | {f"check.result.{r}" for r in ("bound", "unbound", "unconfigured", "error")}
    )
    prefixes = {k for k in used if k.endswith(".")}  # t("role." ~ role): listed in dynamic
    missing = sorted((used - prefixes | dynamic) - set(EN))
    assert missing == []


def test_the_glossary_holds_in_the_dashboard_too() -> None:
    from tests.unit.test_translations import GLOSSARY

    drifted = [
        f"{key}: {term!r} missing from {ZH_CN[key]!r}"
        for key, english in EN.items()
        for pattern, term in GLOSSARY
        if pattern.search(english) and term not in ZH_CN[key]
    ]
    assert drifted == [], "see the glossary in docs/translation.md"
