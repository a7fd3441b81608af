"""The fleet dashboard the team server serves at ``/`` (docs/dashboard.md): routes.py builds it
as a FastAPI router that server/app.py includes."""
