-- 002: alerting state (alerts, history, rule evaluation times, silences, acks, notification
-- groups), the durable delivery queue, and every detector result the scheduler records.
-- Alerting values are frozen dataclasses stored as their JSON ``to_dict`` form in ``data``;
-- the columns beside it are what queries filter and sort on.

CREATE TABLE alerts (
    fingerprint VARCHAR PRIMARY KEY,
    rule        VARCHAR NOT NULL,
    data        VARCHAR NOT NULL
);

CREATE TABLE alert_history (
    fingerprint VARCHAR NOT NULL,
    rule        VARCHAR NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    data        VARCHAR NOT NULL
);

CREATE TABLE rule_runs (
    rule              VARCHAR PRIMARY KEY,
    last_evaluated_at TIMESTAMP,
    last_error        VARCHAR,
    skipped           BIGINT NOT NULL DEFAULT 0   -- evaluations skipped after downtime
);

CREATE TABLE silences (
    id         VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    data       VARCHAR NOT NULL
);

CREATE TABLE acks (
    fingerprint VARCHAR PRIMARY KEY,
    data        VARCHAR NOT NULL
);

CREATE TABLE alert_groups (
    key  VARCHAR PRIMARY KEY,
    data VARCHAR NOT NULL
);

CREATE TABLE deliveries (
    id              VARCHAR PRIMARY KEY,
    receiver        VARCHAR NOT NULL,
    state           VARCHAR NOT NULL,   -- pending | delivered | failed | dead | superseded
    coalesce_key    VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    data            VARCHAR NOT NULL
);

-- One row per scope member, feature and evaluation: what the dashboard draws over time.
CREATE TABLE evaluations (
    rule         VARCHAR NOT NULL,
    detector     VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end   TIMESTAMP NOT NULL,
    scope        VARCHAR NOT NULL,      -- device | version | model | fleet
    device_id    VARCHAR,
    fleet        VARCHAR,
    model_name   VARCHAR,
    model_version VARCHAR,
    feature      VARCHAR,
    method       VARCHAR NOT NULL,
    score        DOUBLE,                -- NULL when insufficient data
    threshold    DOUBLE,
    verdict      VARCHAR NOT NULL,      -- drift | no_drift | insufficient_data
    explanation  VARCHAR NOT NULL,
    baseline_id  VARCHAR
);
