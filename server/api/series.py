"""``/api/v1/series`` and ``/api/v1/distributions``: metric values over time and merged histograms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.collector import semconv
from edgewatch.contract import DistributionOut, SeriesOut
from edgewatch.server.api.bounds import MAX_SPAN_S
from edgewatch.server.api.deps import AdminDep, AttributesDep, SelectionDep, StoreDep, WindowDep
from edgewatch.server.api.schemas import distribution_out, series_out
from edgewatch.server.store import SERIES_AGGS, InvalidQueryError, SeriesQuery

router = APIRouter(prefix="/api/v1", tags=["series"])
MAX_BUCKETS = 5_000


@router.get("/series", response_model=SeriesOut, summary="One metric over time")
def series(
    _: AdminDep,
    store: StoreDep,
    selection: SelectionDep,
    time_window: WindowDep,
    attributes: AttributesDep,
    metric: Annotated[str, Query(min_length=1)],
    step: Annotated[
        float,
        Query(gt=0, le=MAX_SPAN_S, allow_inf_nan=False, description="bucket width, seconds"),
    ] = 60.0,
    agg: Annotated[str | None, Query(description=f"one of {', '.join(SERIES_AGGS)}")] = None,
) -> SeriesOut:
    """Bucketed values for a device or aggregated over a selection (raw or rollups by step)."""
    if (time_window.end - time_window.start).total_seconds() / step > MAX_BUCKETS:
        raise InvalidQueryError(
            f"range / step gives more than {MAX_BUCKETS} buckets: use a larger step"
        )
    result = store.series(
        SeriesQuery(
            metric=metric,
            start=time_window.start,
            end=time_window.end,
            step_s=step,
            selection=selection,
            attributes=attributes,
            agg=agg,
        )
    )
    return series_out(result)


@router.get("/distributions", response_model=DistributionOut, summary="Merged histogram")
def distribution(
    _: AdminDep,
    store: StoreDep,
    selection: SelectionDep,
    time_window: WindowDep,
    attributes: AttributesDep,
    metric: Annotated[str, Query(min_length=1)] = semconv.INFERENCE_DURATION,
    feature: Annotated[str | None, Query(description="shortcut for attr=ml.feature.name=X")] = None,
) -> DistributionOut:
    """One exponential histogram merged over the window and selection, with p50/p95/p99."""
    if feature is not None:
        attributes = (*attributes, (semconv.FEATURE_NAME, feature))
    result = store.distribution(
        metric,
        start=time_window.start,
        end=time_window.end,
        selection=selection,
        attributes=attributes,
    )
    return distribution_out(result)
