-- 011: kinds belong to series, not to metric names; cumulative points become deltas at ingest.
-- ``metrics`` stays the catalogue of units and descriptions (its kind is the first one seen);
-- queries read ``series_kinds``, so one device's choice of kind never changes another's answers.

CREATE TABLE series_kinds (
    device_id   VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    attrs       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,      -- as stored: gauge | delta | cumulative (before 011) | exp_histogram | histogram
    temporality VARCHAR NOT NULL,      -- as sent: delta | cumulative | none (gauges)
    first_seen  TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, metric, attrs, kind, temporality)
);

INSERT INTO series_kinds
SELECT device_id, metric, attrs, kind,
       CASE kind WHEN 'gauge' THEN 'none' ELSE kind END, min(ts)
FROM points GROUP BY ALL;
INSERT INTO series_kinds
SELECT device_id, metric, attrs, 'exp_histogram', temporality, min(ts)
FROM exp_histograms GROUP BY ALL;
INSERT INTO series_kinds
SELECT device_id, metric, attrs, 'histogram', temporality, min(ts)
FROM histograms GROUP BY ALL;

-- The last cumulative point of each series (JSON of ``_cumulative``'s point types), written by
-- the single writer in the transaction that stores the deltas computed from it.
CREATE TABLE cumulative_state (
    device_id VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    attrs     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,        -- sum | exp_histogram | histogram
    ts        TIMESTAMP NOT NULL,      -- the kept point's time (for retention)
    state     VARCHAR NOT NULL,
    PRIMARY KEY (device_id, metric, attrs, kind)
);
