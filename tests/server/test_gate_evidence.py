"""Device-hours and profiles → the rollout gate's evidence per hardware class, without a server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from edgewatch.detectors import evaluate_gate
from edgewatch.server.gate import REFERENCE_PROFILE, build_evidence, compare_versions
from edgewatch.server.store import DeviceHour, ModelProfile

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _hours(
    device: str, version: str, hardware: str, latency_s: float, n: int = 4
) -> list[DeviceHour]:
    return [
        DeviceHour(
            device,
            version,
            hardware,
            T0 + timedelta(hours=k),
            latency_s * (1 + 0.01 * k),
            None,
            0.9,
            1000.0,
            2.0,
        )
        for k in range(n)
    ]


def _profile(version: str, hardware: str, mean_s: float) -> ModelProfile:
    return ModelProfile(
        "m",
        version,
        hardware,
        T0,
        mean_s,
        mean_s,
        2 * mean_s,
        3 * mean_s,
        0.001,
        "rapl",
        0.1,
        None,
        {},
    )


def test_established_is_the_version_with_most_device_hours_then_devices() -> None:
    hours = [
        *_hours("a", "v1", "rpi4", 0.02),
        *_hours("b", "v1", "rpi4", 0.02),
        *_hours("c", "v0", "rpi4", 0.02, n=8),
        *_hours("d", "v2", "rpi4", 0.02),
    ]
    evidence, plans = build_evidence(hours, "v2")
    assert [p.reference for p in plans] == ["v1"]  # 8 device-hours each: v1 on two devices
    assert set(evidence["rpi4"].signals) == {"latency", "confidence", "errors"}  # no energy
    _, named = build_evidence(hours, "v2", established="v0")
    assert named[0].reference == "v0"


def test_profile_then_nothing_when_no_other_version_runs_there() -> None:
    hours = [
        *_hours("n1", "v2", "nano", 0.02),
        *_hours("n2", "v2", "nano", 0.02),
        *_hours("x", "v2", "x86", 0.02),
    ]
    evidence, plans = build_evidence(
        hours, "v2", [_profile("v2", "nano", 0.01), _profile("v1", "x86", 0.02)]
    )
    by_class = {p.hardware_class: p for p in plans}
    assert by_class["nano"].reference == REFERENCE_PROFILE
    assert set(evidence["nano"].signals) == {"latency"}  # never energy against a profile
    assert by_class["x86"].reference is None and not evidence["x86"].signals
    result = evaluate_gate(evidence)
    assert result.failed == ["nano/latency"]
    assert {c.hardware_class: c.outcome for c in result.classes}["x86"] == "wait"


def test_versions_side_by_side_from_profiles() -> None:
    def profile(version: str, hw: str, p95_s: float, energy_j: float, acc: float) -> ModelProfile:
        return ModelProfile(
            "m", version, hw, T0, p95_s, p95_s, p95_s, p95_s, energy_j, "rapl", 0.1, acc, {}
        )

    profiles = [
        profile("v1", "rpi4", 0.010, 0.010, 0.90),
        profile("v1", "jetson-nano", 0.004, 0.020, 0.90),
        profile("v2", "rpi4", 0.014, 0.012, 0.93),
        profile("v2", "jetson-nano", 0.004, 0.024, 0.93),
        profile("v2", "x86", 0.001, 0.1, 0.93),
    ]
    c = compare_versions(profiles, "m", "v2", "v1")
    assert [k.hardware_class for k in c.classes] == ["jetson-nano", "rpi4"]
    assert c.summary == "v2 vs v1: p95 1.0x on jetson-nano, 1.4x on rpi4; energy 1.2x"
    assert c.classes[1].accuracy_change == pytest.approx(0.03)
    assert compare_versions(profiles, "m", "v2", "v0").summary.endswith(
        "no hardware class profiled for both"
    )


def test_rare_events_neither_side_saw_are_no_test_so_an_error_free_canary_can_pass() -> None:
    hours = [
        replace(h, errors=0.0, complete=True)
        for d in range(4)
        for h in _hours(f"old-{d}", "v1", "rpi4", 0.02) + _hours(f"new-{d}", "v2", "rpi4", 0.02)
    ]
    evidence, _ = build_evidence(hours, "v2")
    assert sorted(evidence["rpi4"].signals) == ["confidence", "latency", "throughput"]
    assert evaluate_gate(evidence).outcome.value == "pass"
    noisy = [replace(h, errors=5.0) if h.device_id == "new-0" else h for h in hours]
    assert "errors" in build_evidence(noisy, "v2")[0]["rpi4"].signals
