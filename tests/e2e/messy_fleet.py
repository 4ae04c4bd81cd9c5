"""A messy but healthy fleet, and the incidents of issue #14, as one-minute OTLP exports.

30 devices in three time zones (UTC−5, UTC+1, UTC+8) on four hardware classes (Jetson Orin
Nano, Raspberry Pi 5 and 4, Intel NUC), two model versions; day/night traffic on most
devices (nights at 10 % of peak, ramps at dawn and dusk), bursts, mild day/night shifts in
the inputs, a GC saw-tooth in memory and a restart every few hours (a gap in the data and
memory back to its floor), idle power plus power per inference, ambient temperature
following the local day, a clock 2 minutes behind on one device.

Incidents start at ``onset_s`` on their own devices; the memory leak and the heating
start earlier (their rules read hours). Everything is a deterministic function of the
device, the minute and a seed, so the history and the live run agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from otlp_wire import exp_metric, exp_point, gauge_metric, kv, sum_metric

from edgewatch.collector import semconv
from edgewatch.detectors import from_values

HARDWARE = ("jetson-orin-nano", "raspberry-pi-5", "raspberry-pi-4", "intel-nuc")
LATENCY_S = {
    "jetson-orin-nano": 0.015,
    "raspberry-pi-5": 0.04,
    "raspberry-pi-4": 0.09,
    "intel-nuc": 0.01,
}
IDLE_W = {"jetson-orin-nano": 5.0, "raspberry-pi-5": 3.0, "raspberry-pi-4": 2.7, "intel-nuc": 9.0}
ZONES_H = (-5, 1, 8)
FEATURES = tuple(f"f{i}" for i in range(6))
CLASSES = ("person", "car", "bike", "dog")
CLASS_SHARE = (0.5, 0.3, 0.15, 0.05)
MODEL = "detector"
SKEWED = "dev-29"
CLOCK_SKEW_S = 120.0


@dataclass(frozen=True, slots=True)
class Incident:
    """What goes wrong, where, from when; the rule (and scope) expected to alert."""

    kind: str
    devices: tuple[str, ...]
    rule: str
    onset_s: float
    version_scope: str | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    """One device's fixed traits."""

    device_id: str
    hardware: str
    zone_h: int
    version: str
    peak_per_min: float
    day_night: bool
    base_error_rate: float
    site: str


def fleet(n: int = 30) -> list[Spec]:
    """The healthy fleet: v1 on two thirds, v2 on the rest, four devices with flat traffic."""
    rng = np.random.default_rng(30)
    out = []
    for i in range(n):
        out.append(
            Spec(
                device_id=f"dev-{i:02d}",
                hardware=HARDWARE[i % 4],
                zone_h=ZONES_H[i % 3],
                version="v2" if i % 3 == 2 else "v1",
                peak_per_min=float(rng.uniform(60, 140)),
                day_night=i % 7 != 3,
                base_error_rate=0.0 if i % 5 == 0 else 0.002,
                site=f"site-{i % 6}",
            )
        )
    return out


@dataclass
class Fleet:
    """The fleet's state through time: specs, incidents and what each minute exports."""

    specs: list[Spec]
    incidents: list[Incident] = field(default_factory=list)
    seed: int = 14

    def incident(self, device: str, t: float) -> Incident | None:
        for inc in self.incidents:
            if device in inc.devices and t >= inc.onset_s:
                return inc
        return None

    def version(self, spec: Spec, t: float) -> str:
        inc = self.incident(spec.device_id, t)
        return "v3" if inc is not None and inc.kind == "bad_rollout" else spec.version

    def offline(self, spec: Spec, t: float) -> bool:
        inc = self.incident(spec.device_id, t)
        return inc is not None and inc.kind == "offline"

    def restarting(self, spec: Spec, t: float) -> bool:
        """A restart every 5 to 8 hours, each a two-minute gap."""
        period = 3600.0 * (5 + int(spec.device_id[-2:]) % 4)
        return (t + 977.0 * int(spec.device_id[-2:])) % period < 120.0

    def activity(self, spec: Spec, t: float) -> float:
        """Traffic as a share of peak: 1 by local day, 0.1 by night, ramps of an hour."""
        if not spec.day_night:
            return 1.0
        hour = ((t / 3600.0) + spec.zone_h) % 24
        dawn = min(max(hour - 6.0, 0.0), 1.0)
        dusk = min(max(22.0 - hour, 0.0), 1.0)
        return 0.1 + 0.9 * min(dawn, dusk)

    def minute(self, specs: Sequence[Spec], end_s: float) -> ExportMetricsServiceRequest:
        """One request holding each reporting device's export for the minute ending at ``end_s``."""
        request = ExportMetricsServiceRequest()
        for spec in specs:
            if self.offline(spec, end_s) or self.restarting(spec, end_s):
                continue
            rm = request.resource_metrics.add()
            rm.resource.attributes.extend(self._resource(spec, end_s))
            sm = rm.scope_metrics.add()
            sm.scope.name = "edgewatch.collector"
            sm.metrics.extend(self._metrics(spec, end_s))
        return request

    def _resource(self, spec: Spec, t: float) -> list[KeyValue]:
        return [
            kv(semconv.DEVICE_ID, spec.device_id),
            kv(semconv.FLEET, "fleet-a"),
            kv(semconv.MODEL_NAME, MODEL),
            kv(semconv.MODEL_VERSION, self.version(spec, t)),
            kv(semconv.HARDWARE, spec.hardware),
            kv(semconv.RUNTIME, "onnxruntime"),
            kv("edgewatch.site", spec.site),
        ]

    def _rng(self, spec: Spec, end_s: float) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(spec.device_id[-2:]), int(end_s // 60)])

    def _traffic(
        self, spec: Spec, end_s: float, rng: np.random.Generator, kind: str | None
    ) -> tuple[int, int]:
        """Inferences and errors of the minute: day/night rate, 2 % of minutes a burst, the
        throughput drop and the error burst (the first draws of the minute's generator)."""
        rate = spec.peak_per_min * self.activity(spec, end_s)
        if rng.uniform() < 0.02:
            rate *= rng.uniform(2.0, 3.5)  # a burst
        if kind == "throughput_drop":
            rate *= 0.2
        n = int(rng.poisson(rate))
        error_rate = 0.05 if kind == "error_burst" else spec.base_error_rate
        return n, int(rng.binomial(n, error_rate))

    def counts(self, spec: Spec, end_s: float) -> tuple[int, int] | None:
        """The minute's (inferences, errors) exactly as its export carries them; None when
        the device does not report that minute (offline or restarting)."""
        if self.offline(spec, end_s) or self.restarting(spec, end_s):
            return None
        inc = self.incident(spec.device_id, end_s)
        return self._traffic(spec, end_s, self._rng(spec, end_s), inc.kind if inc else None)

    def _metrics(self, spec: Spec, end_s: float) -> list:  # type: ignore[type-arg]
        rng = self._rng(spec, end_s)
        inc = self.incident(spec.device_id, end_s)
        kind = inc.kind if inc is not None else None
        stamp = end_s - (CLOCK_SKEW_S if spec.device_id == SKEWED else 0.0)
        end_ns, start_ns = int(stamp * 1e9), int((stamp - 60) * 1e9)
        n, errors = self._traffic(spec, end_s, rng, kind)
        hour = ((end_s / 3600.0) + spec.zone_h) % 24
        night_shift = 0.15 if not 6 <= hour < 22 else 0.0
        version = self.version(spec, end_s)
        latency = LATENCY_S[spec.hardware] * (1.8 if kind == "latency_regression" else 1.0)
        latency *= 1.5 if version == "v3" else 1.0
        conf_a, conf_b = (7.1, 2.9) if kind == "confidence_drop" else (8.6, 1.4)
        if version == "v3":
            conf_a, conf_b = 7.6, 2.4
        metrics = []
        if n:
            metrics.append(
                exp_metric(
                    semconv.INFERENCE_DURATION,
                    "s",
                    [
                        exp_point(
                            from_values(rng.lognormal(np.log(latency), 0.25, n)), start_ns, end_ns
                        )
                    ],
                )
            )
            metrics.append(
                exp_metric(
                    semconv.PREDICTION_SCORE,
                    "1",
                    [exp_point(from_values(rng.beta(conf_a, conf_b, n)), start_ns, end_ns)],
                )
            )
            points = []
            for i, name in enumerate(FEATURES):
                shift = night_shift + (1.0 if kind == "sensor_drift" and i in (1, 3, 5) else 0.0)
                values = rng.normal(i + shift, 1.0, n)
                points.append(
                    exp_point(
                        from_values(values), start_ns, end_ns, [kv(semconv.FEATURE_NAME, name)]
                    )
                )
            metrics.append(exp_metric(semconv.FEATURE_VALUE, "1", points))
            classes = list(CLASSES)
            share = list(CLASS_SHARE)
            if kind == "new_class":
                classes.append("unknown")
                share = [s * 0.7 for s in share] + [0.3]
            per_class = rng.multinomial(n, share)
            metrics.append(
                sum_metric(
                    semconv.PREDICTION_CLASS_COUNT,
                    [
                        (int(c), [kv(semconv.PREDICTION_CLASS, k)])
                        for k, c in zip(classes, per_class, strict=True)
                        if c
                    ],
                    start_ns,
                    end_ns,
                )
            )
        metrics.append(
            sum_metric(
                semconv.INFERENCE_COUNT,
                [
                    (n - errors, [kv(semconv.OUTCOME, semconv.OUTCOME_OK)]),
                    (errors, [kv(semconv.OUTCOME, semconv.OUTCOME_ERROR)]),
                ],
                start_ns,
                end_ns,
            )
        )
        period = 3600.0 * (5 + int(spec.device_id[-2:]) % 4)
        uptime = (end_s + 977.0 * int(spec.device_id[-2:])) % period
        memory = 120e6 + 20e6 * ((uptime % 600.0) / 600.0) + rng.normal(0, 1e6)
        if inc is not None and inc.kind == "memory_leak":
            memory += 60e6 * (end_s - inc.onset_s) / 3600.0
        power = IDLE_W[spec.hardware] + 0.02 * n + rng.normal(0, 0.15)
        if kind == "power_rise":
            power *= 1.4
        ambient = 3.0 * math.sin(2 * math.pi * (hour - 9) / 24)
        temperature = 50.0 + ambient + 0.03 * n + rng.normal(0, 0.4)
        if inc is not None and inc.kind == "temperature_rise":
            temperature += 8.0 * (end_s - inc.onset_s) / 3600.0
        metrics += [
            gauge_metric(
                semconv.PROCESS_MEMORY_USAGE, "By", [(float(memory), [])], start_ns, end_ns
            ),
            gauge_metric(
                semconv.HW_POWER,
                "W",
                [(float(power), [kv(semconv.POWER_SOURCE, semconv.POWER_NVML)])],
                start_ns,
                end_ns,
            ),
            gauge_metric(
                semconv.HW_TEMPERATURE,
                "Cel",
                [(float(temperature), [kv(semconv.HW_ID, "cpu")])],
                start_ns,
                end_ns,
            ),
        ]
        return metrics


def incidents(onset_s: float) -> list[Incident]:
    """The eleven incident types of issue #14, each on its own devices (never the skewed one)."""
    return [
        Incident("sensor_drift", ("dev-01",), "DeviceFeatureDrift", onset_s),
        Incident("new_class", ("dev-02",), "DevicePredictionDrift", onset_s),
        Incident("confidence_drop", ("dev-03",), "DeviceConfidenceDrift", onset_s),
        Incident("power_rise", ("dev-04",), "PowerRiseAtLoad", onset_s),
        Incident("error_burst", ("dev-06",), "ErrorRateIncrease", onset_s),
        Incident("throughput_drop", ("dev-07",), "ThroughputDrop", onset_s),
        Incident("latency_regression", ("dev-10",), "LatencyP95Regression", onset_s),
        Incident("offline", ("dev-11",), "DeviceOffline", onset_s),
        Incident("bad_rollout", ("dev-08", "dev-12", "dev-16"), "BadRollout", onset_s, "v3"),
        Incident("memory_leak", ("dev-14",), "MemoryLeak", onset_s - 3 * 3600),
        Incident("temperature_rise", ("dev-15",), "TemperatureRising", onset_s - 3600),
    ]
