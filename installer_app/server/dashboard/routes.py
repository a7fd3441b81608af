"""The fleet dashboard's pages (team-server.md "Fleet dashboard", docs/dashboard.md).

Server-rendered HTML; one small script (static/dashboard.js) puts times in the viewer's zone and
refreshes the lists in place by fetching their ``?fragment=1`` form every few seconds. Admins only:
a session cookie from the sign-in form or an admin Bearer token; every POST carries the session's
CSRF token and must come from this origin (guard.py). The pages live in pages/, one router per
concern; this router gathers them, outside the OpenAPI document.
"""

from __future__ import annotations

from fastapi import APIRouter

from installer_app.server.dashboard.pages import account, devices, installers, sites

dashboard_router = APIRouter(include_in_schema=False)
for _pages in (account, devices, sites, installers):
    dashboard_router.include_router(_pages.router)
