-- 030: on-device profiles (`edgewatch profile --upload`), one per model version and hardware
-- class: the baseline of that version on that hardware before production data exists.

CREATE TABLE model_profiles (
    model_name            VARCHAR NOT NULL,
    model_version         VARCHAR NOT NULL,
    hardware_class        VARCHAR NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    latency_mean_s        DOUBLE NOT NULL,
    latency_p50_s         DOUBLE NOT NULL,
    latency_p95_s         DOUBLE NOT NULL,
    latency_p99_s         DOUBLE NOT NULL,
    energy_j              DOUBLE,             -- per inference; NULL when no source was found
    energy_source         VARCHAR,
    energy_relative_error DOUBLE,
    accuracy              DOUBLE,             -- on the labelled sample, when it had labels
    report                VARCHAR NOT NULL,   -- the whole JSON report
    PRIMARY KEY (model_name, model_version, hardware_class)
);
