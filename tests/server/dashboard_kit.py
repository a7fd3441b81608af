"""Helpers for the dashboard's tests (server side and in the browser): devices written straight
into the database with chosen times, the companion app's installations, and a signed-in client."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import psycopg

from installer_app.secrets import Secret
from installer_app.server.issuance import SEAL_KIND
from installer_app.server.sealing import Sealer
from tests.server.conftest import MODEL, SERVER_KEY

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Dev:
    sn: str
    hw_id: str
    stage: str = "issued"
    model: str = MODEL
    last_outcome: str | None = None
    corpid: str | None = None
    corp_name: str | None = None
    installer: str | None = None
    age: timedelta = timedelta(0)
    bound_age: timedelta | None = None


def seed(db_url: str, devices: Iterable[Dev]) -> None:
    sealer = Sealer(base64.b64decode(SERVER_KEY))
    with psycopg.connect(db_url) as conn:
        for d in devices:
            conn.execute(
                "INSERT INTO credentials (device_sn, model_id, secret_sealed, qr_code, origin, "
                "hw_id, issued_at) VALUES (%s, %s, %s, %s, 'inventory', %s, now() - %s)",
                (
                    d.sn,
                    d.model,
                    sealer.seal(SEAL_KIND, d.sn, Secret("s" + d.sn)),
                    "",
                    d.hw_id,
                    d.age,
                ),
            )
            bound = d.corpid is not None
            conn.execute(
                "INSERT INTO devices (hw_id, device_sn, model_id, stage, last_outcome, bind_status,"
                " corpid, corp_name, installer_id, issued_at, updated_at, bound_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, (SELECT id FROM installers WHERE name = %s), "
                "now() - %s, now() - %s, CASE WHEN %s THEN now() - %s END)",
                (
                    d.hw_id,
                    d.sn,
                    d.model,
                    d.stage,
                    d.last_outcome,
                    1 if bound else 0,
                    d.corpid,
                    d.corp_name,
                    d.installer,
                    d.age,
                    d.age,
                    bound,
                    d.bound_age if d.bound_age is not None else d.age,
                ),
            )
            conn.execute(
                "INSERT INTO audit (at, installer, laptop, action, device_sn, hw_id, detail) "
                "VALUES (now() - %s, %s, 'laptop-1', 'issue', %s, %s, %s)",
                (d.age, d.installer, d.sn, d.hw_id, d.model),
            )


def install_app(
    db_url: str, corpid: str, corp_name: str, installed: bool = True, open_corpid: str = ""
) -> None:
    """The companion app installed in ``corpid``; the suite callback names it by
    ``open_corpid`` when one is given (and the server has learnt the pair)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO installations (corpid, corp_name, agentid, installed) "
            "VALUES (%s, %s, 1000002, %s)",
            (open_corpid or corpid, corp_name, installed),
        )
        if open_corpid:
            conn.execute(
                "INSERT INTO corp_ids (plain_corpid, open_corpid) VALUES (%s, %s)",
                (corpid, open_corpid),
            )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_in(base_url: str, token: str, **kw: object) -> tuple[httpx.Client, httpx.Response]:
    """A client with a dashboard session (and the answer to its sign-in POST)."""
    client = httpx.Client(base_url=base_url, timeout=30, **kw)  # type: ignore[arg-type]
    form = client.get("/signin")
    answer = client.post("/signin", data={"token": token, "csrf": csrf_of(form.text)})
    return client, answer
