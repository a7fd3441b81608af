"""Everything the app says to the outside world: WeCom provider API, partner service, QR codes,
the binding watcher and the connection check (see docs/design.md, "Provider")."""
