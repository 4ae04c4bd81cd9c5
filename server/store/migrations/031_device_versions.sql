-- 031: every model version a device has run and when it switched, so that data points (which
-- carry no version) are attributed to the version that produced them, and switch times
-- survive a server restart. One row per switch; a span runs until the device's next row.
-- Devices already known start on their current version from their first report.

CREATE TABLE device_versions (
    device_id     VARCHAR NOT NULL,
    since         TIMESTAMP NOT NULL,   -- receive time of the first batch on this version
    model_name    VARCHAR,
    model_version VARCHAR,
    PRIMARY KEY (device_id, since)
);

INSERT INTO device_versions
SELECT device_id, first_seen, model_name, model_version FROM devices;
