"""Pure drift and degradation algorithms over exponential histograms and time series.

No I/O, no clock, no database, no global RNG: the server and devices call these functions.
scipy is imported lazily, only by the functions that compute p-values.
"""

from __future__ import annotations

from edgewatch.detectors._categorical import (
    DEFAULT_MAX_CATEGORIES,
    OTHER,
    CategoricalCounts,
    categorical_counts,
    merge_counts,
)
from edgewatch.detectors._cohorts import CohortDrift, rank_cohorts
from edgewatch.detectors._counts import count_increase
from edgewatch.detectors._dataset import DEFAULT_DRIFT_SHARE, dataset_drift
from edgewatch.detectors._degradation import (
    missing_heartbeat,
    quantile_regression,
    rate_drop,
    trend,
)
from edgewatch.detectors._drift import (
    DRIFT_METHODS,
    ChiSquare,
    Hellinger,
    JensenShannon,
    KolmogorovSmirnov,
    Psi,
    TwoSampleMethod,
    Wasserstein,
    ZTest,
    auto_method,
    drift,
)
from edgewatch.detectors._fdr import (
    DEFAULT_FDR,
    benjamini_hochberg,
    bh_adjusted,
    fdr_control,
    pool_rare,
    screened_drift,
)
from edgewatch.detectors._fleet import peer_outliers, robust_z
from edgewatch.detectors._grid import DenseGrid, cdf, coarsen, histogram_std, shared_grid
from edgewatch.detectors._histogram import (
    DEFAULT_MAX_BUCKETS,
    MAX_SCALE,
    MIN_SCALE,
    ExpHistogram,
    bucket_bounds,
    bucket_index,
    downscale,
    empty,
    from_values,
    merge,
    merge_all,
    merge_arrays,
    quantile,
    to_dict,
    validate,
)
from edgewatch.detectors._load import load_matched_rise
from edgewatch.detectors._registry import (
    DEGRADATION_TESTS,
    detector_names,
    get_drift_method,
    get_streaming_detector,
)
from edgewatch.detectors._result import (
    DEFAULT_MIN_SAMPLES,
    DatasetDriftResult,
    DriftResult,
    RolloutResult,
    Verdict,
)
from edgewatch.detectors._rollout import RolloutSignals, compare_rollout
from edgewatch.detectors._seasonal import (
    SECONDS_PER_DAY,
    SECONDS_PER_WEEK,
    same_time_windows,
    seasonal_expected,
)
from edgewatch.detectors._streaming import (
    STREAMING_DETECTORS,
    Cusum,
    EwmaChart,
    PageHinkley,
    StreamingDetector,
)

__all__ = [
    "DEFAULT_DRIFT_SHARE",
    "DEFAULT_FDR",
    "DEFAULT_MAX_BUCKETS",
    "DEFAULT_MAX_CATEGORIES",
    "DEFAULT_MIN_SAMPLES",
    "DEGRADATION_TESTS",
    "DRIFT_METHODS",
    "MAX_SCALE",
    "MIN_SCALE",
    "OTHER",
    "SECONDS_PER_DAY",
    "SECONDS_PER_WEEK",
    "STREAMING_DETECTORS",
    "CategoricalCounts",
    "ChiSquare",
    "CohortDrift",
    "Cusum",
    "DatasetDriftResult",
    "DenseGrid",
    "DriftResult",
    "EwmaChart",
    "ExpHistogram",
    "Hellinger",
    "JensenShannon",
    "KolmogorovSmirnov",
    "PageHinkley",
    "Psi",
    "RolloutResult",
    "RolloutSignals",
    "StreamingDetector",
    "TwoSampleMethod",
    "Verdict",
    "Wasserstein",
    "ZTest",
    "auto_method",
    "benjamini_hochberg",
    "bh_adjusted",
    "bucket_bounds",
    "bucket_index",
    "categorical_counts",
    "cdf",
    "coarsen",
    "compare_rollout",
    "count_increase",
    "dataset_drift",
    "detector_names",
    "downscale",
    "drift",
    "empty",
    "fdr_control",
    "from_values",
    "get_drift_method",
    "get_streaming_detector",
    "histogram_std",
    "load_matched_rise",
    "merge",
    "merge_all",
    "merge_arrays",
    "merge_counts",
    "missing_heartbeat",
    "peer_outliers",
    "pool_rare",
    "quantile",
    "quantile_regression",
    "rank_cohorts",
    "rate_drop",
    "robust_z",
    "same_time_windows",
    "screened_drift",
    "seasonal_expected",
    "shared_grid",
    "to_dict",
    "trend",
    "validate",
]
