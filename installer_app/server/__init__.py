"""The team server (``installer-app serve``): the partner service of provider-api.md section C on
PostgreSQL, as /work/shared/specs/team-server.md (docs/server.md) describes it.

Its libraries (FastAPI, uvicorn, psycopg) come with the ``server`` extra; nothing here imports Qt,
and the desktop build leaves this package out (tools/freeze_rules.py).
"""
