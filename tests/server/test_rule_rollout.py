"""Issue #14 finding 4: a rollout is judged like for like — per hardware class, and each
device only from the moment it switched version. The store is replaced by a context whose
devices produce latency and confidence by their version at each minute."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from edgewatch.collector import semconv
from edgewatch.detectors import CategoricalCounts, ExpHistogram, Verdict, empty, from_values
from edgewatch.server.alert import ScopeLevel, load_default_rules
from edgewatch.server.detect._context import Context, Signal, Window
from edgewatch.server.detect._evaluators import EVALUATORS
from edgewatch.server.detect._members import Member, members
from edgewatch.server.detect._versions import VersionHistory
from edgewatch.server.store import Device, DeviceStatus

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()
SPEED = {"jetson-orin-nano": 0.02, "rpi5": 0.05, "rpi4": 0.09}


def _device(i: int, hardware: str, version: str, last_seen_s: float = NOW) -> Device:
    return Device(
        device_id=f"cam-{i:02d}", fleet="f", model_name="det", model_version=version,
        hardware=hardware, runtime=None, host_arch=None, os_type=None, service_name=None,
        power_sources=None, attributes={}, first_seen_s=NOW - 86_400, last_seen_s=last_seen_s,
        last_batch_key=None, clock_skew_s=None, status=DeviceStatus.ONLINE,
    )  # fmt: skip


class RolloutContext(Context):
    """30 devices (10 per hardware class) on v1; ``switched`` moved to v2 at ``switch_s``.
    v2 runs ``slower`` times the latency and ``confidence_drop`` lower confidence."""

    def __init__(
        self,
        switched: list[int],
        switch_s: float,
        *,
        slower: float = 1.0,
        confidence_drop: float = 0.0,
        seen_switch: bool = True,
    ) -> None:
        hardware = list(SPEED)
        before = [_device(i, hardware[i % 3], "v1") for i in range(30)]
        after = [
            _device(i, hardware[i % 3], "v2", switch_s) if i in switched else d
            for i, d in enumerate(before)
        ]
        history = VersionHistory()
        if seen_switch:
            history.observe(before, switch_s - 30)
            history.observe(after, switch_s + 1)
        store: Any = None
        super().__init__(store, NOW, after, history)
        self.switched, self.switch_s = set(switched), switch_s
        self.slower, self.drop = slower, confidence_drop
        self.rng = np.random.default_rng(4)
        self.by_id = {d.device_id: d for d in after}

    def _values(self, device: Device, signal: Signal, window: Window) -> np.ndarray:
        minutes = np.arange(np.ceil(window.start_s / 60) * 60, window.end_s, 60.0)
        i = int(device.device_id[-2:])
        new = (i in self.switched) & (minutes >= self.switch_s)
        n = 20
        if signal.metric == semconv.PREDICTION_SCORE:
            mean = np.repeat(np.where(new, 0.86 - self.drop, 0.86), n)
            return np.clip(self.rng.normal(mean, 0.05), 0, 1)
        base = SPEED[str(device.hardware)]
        scale = np.repeat(np.where(new, base * self.slower, base), n)
        return self.rng.lognormal(np.log(scale), 0.1)

    def histogram(self, member: Member, signal: Signal, window: Window) -> ExpHistogram:
        device_id = member.get("device")
        if device_id is None:  # a version member: only its size matters (who is established)
            on = [d for d in self.devices if d.model_version == member.get("version")]
            return from_values(np.ones(len(on) * 10)) if on else empty()
        return from_values(self._values(self.by_id[device_id], signal, window))

    def counts(
        self,
        member: Member,
        metric: str,
        key: str,
        window: Window,
        attributes: tuple[tuple[str, str], ...] = (),
    ) -> CategoricalCounts:
        n = int(window.length_s // 60) * 20
        return CategoricalCounts({"person": n // 2, "car": n - n // 2})


def _verdict(ctx: Context) -> Verdict:
    rule = next(r for r in load_default_rules().rules if r.name == "BadRollout")
    (v2,) = [m for m in members(ScopeLevel.VERSION, ctx.devices) if m.get("version") == "v2"]
    (finding,) = EVALUATORS[rule.detector](ctx, rule, v2, Window(NOW - rule.window_s, NOW))
    return finding.result.verdict


def test_a_version_switch_mid_window_is_read_from_the_switch() -> None:
    # 3 Jetsons switched 10 minutes ago to a version whose confidence is 0.10 lower.
    ctx = RolloutContext([0, 3, 6], NOW - 600, confidence_drop=0.10)
    assert _verdict(ctx) is Verdict.DRIFT
    # Read over the whole hour (the switch not seen), 50 old minutes dilute it to 0.017.
    unseen = RolloutContext([0, 3, 6], NOW - 600, confidence_drop=0.10, seen_switch=False)
    assert _verdict(unseen) is Verdict.NO_DRIFT


def test_a_slower_version_on_fast_hardware_is_compared_with_the_same_hardware() -> None:
    # v2 on 3 Jetsons is 30 % slower than v1 on Jetsons, yet faster than v1's mixed fleet.
    ctx = RolloutContext([0, 3, 6], NOW - 7200, slower=1.3)
    assert _verdict(ctx) is Verdict.DRIFT


def test_a_healthy_version_on_slow_hardware_is_not_a_regression() -> None:
    # v2 on 3 Raspberry Pi 4s runs as fast as v1 on Raspberry Pi 4s.
    ctx = RolloutContext([2, 5, 8], NOW - 7200)
    assert _verdict(ctx) is Verdict.NO_DRIFT


def test_history_remembers_the_switch_time() -> None:
    history = VersionHistory()
    d = _device(1, "rpi4", "v1", NOW - 300)
    history.observe([d], NOW - 200)
    assert history.since(d.device_id) is None
    history.observe([replace(d, model_version="v2", last_seen_s=NOW - 100)], NOW - 90)
    assert history.since(d.device_id) == NOW - 100
