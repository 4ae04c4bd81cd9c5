"""Profiles of the demo's models per hardware label, as ``edgewatch profile`` would make them on
each device: latency, memory and predictions measured for real on this machine (which is what
the demo's devices measure too), energy from the demo's simulated power, labelled as such."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edgewatch.collector import (
    EnergyMeter,
    ProfileOptions,
    ProfileReport,
    Reading,
    Sample,
    ThermalWatch,
    profile_model,
    semconv,
)
from edgewatch.demo._incidents import DeviceConditions
from edgewatch.demo._model import V1, V2, V2_BAD, ModelSet
from edgewatch.demo._samplers import HARDWARE, SimulatedPowerSampler

SAMPLE_ROWS = 300
"""Labelled test images each profile scores for its prediction mix and accuracy."""


class _SimulatedSource:
    """The demo's simulated power sampler under the source name the profile reports."""

    name = source = semconv.POWER_SIMULATED

    def __init__(self, sampler: SimulatedPowerSampler) -> None:
        self._sampler = sampler

    def sample(self) -> Sequence[Reading]:
        return self._sampler.sample()


def demo_profiles(
    models: ModelSet,
    versions: Sequence[str] = (V1, V2, V2_BAD),
    hardware: Sequence[str] = tuple(HARDWARE),
    runs: int = 200,
    soak_s: float = 0.6,
    poll_interval_s: float = 0.25,
    seed: int = 7,
) -> Iterator[tuple[str, str, ProfileReport]]:
    """``(version, hardware label, report)`` for every pair. A short soak polled four times a
    second keeps nine profiles within seconds of ``edgewatch up``'s start."""
    data = models.data
    sample = Sample(
        np.asarray(data.test_x[:SAMPLE_ROWS], dtype=np.float64),
        np.asarray(data.test_y[:SAMPLE_ROWS]).astype(str),
    )
    with tempfile.TemporaryDirectory(prefix="edgewatch-demo-profile-") as empty:
        for version in versions:
            for i, label in enumerate(hardware):
                power = SimulatedPowerSampler(
                    label, DeviceConditions(version, ()), lambda: 0.0, seed + i
                )
                options = ProfileOptions(
                    model_path=models[version].path,
                    runs=runs,
                    warmup=20,
                    soak_s=soak_s,
                    poll_interval_s=poll_interval_s,
                    root=Path(empty),
                    hardware_class=label,
                )
                report = profile_model(
                    options,
                    sample,
                    meter=EnergyMeter(samplers=[_SimulatedSource(power)], discover=False),
                    watch=ThermalWatch(empty, temperatures=list),
                )
                yield version, label, report
