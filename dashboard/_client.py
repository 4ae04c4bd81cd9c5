"""The dashboard's typed view of the edgewatch server's REST API: the dashboard's only way
to the data.

Requests, the token and every failure go through ``edgewatch.contract.ApiClient`` (one
exception tree, messages a person can act on); answers are checked field by field and
returned as frozen values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, TypeVar

import httpx

from edgewatch.contract import (
    ApiClient,
    DeliveryList,
    DeliveryOut,
    DeviceDetail,
    DeviceList,
    MalformedResponseError,
    NotFoundError,
    ReceiverList,
    ReceiverOut,
    format_rfc3339,
    segment,
)
from edgewatch.dashboard import _alert_models as am
from edgewatch.dashboard import _models as m
from edgewatch.dashboard._parse import Obj

T = TypeVar("T")
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

    def _request(
        self, method: str, path: str, *, params: Params | None = None, body: Any = None
    ) -> Any:
        return self._api.json(method, path, params=params, json=body)

    def _get(self, path: str, params: Params | None = None) -> Obj:
        return self._obj(self._request("GET", path, params=params), f"GET {path}")

    def _obj(self, data: Any, what: str) -> Obj:
        return self._parsed(what, Obj, data, "answer")

    def _parsed(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except MalformedResponseError as e:
            raise MalformedResponseError(
                f"the server at {self.server_url} sent an answer the dashboard cannot read "
                f"({what}: {e}). Are the dashboard and server the same edgewatch version?"
            ) from None

    # -- query API ------------------------------------------------------------------------

    def ready(self) -> bool:
        """Whether the server is up with its store open (``/readyz``, no token needed)."""
        return self._api.ready().status_code == 200

    def rule_time_scale(self) -> float:
        """The server's rule time scale from ``/readyz`` (1: rules run in real time; the demo
        runs them scaled to its speed); 1 when the server does not say."""
        r = self._api.ready()
        try:
            value = r.json().get("rule_time_scale", 1.0)
        except (ValueError, AttributeError):
            return 1.0
        return float(value) if isinstance(value, int | float) and value > 0 else 1.0

    def devices(
        self,
        *,
        status: str | None = None,
        fleet: str | None = None,
        model: str | None = None,
        version: str | None = None,
        limit: int = 10_000,
    ) -> list[m.Device]:
        """Devices by id, optionally filtered."""
        path = "/api/v1/devices"
        params = {
            "status": status,
            "fleet": fleet,
            "model": model,
            "version": version,
            "limit": limit,
        }
        return list(self._api.get(DeviceList, path, params).devices)

    def device(self, device_id: str, *, readings_since_s: float = 86_400.0) -> m.DeviceDetail:
        """One device with the newest value of each gauge it sent."""
        path = f"/api/v1/devices/{segment(device_id)}"
        answer = self._api.get(DeviceDetail, path, {"readings_since_s": readings_since_s})
        return m.DeviceDetail.of(answer)

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
    ) -> m.Series:
        """One metric bucketed by ``step_s``; an empty series when nothing was ever stored."""
        params: dict[str, Any] = {
            "metric": metric,
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
            "step": step_s,
            "agg": agg,
            "attr": [f"{k}={v}" for k, v in attributes] or None,
            **_selection(device, fleet, model, version),
        }
        try:
            obj = self._get("/api/v1/series", params)
        except NotFoundError as e:
            if e.endpoint_missing:
                raise
            return m.Series(metric, agg or "", step_s, (), ())
        return self._parsed("GET /api/v1/series", m.series_of, obj)

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
    ) -> m.Distribution | None:
        """The merged histogram of ``metric``; ``None`` when nothing was ever stored for it."""
        params: dict[str, Any] = {
            "metric": metric,
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
            "feature": feature,
            **_selection(device, fleet, model, version),
        }
        try:
            return self._api.get(m.Distribution, "/api/v1/distributions", params)
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
    ) -> m.ClassCounts:
        """The class labels the selection reported, with their prediction counts in the window."""
        params: dict[str, Any] = {
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
            **_selection(device, fleet, model, version),
        }
        return self._api.get(m.ClassCounts, "/api/v1/predictions/classes", params)

    def fleet_summary(
        self, start: datetime, end: datetime, *, fleet: str | None = None
    ) -> m.FleetSummary:
        """Devices per model version with rates and latency quantiles."""
        params = {"from": format_rfc3339(start), "to": format_rfc3339(end), "fleet": fleet}
        return self._api.get(m.FleetSummary, "/api/v1/fleet/summary", params)

    def tokens(self) -> list[m.Token]:
        """Every token (never a secret)."""
        data = self._request("GET", "/api/v1/tokens")
        return self._api.parse(list[m.Token], data, "GET /api/v1/tokens")

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
    ) -> list[am.Alert]:
        """Alerts newest first, filtered."""
        path = "/api/v1/alerts"
        params = {
            "state": state,
            "severity": severity,
            "device": device,
            "model": model,
            "version": version,
            "limit": limit,
        }
        obj = self._get(path, params)
        return self._parsed(path, lambda: [am.alert_of(a) for a in obj.objs("alerts")])

    def alert(self, fingerprint: str) -> am.AlertDetail:
        """One alert with its evidence and history."""
        path = f"/api/v1/alerts/{segment(fingerprint)}"
        return self._parsed(path, am.alert_detail_of, self._get(path))

    def ack(self, fingerprint: str, *, author: str, comment: str) -> am.Alert:
        """Acknowledge an alert."""
        path = f"/api/v1/alerts/{segment(fingerprint)}/ack"
        data = self._request("POST", path, body={"author": author, "comment": comment})
        return self._parsed(path, am.alert_of, self._obj(data, f"POST {path}"))

    def silences(self) -> list[am.Silence]:
        """Every silence: active, pending and expired."""
        path = "/api/v1/silences"
        obj = self._get(path)
        return self._parsed(path, lambda: [am.silence_of(s) for s in obj.objs("silences")])

    def create_silence(
        self,
        matchers: Iterable[am.Matcher],
        *,
        duration_s: float,
        created_by: str,
        comment: str,
    ) -> am.Silence:
        """Silence matching alerts from now for ``duration_s`` seconds."""
        path = "/api/v1/silences"
        body = {
            "matchers": [x.as_json() for x in matchers],
            "duration_s": duration_s,
            "created_by": created_by,
            "comment": comment,
        }
        data = self._request("POST", path, body=body)
        return self._parsed(path, am.silence_of, self._obj(data, f"POST {path}"))

    def expire_silence(self, silence_id: str) -> am.Silence:
        """End a silence now."""
        path = f"/api/v1/silences/{segment(silence_id)}"
        data = self._request("DELETE", path)
        return self._parsed(path, am.silence_of, self._obj(data, f"DELETE {path}"))

    def drift(
        self,
        start: datetime,
        end: datetime,
        *,
        model: str | None = None,
        version: str | None = None,
        device: str | None = None,
        feature: str | None = None,
    ) -> list[am.DriftResult]:
        """Drift judgements in the window for a model/version/device selection."""
        path = "/api/v1/drift"
        params = {
            "model": model,
            "version": version,
            "device": device,
            "feature": feature,
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
        }
        obj = self._get(path, params)
        return self._parsed(path, lambda: [am.drift_result_of(r) for r in obj.objs("results")])

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
        params = {
            "model": model,
            "version": version,
            "device": device,
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
        }
        r = self._api.request("GET", "/api/v1/reports/drift", params=params)
        return DriftReport(
            html=r.content,
            reference_rows=int(r.headers.get("X-Edgewatch-Reference-Rows", "0")),
            current_rows=int(r.headers.get("X-Edgewatch-Current-Rows", "0")),
        )

    def rules(self) -> list[am.Rule]:
        """Loaded alert rules with their last evaluation."""
        obj = self._get("/api/v1/rules")
        return self._parsed("GET /api/v1/rules", lambda: [am.rule_of(r) for r in obj.objs("rules")])

    def reload_rules(self) -> int:
        """Reload the rules file; the number of rules loaded."""
        path = "/api/v1/rules/reload"
        obj = self._obj(self._request("POST", path), f"POST {path}")
        return self._parsed(path, lambda: obj.integer("rules"))

    def receivers(self) -> list[ReceiverOut]:
        """Receivers with delivery counts; endpoints are reduced to their host."""
        return list(self._api.get(ReceiverList, "/api/v1/receivers").receivers)

    def deliveries(self, *, status: str | None = None) -> list[DeliveryOut]:
        """Notification deliveries, optionally by status."""
        return list(
            self._api.get(DeliveryList, "/api/v1/deliveries", {"status": status}).deliveries
        )

    def baselines(self) -> list[am.Baseline]:
        """Every baseline (without per-feature summaries)."""
        obj = self._get("/api/v1/baselines")
        return self._parsed(
            "GET /api/v1/baselines", lambda: [am.baseline_of(b) for b in obj.objs("baselines")]
        )

    def baseline(self, baseline_id: str) -> am.Baseline:
        """One baseline with its per-feature summary."""
        path = f"/api/v1/baselines/{segment(baseline_id)}"
        return self._parsed(path, am.baseline_of, self._get(path))

    def compare_versions(
        self, model: str, a: str, b: str, start: datetime, end: datetime
    ) -> am.VersionComparison:
        """Version ``b`` against ``a`` over the window, with the rollout verdict."""
        path = "/api/v1/versions/compare"
        params = {
            "model": model,
            "a": a,
            "b": b,
            "from": format_rfc3339(start),
            "to": format_rfc3339(end),
        }
        return self._parsed(path, am.comparison_of, self._get(path, params))


def _selection(
    device: str | None, fleet: str | None, model: str | None, version: str | None
) -> dict[str, str | None]:
    return {"device": device, "fleet": fleet, "model": model, "version": version}
