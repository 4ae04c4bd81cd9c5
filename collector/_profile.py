"""``edgewatch profile``: know an ONNX model on this device before it ships.

Loads the model with onnxruntime (imported here only, so the collector itself never needs it),
runs it on a sample to learn its prediction mix and accuracy, then times warm-up, measured runs
and an optional soak while the energy meter and thermal watch poll about once a second.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from edgewatch.collector._energy import EnergyMeter
from edgewatch.collector._profile_report import (
    EnergySummary,
    ProfileReport,
    summarize_latency,
    summarize_predictions,
)
from edgewatch.collector._profile_sample import Sample
from edgewatch.collector._resource import device_model
from edgewatch.collector._thermal import ThermalWatch

Progress = Callable[[str, int, int], None]
"""Called as ``progress(phase, done, total)``; ``total`` 0 means open-ended."""
PREDICT_CHUNK_ROWS = 256
"""Rows per session call when scoring the whole sample (models with a fixed batch of 1 get 1)."""
_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float16)": np.float16,
}


class ProfileError(RuntimeError):
    """The model cannot be loaded or run on the sample (message names which and why)."""


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """What to profile and how long; validated on construction."""

    model_path: Path
    runs: int = 200
    warmup: int = 20
    threads: int = 1
    batch_size: int = 1
    soak_s: float = 0.0
    poll_interval_s: float = 1.0
    root: Path = Path("/")
    hardware_class: str | None = None

    def __post_init__(self) -> None:
        for name in ("runs", "threads", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.warmup < 0 or self.soak_s < 0:
            raise ValueError(f"warmup and soak_s must be >= 0, got {self.warmup}, {self.soak_s}")
        if self.poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0, got {self.poll_interval_s}")


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def _peak_rss(polled: int) -> int:
    try:
        import resource
    except ImportError:  # not on Unix
        return polled
    # ru_maxrss is in KiB on Linux: the peak over this process's life, which is the session.
    return max(polled, int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hardware_info(root: Path, hardware_class: str | None) -> dict[str, str]:
    """The hardware class (given, or the device-tree/DMI model) and what describes this machine."""
    model = device_model(root) or platform.node()
    return {
        "class": hardware_class or model,
        "model": model,
        "arch": platform.machine(),
        "cpus": str(os.cpu_count() or 0),
    }


class _Model:
    """An onnxruntime session fed rows of the sample shaped for its first input."""

    def __init__(self, path: Path, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ProfileError("profiling needs onnxruntime: pip install onnxruntime") from e
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ProfileError(f"{path}: onnxruntime cannot load the model: {e}") from e
        self.runtime = f"onnxruntime {ort.__version__}"
        first = self.session.get_inputs()[0]
        self.input_name = str(first.name)
        self.dtype = _ONNX_DTYPES.get(str(first.type), np.float32)
        self.row_shape = tuple(d if isinstance(d, int) else -1 for d in first.shape[1:])
        fixed = first.shape[0] if first.shape else None
        self.fixed_batch = fixed if isinstance(fixed, int) else None

    def feed(self, rows: npt.NDArray[np.float64]) -> dict[str, Any]:
        shape = (rows.shape[0], *self.row_shape) if self.row_shape else (rows.shape[0],)
        try:
            batch = rows.astype(self.dtype).reshape(shape)
        except ValueError as e:
            raise ProfileError(
                f"sample rows of {rows.shape[1:]} do not fit input {self.input_name!r} "
                f"of shape {self.row_shape}: {e}"
            ) from e
        return {self.input_name: batch}

    def run(self, feed: Mapping[str, Any]) -> list[Any]:
        try:
            return list(self.session.run(None, dict(feed)))
        except Exception as e:  # onnxruntime's own error types
            raise ProfileError(f"the model failed on the sample: {e}") from e


def read_outputs(outputs: list[Any]) -> tuple[npt.NDArray[np.str_] | None, npt.NDArray[np.float64]]:
    """Predicted classes (None for regression) and a score per row from a model's outputs.

    Classifiers: an integer/string label output and/or a probability (or logit) matrix; the
    score is the top class's probability (softmax of logits). Regressors: the value itself.
    """
    labels: npt.NDArray[np.str_] | None = None
    matrix: npt.NDArray[np.float64] | None = None
    values: npt.NDArray[np.float64] | None = None
    for out in outputs:
        if isinstance(out, list) and out and isinstance(out[0], Mapping):  # sklearn zipmap
            keys = list(out[0].keys())
            matrix = np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
            continue
        arr = np.asarray(out)
        if arr.dtype.kind in "iuUSO" and arr.ndim == 1 and labels is None:
            labels = arr.astype(str)
        elif arr.dtype.kind == "f" and arr.ndim == 2 and arr.shape[1] > 1 and matrix is None:
            matrix = arr.astype(np.float64)
        elif arr.dtype.kind == "f" and values is None and arr.ndim <= 2:
            values = arr.astype(np.float64).reshape(arr.shape[0], -1)[:, 0]
    if matrix is not None:
        rows_sum = matrix.sum(axis=1)
        if np.any(matrix < 0) or not np.allclose(rows_sum, 1.0, atol=1e-3):
            e = np.exp(matrix - matrix.max(axis=1, keepdims=True))
            matrix = e / e.sum(axis=1, keepdims=True)
        if labels is None:
            labels = matrix.argmax(axis=1).astype(str)
        return labels, matrix.max(axis=1)
    if values is not None:
        return labels, values
    if labels is not None:
        return labels, np.full(labels.shape[0], np.nan)
    raise ProfileError("the model's outputs hold neither labels, probabilities nor values")


class _Pollers:
    """Energy meter and thermal watch, polled at most once per interval from the run loop."""

    def __init__(self, meter: EnergyMeter, watch: ThermalWatch, interval_s: float) -> None:
        self.meter = meter
        self.watch = watch
        self._interval_s = interval_s
        self._next_s = 0.0
        self.peak_rss = 0

    def maybe_poll(self, now_s: float) -> None:
        if now_s < self._next_s:
            return
        self._next_s = now_s + self._interval_s
        self.meter.poll()
        self.watch.poll()
        self.peak_rss = max(self.peak_rss, _rss())


def profile_model(
    options: ProfileOptions,
    sample: Sample,
    progress: Progress | None = None,
    meter: EnergyMeter | None = None,
    watch: ThermalWatch | None = None,
) -> ProfileReport:
    """Profile ``options.model_path`` on ``sample``; ``ProfileError`` when it cannot run."""
    report = progress or (lambda phase, done, total: None)
    path = options.model_path
    if not path.is_file():
        raise ProfileError(f"{path}: no such model file")
    report("load", 0, 1)
    rss_before = _rss()
    t0 = time.perf_counter()
    model = _Model(path, options.threads)
    load_time_s = time.perf_counter() - t0
    load_memory = max(_rss() - rss_before, 0)
    report("load", 1, 1)

    predicted, scores = _score_sample(model, sample, report)
    predictions = summarize_predictions(predicted, scores, sample.labels, len(sample))

    batch = model.fixed_batch or options.batch_size
    feeds = [
        model.feed(np.take(sample.features, range(i, i + batch), axis=0, mode="wrap"))
        for i in range(0, max(len(sample), batch), batch)
    ]
    for i in range(options.warmup):
        model.run(feeds[i % len(feeds)])
        report("warmup", i + 1, options.warmup)

    pollers = _Pollers(
        meter or EnergyMeter(options.root),
        watch or ThermalWatch(options.root),
        options.poll_interval_s,
    )
    process = psutil.Process()
    cpu0 = sum(process.cpu_times()[:2])
    span0 = time.monotonic()
    pollers.meter.start()
    pollers.watch.poll()
    runs0 = time.monotonic()
    latencies = _timed_runs(model, feeds, options.runs, None, pollers, report, "runs")
    runs_wall_s = time.monotonic() - runs0
    soak = []
    if options.soak_s > 0:
        soak = _timed_runs(model, feeds, None, options.soak_s, pollers, report, "soak")
    figures = pollers.meter.stop()
    cpu_s = sum(process.cpu_times()[:2]) - cpu0
    wall_s = time.monotonic() - span0
    thermal = pollers.watch.summary()
    inferences = (len(latencies) + len(soak)) * batch
    return ProfileReport(
        model_file=path.name,
        model_size_bytes=path.stat().st_size,
        model_sha256=_sha256(path),
        runtime=model.runtime,
        hardware=hardware_info(options.root, options.hardware_class),
        threads=options.threads,
        batch_size=batch,
        load_time_s=load_time_s,
        load_memory_bytes=load_memory,
        peak_rss_bytes=_peak_rss(max(pollers.peak_rss, _rss())),
        cpu_cores_used=cpu_s / wall_s if wall_s > 0 else 0.0,
        throughput_per_s=len(latencies) * batch / runs_wall_s if runs_wall_s > 0 else 0.0,
        latency=summarize_latency(latencies),
        soak_latency=summarize_latency(soak) if soak else None,
        soak_s=options.soak_s,
        energy=EnergySummary(inferences, tuple(figures), tuple(pollers.meter.tried)),
        thermal=thermal,
        predictions=predictions,
    )


def _score_sample(
    model: _Model, sample: Sample, report: Progress
) -> tuple[npt.NDArray[np.str_] | None, npt.NDArray[np.float64]]:
    chunk = model.fixed_batch or PREDICT_CHUNK_ROWS
    labels: list[npt.NDArray[np.str_]] = []
    scores: list[npt.NDArray[np.float64]] = []
    n = len(sample)
    for start in range(0, n, chunk):
        rows = sample.features[start : start + chunk]
        got_labels, got_scores = read_outputs(model.run(model.feed(rows)))
        if got_labels is not None:
            labels.append(got_labels)
        scores.append(got_scores)
        report("predict", min(start + chunk, n), n)
    return (np.concatenate(labels) if labels else None), np.concatenate(scores)


def _timed_runs(
    model: _Model,
    feeds: list[dict[str, Any]],
    runs: int | None,
    seconds: float | None,
    pollers: _Pollers,
    report: Progress,
    phase: str,
) -> list[float]:
    """Latency of each run: ``runs`` of them, or as many as fit in ``seconds``."""
    latencies: list[float] = []
    start = time.monotonic()
    i = 0
    while True:
        now = time.monotonic()
        if runs is not None and i >= runs:
            break
        if seconds is not None and now - start >= seconds:
            break
        pollers.maybe_poll(now)
        feed = feeds[i % len(feeds)]
        t0 = time.perf_counter()
        model.run(feed)
        latencies.append(time.perf_counter() - t0)
        i += 1
        if runs is not None:
            report(phase, i, runs)
        elif i % 50 == 0:
            report(phase, int(now - start), int(seconds or 0))
    return latencies
