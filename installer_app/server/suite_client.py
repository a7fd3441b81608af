"""Client of WeCom's third-party suite API, for the companion app's callbacks (team-server.md):
``get_suite_token`` (with the latest suite_ticket) and ``get_permanent_code``.

Built on the provider clients' transport (retries, redaction, errcode mapping); the suite access
token is cached like the provider token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from installer_app.provider.http import DEFAULT_OPTIONS, JsonClient
from installer_app.provider.token_cache import TokenCache
from installer_app.provider.wecom import _map_wecom_error
from installer_app.secrets import Secret


@dataclass(frozen=True)
class PermanentAuth:
    permanent_code: Secret
    corpid: str
    corp_name: str
    agentid: int | None


class SuiteClient(JsonClient):
    def __init__(self, base_url: str, suite_id: str, suite_secret: Secret) -> None:
        super().__init__(
            base_url,
            map_error=_map_wecom_error,
            options=DEFAULT_OPTIONS,
        )
        self.suite_id = suite_id
        self._secret = suite_secret
        self._ticket: Secret | None = None
        self.tokens = TokenCache(self._fetch_token)

    def use_ticket(self, ticket: Secret) -> None:
        """The latest suite_ticket (kept in the database; handed in before each use)."""
        self._ticket = ticket

    def _fetch_token(self) -> tuple[Secret, float]:
        if self._ticket is None:
            raise self._bad_answer()
        data = self._http.request(
            "POST",
            "/cgi-bin/service/get_suite_token",
            body={
                "suite_id": self.suite_id,
                "suite_secret": self._secret.reveal(),
                "suite_ticket": self._ticket.reveal(),
            },
        )
        token = data.get("suite_access_token")
        expires_in = data.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise self._bad_answer()
        return Secret(token), float(expires_in)

    def get_permanent_code(self, auth_code: str) -> PermanentAuth:
        token = self.tokens.get()
        data: dict[str, Any] = self._http.request(
            "POST",
            "/cgi-bin/service/get_permanent_code",
            params={"suite_access_token": token},
            body={"auth_code": auth_code},
        )
        code = data.get("permanent_code")
        corp = data.get("auth_corp_info")
        if not isinstance(code, str) or not isinstance(corp, dict):
            raise self._bad_answer()
        corpid = corp.get("corpid")
        if not isinstance(corpid, str) or not corpid:
            raise self._bad_answer()
        agentid: int | None = None
        agents = (data.get("auth_info") or {}).get("agent")
        if isinstance(agents, list) and agents and isinstance(agents[0], dict):
            value = agents[0].get("agentid")
            agentid = value if isinstance(value, int) and not isinstance(value, bool) else None
        return PermanentAuth(Secret(code), corpid, str(corp.get("corp_name", "")), agentid)
