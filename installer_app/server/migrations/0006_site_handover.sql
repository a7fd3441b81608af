-- The site handover (GET /v1/sites/{corpid}, server/sites.py): a site's boards' events by SN in
-- any case (laptops may report an SN in another case than C1 gave), the events of an installer's
-- site visit by installer and time, and boards by SN in any case.
CREATE INDEX events_sn_upper ON events (upper(device_sn), at);
CREATE INDEX events_installer_at ON events (installer_id, at);
CREATE INDEX devices_sn_upper ON devices (upper(device_sn));
