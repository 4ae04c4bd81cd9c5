-- 011: kinds belong to series, not to metric names; cumulative points become deltas at ingest.
-- ``metrics`` stays the catalogue of units and descriptions (its kind is the first one seen);
-- queries read ``series_kinds``, so one device's choice of kind never changes another's answers.

-- One row per (device_id, metric, attrs, kind, temporality); the single writer keeps them
-- unique (no index: a new device's first batch adds dozens of rows, and an index on five
-- strings would cost more than the rows).
CREATE TABLE series_kinds (
    device_id   VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    attrs       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,      -- as stored: gauge | delta | exp_histogram | histogram
    temporality VARCHAR NOT NULL,      -- as sent: delta | cumulative | none (gauges)
    first_seen  TIMESTAMP NOT NULL
);

-- The last cumulative point of each series (JSON of ``_cumulative``'s point types), written by
-- the single writer in the transaction that stores the deltas computed from it.
CREATE TABLE cumulative_state (
    device_id VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    attrs     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,        -- sum | exp_histogram | histogram
    ts        TIMESTAMP NOT NULL,      -- the kept point's time
    state     VARCHAR NOT NULL,
    PRIMARY KEY (device_id, metric, attrs, kind)
);

-- Monotonic cumulative sums stored before 011 held running totals: turn the raw rows into the
-- deltas ingest now stores (same rules: a later start time or a total that went down is a
-- reset, an older start adds nothing), keep each series' last total as its state so the next
-- export adds only what is new, and rebuild their rollups from the raw rows (rollup rows of
-- such sums older than raw retention held sums of running totals and are dropped).
CREATE TEMP TABLE _legacy AS
SELECT seq, device_id, metric, attrs, start_ts, ts, value,
       CASE WHEN prev IS NULL THEN value
            WHEN coalesce(epoch_us(start_ts), 0) > coalesce(epoch_us(prev_start), 0) THEN value
            WHEN coalesce(epoch_us(start_ts), 0) < coalesce(epoch_us(prev_start), 0) THEN 0
            WHEN value < prev THEN value
            ELSE value - prev END AS delta
FROM (
    SELECT *, lag(value) OVER w AS prev, lag(start_ts) OVER w AS prev_start
    FROM points WHERE kind = 'cumulative'
    WINDOW w AS (PARTITION BY device_id, metric, attrs ORDER BY ts, seq)
);

INSERT INTO cumulative_state
SELECT device_id, metric, attrs, 'sum', max(ts),
       '[' || CASE WHEN arg_max(coalesce(epoch_us(start_ts), -1), ts) < 0 THEN 'null'
                   ELSE CAST(arg_max(epoch_us(start_ts), ts) AS VARCHAR) END
       || ',' || CAST(epoch_us(max(ts)) AS VARCHAR)
       || ',' || CAST(arg_max(value, ts) AS VARCHAR) || ']'
FROM _legacy GROUP BY device_id, metric, attrs;

DELETE FROM points WHERE kind = 'cumulative';
INSERT INTO points
SELECT seq, device_id, metric, attrs, 'delta', start_ts, ts, delta FROM _legacy;

-- Rebuilt rollup rows are stamped so the hourly rollup takes exactly those it has not taken:
-- 0 for raw rows it already covered (their hourly rows are rebuilt here), the minute
-- watermark for the rest.
DELETE FROM points_1m WHERE kind = 'cumulative';
DELETE FROM points_1h WHERE kind = 'cumulative';
INSERT INTO points_1m
SELECT CASE WHEN l.seq <= w.h THEN 0 ELSE w.m END AS stamp, device_id, metric, attrs, 'delta',
       time_bucket(INTERVAL 1 MINUTE, ts) AS bucket, count(*), sum(delta), min(delta),
       max(delta), arg_max(delta, ts), max(ts)
FROM _legacy l, (
    SELECT coalesce(max(last_seq) FILTER (name = '1m'), 0) AS m,
           coalesce(max(last_seq) FILTER (name = '1h'), 0) AS h
    FROM rollup_state
) w
WHERE l.seq <= w.m
GROUP BY stamp, device_id, metric, attrs, bucket;
INSERT INTO points_1h
SELECT 0, device_id, metric, attrs, 'delta', time_bucket(INTERVAL 1 HOUR, ts) AS bucket,
       count(*), sum(delta), min(delta), max(delta), arg_max(delta, ts), max(ts)
FROM _legacy
WHERE seq <= (SELECT coalesce(max(last_seq), 0) FROM rollup_state WHERE name = '1h')
GROUP BY device_id, metric, attrs, bucket;

INSERT INTO series_kinds
SELECT device_id, metric, attrs, 'delta', 'cumulative', min(ts) FROM _legacy GROUP BY ALL;
DROP TABLE _legacy;
INSERT INTO series_kinds
SELECT device_id, metric, attrs, kind, CASE kind WHEN 'gauge' THEN 'none' ELSE kind END, min(ts)
FROM points GROUP BY ALL;
INSERT INTO series_kinds
SELECT device_id, metric, attrs, 'exp_histogram', temporality, min(ts)
FROM exp_histograms GROUP BY ALL;
INSERT INTO series_kinds
SELECT device_id, metric, attrs, 'histogram', temporality, min(ts)
FROM histograms GROUP BY ALL;
