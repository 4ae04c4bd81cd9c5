"""Issue #15: a ``drift_fdr`` rule spends a daily false-alarm budget (``alpha_per_day``)
across its evaluations. Through the real evaluation path over stored data: a no-drift fleet
evaluated every 5 minutes for two hours calls nothing drifted, each evaluation at the spent
level, and a real 1 σ shift on one device is still found."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import exp_metric, exp_point, kv, resource_attributes

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.detectors import Verdict, from_values
from edgewatch.server.alert import Rule, load_default_rules
from edgewatch.server.alerting._scheduler import evaluate_rule
from edgewatch.server.detect import TimeScale, scale_ruleset
from edgewatch.server.detect._context import Context
from edgewatch.server.detect._profile import numeric_profile
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Store, StoreConfig

pytestmark = pytest.mark.timeout(120)

DEVICES = tuple(f"cam-{i:02d}" for i in range(8))
FEATURES = ("f0", "f1", "f2", "f3")
MINUTES = 120
PER_MINUTE = 20
"""Values per feature and minute: 300 in a 15-minute window, like a quiet device."""
SHIFTED = ("cam-03", "f1")
SHIFT_MINUTES = 15


@dataclass(frozen=True, slots=True)
class Fleet:
    store: Store
    now_s: float


def _export(
    device: str, now_s: float, rng: np.random.Generator, shift: bool
) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device))
    points = []
    for k in range(MINUTES):
        end_s = now_s - 60 * k
        for f in FEATURES:
            mean = 1.0 if shift and (device, f) == SHIFTED and k < SHIFT_MINUTES else 0.0
            points.append(
                exp_point(
                    from_values(rng.normal(mean, 1, PER_MINUTE)),
                    int((end_s - 60) * 1e9),
                    int(end_s * 1e9),
                    [kv(semconv.FEATURE_NAME, f)],
                )
            )
    rm.scope_metrics.add().metrics.append(exp_metric(semconv.FEATURE_VALUE, "1", points))
    return request


def _fleet(path: Path, shift: bool) -> Iterator[Fleet]:
    now_s = (time.time() // 60) * 60
    rng = np.random.default_rng(15)
    limiter = CardinalityLimiter(max_series_per_metric=1000, max_series_per_device=1000)
    with Store.open(path, StoreConfig(maintenance=False)) as store:
        for device in DEVICES:
            converted = convert(
                _export(device, now_s, rng, shift),
                received_s=now_s,
                limits=IngestLimits(),
                limiter=limiter,
            )
            assert not converted.rejected
            store.submit(converted.batch).result(30)
        store.baselines.create(
            model_name="classifier",
            model_version="1.0.0",
            source="upload",
            rows=5000,
            features=list(FEATURES),
            profiles=[numeric_profile(f, rng.normal(0, 1, 5000)) for f in FEATURES],
            now=datetime.now(UTC),
        )
        yield Fleet(store, now_s)


@pytest.fixture
def healthy(tmp_path: Path) -> Iterator[Fleet]:
    yield from _fleet(tmp_path / "healthy.duckdb", shift=False)


@pytest.fixture
def shifted(tmp_path: Path) -> Iterator[Fleet]:
    yield from _fleet(tmp_path / "shifted.duckdb", shift=True)


def _rule(**params: object) -> Rule:
    """DeviceFeatureDrift as shipped, with its time-of-day comparison off (two hours of
    data have no past days) and a small effect floor, so the p-value alone decides."""
    rule = next(r for r in load_default_rules().rules if r.name == "DeviceFeatureDrift")
    return replace(rule, params={**rule.params, "season": "none", "min_effect": 0.05, **params})


def _drifted(fleet: Fleet, rule: Rule, ago_s: float, scale: TimeScale | None = None) -> list[str]:
    now_s = fleet.now_s - ago_s
    devices = fleet.store.list_devices(now=from_unix_s(now_s))
    ctx = (
        Context(fleet.store, now_s, devices)
        if scale is None
        else Context(fleet.store, now_s, devices, scale)
    )
    findings = evaluate_rule(ctx, rule, datetime.fromtimestamp(now_s, UTC))
    assert len(findings) == len(DEVICES) * len(FEATURES)
    assert all(f.result.verdict is not Verdict.INSUFFICIENT_DATA for _, f in findings)
    return [f.result.explanation for _, f in findings if f.result.verdict is Verdict.DRIFT] or [
        f"level: {findings[0][1].result.explanation.rsplit('(FDR ', 1)[1]}"
    ]


def test_a_no_drift_fleet_evaluated_all_morning_raises_nothing(healthy: Fleet) -> None:
    rule = _rule()
    assert rule.params["alpha_per_day"] == 0.01
    spent = 0.01 / 288
    for k in range((MINUTES - 15) // 5):
        out = _drifted(healthy, rule, 300.0 * k)
        # Nothing drifted, and the evidence states the spent level, not the configured 1 %.
        assert out == [f"level: {spent:.3g}) → no drift"], (k, out)


def test_a_real_shift_on_one_device_is_still_found(shifted: Fleet) -> None:
    out = _drifted(shifted, _rule(), 0.0)
    assert len(out) == 1 and out[0].endswith(f"(FDR {0.01 / 288:.3g}) → drift"), out
    found = evaluate_rule(
        Context(
            shifted.store, shifted.now_s, shifted.store.list_devices(now=from_unix_s(shifted.now_s))
        ),
        _rule(),
        datetime.fromtimestamp(shifted.now_s, UTC),
    )
    hits = {(m.get("device"), f.feature) for m, f in found if f.result.verdict is Verdict.DRIFT}
    assert hits == {SHIFTED}


def test_a_scaled_demo_rule_spends_the_same_budget_per_evaluation(healthy: Fleet) -> None:
    """At 4x the rule runs every 75 s and the fleet's day lasts 6 hours: still 288
    evaluations a fleet day, so the same level each (the demo's 60x likewise)."""
    scale = TimeScale(4)
    rule = next(
        r for r in scale_ruleset(replace(load_default_rules(), rules=(_rule(),)), scale).rules
    )
    assert rule.interval_s == 75.0
    out = _drifted(healthy, rule, 0.0, scale)
    assert out == [f"level: {0.01 / 288:.3g}) → no drift"], out
