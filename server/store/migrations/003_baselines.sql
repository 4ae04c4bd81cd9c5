-- 003: baselines (uploaded reference datasets or pinned production windows), profiled into
-- the same shapes devices send: an exponential histogram per numeric feature, category
-- counts per categorical feature. The raw file is never stored.

CREATE TABLE baselines (
    id            VARCHAR PRIMARY KEY,
    model_name    VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    device_id     VARCHAR,               -- a window pinned for one device
    source        VARCHAR NOT NULL,      -- upload | window
    created_at    TIMESTAMP NOT NULL,
    window_start  TIMESTAMP,
    window_end    TIMESTAMP,
    rows          BIGINT NOT NULL,
    features      VARCHAR NOT NULL       -- JSON list of feature names
);

CREATE TABLE baseline_profiles (
    baseline_id VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,        -- feature name, or the metric for prediction/score
    kind        VARCHAR NOT NULL,        -- numeric | categorical | prediction | score | latency
    count       BIGINT NOT NULL,
    missing     BIGINT NOT NULL,
    mean        DOUBLE,
    p50         DOUBLE,
    p95         DOUBLE,
    data        VARCHAR NOT NULL,        -- histogram (to_dict) or {"counts": {...}}
    PRIMARY KEY (baseline_id, name, kind)
);
