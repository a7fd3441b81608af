-- The team server's schema (docs/server.md explains each rule).

CREATE TABLE installers (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('installer', 'admin')),
    -- Only the SHA-256 of the token is kept: a database dump grants nobody access.
    token_sha256 bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE leases (
    id           uuid PRIMARY KEY,
    installer_id bigint NOT NULL REFERENCES installers (id),
    model_id     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    returned_at  timestamptz
);

-- Every SN the server can hand out: imported inventory and SNs it registered itself.
CREATE TABLE credentials (
    device_sn        text PRIMARY KEY CHECK (device_sn ~ '^[0-9A-Za-z]{1,128}$'),
    model_id         text NOT NULL,
    secret_sealed    bytea NOT NULL,
    qr_code          text NOT NULL DEFAULT '',
    origin           text NOT NULL CHECK (origin IN ('inventory', 'register')),
    -- Set once the SN is tied to a board, for ever; NULL while it is in the pool.
    hw_id            text UNIQUE,
    lease_id         uuid REFERENCES leases (id),
    lease_expires_at timestamptz,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    issued_at        timestamptz
);
-- WeCom treats SNs case-insensitively.
CREATE UNIQUE INDEX credentials_sn_key ON credentials (upper(device_sn));
-- The pool scan of C1: free SNs of one model, oldest first.
CREATE INDEX credentials_free ON credentials (model_id, imported_at) WHERE hw_id IS NULL;

-- One board (HW_ID) and the SN it was given, with what the server knows of it.
CREATE TABLE devices (
    hw_id          text PRIMARY KEY CHECK (hw_id ~ '^[0-9a-f]{2,128}$'),
    device_sn      text NOT NULL UNIQUE REFERENCES credentials (device_sn),
    model_id       text NOT NULL,
    stage          text NOT NULL DEFAULT 'issued',
    last_outcome   text,
    bind_status    smallint NOT NULL DEFAULT 0,
    corpid         text,
    corp_name      text,
    installer_id   bigint REFERENCES installers (id),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    bound_at       timestamptz,
    next_check_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_watch ON devices (next_check_at) WHERE bind_status = 0;

-- Long-polls (C2 ?wait=) wake on this notification in every worker of every instance.
CREATE FUNCTION devices_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stage IS DISTINCT FROM OLD.stage OR NEW.bind_status IS DISTINCT FROM OLD.bind_status
       OR NEW.corpid IS DISTINCT FROM OLD.corpid THEN
        PERFORM pg_notify('installer_device', NEW.device_sn);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER devices_changed AFTER UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_notify();

-- C4: what the laptops report; the event_id makes a re-sent outbox harmless.
CREATE TABLE events (
    event_id     uuid PRIMARY KEY,
    device_sn    text NOT NULL,
    hw_id        text NOT NULL,
    step         text NOT NULL,
    outcome      text NOT NULL,
    at           timestamptz NOT NULL,
    installer    text NOT NULL,
    detail       text,
    installer_id bigint REFERENCES installers (id),
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_sn ON events (device_sn, at);

-- The companion app in one enterprise, from the suite callbacks (which name the open corpid).
CREATE TABLE installations (
    corpid                 text PRIMARY KEY,
    corp_name              text NOT NULL DEFAULT '',
    agentid                bigint,
    permanent_code_sealed  bytea,
    installed              boolean NOT NULL DEFAULT true,
    auth_time              timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Plain corpid (a device's binding) -> open corpid (the suite callbacks), from WeCom's
-- corpid_to_opencorpid, so C2 and C3 answer for either.
CREATE TABLE corp_ids (
    plain_corpid text PRIMARY KEY,
    open_corpid  text NOT NULL
);
CREATE INDEX corp_ids_open ON corp_ids (open_corpid);

-- Suite callbacks as received (decrypted, secrets left out): a replay is recorded once.
CREATE TABLE suite_events (
    digest      bytea PRIMARY KEY,
    info_type   text NOT NULL,
    corpid      text,
    received_at timestamptz NOT NULL DEFAULT now(),
    handled_at  timestamptz
);

-- The latest suite_ticket (one row), sealed: it is half of the suite's access.
CREATE TABLE suite_ticket (
    id            smallint PRIMARY KEY CHECK (id = 1),
    ticket_sealed bytea NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

-- The binding watch's one global pace, shared by every worker (a row lock, SKIP LOCKED).
CREATE TABLE watch_pace (
    id      smallint PRIMARY KEY CHECK (id = 1),
    next_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO watch_pace (id) VALUES (1);

-- Every issuance and state change: who, from which laptop, when. Append-only.
CREATE TABLE audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    installer  text,
    laptop     text,
    action     text NOT NULL,
    device_sn  text,
    hw_id      text,
    detail     text
);
CREATE INDEX audit_sn ON audit (device_sn, at);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit table is append-only';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
