-- 041: an exponential histogram's sum is optional in OTLP (the OTel SDKs leave it out when
-- negative values were recorded); NULL stores "unknown" instead of a 0 that skews avg, as the
-- explicit-bucket histograms' sum already does. Rollups and pre-merged rows keep it NULL when
-- any row they merge lacks it.

ALTER TABLE exp_histograms ALTER COLUMN sum DROP NOT NULL;
ALTER TABLE exp_histograms_1m ALTER COLUMN sum DROP NOT NULL;
ALTER TABLE exp_histograms_1h ALTER COLUMN sum DROP NOT NULL;
ALTER TABLE exp_histograms_fleet_1m ALTER COLUMN sum DROP NOT NULL;
ALTER TABLE exp_histograms_fleet_1h ALTER COLUMN sum DROP NOT NULL;
