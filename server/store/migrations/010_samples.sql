-- 010: sampled rows (opt-in, from /v1/logs), per-device sampling budgets, reference samples.
-- Feature values are a JSON object per row: devices choose which features they send.

CREATE TABLE samples (
    seq           BIGINT NOT NULL,
    device_id     VARCHAR NOT NULL,
    model_name    VARCHAR,
    model_version VARCHAR,
    ts            TIMESTAMP NOT NULL,    -- when the device observed the row
    received_at   TIMESTAMP NOT NULL,
    features      VARCHAR NOT NULL,      -- JSON object: feature name -> number | string | null
    prediction    VARCHAR,
    score         DOUBLE
);
CREATE INDEX samples_device_ts ON samples (device_id, ts);

CREATE TABLE device_sampling (
    device_id     VARCHAR PRIMARY KEY,
    enabled       BOOLEAN NOT NULL,
    rows_per_hour BIGINT,                -- NULL: the device's own budget
    bytes_per_day BIGINT,
    raised_rows_per_hour BIGINT,         -- a temporary raise, in force until raised_until
    raised_bytes_per_day BIGINT,
    raised_until  TIMESTAMP,
    raised_reason VARCHAR,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE reference_samples (
    model_name    VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    row_index     BIGINT NOT NULL,
    features      VARCHAR NOT NULL,      -- JSON object like samples.features
    prediction    VARCHAR,
    saved_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, model_version, row_index)
);
