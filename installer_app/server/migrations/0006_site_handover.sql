-- The site handover (GET /v1/sites/{corpid}, server/sites.py): the events of a time range, and
-- boards and events by SN in any case (laptops may report an SN in another case than C1 gave).
CREATE INDEX events_at ON events (at);
CREATE INDEX events_sn_upper ON events (upper(device_sn), at);
CREATE INDEX devices_sn_upper ON devices (upper(device_sn));
