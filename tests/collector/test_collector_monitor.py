"""The Monitor end to end against a real local OTLP/HTTP server: exact counts on the wire,
headers and resource, heartbeats, power and energy, thread safety, bad arguments, never raising."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from collector_otlp import Answer, OtlpServer, Received, points, string_attributes

from edgewatch.collector import (
    Monitor,
    Reading,
    TransportResponse,
    detect_power_samplers,
    semconv,
)
from edgewatch.collector._power import power_sources


def _sum(received: Sequence[Received], name: str, **attrs: str) -> int:
    want = {k.replace("_", "."): v for k, v in attrs.items()}
    return sum(
        p.as_int
        for p in points(received, name)
        if want.items() <= string_attributes(p.attributes).items()
    )


def _monitor(tmp_path: Path, url: str, **kw: Any) -> Monitor:
    kw.setdefault("samplers", [])
    kw.setdefault("start", False)
    return Monitor("digits", "v3", endpoint=url, spool_dir=tmp_path / "spool", **kw)


def test_exact_counts_headers_and_resource_on_the_wire(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    m = _monitor(
        tmp_path,
        otlp_server.url,
        token="s3cret",
        fleet="north",
        features=["a", "b"],
        classes=[0, 1],
        resource_attributes={"site": "plant-7"},
    )
    rows = np.array([[1.0, -2.0], [3.0, np.nan], [0.0, 4.0]])
    for i, row in enumerate(rows):
        with m.observe(row) as obs:
            obs.prediction(i % 2, score=0.5 + i / 10)
    with pytest.raises(ZeroDivisionError):
        with m.observe([5.0, 6.0]):
            _ = 1 / 0  # the model failed: counted as an error and re-raised unchanged
    m.record(np.ones((4, 2)), [1, 1, 1, 0], latency_s=0.02)
    assert m.flush(timeout_s=5.0) is True
    m.close()  # exports one more (empty) interval

    r = otlp_server.received[0]
    assert r.path == "/v1/metrics"
    assert r.headers["authorization"] == "Bearer s3cret"
    assert r.headers["content-type"] == "application/x-protobuf"
    assert r.headers["content-encoding"] == "gzip"
    assert len(r.headers["idempotency-key"]) == 32
    resource = string_attributes(r.request.resource_metrics[0].resource.attributes)
    assert resource[semconv.MODEL_NAME] == "digits" and resource[semconv.MODEL_VERSION] == "v3"
    assert resource[semconv.FLEET] == "north" and resource["site"] == "plant-7"
    assert resource[semconv.DEVICE_ID] == m.device_id
    assert resource[semconv.POWER_SOURCES] == "none"
    assert resource[semconv.HARDWARE] and resource[semconv.HOST_ARCH] and resource[semconv.OS_TYPE]
    assert r.request.resource_metrics[0].scope_metrics[0].scope.name == "edgewatch.collector"

    received = otlp_server.received[:1]
    assert _sum(received, semconv.INFERENCE_COUNT, ml_inference_outcome="ok") == 7
    assert _sum(received, semconv.INFERENCE_COUNT, ml_inference_outcome="error") == 1
    assert _sum(received, semconv.PREDICTION_CLASS_COUNT, ml_prediction_class="0") == 3
    assert _sum(received, semconv.PREDICTION_CLASS_COUNT, ml_prediction_class="1") == 4
    features = {
        string_attributes(p.attributes)[semconv.FEATURE_NAME]: p
        for p in points(received, semconv.FEATURE_VALUE)
    }
    a, b = features["a"], features["b"]
    assert (a.count, a.sum, a.min, a.max, a.zero_count) == (8, 13.0, 0.0, 5.0, 1)
    assert (b.count, b.sum, b.min, b.max) == (7, 12.0, -2.0, 6.0)
    assert sum(b.negative.bucket_counts) == 1 and sum(b.positive.bucket_counts) == 6
    assert _sum(received, semconv.FEATURE_MISSING_COUNT, ml_feature_name="b") == 1
    [latency] = points(received, semconv.INFERENCE_DURATION)
    assert latency.count == 5 and latency.max >= 0.02  # the batch of four is one call
    [score] = points(received, semconv.PREDICTION_SCORE)
    assert score.count == 3
    point = next(points(received, semconv.INFERENCE_COUNT))
    assert 0 < point.start_time_unix_nano < point.time_unix_nano


def test_the_collector_thread_sends_heartbeats_and_close_flushes(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    m = _monitor(tmp_path, otlp_server.url, features=1, interval_s=0.1, start=True)
    assert otlp_server.wait_for_requests(2)  # batches with zero inferences are the heartbeat
    m.record([1.0], latency_s=0.001)
    m.close(timeout_s=5.0)
    m.close(timeout_s=5.0)  # idempotent
    assert _sum(otlp_server.received, semconv.INFERENCE_COUNT) == 1
    m.record([2.0], latency_s=0.001)  # after close: counted, never raised
    assert m.stats()["dropped.closed"] == 1


def test_power_readings_energy_per_inference_and_sampler_errors(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    class Board:
        name = "board"
        source = semconv.POWER_SIMULATED

        def sample(self) -> Sequence[Reading]:
            return [Reading(semconv.HW_POWER, 5.0, {semconv.POWER_SOURCE: self.source}, "W")]

    class Broken:
        name = "broken"

        def sample(self) -> Sequence[Reading]:
            raise OSError("sensor went away")

    m = _monitor(tmp_path, otlp_server.url, samplers=[Board(), Broken()], hardware="jetson-orin")
    for _ in range(10):
        m.record(None, latency_s=0.001)
    assert m.flush() is True
    m.close()
    received = otlp_server.received
    resource = string_attributes(received[0].request.resource_metrics[0].resource.attributes)
    assert resource[semconv.POWER_SOURCES] == "simulated"
    assert resource[semconv.HARDWARE] == "jetson-orin" and resource[semconv.FLEET] == "default"
    [power] = points(received[:1], semconv.HW_POWER)
    assert power.as_double == 5.0
    [energy] = points(received[:1], semconv.INFERENCE_ENERGY)
    interval_s = (energy.time_unix_nano - energy.start_time_unix_nano) / 1e9
    assert energy.as_double == pytest.approx(5.0 * interval_s / 10)
    assert _sum(received[:1], semconv.SAMPLER_ERRORS, edgewatch_sampler="broken") == 1
    assert m.stats()["sampler_errors.broken"] == 2  # one per export: flush and close


def test_threads_observing_concurrently_give_exact_totals(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    m = _monitor(
        tmp_path, otlp_server.url, features=3, classes=["x", "y"], interval_s=0.05, start=True
    )
    n_threads, per_thread = 4, 2500

    def work() -> None:
        row = np.array([1.0, 2.0, 3.0])
        for i in range(per_thread):
            with m.observe(row) as obs:
                obs.prediction("x" if i % 2 else "y")

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.close(timeout_s=10.0)
    total = n_threads * per_thread
    received = otlp_server.received
    assert _sum(received, semconv.INFERENCE_COUNT) == total
    assert _sum(received, semconv.PREDICTION_CLASS_COUNT, ml_prediction_class="x") == total // 2
    assert sum(p.count for p in points(received, semconv.FEATURE_VALUE)) == 3 * total
    assert len(set(otlp_server.keys())) == len(received)


def test_offline_batches_wait_in_the_spool_and_a_restart_sends_them(tmp_path: Path) -> None:
    down = OtlpServer()
    url = down.url
    down.close()  # nobody listens: every send fails
    m = _monitor(tmp_path, url, features=1)
    m.record([1.0], latency_s=0.001)
    assert m.flush(timeout_s=0.2) is False
    assert m.stats()["spool.depth"] == 1 and m.stats()["batches.failed"] >= 1
    device = m.device_id
    m.close(timeout_s=0.2)
    up = OtlpServer()
    try:
        again = _monitor(tmp_path, up.url, features=1)
        assert again.device_id == device  # persisted beside the spool
        assert again.flush() is True
        again.close()
        assert _sum(up.received, semconv.INFERENCE_COUNT) == 1
        assert len(set(up.keys())) == len(up.received) == 4
        # The second offline batch already reported the first one's failed send and the depth.
        assert _sum(up.received, semconv.BATCHES, edgewatch_result="failed") >= 1
        assert max(p.as_double for p in points(up.received, semconv.SPOOL_DEPTH)) >= 1.0
        last = [p.as_double for p in points(up.received, semconv.LAST_SUCCESS)]
        assert (
            last and last[-1] > 1.6e9
        )  # the restarted Monitor reports its first delivery  # two spooled while offline, two after
    finally:
        up.close()


def test_a_transport_that_misbehaves_never_reaches_the_caller(tmp_path: Path) -> None:
    class Exploding:
        def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> TransportResponse:
            raise RuntimeError("transport bug")

    m = _monitor(tmp_path, "http://127.0.0.1:9", transport=Exploding(), features=2)
    with m.observe([1.0, 2.0]):
        pass
    m.record("not a row", latency_s=0.1)
    m.record([1.0, 2.0], prediction={"unhashable": []}, score="high", latency_s=0.1)
    m.record({"a": "x"}, latency_s=0.1)
    assert m.flush(timeout_s=0.1) is False
    m.close(timeout_s=0.1)
    stats = m.stats()
    assert stats["batches.failed"] >= 1 and stats["spool.depth"] >= 1
    assert stats["dropped.invalid_value"] >= 1 and stats["dropped.invalid_prediction"] == 1


def test_track_decorator_and_shape_mismatch(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = _monitor(tmp_path, otlp_server.url, features=2, classes=["cat", "dog"])

    @m.track
    def predict(x: Any) -> str:
        if x[0] < 0:
            raise ValueError("negative")
        return "cat"

    assert predict([1.0, 2.0]) == "cat"
    with pytest.raises(ValueError, match="negative"):
        predict([-1.0, 2.0])
    predict([1.0, 2.0, 3.0])  # wrong length: dropped and counted, the call still works
    assert m.flush() is True
    m.close()
    received = otlp_server.received
    assert _sum(received, semconv.INFERENCE_COUNT, ml_inference_outcome="ok") == 1
    assert _sum(received, semconv.INFERENCE_COUNT, ml_inference_outcome="error") == 1
    assert _sum(received, semconv.DROPPED, edgewatch_reason="shape_mismatch") == 1


def test_wrap_onnx_measures_a_real_onnxruntime_session(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is an optional extra")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("ArgMax", ["X"], ["label"], axis=1, keepdims=0),
            helper.make_node("Softmax", ["X"], ["probabilities"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    m = _monitor(tmp_path, otlp_server.url, features=3, classes=[0, 1, 2])
    wrapped = m.wrap_onnx(session, score_output=1)
    x = np.array([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]], dtype=np.float32)
    labels, _ = wrapped.run(None, {"X": x})
    assert labels.tolist() == [1, 0]
    assert [i.name for i in wrapped.get_inputs()] == ["X"]  # everything else passes through
    assert m.flush() is True
    m.close()
    received = otlp_server.received
    assert _sum(received, semconv.PREDICTION_CLASS_COUNT, ml_prediction_class="1") == 1
    assert _sum(received, semconv.PREDICTION_CLASS_COUNT, ml_prediction_class="0") == 1
    [score] = points(received, semconv.PREDICTION_SCORE)
    assert score.count == 2 and score.min > 0.9


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_name": ""}, "model_name"),
        ({"model_version": None}, "model_version"),
        ({"endpoint": "edgewatch.local:4318"}, "endpoint"),
        ({"endpoint": "ftp://host"}, "endpoint"),
        ({"endpoint": "http://"}, "endpoint"),
        ({"endpoint": "http://host:99999"}, "endpoint"),
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": -5}, "interval_s"),
        ({"interval_s": float("nan")}, "interval_s"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"features": ["a", "a"]}, "features"),
        ({"features": "abc"}, "features"),
        ({"features": -1}, "features"),
        ({"classes": []}, "classes"),
        ({"classes": [1, "1"]}, "classes"),
        ({"categorical": {"a": "xyz"}}, "categorical"),
        ({"features": ["a"], "categorical": {"a": ["x"]}}, "categorical"),
        ({"token": "a\nb"}, "token"),
        ({"spool_max_bytes": 10}, "spool_max_bytes"),
        ({"samplers": [object()]}, "samplers"),
        ({"transport": object()}, "transport"),
        ({"resource_attributes": {"k": 1}}, "resource_attributes"),
        ({"max_buckets": 2}, "max_buckets"),
    ],
)
def test_bad_arguments_name_the_field(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "model_name": "m",
        "model_version": "v1",
        "endpoint": "http://127.0.0.1:4318",
        "spool_dir": tmp_path,
        "samplers": [],
        "start": False,
    }
    args.update(kwargs)
    name, version = args.pop("model_name"), args.pop("model_version")
    with pytest.raises(ValueError, match=field):
        Monitor(name, version, **args)


def test_one_spool_one_monitor(tmp_path: Path) -> None:
    first = _monitor(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="spool_dir"):
        _monitor(tmp_path, "http://127.0.0.1:9")
    first.close(timeout_s=0.1)
    _monitor(tmp_path, "http://127.0.0.1:9").close(timeout_s=0.1)  # free again after close


def test_an_unclosed_monitor_flushes_at_interpreter_exit(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    script = tmp_path / "forgetful.py"
    script.write_text(
        "import sys\n"
        "from edgewatch.collector import Monitor\n"
        "m = Monitor('exit', 'v1', endpoint=sys.argv[1], spool_dir=sys.argv[2], features=1,"
        " samplers=[])\n"
        "for i in range(5):\n"
        "    m.record([float(i)], latency_s=0.001)\n"
    )
    subprocess.run(
        [sys.executable, str(script), otlp_server.url, str(tmp_path / "spool")],
        check=True,
        timeout=60,
    )
    assert _sum(otlp_server.received, semconv.INFERENCE_COUNT) == 5


def test_close_keeps_its_deadline_when_the_server_hangs(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    otlp_server.answers = [Answer(200, delay_s=3.0)]
    m = _monitor(tmp_path, otlp_server.url, features=1)
    m.record([1.0], latency_s=0.001)
    started = time.monotonic()
    m.close(timeout_s=0.5)
    assert time.monotonic() - started < 2.0  # generous: the bound is what matters, not speed
    assert m.stats()["spool.depth"] == 1  # kept for the next start


def test_categorical_features_on_the_wire(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = _monitor(tmp_path, otlp_server.url, features=["t"], categorical={"mode": ["eco", "boost"]})
    for mode in ["eco", "eco", "boost", "turbo", None]:
        m.record({"t": 20.0, "mode": mode}, latency_s=0.001)
    assert m.flush() is True
    m.close()
    received = otlp_server.received[:1]
    count = semconv.FEATURE_CATEGORY_COUNT
    assert _sum(received, count, ml_feature_name="mode", ml_feature_category="eco") == 2
    assert _sum(received, count, ml_feature_name="mode", ml_feature_category="boost") == 1
    assert _sum(received, count, ml_feature_name="mode", ml_feature_category="__other__") == 1
    assert _sum(received, semconv.FEATURE_MISSING_COUNT, ml_feature_name="mode") == 1


def test_default_samplers_report_this_process(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = Monitor("digits", "v3", endpoint=otlp_server.url, spool_dir=tmp_path, start=False)
    assert m.flush() is True
    m.close()
    [rss] = points(otlp_server.received[:1], semconv.PROCESS_MEMORY_USAGE)
    assert rss.as_double > 1e6
    resource = string_attributes(
        otlp_server.received[0].request.resource_metrics[0].resource.attributes
    )
    assert resource[semconv.POWER_SOURCES] == power_sources(detect_power_samplers())
