"""Measuring an ``onnxruntime.InferenceSession`` without importing onnxruntime."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from edgewatch.collector._ratelimit import RateLimitedLog

if TYPE_CHECKING:
    from edgewatch.collector._monitor import Monitor

_log = RateLimitedLog(logging.getLogger("edgewatch.collector"))


class OnnxSession:
    """Wraps an ``onnxruntime.InferenceSession``: ``run`` is measured, everything else passes through.

    The features are the input named ``input_name`` (default: the first in ``input_feed``); the
    predicted labels are output ``label_output`` and the scores the row-wise maximum of output
    ``score_output`` (a probability matrix or scikit-learn's list of dicts), when given.
    """

    def __init__(
        self,
        monitor: Monitor,
        session: Any,
        input_name: str | None,
        label_output: int | None,
        score_output: int | None,
    ) -> None:
        self._monitor = monitor
        self._session = session
        self._input_name = input_name
        self._label_output = label_output
        self._score_output = score_output

    def run(self, output_names: Any, input_feed: Mapping[str, Any], run_options: Any = None) -> Any:
        features = input_feed.get(self._input_name) if self._input_name else None
        if features is None and input_feed:
            features = next(iter(input_feed.values()))
        t0 = time.perf_counter_ns()
        try:
            outputs = self._session.run(output_names, input_feed, run_options)
        except BaseException:
            self._monitor._record(features, (time.perf_counter_ns() - t0) * 1e-9, True, None, None)
            raise
        latency_s = (time.perf_counter_ns() - t0) * 1e-9
        labels = scores = None
        try:
            if self._label_output is not None:
                labels = outputs[self._label_output]
            if self._score_output is not None:
                scores = _row_max(outputs[self._score_output])
        except (IndexError, TypeError, ValueError) as e:
            _log.warning("onnx", "edgewatch could not read the model outputs: %r", e)
        self._monitor._record(features, latency_s, False, labels, scores)
        return outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _row_max(output: Any) -> list[float]:
    if isinstance(output, list) and output and isinstance(output[0], Mapping):
        return [max(float(v) for v in row.values()) for row in output]
    return [float(max(row)) for row in output]
