-- 040: exponential histograms pre-merged across devices per rollup window, so a fleet, model,
-- version or hardware query reads one row per (labels, metric, attributes, window) instead of
-- one per device (``_premerged``). Written by the 1m/1h rollups from the per-series rows they
-- just wrote (same seq), with the device labels of that moment; premerge_devices records which
-- labels each device's rows were merged under, per hour, so a query falls back to per-series
-- rows when a device's labels have changed since.

CREATE TABLE exp_histograms_fleet_1m (
    seq           BIGINT NOT NULL,
    fleet         VARCHAR,
    model_name    VARCHAR,
    model_version VARCHAR,
    hardware      VARCHAR,
    metric        VARCHAR NOT NULL,
    attrs         VARCHAR NOT NULL,
    bucket        TIMESTAMP NOT NULL,
    scale         INTEGER NOT NULL,
    zero_count    BIGINT NOT NULL,
    pos_offset    INTEGER NOT NULL,
    pos_counts    BIGINT[] NOT NULL,
    neg_offset    INTEGER NOT NULL,
    neg_counts    BIGINT[] NOT NULL,
    count         BIGINT NOT NULL,
    sum           DOUBLE NOT NULL,
    min           DOUBLE,
    max           DOUBLE
);
CREATE TABLE exp_histograms_fleet_1h AS SELECT * FROM exp_histograms_fleet_1m WITH NO DATA;

CREATE TABLE premerge_devices (
    device_id     VARCHAR NOT NULL,
    fleet         VARCHAR,
    model_name    VARCHAR,
    model_version VARCHAR,
    hardware      VARCHAR,
    hour          TIMESTAMP NOT NULL     -- the hour of the rollup rows merged under these labels
);
