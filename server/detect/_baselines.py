"""Create baselines: profile an uploaded dataset, or pin a production window of the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd

from edgewatch.collector import semconv
from edgewatch.detectors import empty
from edgewatch.server.detect._context import CATEGORY_KEY, CLASS_KEY, FEATURE_KEY
from edgewatch.server.detect._profile import (
    CATEGORICAL,
    METRIC,
    NUMERIC,
    PREDICTION,
    PREDICTION_COLUMN,
    SCORE,
    counts_profile,
    histogram_profile,
)
from edgewatch.server.detect._upload import profile_upload, read_table
from edgewatch.server.store import (
    BaselineInfo,
    InvalidQueryError,
    NotFoundError,
    ProfileRow,
    Selection,
    StoreProtocol,
)

_WINDOW_METRICS = (semconv.INFERENCE_DURATION,)
"""Histogram metrics a pinned window also keeps, for latency regressions against it."""


def upload_baseline(
    store: StoreProtocol,
    *,
    model: str,
    version: str,
    data: bytes,
    filename: str,
    now: datetime,
    max_missing_share: float = 0.5,
    keep_rows: Callable[[pd.DataFrame], object] | None = None,
) -> BaselineInfo:
    """Validate and profile an uploaded CSV/Parquet file and store its profile (not the rows);
    :class:`BaselineUploadError` listing every problem. ``keep_rows`` gets the validated
    feature (and prediction) columns once the profile is stored: the reference sample."""
    table = store.baselines
    frame = read_table(data, filename)
    profile = profile_upload(
        frame, reported=table.reported_features(model), max_missing_share=max_missing_share
    )
    baseline_id = table.create(
        model_name=model,
        model_version=version,
        source="upload",
        rows=profile.rows,
        features=profile.features,
        profiles=profile.profiles,
        now=now,
    )
    if keep_rows is not None:
        extra = [PREDICTION_COLUMN] if PREDICTION_COLUMN in frame.columns else []
        keep_rows(frame[[*profile.features, *extra]])
    return table.get(baseline_id)


def _histogram(
    store: StoreProtocol,
    metric: str,
    selection: Selection,
    start: datetime,
    end: datetime,
    attrs: tuple[tuple[str, str], ...] = (),
) -> ProfileRow | None:
    try:
        h = store.merged_histogram(
            metric, start=start, end=end, selection=selection, attributes=attrs
        )
    except NotFoundError:
        h = empty()
    return None if h.count == 0 else histogram_profile(metric, h, METRIC)


def pin_baseline(
    store: StoreProtocol,
    *,
    model: str,
    version: str,
    device: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> BaselineInfo:
    """Pin what devices of a model version (or one device) reported in ``[start, end]``."""
    if end <= start:
        raise InvalidQueryError(f"to ({end.isoformat()}) must be after from ({start.isoformat()})")
    selection = Selection(device_id=device, model_name=model, model_version=version)
    reader = store.signals
    profiles: list[ProfileRow] = []
    missing = reader.category_counts(
        semconv.FEATURE_MISSING_COUNT, FEATURE_KEY, start=start, end=end, selection=selection
    )
    for feature in reader.feature_names(semconv.FEATURE_VALUE, selection):
        attrs = ((FEATURE_KEY, feature),)
        h = store.merged_histogram(
            semconv.FEATURE_VALUE, start=start, end=end, selection=selection, attributes=attrs
        )
        profiles.append(histogram_profile(feature, h, NUMERIC, missing.get(feature, 0)))
    for feature in reader.feature_names(semconv.FEATURE_CATEGORY_COUNT, selection):
        counts = reader.category_counts(
            semconv.FEATURE_CATEGORY_COUNT,
            CATEGORY_KEY,
            start=start,
            end=end,
            selection=selection,
            attributes=((FEATURE_KEY, feature),),
        )
        profiles.append(counts_profile(feature, counts, CATEGORICAL, missing.get(feature, 0)))
    classes = reader.category_counts(
        semconv.PREDICTION_CLASS_COUNT, CLASS_KEY, start=start, end=end, selection=selection
    )
    if classes:
        profiles.append(counts_profile("prediction", classes, PREDICTION))
    score = _histogram(store, semconv.PREDICTION_SCORE, selection, start, end)
    if score is not None:
        profiles.append(ProfileRow("score", SCORE, *_rest(score)))
    profiles += [p for m in _WINDOW_METRICS if (p := _histogram(store, m, selection, start, end))]
    features = [p.name for p in profiles if p.kind in (NUMERIC, CATEGORICAL)]
    rows = max(
        (p.count + p.missing for p in profiles if p.kind in (NUMERIC, CATEGORICAL)), default=0
    )
    if rows == 0:
        who = f"device {device}" if device else f"{model} {version}"
        raise InvalidQueryError(f"{who} reported no feature values between {start} and {end}")
    table = store.baselines
    baseline_id = table.create(
        model_name=model,
        model_version=version,
        source="window",
        rows=rows,
        features=features,
        profiles=profiles,
        now=now,
        device_id=device,
        window=(start, end),
    )
    return table.get(baseline_id)


def _rest(
    p: ProfileRow,
) -> tuple[int, int, float | None, float | None, float | None, dict[str, object]]:
    return p.count, p.missing, p.mean, p.p50, p.p95, p.data
