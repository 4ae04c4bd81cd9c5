"""Drift judged by time of day: a device whose inputs always shift at night is not drifted
at night, while a sudden or a gradual shift on one device is still found against the
baseline *and* its own past nights. The store is replaced by a context that draws each
window from the devices' time-of-day input model."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from edgewatch.detectors import ExpHistogram, Verdict, from_values
from edgewatch.server.alert import load_default_rules
from edgewatch.server.alerting._scheduler import evaluate_rule
from edgewatch.server.detect._context import Context, Signal, Window
from edgewatch.server.detect._members import Member
from edgewatch.server.store import Device, DeviceStatus

DAY = 86_400.0
NIGHT = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 02:00 UTC: every device is at night
FEATURES = ("f0", "f1", "f2")
NIGHT_SHIFT = 0.7
"""Inputs at night sit 0.7 σ above the (daytime) baseline: PSI ≈ 0.5 against it."""


def _device(i: int, first_seen_days: float = 8) -> Device:
    return Device(
        device_id=f"cam-{i:02d}",
        fleet="f",
        model_name="det",
        model_version="v1",
        hardware="rpi5",
        runtime=None,
        host_arch=None,
        os_type=None,
        service_name=None,
        power_sources=None,
        attributes={},
        first_seen=NIGHT - timedelta(seconds=first_seen_days * DAY),
        last_seen=NIGHT,
        last_batch_key=None,
        clock_skew_s=None,
        status=DeviceStatus.ONLINE,
    )


class NightShiftContext(Context):
    """20 devices whose inputs shift by ``NIGHT_SHIFT`` from 22:00 to 06:00 UTC; ``incident``
    adds a shift to f1 on cam-03: ``sudden`` (1 σ in the last hour), ``gradual`` (growing by
    0.5 σ an hour over the last 3 hours) or none."""

    def __init__(self, incident: str | None) -> None:
        store: Any = None
        super().__init__(store, NIGHT.timestamp(), [_device(i) for i in range(20)])
        self.incident = incident
        rng = np.random.default_rng(3)
        self.ref = {f: from_values(rng.normal(0, 1, 20_000)) for f in FEATURES}

    def features(self, member: Member, metric: str) -> list[str]:
        return list(FEATURES)

    def reference(self, member: Member, name: str, kinds: tuple[str, ...]) -> Any:
        return (self.ref[name], "baseline-v1") if name in self.ref else None

    def _mean(self, device: str, feature: str, t: float) -> float:
        hour = (t % DAY) / 3600
        mean = NIGHT_SHIFT if not 6 <= hour < 22 else 0.0
        ago_h = (self.now_s - t) / 3600
        if device == "cam-03" and feature == "f1":
            if self.incident == "sudden" and ago_h < 1:
                mean += 1.0
            if self.incident == "gradual" and ago_h < 3:
                mean += 0.5 * (3 - ago_h)
        return mean

    def histograms(
        self, member: Member, signal: Signal, by: str, window: Window
    ) -> dict[str, ExpHistogram]:
        device = str(member.get("device") or "version-00")
        rng = np.random.default_rng([int(window.end_s), int(device[-2:])])
        mid = (window.start_s + window.end_s) / 2
        return {f: from_values(rng.normal(self._mean(device, f, mid), 1, 600)) for f in FEATURES}


def _drifted(incident: str | None, **params: Any) -> set[tuple[str | None, str | None]]:
    rule = next(r for r in load_default_rules().rules if r.name == "DeviceFeatureDrift")
    rule = replace(rule, params={**rule.params, **params})
    findings = evaluate_rule(NightShiftContext(incident), rule, NIGHT)
    assert all(f.result.verdict is not Verdict.INSUFFICIENT_DATA for _, f in findings)
    return {(m.get("device"), f.feature) for m, f in findings if f.result.verdict is Verdict.DRIFT}


def test_inputs_that_always_shift_at_night_are_no_drift_at_night() -> None:
    assert _drifted(None) == set()
    # Against the daytime baseline alone (no season) every device's night reads as drift.
    assert len(_drifted(None, season="none")) == 20 * len(FEATURES)


def test_a_sudden_shift_on_one_device_at_night_is_found() -> None:
    assert _drifted("sudden") == {("cam-03", "f1")}


def test_a_gradual_shift_on_one_device_is_found() -> None:
    assert _drifted("gradual") == {("cam-03", "f1")}


def test_the_evidence_names_both_references() -> None:
    rule = next(r for r in load_default_rules().rules if r.name == "DeviceFeatureDrift")
    findings = evaluate_rule(NightShiftContext("sudden"), rule, NIGHT)
    (hit,) = [f for _, f in findings if f.result.verdict is Verdict.DRIFT]
    assert "against the same time over 7 past day(s)" in hit.result.explanation
    assert "drift in both" in hit.result.explanation


def test_a_version_reads_no_past_day_before_its_first_device_reported() -> None:
    rule = next(r for r in load_default_rules().rules if r.name == "FeatureDrift")
    ctx = NightShiftContext(None)
    ctx.devices = tuple(_device(i, first_seen_days=2.5) for i in range(20))
    findings = evaluate_rule(ctx, rule, NIGHT)
    assert [f.feature for _, f in findings] == list(FEATURES)
    for _, f in findings:
        assert f.result.verdict is Verdict.NO_DRIFT
        assert "against the same time over 2 past day(s)" in f.result.explanation
