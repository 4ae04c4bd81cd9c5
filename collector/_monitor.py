"""``Monitor``: the SDK's entry point inside the device's inference process.

Inference threads call ``observe``/``record``/``track``; one daemon thread aggregates full
blocks, and every ``interval_s`` samples the device, encodes the interval as OTLP, writes it to
the spool and drains the spool to the server. After construction nothing here raises into the
inference path: problems are logged (rate-limited) and counted in ``stats()`` and on the wire.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import logging
import os
import platform
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from edgewatch.collector import semconv
from edgewatch.collector._config import Config, validate
from edgewatch.collector._drops import DropCounters
from edgewatch.collector._encode import Telemetry, build_request, encode
from edgewatch.collector._labels import (
    LabelJoiner,
    LabelSnapshot,
    PendingTable,
    capacity_for,
    load_state,
    save_state,
)
from edgewatch.collector._onnx import OnnxSession
from edgewatch.collector._power import detect_power_samplers, power_sources
from edgewatch.collector._ratelimit import RateLimitedLog
from edgewatch.collector._recorder import NO_ID, Ids, Recorder
from edgewatch.collector._remote import ConfigPoller
from edgewatch.collector._resource import derive_device_id, device_model, host_arch, os_type
from edgewatch.collector._samples import SampleExporter
from edgewatch.collector._sampling import SamplingConfig
from edgewatch.collector._sender import Sender, signal_url
from edgewatch.collector._spool import SPOOL_ERROR, Spool, lock_spool, unlock_spool
from edgewatch.collector._system import (
    BatteryChargeSampler,
    ProcessSampler,
    SystemSampler,
    TemperatureSampler,
)
from edgewatch.collector._transport import HttpTransport
from edgewatch.collector._types import Reading, Sampler, SamplerError, Transport
from edgewatch.collector._version import VERSION

_log = RateLimitedLog(logging.getLogger("edgewatch.collector"))
DEFAULT_FLEET = "default"
F = TypeVar("F", bound=Callable[..., Any])


def default_samplers(root: str | os.PathLike[str] = "/") -> list[Sampler]:
    """psutil's process/system memory and CPU, temperatures, battery charge, and every power source."""
    samplers: list[Sampler] = [ProcessSampler(), SystemSampler()]
    if TemperatureSampler.available():
        samplers.append(TemperatureSampler())
    if BatteryChargeSampler.available():
        samplers.append(BatteryChargeSampler())
    samplers.extend(detect_power_samplers(Path(root)))
    return samplers


class Observation:
    """One measured call: ``with monitor.observe(x) as obs: obs.prediction(model(x))``.

    After the block, ``obs.id`` names the inference for a late ``monitor.label(obs.id, truth)``.
    """

    __slots__ = ("_ids", "_label", "_monitor", "_row", "_score", "_t0")

    def __init__(self, monitor: Monitor, row: Any) -> None:
        self._monitor = monitor
        self._row = row
        self._label: Any = None
        self._score: Any = None
        self._t0 = 0
        self._ids: Ids = NO_ID

    @property
    def id(self) -> int | None:
        """The inference's id (the first row's for a batch); None before the block ends or when
        the observation was dropped."""
        ids = self._ids
        if isinstance(ids, tuple):
            return ids[0] if ids else None
        return None if ids == NO_ID else int(ids)

    @property
    def ids(self) -> tuple[int, ...]:
        """One id per recorded row (a batch has several)."""
        ids = self._ids
        if isinstance(ids, tuple):
            return ids
        return () if ids == NO_ID else (int(ids),)

    def __enter__(self) -> Observation:
        self._t0 = time.perf_counter_ns()
        return self

    def prediction(self, label: Any, score: Any = None) -> None:
        """The predicted class (one per row for a batch) and optionally its confidence."""
        self._label = label
        self._score = score

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        latency_s = (time.perf_counter_ns() - self._t0) * 1e-9
        self._ids = self._monitor._record(
            self._row, latency_s, exc_type is not None, self._label, self._score
        )


class Monitor:
    """Measures a model's inferences and its device; exports OTLP to ``<endpoint>/v1/metrics``."""

    def __init__(
        self,
        model_name: str,
        model_version: str,
        *,
        endpoint: str,
        token: str | None = None,
        device_id: str | None = None,
        fleet: str | None = None,
        features: Sequence[str] | int | None = None,
        categorical: Mapping[str, Sequence[str]] | None = None,
        classes: Sequence[str | int] | None = None,
        interval_s: float = 60.0,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 64 * 2**20,
        hardware: str | None = None,
        runtime: str | None = None,
        resource_attributes: Mapping[str, str] | None = None,
        samplers: Sequence[Sampler] | None = None,
        transport: Transport | None = None,
        timeout_s: float = 10.0,
        max_buckets: int = 160,
        sampling: SamplingConfig | None = None,
        max_pending_labels: int = 4096,
        start: bool = True,
    ) -> None:
        self._config: Config = validate(
            model_name=model_name,
            model_version=model_version,
            endpoint=endpoint,
            token=token,
            device_id=device_id,
            fleet=fleet,
            features=features,
            categorical=categorical,
            classes=classes,
            interval_s=interval_s,
            spool_dir=spool_dir,
            spool_max_bytes=spool_max_bytes,
            hardware=hardware,
            runtime=runtime,
            resource_attributes=resource_attributes,
            samplers=samplers,
            transport=transport,
            timeout_s=timeout_s,
            max_buckets=max_buckets,
            sampling=sampling,
            max_pending_labels=max_pending_labels,
        )
        c = self._config
        self.interval_s = c.interval_s
        c.spool_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = lock_spool(c.spool_dir)
        try:
            self._drops = DropCounters(c.spool_dir)
            self._spool = Spool(c.spool_dir, c.spool_max_bytes, on_drop=self._drops.add_batch)
            self.device_id = c.device_id or derive_device_id(c.spool_dir)
        except BaseException:
            unlock_spool(self._lock_file)
            raise
        self._samplers = list(c.samplers) if c.samplers is not None else default_samplers()
        self._wake = threading.Event()
        capacity = capacity_for(c.max_pending_labels)
        pending = PendingTable(capacity) if capacity else None
        epoch, restored = load_state(c.spool_dir) if capacity else (0, {})
        self._recorder = Recorder(
            c.features,
            c.categorical,
            c.classes,
            max_buckets=c.max_buckets,
            on_block_full=self._wake.set,
            first_id=LabelJoiner.first_id_of(epoch),
            pending=pending,
        )
        self._labels = (
            None
            if pending is None
            else LabelJoiner(
                pending,
                epoch,
                lambda: self._recorder.next_id,
                self._recorder.class_label,
                self._recorder.known_classes,
                fixed_classes=self._recorder.fixed_classes,
                max_classes=self._recorder.max_classes,
                restored=restored,
            )
        )
        self._last_ids: Ids = NO_ID
        self.resource = self._resource_attributes()
        headers = {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "gzip",
            "User-Agent": f"edgewatch-collector/{VERSION}",
        }
        if c.token:
            headers["Authorization"] = f"Bearer {c.token}"
        self._sender = Sender(
            self._spool, c.transport or HttpTransport(), c.url, headers, timeout_s=c.timeout_s
        )
        self._samples = self._sample_exporter(headers)
        self._sampler = None if self._samples is None else self._samples.sampler
        # Serialises export and send between the collector thread and flush()/close().
        self._export_lock = threading.Lock()
        self._start_ns = time.time_ns()
        self._sampler_errors: dict[str, int] = {}
        self._exported: dict[str, int] = {}
        self._totals = {"inferences": 0, "errors": 0, "batches.built": 0, "internal_errors": 0}
        self._closing = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._at_exit = _close_at_exit(self)
        atexit.register(self._at_exit)
        if start:
            self._thread = threading.Thread(
                target=self._run, name=f"edgewatch-collector-{c.model_name}", daemon=True
            )
            self._thread.start()

    # ---- inference path ---------------------------------------------------------------------

    def observe(self, features: Any = None) -> Observation:
        """Measure the block inside ``with``: latency, outcome, prediction and ``features``."""
        return Observation(self, features)

    def record(
        self,
        features: Any = None,
        prediction: Any = None,
        *,
        score: Any = None,
        latency_s: float,
        error: bool = False,
    ) -> int | tuple[int, ...] | None:
        """Record an inference measured elsewhere; returns its id for ``label`` (a tuple of ids
        for a batch, None when it was dropped)."""
        ids = self._record(features, latency_s, error, prediction, score)
        return None if ids == NO_ID else ids

    # ---- late labels (off the hot path) -------------------------------------------------------

    def label(self, inference_id: int, truth: Any) -> bool:
        """Report the true outcome of inference ``inference_id`` (a class, or a number for a
        regression model recorded with ``score=``), minutes or hours after it ran.

        The outcome counts in the interval the inference happened in. Returns False, and counts
        the label by reason, when the id is unknown, was evicted from the table of the newest
        ``max_pending_labels`` predictions, or was labelled already. Never raises.
        """
        if self._labels is None or self._closed:
            return False  # after close() nothing would carry the label to the server
        try:
            return self._labels.label(inference_id, truth)
        except Exception as e:
            self._labels.count_unmatched(semconv.LABEL_INVALID)
            _log.warning("label", "edgewatch could not join a label: %r", e)
            return False

    def label_last(self, truth: Any) -> bool:
        """Label the newest inference recorded by any thread (or each row of the newest batch,
        ``truth`` then holding one outcome per row). In multi-threaded code use ``label``."""
        ids = self._last_ids
        if not isinstance(ids, tuple):
            return self.label(ids, truth)
        try:
            truths = list(truth)
        except TypeError:
            truths = []
        if len(truths) != len(ids):
            if self._labels is not None:
                self._labels.count_unmatched(semconv.LABEL_INVALID, max(1, len(ids)))
            return False
        return all([self.label(i, t) for i, t in zip(ids, truths, strict=True)])

    def track(self, fn: F) -> F:
        """Decorator for ``fn(features, ...) -> prediction``: records latency, errors and output."""

        @functools.wraps(fn)
        def wrapper(features: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                result = fn(features, *args, **kwargs)
            except BaseException:
                self._record(features, (time.perf_counter_ns() - t0) * 1e-9, True, None, None)
                raise
            self._record(features, (time.perf_counter_ns() - t0) * 1e-9, False, result, None)
            return result

        return wrapper  # type: ignore[return-value]

    def wrap_onnx(
        self,
        session: Any,
        *,
        input_name: str | None = None,
        label_output: int | None = 0,
        score_output: int | None = None,
    ) -> OnnxSession:
        """An object whose ``run(...)`` calls ``session.run`` and measures it (see ``OnnxSession``)."""
        return OnnxSession(self, session, input_name, label_output, score_output)

    def _record(self, row: Any, latency_s: float, error: bool, label: Any, score: Any) -> Ids:
        try:
            if self._closed:
                self._recorder.drop("closed")
                return NO_ID
            ids = self._last_ids = self._recorder.record(row, latency_s, error, label, score)
            if self._sampler is not None:
                self._sampler.offer(row, label, score)
            return ids
        except Exception as e:  # never raise into the inference path
            self._recorder.drop("invalid_value")
            _log.warning("record", "edgewatch could not record an observation: %r", e)
            return NO_ID

    # ---- collector thread -------------------------------------------------------------------

    def _run(self) -> None:
        clock = time.monotonic
        next_export = clock() + self.interval_s
        while not self._closing:
            now = clock()
            wait = next_export - now
            if self._spool.depth:
                wait = min(wait, self._sender.retry_at - now)
            if self._samples is not None:
                wait = min(wait, self._samples.next_poll_at - now)
            self._wake.wait(max(0.0, wait))
            self._wake.clear()
            if self._closing:
                return
            try:
                if self._samples is not None:
                    self._samples.poll()
                self._recorder.aggregate_pending()
                now = clock()
                if now >= next_export:
                    next_export += self.interval_s
                    if next_export <= now:
                        next_export = now + self.interval_s
                    with self._export_lock:
                        self._export()
                        self._sender.send_ready()
                elif self._spool.depth and now >= self._sender.retry_at:
                    with self._export_lock:
                        self._sender.send_ready()
            except Exception as e:
                self._totals["internal_errors"] += 1
                _log.warning("thread", "edgewatch collector iteration failed: %r", e)
                self._wake.wait(min(1.0, self.interval_s))  # never spin on a persistent fault

    def _export(self) -> None:
        """Close the interval: sample, encode, spool (the caller holds the export lock)."""
        end_ns = time.time_ns()
        snapshot = self._recorder.take()
        self._totals["inferences"] += snapshot.inferences
        self._totals["errors"] += snapshot.errors
        self._drops.add_inferences(snapshot.dropped)
        readings, errors = self._sample()
        labels = self._take_labels(snapshot.end_id, end_ns)
        interval_s = max(1e-9, (end_ns - self._start_ns) / 1e9)
        energy = []
        if snapshot.inferences:
            for r in readings:
                if r.metric == semconv.HW_POWER:
                    joules = r.value * interval_s / snapshot.inferences
                    energy.append(Reading(semconv.INFERENCE_ENERGY, joules, r.attributes, "J"))
        telemetry = Telemetry(
            spool_depth=self._spool.depth,
            spool_bytes=self._spool.size_bytes,
            batches=self._batch_deltas(),
            sampler_errors=errors,
            last_success_unix=self._sender.last_success_unix,
            drops=self._drops.totals(),
        )
        start_ns, self._start_ns = self._start_ns, end_ns

        def encoded(t: Telemetry) -> bytes:
            return encode(
                build_request(
                    self.resource,
                    start_ns,
                    end_ns,
                    snapshot,
                    self._recorder.feature_names,
                    self._recorder.missing_names,
                    readings,
                    energy,
                    t,
                    labels,
                )
            )

        body = encoded(telemetry)
        try:
            if self._spool.make_room(len(body)):
                # The batches this one pushes out belong in its totals: stamp them, then store.
                body = encoded(dataclasses.replace(telemetry, drops=self._drops.totals()))
            self._spool.put(body, inferences=snapshot.inferences)
        except OSError as e:
            self._totals["spool_errors"] = self._totals.get("spool_errors", 0) + 1
            self._drops.add_batch(SPOOL_ERROR, snapshot.inferences)
            _log.warning("spool", "edgewatch could not write to the spool: %r", e)
            return
        self._totals["batches.built"] += 1
        self._save_labels(snapshot.end_id)
        self._export_samples()

    def _take_labels(self, end_id: int, end_ns: int) -> LabelSnapshot:
        if self._labels is None:
            return LabelSnapshot()
        labels = self._labels.take(end_id, self._start_ns, end_ns)
        for reason, n in (labels.unmatched or {}).items():
            key = f"labels.unmatched.{reason}"
            self._totals[key] = self._totals.get(key, 0) + n
        self._totals["labels.joined"] = self._totals.get("labels.joined", 0) + sum(
            sum(w.confusion.values()) + len(w.errors) for w in labels.windows
        )
        return labels

    def _save_labels(self, end_id: int) -> None:
        """Keep the unlabelled predictions across a restart (after each export and at close)."""
        if self._labels is None:
            return
        try:
            save_state(self._config.spool_dir, self._labels.state(end_id))
        except OSError as e:
            self._totals["spool_errors"] = self._totals.get("spool_errors", 0) + 1
            _log.warning("labels", "edgewatch could not save the label table: %r", e)

    def _export_samples(self) -> None:
        if self._samples is None:
            return
        try:
            self._samples.export(self.resource)
        except OSError as e:
            self._totals["spool_errors"] = self._totals.get("spool_errors", 0) + 1
            _log.warning("spool", "edgewatch could not write samples to the spool: %r", e)

    def _sample(self) -> tuple[list[Reading], dict[str, int]]:
        readings: list[Reading] = []
        errors: dict[str, int] = {}
        for sampler in self._samplers:
            name = str(getattr(sampler, "name", type(sampler).__name__))
            try:
                readings.extend(sampler.sample())
                continue
            except SamplerError as e:
                readings.extend(e.readings)
                errors[name] = len(e.errors) or 1
                problem: object = e
            except Exception as e:
                errors[name] = 1
                problem = repr(e)
            _log.warning(f"sampler-{name}", "edgewatch sampler %s failed: %s", name, problem)
        for name, n in errors.items():
            self._sampler_errors[name] = self._sampler_errors.get(name, 0) + n
        return readings, errors

    def _batch_deltas(self) -> dict[str, int]:
        now = {
            "sent": self._sender.sent,
            "failed": self._sender.failed,
            "dropped": self._spool.dropped,
            "quarantined": self._spool.quarantined,
        }
        deltas = {k: v - self._exported.get(k, 0) for k, v in now.items()}
        self._exported = now
        return {k: v for k, v in deltas.items() if v}

    # ---- control ----------------------------------------------------------------------------

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export the current interval now and try to deliver the spool; True when it emptied."""
        try:
            deadline = time.monotonic() + timeout_s
            if not self._export_lock.acquire(timeout=max(0.0, timeout_s)):
                return False
            try:
                self._export()
                return self._sender.drain(max(0.0, deadline - time.monotonic()))
            finally:
                self._export_lock.release()
        except Exception as e:
            self._totals["internal_errors"] += 1
            _log.warning("flush", "edgewatch flush failed: %r", e)
            return False

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the collector thread and flush within ``timeout_s``; later calls do nothing."""
        if self._closing:
            return
        deadline = time.monotonic() + timeout_s
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self.flush(max(0.0, deadline - time.monotonic()))
        self._closed = True
        unlock_spool(self._lock_file)
        atexit.unregister(self._at_exit)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> Mapping[str, int | float]:
        """Counters for the host application: what was recorded, dropped, spooled and sent."""
        out: dict[str, int | float] = dict(self._totals)
        for reason, n in dict(self._recorder.dropped_total).items():
            out[f"dropped.{reason}"] = n
        out["spool.depth"] = self._spool.depth
        out["spool.bytes"] = self._spool.size_bytes
        out["batches.sent"] = self._sender.sent
        out["batches.failed"] = self._sender.failed
        out["batches.dropped"] = self._spool.dropped
        out["batches.quarantined"] = self._spool.quarantined
        out["last_success_unix"] = self._sender.last_success_unix or 0.0
        drops = self._drops.totals()
        for reason, n in drops.inferences.items():
            out[f"lost.inferences.{reason}"] = n
        for reason, n in drops.batches.items():
            out[f"lost.batches.{reason}"] = n
        out["last_drop_unix"] = drops.last_drop_unix or 0.0
        for name, n in self._sampler_errors.items():
            out[f"sampler_errors.{name}"] = n
        if self._samples is not None:
            out.update(self._samples.stats())
        return out

    def _sample_exporter(self, headers: Mapping[str, str]) -> SampleExporter | None:
        """Sampled rows and remote budgets, only when the user opted in with ``sampling=``."""
        c = self._config
        if c.sampling is None:
            return None
        poller = None
        if c.sampling.remote:
            path = semconv.CONFIG_PATH.format(device_id=urllib.parse.quote(self.device_id, safe=""))
            poller = ConfigPoller(
                signal_url(c.url, path), headers, c.sampling.poll_interval_s, c.timeout_s
            )
        return SampleExporter(
            c.sampling, c.features, tuple(c.categorical), c.interval_s, self._spool, poller
        )

    def _resource_attributes(self) -> dict[str, str]:
        c = self._config
        attributes = {
            semconv.SERVICE_NAME: "edgewatch-collector",
            semconv.DEVICE_ID: self.device_id,
            semconv.MODEL_NAME: c.model_name,
            semconv.MODEL_VERSION: c.model_version,
            semconv.RUNTIME: c.runtime or "python",
            semconv.HOST_ARCH: host_arch(),
            semconv.OS_TYPE: os_type(),
            semconv.POWER_SOURCES: power_sources(self._samplers),
        }
        model = device_model()
        if model:
            attributes[semconv.DEVICE_MODEL] = model
        attributes[semconv.FLEET] = c.fleet or DEFAULT_FLEET
        attributes[semconv.HARDWARE] = c.hardware or model or platform.machine() or "unknown"
        attributes.update(c.resource_attributes)
        return attributes


AT_EXIT_TIMEOUT_S = 5.0
"""How long interpreter exit waits for an unclosed Monitor's last flush."""


def _close_at_exit(monitor: Monitor) -> Callable[[], None]:
    """An exit hook that closes the Monitor if the application forgot (without keeping it alive)."""
    ref = weakref.ref(monitor)

    def close() -> None:
        m = ref()
        if m is not None:
            m.close(AT_EXIT_TIMEOUT_S)

    return close
