"""A device's input stream: real digit images drawn from the held-out split, changed by the
incidents in effect (a withheld digit for ``unseen_class``, distortion for ``sensor_drift``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgewatch.demo._incidents import DeviceConditions
from edgewatch.demo._model import WITHHELD_DIGIT, DigitsData


@dataclass(frozen=True, slots=True)
class Frame:
    """One input: 64 pixel intensities and the true digit (which the monitor never sees)."""

    pixels: npt.NDArray[np.float32]
    digit: int


class InputStream:
    """Draws frames for one device, seeded so a run can be replayed."""

    def __init__(self, data: DigitsData, conditions: DeviceConditions, seed: int) -> None:
        self._data = data
        self._conditions = conditions
        self._rng = np.random.default_rng(seed)

    def next_frame(self, t_s: float) -> Frame:
        """The frame the device's sensor produces at scenario time ``t_s``."""
        if self._rng.random() < self._conditions.unseen_fraction(t_s):
            pool, digit = self._data.unseen_x, WITHHELD_DIGIT
            pixels = pool[self._rng.integers(len(pool))]
        else:
            i = int(self._rng.integers(len(self._data.test_x)))
            pixels, digit = self._data.test_x[i], int(self._data.test_y[i])
        distorted = self._conditions.distort(pixels[np.newaxis, :], t_s, self._rng)
        return Frame(distorted[0], digit)
