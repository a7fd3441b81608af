"""Team mode on the laptop (docs/team-mode.md): credentials, bindings and the companion app from
the team server, leases for sites without network, and the outbox that brings every record to the
server exactly once."""
