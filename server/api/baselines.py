"""``/api/v1/baselines``: upload a reference dataset, pin a production window, list, show
and delete. Uploaded rows are profiled and dropped; only the profile is stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, UploadFile

from edgewatch.contract import (
    BaselineDeleted,
    BaselineList,
    BaselineOut,
    PinIn,
    ProblemsOut,
    utc_now,
)
from edgewatch.server.api import views
from edgewatch.server.api.deps import AdminDep, SettingsDep, StoreDep
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.api.uploads import read_upload
from edgewatch.server.detect import pin_baseline, upload_baseline
from edgewatch.server.evidence import save_reference_sample

router = APIRouter(prefix="/api/v1/baselines", tags=["baselines"], route_class=AdminFirstRoute)
_MULTIPART_OVERHEAD = 64 * 1024
"""Room for multipart headers around the file when judging Content-Length up front."""


@router.get("", response_model=BaselineList, summary="List baselines")
def list_baselines(
    _: AdminDep,
    store: StoreDep,
    model: Annotated[str | None, Query()] = None,
    version: Annotated[str | None, Query()] = None,
) -> BaselineList:
    """Baselines newest first, optionally for one model (version)."""
    found = store.baselines.list(model, version)
    return BaselineList(baselines=[views.baseline_view(b) for b in found])


@router.post(
    "",
    response_model=BaselineOut,
    status_code=201,
    summary="Upload a reference dataset (CSV or Parquet)",
    responses={422: {"model": ProblemsOut, "description": "the file cannot be used; why"}},
)
async def upload(
    request: Request,
    _: AdminDep,
    store: StoreDep,
    settings: SettingsDep,
    file: UploadFile,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str, Query(min_length=1)],
) -> BaselineOut:
    """Validate the file against the features the model's devices report and profile it."""
    limit = settings.max_baseline_bytes
    data = await read_upload(
        request, file, limit=limit, declared_limit=limit + _MULTIPART_OVERHEAD, what="baseline"
    )
    info = upload_baseline(
        store,
        model=model,
        version=version,
        data=data,
        filename=file.filename or "",
        now=utc_now(),
        max_missing_share=settings.baseline_max_missing_share,
        keep_rows=lambda frame: save_reference_sample(
            store.samples, model, version, frame, max_rows=settings.reference_sample_rows
        ),
    )
    return views.baseline_view(info, summary=True)


@router.post(
    "/pin",
    response_model=BaselineOut,
    status_code=201,
    summary="Pin a production window as the baseline",
)
def pin(_: AdminDep, store: StoreDep, body: PinIn) -> BaselineOut:
    """Profile what the devices reported between ``from`` and ``to``."""
    info = pin_baseline(
        store,
        model=body.model,
        version=body.version,
        device=body.device,
        start=body.from_,
        end=body.to,
        now=utc_now(),
    )
    return views.baseline_view(info, summary=True)


@router.get(
    "/{baseline_id}",
    response_model=BaselineOut,
    summary="One baseline with its per-feature summary",
)
def show(_: AdminDep, store: StoreDep, baseline_id: str) -> BaselineOut:
    """Count, mean, p50, p95 and missing values of each feature."""
    return views.baseline_view(store.baselines.get(baseline_id), summary=True)


@router.delete("/{baseline_id}", response_model=BaselineDeleted, summary="Delete a baseline")
def delete(_: AdminDep, store: StoreDep, baseline_id: str) -> BaselineDeleted:
    """Remove the baseline; later evaluations use the next newest one, if any."""
    store.baselines.delete(baseline_id)
    return BaselineDeleted(deleted=baseline_id)
