"""Issue #14 findings 1 and 2: one device's drift among 30 is found against its version's
baseline — features, predicted classes and confidence — with the false-discovery rate
controlled over every (device × feature) test, and healthy devices with mild shifts stay
quiet. The store is replaced by a context that draws each device's window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from edgewatch.collector import semconv
from edgewatch.detectors import (
    CategoricalCounts,
    ExpHistogram,
    Verdict,
    categorical_counts,
    from_values,
)
from edgewatch.server.alert import load_default_rules
from edgewatch.server.alerting._scheduler import evaluate_rule
from edgewatch.server.detect._context import Context, Signal, Window
from edgewatch.server.detect._members import Member
from edgewatch.server.store import Device, DeviceStatus

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
FEATURES = [f"f{i}" for i in range(12)]
DRIFTED_DEVICE = "cam-07"
DRIFTED_FEATURES = {"f1", "f4", "f9"}
CLASSES = ["person", "car", "bike", "dog"]
CLASS_SHARE = [0.5, 0.3, 0.15, 0.05]


def _device(i: int) -> Device:
    return Device(
        device_id=f"cam-{i:02d}",
        fleet="f",
        model_name="det",
        model_version="v2",
        hardware=["jetson-orin-nano", "rpi5", "rpi4", "nuc"][i % 4],
        runtime=None,
        host_arch=None,
        os_type=None,
        service_name=None,
        power_sources=None,
        attributes={},
        first_seen=NOW - timedelta(days=1),
        last_seen=NOW,
        last_batch_key=None,
        clock_skew_s=None,
        status=DeviceStatus.ONLINE,
    )


class FleetContext(Context):
    """30 devices; each device's window drawn from the baseline with a mild device-specific
    offset (0.05 σ, as day/night input shifts), except the incidents under test."""

    def __init__(self, incident: str) -> None:
        store: Any = None
        super().__init__(store, NOW.timestamp(), [_device(i) for i in range(30)])
        self.incident = incident
        rng = np.random.default_rng(14)
        self.rng = rng
        self.refs: dict[str, ExpHistogram | CategoricalCounts] = {
            f: from_values(rng.normal(0, 1, 20_000)) for f in FEATURES
        }
        self.refs["prediction"] = categorical_counts(rng.choice(CLASSES, 20_000, p=CLASS_SHARE))
        self.refs[semconv.PREDICTION_SCORE] = from_values(rng.beta(8.6, 1.4, 20_000))

    def _drifted(self, member: Member) -> bool:
        return member.get("device") == DRIFTED_DEVICE

    def features(self, member: Member, metric: str) -> list[str]:
        return FEATURES

    def reference(
        self, member: Member, name: str, kinds: tuple[str, ...]
    ) -> tuple[ExpHistogram | CategoricalCounts, str] | None:
        ref = self.refs.get(name)
        return None if ref is None else (ref, "baseline-v2")

    def histograms(
        self, member: Member, signal: Signal, by: str, window: Window
    ) -> dict[str, ExpHistogram]:
        offset = self.rng.uniform(-0.05, 0.05)
        out = {}
        for f in FEATURES:
            shift = (
                1.0
                if self.incident == "features" and self._drifted(member) and f in DRIFTED_FEATURES
                else offset
            )
            out[f] = from_values(self.rng.normal(shift, 1, 1500))
        return out

    def counts(
        self,
        member: Member,
        metric: str,
        key: str,
        window: Window,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> CategoricalCounts:
        classes = self.rng.choice(CLASSES, 1500, p=CLASS_SHARE).tolist()
        if self.incident == "predictions" and self._drifted(member):
            classes[:450] = ["truck"] * 450  # 30 % become a class the baseline never saw
        return categorical_counts(classes)

    def histogram(self, member: Member, signal: Signal, window: Window) -> ExpHistogram:
        if self.incident == "confidence" and self._drifted(member):
            return from_values(self.rng.beta(7.1, 2.9, 1500))  # mean 0.86 → 0.71
        return from_values(self.rng.beta(8.6, 1.4, 1500))


def _drifted(rule_name: str, incident: str) -> set[tuple[str | None, str | None]]:
    rule = next(r for r in load_default_rules().rules if r.name == rule_name)
    findings = evaluate_rule(FleetContext(incident), rule, NOW)
    assert all(f.result.verdict is not Verdict.INSUFFICIENT_DATA for _, f in findings)
    return {(m.get("device"), f.feature) for m, f in findings if f.result.verdict is Verdict.DRIFT}


def test_one_device_feature_shift_among_30_is_found_and_nothing_else() -> None:
    assert _drifted("DeviceFeatureDrift", "features") == {
        (DRIFTED_DEVICE, f) for f in DRIFTED_FEATURES
    }


def test_a_healthy_fleet_with_mild_shifts_has_no_device_drift() -> None:
    for rule in ("DeviceFeatureDrift", "DevicePredictionDrift", "DeviceConfidenceDrift"):
        assert _drifted(rule, "none") == set(), rule


def test_one_device_new_class_is_found() -> None:
    assert _drifted("DevicePredictionDrift", "predictions") == {(DRIFTED_DEVICE, None)}


def test_one_device_confidence_drop_is_found() -> None:
    assert _drifted("DeviceConfidenceDrift", "confidence") == {(DRIFTED_DEVICE, None)}


def test_the_fleet_view_ranks_the_drifted_device_first() -> None:
    from edgewatch.server.detect._cohort_view import COHORT_METHOD, cohort_rows

    rule = next(r for r in load_default_rules().rules if r.name == "DeviceFeatureDrift")
    findings = evaluate_rule(FleetContext("features"), rule, NOW)
    (row,) = cohort_rows(rule, findings, Window(NOW.timestamp() - rule.window_s, NOW.timestamp()))
    assert (row.scope, row.model_version, row.method) == ("version", "v2", COHORT_METHOD)
    assert row.explanation.startswith(f"det v2: device={DRIFTED_DEVICE}: 100% of the drift")
    assert "hardware=" in row.explanation
