"""The laptop API (C1-C5), /healthz, the admin listing and the suite callback: one router per
concern, each route a module-level function; ``app.create_app`` includes them in this order."""
