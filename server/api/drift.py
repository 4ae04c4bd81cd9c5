"""``/api/v1/drift`` (drift results over time) and ``/api/v1/versions/compare``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.contract import DriftResults, VersionCompareOut
from edgewatch.server.api import views
from edgewatch.server.api.compare import compare_versions
from edgewatch.server.api.deps import AdminDep, DayWindowDep, StoreDep

router = APIRouter(prefix="/api/v1", tags=["drift"])


@router.get("/drift", response_model=DriftResults, summary="Drift results over time")
def drift_results(
    _: AdminDep,
    store: StoreDep,
    window: DayWindowDep,
    model: Annotated[str | None, Query()] = None,
    version: Annotated[str | None, Query()] = None,
    device: Annotated[str | None, Query()] = None,
    feature: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> DriftResults:
    """Every drift score the scheduler recorded whose window ends in ``[from, to]``."""
    rows = store.evaluations.query(
        start=window.start,
        end=window.end,
        model_name=model,
        model_version=version,
        device_id=device,
        feature=feature,
        limit=limit,
    )
    return DriftResults(results=views.drift_view(rows))


@router.get(
    "/versions/compare", response_model=VersionCompareOut, summary="Version B against version A"
)
def versions_compare(
    _: AdminDep,
    store: StoreDep,
    window: DayWindowDep,
    model: Annotated[str, Query(min_length=1)],
    a: Annotated[str, Query(min_length=1, description="the reference version")],
    b: Annotated[str, Query(min_length=1, description="the version judged")],
) -> VersionCompareOut:
    """Latency quantiles, confidence and prediction mix of B against A over the window."""
    return compare_versions(store, model=model, a=a, b=b, start=window.start, end=window.end)
