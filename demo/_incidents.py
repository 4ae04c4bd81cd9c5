"""What the active incidents do to one device at a moment of scenario time: the input images
it sees, the model version it runs, how throttled it is, its memory, power and network."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edgewatch.demo._model import PIXEL_MAX, V2_BAD
from edgewatch.demo._scenario import Incident

_SIDE = 8


def gaussian_blur(images: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    """Blur each 8×8 image (rows of 64) with a separable Gaussian of ``sigma`` pixels; the
    weights are renormalised at the edges, so a uniform image stays uniform."""
    if sigma <= 0:
        return images
    radius = max(1, math.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    # weights[i, j]: how much pixel j contributes to pixel i along one axis.
    weights = np.zeros((_SIDE, _SIDE))
    for i in range(_SIDE):
        for k, off in enumerate(offsets):
            if 0 <= i + off < _SIDE:
                weights[i, i + off] += kernel[k]
    weights /= weights.sum(axis=1, keepdims=True)
    grid = images.reshape(-1, _SIDE, _SIDE).astype(np.float64)
    blurred = np.einsum("ij,njk,lk->nil", weights, grid, weights)
    return blurred.reshape(-1, _SIDE * _SIDE).astype(np.float32)


class DeviceConditions:
    """The incidents of one device, asked by scenario time (the device's thread and the samplers
    both ask; it holds no mutable state)."""

    def __init__(self, base_version: str, incidents: Sequence[Incident]) -> None:
        self.base_version = base_version
        self.incidents = tuple(incidents)

    def _active(self, kind: str, t_s: float) -> list[Incident]:
        return [inc for inc in self.incidents if inc.kind == kind and inc.active(t_s)]

    def active_kinds(self, t_s: float) -> tuple[str, ...]:
        """The kinds of incident in effect at ``t_s``, in file order."""
        return tuple(dict.fromkeys(inc.kind for inc in self.incidents if inc.active(t_s)))

    def model_version(self, t_s: float) -> str:
        """v2.1 during a bad rollout, the device's own version otherwise."""
        return V2_BAD if self._active("bad_rollout", t_s) else self.base_version

    def offline(self, t_s: float) -> bool:
        """True while the device's network is down."""
        return bool(self._active("offline", t_s))

    def slowdown(self, t_s: float) -> float:
        """How many times the normal work each inference takes (1 when not throttled)."""
        return max(
            (inc.params.get("slowdown", 1.0) for inc in self._active("latency_regression", t_s)),
            default=1.0,
        )

    def extra_work_s(self, t_s: float) -> float:
        """Seconds of extra work each inference does on top of its ``slowdown`` (0 when not
        throttled)."""
        return sum(
            inc.params.get("extra_ms", 0.0) / 1000.0
            for inc in self._active("latency_regression", t_s)
        )

    def power_factor(self, t_s: float) -> float:
        """Multiplier on the device's normal power draw."""
        return math.prod(inc.params["factor"] for inc in self._active("power_increase", t_s))

    def leaked_bytes(self, t_s: float) -> float:
        """Memory leaked so far by the leaks in effect (a leak's memory is freed at its end, when
        the process restarts)."""
        return sum(
            inc.params["rate_mb_per_h"] * 2**20 * (t_s - inc.start_s) / 3600.0
            for inc in self._active("memory_leak", t_s)
        )

    def unseen_fraction(self, t_s: float) -> float:
        """Share of inputs replaced by images of the digit withheld from training."""
        return max(
            (inc.params["fraction"] for inc in self._active("unseen_class", t_s)), default=0.0
        )

    def distort(
        self, images: npt.NDArray[np.float32], t_s: float, rng: np.random.Generator
    ) -> npt.NDArray[np.float32]:
        """Apply the sensor drift in effect: blur, then brightness offset, then noise, each scaled
        by the ramp, clipped to the sensor's 0..16 range. Unchanged when none is active."""
        out = images
        for inc in self._active("sensor_drift", t_s):
            ramp_s = inc.params["ramp_s"]
            strength = 1.0 if ramp_s <= 0 else min(1.0, (t_s - inc.start_s) / ramp_s)
            out = gaussian_blur(out, inc.params["blur_sigma"] * strength)
            out = out + np.float32(inc.params["brightness_offset"] * strength)
            noise_std = inc.params["noise_std"] * strength
            if noise_std > 0:
                out = out + rng.normal(0.0, noise_std, size=out.shape).astype(np.float32)
            out = np.clip(out, 0.0, PIXEL_MAX).astype(np.float32)
        return out
