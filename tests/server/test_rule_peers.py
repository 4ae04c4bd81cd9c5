"""Issue #14 finding 8: fleet peers are devices on the same model version *and* hardware
class, so a Raspberry Pi 4 is not an outlier among Jetsons running the same model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from edgewatch.detectors import ExpHistogram, Verdict, from_values
from edgewatch.server.alert import ScopeLevel, load_default_rules
from edgewatch.server.detect._context import Context, Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS
from edgewatch.server.detect._members import Member, members
from edgewatch.server.store import Device, DeviceStatus

NOW = 1_700_000_000.0
RNG = np.random.default_rng(8)


def _device(device_id: str, hardware: str) -> Device:
    return Device(
        device_id=device_id,
        fleet="f",
        model_name="det",
        model_version="v1",
        hardware=hardware,
        runtime=None,
        host_arch=None,
        os_type=None,
        service_name=None,
        power_sources=None,
        attributes={},
        first_seen=datetime.fromtimestamp(NOW - 86_400, UTC),
        last_seen=datetime.fromtimestamp(NOW, UTC),
        last_batch_key=None,
        clock_skew_s=None,
        status=DeviceStatus.ONLINE,
    )


class LatencyContext(Context):
    """A context whose histograms are each device's latency, no store behind it."""

    def __init__(self, devices: list[Device], latency_s: dict[str, float]) -> None:
        store: Any = None
        super().__init__(store, NOW, devices)
        self.latency = {
            d: from_values(RNG.lognormal(np.log(s), 0.05, 500)) for d, s in latency_s.items()
        }

    def histogram(self, member: Member, signal: Signal, window: Window) -> ExpHistogram:
        return self.latency[str(member.get("device"))]


def _verdicts(ctx: Context) -> dict[str, Verdict]:
    rule = next(r for r in load_default_rules().rules if r.name == "FleetPeerOutlier")
    window = Window(NOW - rule.window_s, NOW)
    out = {}
    for m in members(ScopeLevel.DEVICE, ctx.devices):
        (finding,) = EVALUATORS[rule.detector](ctx, rule, m, window)
        out[str(m.get("device"))] = finding.result.verdict
    return out


def test_a_mixed_hardware_fleet_on_one_version_has_no_outlier() -> None:
    devices = [_device(f"jet-{i}", "jetson-orin-nano") for i in range(8)]
    devices += [_device(f"rpi4-{i}", "rpi4") for i in range(6)]
    latency = {d.device_id: 0.02 if d.hardware == "jetson-orin-nano" else 0.09 for d in devices}
    verdicts = _verdicts(LatencyContext(devices, latency))
    assert set(verdicts.values()) == {Verdict.NO_DRIFT}


def test_an_outlier_among_its_own_hardware_is_still_found() -> None:
    devices = [_device(f"jet-{i}", "jetson-orin-nano") for i in range(8)]
    devices += [_device(f"rpi4-{i}", "rpi4") for i in range(6)]
    latency = {d.device_id: 0.02 if d.hardware == "jetson-orin-nano" else 0.09 for d in devices}
    latency["jet-3"] = 0.05
    verdicts = _verdicts(LatencyContext(devices, latency))
    assert {d for d, v in verdicts.items() if v is Verdict.DRIFT} == {"jet-3"}
