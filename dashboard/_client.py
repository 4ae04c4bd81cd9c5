"""The dashboard's typed view of the edgewatch server's REST API: the dashboard's only way
to the data.

Requests, the token and every failure go through ``edgewatch.contract.ApiClient`` (one
exception tree, messages a person can act on); answers are read into the contract's frozen
models, so the dashboard parses nothing by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import httpx

from edgewatch.contract import (
    AlertDetailOut,
    AlertList,
    AlertOut,
    ApiClient,
    BaselineList,
    BaselineOut,
    DeliveryList,
    DeliveryOut,
    DeviceDetail,
    DeviceList,
    DeviceOut,
    DistributionOut,
    DriftResults,
    DriftRowOut,
    FleetSummaryOut,
    MatcherIn,
    NotFoundError,
    PerformanceOut,
    PredictionClassesOut,
    ProfileCompareOut,
    ReadyOut,
    ReceiverList,
    ReceiverOut,
    ReloadOut,
    RolloutVerdictOut,
    RuleList,
    RuleOut,
    SeriesOut,
    SilenceList,
    SilenceOut,
    TokenOut,
    VersionCompareOut,
    format_rfc3339,
    segment,
)

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DriftReport:
    """An Evidently report as the server built it, with the rows each side had."""

    html: bytes
    reference_rows: int
    current_rows: int


class Client:
    """One server, one admin token. Use as a context manager or call ``close()``.

    ``transport`` lets tests inject an ``httpx.MockTransport`` for answers a real server
    never gives (malformed bodies); everything else is tested against a real server.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api = ApiClient(server_url, token, timeout_s=timeout_s, transport=transport)
        self.server_url = self._api.server_url

    def close(self) -> None:
        """Close the connection pool."""
        self._api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- query API ------------------------------------------------------------------------

    def ready(self) -> bool:
        """Whether the server is up with its store open (``/readyz``, no token needed)."""
        return self._api.ready().status_code == 200

    def rule_time_scale(self) -> float:
        """The server's rule time scale from ``/readyz`` (1: rules run in real time; the demo
        runs them scaled to its speed); 1 when the server does not say."""
        r = self._api.ready()
        try:
            value = ReadyOut.model_validate_json(r.content).rule_time_scale
        except ValueError:
            return 1.0
        return value if value is not None and value > 0 else 1.0

    def devices(
        self,
        *,
        status: str | None = None,
        fleet: str | None = None,
        model: str | None = None,
        version: str | None = None,
        limit: int = 10_000,
    ) -> list[DeviceOut]:
        """Devices by id, optionally filtered."""
        params = {
            "status": status,
            "fleet": fleet,
            "model": model,
            "version": version,
            "limit": limit,
        }
        return list(self._api.get(DeviceList, "/api/v1/devices", params).devices)

    def device(self, device_id: str, *, readings_since_s: float = 86_400.0) -> DeviceDetail:
        """One device with the newest value of each gauge it sent."""
        path = f"/api/v1/devices/{segment(device_id)}"
        return self._api.get(DeviceDetail, path, {"readings_since_s": readings_since_s})

    def series(
        self,
        metric: str,
        start: datetime,
        end: datetime,
        *,
        step_s: float,
        device: str | None = None,
        fleet: str | None = None,
        model: str | None = None,
        version: str | None = None,
        attributes: Iterable[tuple[str, str]] = (),
        agg: str | None = None,
    ) -> SeriesOut:
        """One metric bucketed by ``step_s``; an empty series when nothing was ever stored."""
        params: dict[str, Any] = {
            **_window(start, end),
            "metric": metric,
            "step": step_s,
            "agg": agg,
            "attr": [f"{k}={v}" for k, v in attributes] or None,
            **_selection(device, fleet, model, version),
        }
        try:
            return self._api.get(SeriesOut, "/api/v1/series", params)
        except NotFoundError as e:
            if e.endpoint_missing:
                raise
            return SeriesOut(
                metric=metric, kind="", agg=agg or "", resolution="raw", step_s=step_s, points=[]
            )

    def distribution(
        self,
        metric: str,
        start: datetime,
        end: datetime,
        *,
        device: str | None = None,
        fleet: str | None = None,
        model: str | None = None,
        version: str | None = None,
        feature: str | None = None,
    ) -> DistributionOut | None:
        """The merged histogram of ``metric``; ``None`` when nothing was ever stored for it."""
        params: dict[str, Any] = {
            **_window(start, end),
            "metric": metric,
            "feature": feature,
            **_selection(device, fleet, model, version),
        }
        try:
            return self._api.get(DistributionOut, "/api/v1/distributions", params)
        except NotFoundError as e:
            if e.endpoint_missing:
                raise
            return None

    def prediction_classes(
        self,
        start: datetime,
        end: datetime,
        *,
        device: str | None = None,
        fleet: str | None = None,
        model: str | None = None,
        version: str | None = None,
    ) -> PredictionClassesOut:
        """The class labels the selection reported, with their prediction counts in the window."""
        params = {**_window(start, end), **_selection(device, fleet, model, version)}
        return self._api.get(PredictionClassesOut, "/api/v1/predictions/classes", params)

    def fleet_summary(
        self, start: datetime, end: datetime, *, fleet: str | None = None
    ) -> FleetSummaryOut:
        """Devices per model version with rates and latency quantiles."""
        params = {**_window(start, end), "fleet": fleet}
        return self._api.get(FleetSummaryOut, "/api/v1/fleet/summary", params)

    def performance(
        self,
        start: datetime,
        end: datetime,
        *,
        step_s: float,
        model: str | None = None,
        version: str | None = None,
        fleet: str | None = None,
    ) -> PerformanceOut:
        """Realized and estimated performance of the selection over the window."""
        params = {
            **_window(start, end),
            "step": step_s,
            **_selection(None, fleet, model, version),
        }
        return self._api.get(PerformanceOut, "/api/v1/performance", params)

    def tokens(self) -> list[TokenOut]:
        """Every token (never a secret)."""
        data = self._api.json("GET", "/api/v1/tokens")
        return self._api.parse(list[TokenOut], data, "GET /api/v1/tokens")

    # -- alerting API ---------------------------------------------------------------------

    def alerts(
        self,
        *,
        state: str | None = None,
        severity: str | None = None,
        device: str | None = None,
        model: str | None = None,
        version: str | None = None,
        limit: int = 200,
    ) -> list[AlertOut]:
        """Alerts newest first, filtered."""
        params = {
            "state": state,
            "severity": severity,
            "device": device,
            "model": model,
            "version": version,
            "limit": limit,
        }
        return list(self._api.get(AlertList, "/api/v1/alerts", params).alerts)

    def alert(self, fingerprint: str) -> AlertDetailOut:
        """One alert with its evidence and history."""
        return self._api.get(AlertDetailOut, f"/api/v1/alerts/{segment(fingerprint)}")

    def ack(self, fingerprint: str, *, author: str, comment: str) -> AlertOut:
        """Acknowledge an alert."""
        path = f"/api/v1/alerts/{segment(fingerprint)}/ack"
        body = {"author": author, "comment": comment}
        return self._api.call(AlertOut, "POST", path, json=body)

    def silences(self) -> list[SilenceOut]:
        """Every silence: active, pending and expired."""
        return list(self._api.get(SilenceList, "/api/v1/silences").silences)

    def create_silence(
        self,
        matchers: Iterable[MatcherIn],
        *,
        duration_s: float,
        created_by: str,
        comment: str,
    ) -> SilenceOut:
        """Silence matching alerts from now for ``duration_s`` seconds."""
        body = {
            "matchers": [x.model_dump() for x in matchers],
            "duration_s": duration_s,
            "created_by": created_by,
            "comment": comment,
        }
        return self._api.call(SilenceOut, "POST", "/api/v1/silences", json=body)

    def expire_silence(self, silence_id: str) -> SilenceOut:
        """End a silence now."""
        return self._api.call(SilenceOut, "DELETE", f"/api/v1/silences/{segment(silence_id)}")

    def drift(
        self,
        start: datetime,
        end: datetime,
        *,
        model: str | None = None,
        version: str | None = None,
        device: str | None = None,
        feature: str | None = None,
    ) -> list[DriftRowOut]:
        """Drift judgements in the window for a model/version/device selection."""
        params = {
            **_window(start, end),
            **_selection(device, None, model, version),
            "feature": feature,
        }
        return list(self._api.get(DriftResults, "/api/v1/drift", params).results)

    def drift_report(
        self,
        start: datetime,
        end: datetime,
        *,
        model: str,
        version: str,
        device: str | None = None,
    ) -> DriftReport:
        """Evidently's HTML drift report of sampled rows vs the baseline's reference sample.

        Too few sampled rows is a ``RequestRejectedError`` whose message says how to get more.
        """
        params = {**_window(start, end), **_selection(device, None, model, version)}
        r = self._api.request("GET", "/api/v1/reports/drift", params=params)
        return DriftReport(
            html=r.content,
            reference_rows=int(r.headers.get("X-Edgewatch-Reference-Rows", "0")),
            current_rows=int(r.headers.get("X-Edgewatch-Current-Rows", "0")),
        )

    def rules(self) -> list[RuleOut]:
        """Loaded alert rules with their last evaluation."""
        return list(self._api.get(RuleList, "/api/v1/rules").rules)

    def reload_rules(self) -> int:
        """Reload the rules file; the number of rules loaded."""
        return self._api.call(ReloadOut, "POST", "/api/v1/rules/reload").rules

    def receivers(self) -> list[ReceiverOut]:
        """Receivers with delivery counts; endpoints are reduced to their host."""
        return list(self._api.get(ReceiverList, "/api/v1/receivers").receivers)

    def deliveries(self, *, status: str | None = None) -> list[DeliveryOut]:
        """Notification deliveries, optionally by status."""
        return list(
            self._api.get(DeliveryList, "/api/v1/deliveries", {"status": status}).deliveries
        )

    def baselines(self) -> list[BaselineOut]:
        """Every baseline (without per-feature summaries)."""
        return list(self._api.get(BaselineList, "/api/v1/baselines").baselines)

    def baseline(self, baseline_id: str) -> BaselineOut:
        """One baseline with its per-feature summary."""
        return self._api.get(BaselineOut, f"/api/v1/baselines/{segment(baseline_id)}")

    def compare_versions(
        self, model: str, a: str, b: str, start: datetime, end: datetime
    ) -> VersionCompareOut:
        """Version ``b`` against ``a`` over the window, with the rollout verdict."""
        params = {**_window(start, end), "model": model, "a": a, "b": b}
        return self._api.get(VersionCompareOut, "/api/v1/versions/compare", params)

    def profiles_compare(self, model: str, version: str, against: str) -> ProfileCompareOut:
        """``version``'s on-device profiles against ``against``'s, per hardware class."""
        params = {"model": model, "version": version, "against": against}
        return self._api.get(ProfileCompareOut, "/api/v1/profiles/compare", params)

    def rollout_verdict(self, model: str, version: str, established: str) -> RolloutVerdictOut:
        """The rollout gate's verdict on ``version`` against the ``established`` one."""
        path = f"/api/v1/rollouts/{segment(model)}/{segment(version)}"
        return self._api.get(RolloutVerdictOut, path, {"established": established})


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": format_rfc3339(start), "to": format_rfc3339(end)}


def _selection(
    device: str | None, fleet: str | None, model: str | None, version: str | None
) -> dict[str, str | None]:
    return {"device": device, "fleet": fleet, "model": model, "version": version}
