"""Pure drift and degradation algorithms over exponential histograms and time series.

No I/O, no clock, no database, no global RNG: the server and devices call these functions.
"""

from __future__ import annotations

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
    quantile,
    to_dict,
    validate,
)

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "MAX_SCALE",
    "MIN_SCALE",
    "ExpHistogram",
    "bucket_bounds",
    "bucket_index",
    "downscale",
    "empty",
    "from_values",
    "merge",
    "merge_all",
    "quantile",
    "to_dict",
    "validate",
]
