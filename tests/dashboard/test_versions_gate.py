"""The Versions page's per hardware class rows: profile ratios joined with the gate's answer."""

from __future__ import annotations

from edgewatch.contract import ProfileCompareOut, RolloutVerdictOut
from edgewatch.dashboard._versions_gate import headline, join, table

PROFILES = {
    "model": "m", "version": "v2", "against": "v1",
    "summary": "v2 vs v1: p95 1.4x on rpi4, 1.0x on jetson-nano; energy 1.2x",
    "hardware_classes": [
        {"hardware_class": "jetson-nano", "p95_ratio": 1.02, "energy_ratio": 1.2,
         "accuracy_change": 0.01},
        {"hardware_class": "rpi4", "p95_ratio": 1.4, "energy_ratio": 1.2,
         "accuracy_change": None},
    ],
}  # fmt: skip
SIGNAL = {
    "lower": None,
    "upper": None,
    "canary_device_hours": 10.0,
    "reference_device_hours": 40.0,
    "detail": "",
}
CLASS = {"canary_devices": 2, "canary_device_hours": 10.0, "reference_devices": 8}
GATE = {
    "model": "m", "version": "v2", "verdict": "fail", "failed": ["rpi4"],
    "evaluated_at": "2026-12-04T12:00:00Z", "window_s": 86400.0, "alpha": 0.05,
    "test_alpha": 0.01, "method": "device-hours",
    "hardware_classes": [
        {**CLASS, "hardware_class": "rpi4", "verdict": "fail", "compared_with": "v1",
         "fleet_accuracy": 0.8712, "accuracy_source": "estimated",
         "signals": [{**SIGNAL, "signal": "latency", "verdict": "fail", "estimate": 1.38},
                     {**SIGNAL, "signal": "errors", "verdict": "pass", "estimate": 0.9}]},
        {**CLASS, "hardware_class": "x86", "verdict": "wait", "compared_with": None,
         "signals": [], "fleet_accuracy": 0.9, "accuracy_source": "labels"},
    ],
}  # fmt: skip


def test_each_class_either_side_knows_gets_a_row() -> None:
    profiles = ProfileCompareOut.model_validate(PROFILES)
    gate = join(profiles, RolloutVerdictOut.model_validate(GATE), "v2", "v1")
    assert table(gate) == {
        "hardware class": ["jetson-nano", "rpi4", "x86"],
        "profile p95": ["1.02x", "1.40x", "—"],
        "profile energy": ["1.20x", "1.20x", "—"],
        "profile accuracy": ["+1.0 pt", "—", "—"],
        "fleet latency": ["—", "1.38x", "—"],
        "fleet accuracy": ["—", "87.1 % (estimated)", "90.0 %"],
        "gate": ["not running", "❌ fail", "⏳ wait"],
        "failed signals": ["—", "latency", "—"],
        "compared with": ["—", "v1", "—"],
    }
    assert headline(gate) == (
        "**v2** vs v1 — rollout gate: ❌ fail. "
        "v2 vs v1: p95 1.4x on rpi4, 1.0x on jetson-nano; energy 1.2x"
    )
