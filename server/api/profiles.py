"""``/api/v1/profiles``: on-device profiles (``edgewatch profile --upload``) per model version
and hardware class, the baseline of that version on that hardware before production data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from edgewatch.contract import (
    INT64_MAX,
    JSON_NUMBER,
    HardwareCompareOut,
    ProfileCompareOut,
    ProfileList,
    ProfileOut,
    utc_now,
)
from edgewatch.server.api.deps import AdminDep, StoreDep
from edgewatch.server.api.routes import AdminFirstRoute
from edgewatch.server.gate import compare_versions
from edgewatch.server.store import ModelProfile

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"], route_class=AdminFirstRoute)


class LatencyIn(BaseModel):
    """Per-run latency of the profile, seconds."""

    model_config = ConfigDict(extra="allow")
    runs: Annotated[int, Field(ge=1, le=INT64_MAX), JSON_NUMBER]
    mean_s: Annotated[float, Field(gt=0), JSON_NUMBER]
    p50_s: Annotated[float, Field(gt=0), JSON_NUMBER]
    p95_s: Annotated[float, Field(gt=0), JSON_NUMBER]
    p99_s: Annotated[float, Field(gt=0), JSON_NUMBER]
    histogram: list[
        tuple[
            Annotated[float, Field(gt=0, allow_inf_nan=False), JSON_NUMBER],
            Annotated[int, Field(ge=0, le=INT64_MAX), JSON_NUMBER],
        ]
    ] = Field(
        default_factory=list,
        max_length=1000,
        description="(upper edge s, runs) per bin: the baseline of latency rules on devices "
        "that have no production history of the version yet",
    )


class EnergyIn(BaseModel):
    """Energy per inference from the best source found (all None when there was none)."""

    model_config = ConfigDict(extra="allow")
    joules_per_inference: Annotated[float, Field(ge=0), JSON_NUMBER] | None = None
    source: str | None = None
    relative_error: Annotated[float, Field(ge=0), JSON_NUMBER] | None = None


class PredictionsIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    accuracy: Annotated[float, Field(ge=0, le=1), JSON_NUMBER] | None = None


class ReportIn(BaseModel):
    """The JSON report of ``edgewatch profile``; the fields the server compares are checked,
    the rest is kept as sent."""

    model_config = ConfigDict(extra="allow")
    latency: LatencyIn
    energy: EnergyIn
    predictions: PredictionsIn


class ProfileIn(BaseModel):
    model: str = Field(min_length=1)
    version: str = Field(min_length=1)
    hardware_class: str = Field(min_length=1)
    report: ReportIn


def profile_view(p: ModelProfile, report: bool = False) -> ProfileOut:
    """A profile: the compared figures, and the whole report when asked."""
    return ProfileOut(
        model=p.model_name,
        version=p.model_version,
        hardware_class=p.hardware_class,
        created_at=p.created_at,
        latency_mean_s=p.latency_mean_s,
        latency_p50_s=p.latency_p50_s,
        latency_p95_s=p.latency_p95_s,
        latency_p99_s=p.latency_p99_s,
        energy_j=p.energy_j,
        energy_source=p.energy_source,
        energy_relative_error=p.energy_relative_error,
        accuracy=p.accuracy,
        report=p.report if report else None,
    )


@router.post(
    "",
    response_model=ProfileOut,
    status_code=201,
    summary="Store a device profile of a model version",
)
def upload_profile(_: AdminDep, store: StoreDep, body: ProfileIn) -> ProfileOut:
    """Insert or replace the profile of (model, version, hardware class)."""
    r = body.report
    profile = ModelProfile(
        model_name=body.model,
        model_version=body.version,
        hardware_class=body.hardware_class,
        created_at=utc_now(),
        latency_mean_s=r.latency.mean_s,
        latency_p50_s=r.latency.p50_s,
        latency_p95_s=r.latency.p95_s,
        latency_p99_s=r.latency.p99_s,
        energy_j=r.energy.joules_per_inference,
        energy_source=r.energy.source,
        energy_relative_error=r.energy.relative_error,
        accuracy=r.predictions.accuracy,
        report=r.model_dump(mode="json"),
    )
    store.profiles.put(profile)
    return profile_view(profile)


@router.get(
    "",
    response_model=ProfileList,
    summary="Profiles of a model, side by side per version and hardware class",
)
def list_profiles(
    _: AdminDep,
    store: StoreDep,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str | None, Query()] = None,
    report: Annotated[bool, Query(description="include each whole JSON report")] = False,
) -> ProfileList:
    """Every profile of ``model`` (one version with ``version``)."""
    return ProfileList(
        profiles=[profile_view(p, report) for p in store.profiles.list(model, version)]
    )


@router.get(
    "/compare",
    response_model=ProfileCompareOut,
    summary="A version against another, side by side per hardware class",
)
def compare(
    _: AdminDep,
    store: StoreDep,
    model: Annotated[str, Query(min_length=1)],
    version: Annotated[str, Query(min_length=1)],
    against: Annotated[str, Query(min_length=1, description="the version to compare with")],
) -> ProfileCompareOut:
    """p95 latency and energy ratios and the accuracy change on every class both profiled."""
    c = compare_versions(store.profiles.list(model), model, version, against)
    return ProfileCompareOut(
        model=c.model_name,
        version=c.version,
        against=c.against,
        summary=c.summary,
        hardware_classes=[
            HardwareCompareOut(
                hardware_class=k.hardware_class,
                p95_ratio=k.p95_ratio,
                energy_ratio=k.energy_ratio,
                accuracy_change=k.accuracy_change,
            )
            for k in c.classes
        ],
    )
