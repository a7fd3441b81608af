-- The fleet dashboard (docs/dashboard.md): browser sessions, and the indexes its lists need to stay
-- fast with 100,000 devices. Numbered 0005 so the server branch keeps 0002-0004 for itself.

-- pg_trgm answers "contains" searches (SN, HW_ID, enterprise name) from an index; it is a trusted
-- extension since PostgreSQL 13, so the database's owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A signed-in browser. Only the SHA-256 of the cookie's value is kept, like the tokens. Every
-- worker of every instance reads the same rows, so any of them serves any session.
CREATE TABLE dashboard_sessions (
    token_sha256 bytea PRIMARY KEY,
    installer_id bigint NOT NULL REFERENCES installers (id),
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Keyset paging: every list is ordered by (issued_at, hw_id) descending, each filter has an index
-- that starts with its column and ends with that order, so a page is one short index range scan.
CREATE INDEX devices_page ON devices (issued_at, hw_id);
CREATE INDEX devices_page_stage ON devices (stage, issued_at, hw_id);
CREATE INDEX devices_page_corp ON devices (corpid, issued_at, hw_id);
CREATE INDEX devices_page_installer ON devices (installer_id, issued_at, hw_id);
CREATE INDEX devices_page_model ON devices (model_id, issued_at, hw_id);
-- "Needs attention": small partial indexes over the few devices that qualify.
CREATE INDEX devices_page_unbound ON devices (issued_at, hw_id)
    WHERE bind_status = 0 AND stage <> 'issued';
CREATE INDEX devices_page_failed ON devices (issued_at, hw_id) WHERE last_outcome = 'failed';
CREATE INDEX devices_page_bound ON devices (bound_at) WHERE bind_status = 1;
-- Search: contains, case-insensitive.
CREATE INDEX devices_search_sn ON devices USING gin (upper(device_sn) gin_trgm_ops);
CREATE INDEX devices_search_hw ON devices USING gin (hw_id gin_trgm_ops);
CREATE INDEX devices_search_corp ON devices USING gin (corp_name gin_trgm_ops);

-- One device's history (laptops may report an SN in another case) and an installer's last seen.
CREATE INDEX audit_sn_upper ON audit (upper(device_sn), at, id);
CREATE INDEX audit_installer ON audit (installer, at);
CREATE INDEX leases_open ON leases (expires_at) WHERE returned_at IS NULL;
