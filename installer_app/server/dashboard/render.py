"""Pages: the Jinja2 environment (autoescape on: every value from a device, an installer or WeCom is
text), the viewer's language and time zone, and the headers every dashboard answer carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from installer_app.server.dashboard.catalog import ACTIONS, CATALOGS, LANGUAGES, OUTCOMES, STAGES

LANG_COOKIE = "dash_lang"
TZ_COOKIE = "dash_tz"
DEFAULT_LANG = "en"

# No inline script or style anywhere: the one script and the one style sheet are files of ours.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages hold the fleet's data (and once, a new token): never kept by a browser or a proxy.
    "Cache-Control": "no-store",
}


def language_of(request: Request) -> str:
    """The switch's cookie, else the browser's first language we have, else English."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return accept_language(request.headers.get("accept-language", ""))


def accept_language(header: str) -> str:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANG


def time_zone_of(request: Request) -> str:
    """The viewer's IANA zone, which the page's script stores in a cookie (UTC until it has)."""
    name = request.cookies.get(TZ_COOKIE, "")
    if not name or len(name) > 64:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def translate(lang: str, key: str, **params: Any) -> str:
    text = CATALOGS[lang].get(key) or CATALOGS[DEFAULT_LANG][key]
    return text.format(**params) if params else text


def stage_label(lang: str, stage: str | None) -> str:
    """A known stage in the viewer's language; anything else (laptops may report new step
    names) as it came."""
    if not stage:
        return ""
    return translate(lang, f"stage.{stage}") if stage in STAGES else stage


def outcome_label(lang: str, outcome: str | None) -> str:
    if not outcome:
        return ""
    return translate(lang, f"outcome.{outcome}") if outcome in OUTCOMES else outcome


def action_label(lang: str, action: str) -> str:
    """An audit row's action: ``event:STEP:OUTCOME`` is what a laptop reported."""
    if action.startswith("event:"):
        _event, step, outcome = [*action.split(":", 2), "", ""][:3]
        return translate(
            lang,
            "action.event",
            step=stage_label(lang, step),
            outcome=outcome_label(lang, outcome),
        )
    return translate(lang, f"action.{action}") if action in ACTIONS else action


def utc_iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def utc_text(value: datetime | None) -> str:
    """What a <time> shows before the script puts it in the viewer's zone (and without JS)."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_answer(detail: str | None) -> dict[str, Any]:
    """A *Check now* answer as the audit table keeps it (JSON written by routes.check_now)."""
    try:
        data = json.loads(detail or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


_SECTIONS = (("/attention", "attention"), ("/site", "sites"), ("/installers", "installers"))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("installer_app.server.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(utc_iso=utc_iso, utc_text=utc_text, check_answer=check_answer)
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    lang = language_of(request)

    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    def stage(name: str | None) -> str:
        return stage_label(lang, name)

    def outcome(name: str | None) -> str:
        return outcome_label(lang, name)

    def action(name: str) -> str:
        return action_label(lang, name)

    path = request.url.path
    section = next((name for prefix, name in _SECTIONS if path.startswith(prefix)), "devices")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = (
        environment()
        .get_template(template)
        .render(
            {
                "t": t,
                "stage": stage,
                "outcome": outcome,
                "action": action,
                "lang": lang,
                "other_lang": "en" if lang == "zh-CN" else "zh-CN",
                "here": here,
                "section": section,
                "viewer": None,
                "csrf": "",
                **context,
            }
        )
    )
    return HTMLResponse(html, status, headers={**SECURITY_HEADERS, **(headers or {})})
