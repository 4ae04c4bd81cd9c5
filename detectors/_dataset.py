"""Dataset-level drift: the share of drifted features against a share threshold (Evidently's
``DriftedColumnsCount`` / dataset drift with ``drift_share=0.5``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from edgewatch.detectors._result import DatasetDriftResult, DriftResult, Verdict, fmt

DEFAULT_DRIFT_SHARE = 0.5
"""Dataset drift when at least this share of judged features drifted (Evidently's default)."""


def dataset_drift(
    per_feature: Mapping[str, DriftResult], share: float = DEFAULT_DRIFT_SHARE
) -> DatasetDriftResult:
    """One verdict from per-feature results: drift when drifted / judged ≥ ``share``.

    Features with insufficient data are reported but not judged; when none can be judged the
    verdict is insufficient data. Example: ``dataset_drift({"x": drift(ref_x, cur_x)})``.
    """
    if not (math.isfinite(share) and 0 < share <= 1):
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    for name, result in per_feature.items():
        if not isinstance(result, DriftResult):
            raise ValueError(
                f"per_feature[{name!r}] must be a DriftResult, got {type(result).__name__}"
            )
    judged = [r for r in per_feature.values() if r.verdict is not Verdict.INSUFFICIENT_DATA]
    features = dict(per_feature)
    if not judged:
        return DatasetDriftResult(
            verdict=Verdict.INSUFFICIENT_DATA,
            drifted_share=math.nan,
            share_threshold=share,
            features=features,
            explanation=f"dataset drift: insufficient data in all {len(features)} features",
        )
    drifted = [name for name, r in per_feature.items() if r.verdict is Verdict.DRIFT]
    drifted_share = len(drifted) / len(judged)
    verdict = Verdict.DRIFT if drifted_share >= share else Verdict.NO_DRIFT
    skipped = len(features) - len(judged)
    names = ", ".join(drifted[:10]) + (" …" if len(drifted) > 10 else "")
    explanation = (
        f"dataset drift: {len(drifted)} of {len(judged)} features drifted "
        f"(share {fmt(drifted_share)} {'≥' if verdict is Verdict.DRIFT else '<'} {fmt(share)})"
        + (f": {names}" if drifted else "")
        + (f"; {skipped} with insufficient data" if skipped else "")
    )
    return DatasetDriftResult(verdict, drifted_share, share, features, explanation)
