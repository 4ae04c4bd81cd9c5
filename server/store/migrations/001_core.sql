-- 001: devices, raw points, histograms, rollups, idempotency keys, series catalogue, tokens.
-- Timestamps are UTC TIMESTAMP (microseconds); ``seq`` is the writer's commit-group number,
-- which rollups use as their incremental watermark.

-- One row per device; the single writer keeps device_id unique (no index: cheaper updates).
CREATE TABLE devices (
    device_id      VARCHAR NOT NULL,
    fleet          VARCHAR,
    model_name     VARCHAR,
    model_version  VARCHAR,
    hardware       VARCHAR,
    runtime        VARCHAR,
    host_arch      VARCHAR,
    os_type        VARCHAR,
    service_name   VARCHAR,
    power_sources  VARCHAR,
    attributes     VARCHAR NOT NULL,   -- JSON object of every resource attribute
    first_seen     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    last_batch_key VARCHAR,
    clock_skew_s   DOUBLE              -- newest point time minus receive time, last batch
);

CREATE TABLE metrics (
    metric      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,      -- gauge | delta | cumulative | exp_histogram | histogram
    unit        VARCHAR NOT NULL,
    description VARCHAR NOT NULL
);

CREATE TABLE series (
    device_id  VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    attrs      VARCHAR NOT NULL,       -- canonical JSON of the point attributes (sorted keys)
    first_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, metric, attrs)
);

CREATE TABLE points (
    seq       BIGINT NOT NULL,
    device_id VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    attrs     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,        -- gauge | delta | cumulative
    start_ts  TIMESTAMP,
    ts        TIMESTAMP NOT NULL,
    value     DOUBLE NOT NULL
);

CREATE TABLE exp_histograms (
    seq        BIGINT NOT NULL,
    device_id  VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    attrs      VARCHAR NOT NULL,
    start_ts   TIMESTAMP,
    ts         TIMESTAMP NOT NULL,
    temporality VARCHAR NOT NULL,      -- delta (merged by rollups and queries) | cumulative
    scale      INTEGER NOT NULL,
    zero_count BIGINT NOT NULL,
    pos_offset INTEGER NOT NULL,
    pos_counts BIGINT[] NOT NULL,
    neg_offset INTEGER NOT NULL,
    neg_counts BIGINT[] NOT NULL,
    count      BIGINT NOT NULL,
    sum        DOUBLE NOT NULL,
    min        DOUBLE,
    max        DOUBLE
);

CREATE TABLE histograms (
    seq       BIGINT NOT NULL,
    device_id VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    attrs     VARCHAR NOT NULL,
    start_ts  TIMESTAMP,
    ts        TIMESTAMP NOT NULL,
    temporality VARCHAR NOT NULL,
    bounds    DOUBLE[] NOT NULL,
    counts    BIGINT[] NOT NULL,
    count     BIGINT NOT NULL,
    sum       DOUBLE,
    min       DOUBLE,
    max       DOUBLE
);

-- Rollups: partial aggregates appended by each rollup run; readers aggregate again, so a
-- late point only adds one more partial row for its bucket.
CREATE TABLE points_1m (
    seq       BIGINT NOT NULL,
    device_id VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    attrs     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,
    bucket    TIMESTAMP NOT NULL,
    n         BIGINT NOT NULL,
    sum       DOUBLE NOT NULL,
    min       DOUBLE NOT NULL,
    max       DOUBLE NOT NULL,
    last      DOUBLE NOT NULL,
    last_ts   TIMESTAMP NOT NULL
);
CREATE TABLE points_1h AS SELECT * FROM points_1m WITH NO DATA;

CREATE TABLE exp_histograms_1m (
    seq        BIGINT NOT NULL,
    device_id  VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    attrs      VARCHAR NOT NULL,
    bucket     TIMESTAMP NOT NULL,
    scale      INTEGER NOT NULL,
    zero_count BIGINT NOT NULL,
    pos_offset INTEGER NOT NULL,
    pos_counts BIGINT[] NOT NULL,
    neg_offset INTEGER NOT NULL,
    neg_counts BIGINT[] NOT NULL,
    count      BIGINT NOT NULL,
    sum        DOUBLE NOT NULL,
    min        DOUBLE,
    max        DOUBLE
);
CREATE TABLE exp_histograms_1h AS SELECT * FROM exp_histograms_1m WITH NO DATA;

CREATE TABLE rollup_state (
    name     VARCHAR PRIMARY KEY,      -- target table
    last_seq BIGINT NOT NULL           -- highest source seq already rolled up
);

CREATE TABLE batch_keys (
    device_id   VARCHAR NOT NULL,
    batch_key   VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL     -- unique per device: the writer drops repeats in memory
);

CREATE TABLE tokens (
    token_id   VARCHAR PRIMARY KEY,    -- public part of the token, used to look it up
    role       VARCHAR NOT NULL,       -- admin | device
    device_id  VARCHAR,                -- the only device a device token may write
    name       VARCHAR NOT NULL,
    salt       BLOB NOT NULL,
    hash       BLOB NOT NULL,          -- scrypt(secret, salt)
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
