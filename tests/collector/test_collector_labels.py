"""Late labels joined on the device: counted in the inference's interval (also after a restart
and a spool replay), bounded table, unknown/evicted/duplicate labels counted, never raised."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from collector_otlp import Answer, OtlpServer, Received, points, string_attributes

from edgewatch.collector import Monitor, semconv


def _window(p: Any) -> tuple[int, int]:
    return p.start_time_unix_nano, p.time_unix_nano


def _confusion(received: Sequence[Received]) -> dict[tuple[tuple[int, int], str, str], int]:
    out: dict[tuple[tuple[int, int], str, str], int] = {}
    for p in points(received, semconv.LABEL_COUNT):
        a = string_attributes(p.attributes)
        key = (_window(p), a[semconv.PREDICTION_CLASS], a[semconv.LABEL_CLASS])
        out[key] = out.get(key, 0) + p.as_int
    return out


def _unmatched(received: Sequence[Received]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in points(received, semconv.LABELS_UNMATCHED):
        reason = string_attributes(p.attributes)[semconv.REASON]
        out[reason] = out.get(reason, 0) + p.as_int
    return out


def _inference_windows(received: Sequence[Received]) -> list[tuple[int, int]]:
    return sorted({_window(p) for p in points(received, semconv.INFERENCE_COUNT)})


def _monitor(spool: Path, url: str, **kw: Any) -> Monitor:
    kw.setdefault("samplers", [])
    kw.setdefault("start", False)
    return Monitor("digits", "v3", endpoint=url, spool_dir=spool, **kw)


def _observe(m: Monitor, predicted: str) -> int:
    with m.observe(None) as obs:
        obs.prediction(predicted, score=0.9)
    assert obs.id is not None
    return obs.id


def test_late_label_lands_in_the_inference_interval(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    m = _monitor(tmp_path / "s", otlp_server.url)
    first = [_observe(m, "cat"), _observe(m, "dog"), _observe(m, "cat")]
    assert m.flush()
    later = _observe(m, "dog")
    assert m.label(first[0], "cat")
    assert m.label(first[1], "cat")
    assert m.label(later, "dog")
    assert not m.label(first[0], "dog")  # duplicate
    assert not m.label(10**18, "cat")  # never issued
    assert m.flush()
    m.close()
    interval_1, interval_2 = _inference_windows(otlp_server.received)[:2]
    assert _confusion(otlp_server.received) == {
        (interval_1, "cat", "cat"): 1,
        (interval_1, "dog", "cat"): 1,
        (interval_2, "dog", "dog"): 1,
    }
    assert _unmatched(otlp_server.received) == {"duplicate": 1, "unknown": 1}
    assert m.stats()["labels.joined"] == 3


def test_bounded_table_counts_evicted_labels(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = _monitor(tmp_path / "s", otlp_server.url, max_pending_labels=4)
    ids = [_observe(m, "cat") for _ in range(10)]
    assert not m.label(ids[0], "cat")
    assert m.label(ids[-1], "cat")
    assert m.flush()
    m.close()
    assert _unmatched(otlp_server.received) == {"evicted": 1}
    assert sum(_confusion(otlp_server.received).values()) == 1


def test_label_after_a_restart_counts_in_the_old_interval(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    spool = tmp_path / "s"
    m1 = _monitor(spool, otlp_server.url)
    old = _observe(m1, "cat")
    m1.close()
    m2 = _monitor(spool, otlp_server.url)
    new = _observe(m2, "dog")
    assert new != old
    assert m2.label(old, "dog")
    assert not m2.label(old, "dog")  # the restored entry is used once
    assert m2.flush()
    m2.close()
    windows = _inference_windows(otlp_server.received)
    assert _confusion(otlp_server.received) == {(windows[0], "cat", "dog"): 1}
    m3 = _monitor(spool, otlp_server.url)
    assert not m3.label(old, "dog")
    m3.close()


def test_labels_keep_their_interval_through_a_spool_replay(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    spool = tmp_path / "s"
    m = _monitor(spool, otlp_server.url)
    i = _observe(m, "cat")
    assert m.flush()
    m.label(i, "cat")
    otlp_server.answers.extend([Answer(503), Answer(503), Answer(503), Answer(503)])
    assert not m.flush(timeout_s=0.5)
    m.close(timeout_s=0.5)
    otlp_server.answers.clear()
    replay = _monitor(spool, otlp_server.url)
    assert replay.flush()
    replay.close()
    interval = _inference_windows(otlp_server.received)[0]
    assert _confusion(otlp_server.received) == {(interval, "cat", "cat"): 1}


def test_regression_labels_send_error_histograms(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = _monitor(tmp_path / "s", otlp_server.url)
    ids = []
    for y_hat in (1.0, 2.0, 4.0):
        m.record(None, None, score=y_hat, latency_s=0.001)
        ids.append(m._last_ids)
    for i, truth in zip(ids, (2.0, 2.0, 1.0), strict=True):
        assert m.label(i, truth)  # type: ignore[arg-type]
    assert not m.label(ids[0], "not a number")
    assert m.flush()
    m.close()
    (error,) = points(otlp_server.received, semconv.PREDICTION_ERROR)
    (abs_error,) = points(otlp_server.received, semconv.PREDICTION_ABS_ERROR)
    (squared,) = points(otlp_server.received, semconv.PREDICTION_SQUARED_ERROR)
    assert error.count == 3 and error.sum == pytest.approx(2.0)
    assert abs_error.sum == pytest.approx(4.0)
    assert squared.as_double == pytest.approx(10.0)


def test_label_last_and_batches(tmp_path: Path, otlp_server: OtlpServer) -> None:
    m = _monitor(tmp_path / "s", otlp_server.url, features=2)
    with m.observe([[1.0, 2.0], [3.0, 4.0]]) as obs:
        obs.prediction(["a", "b"])
    assert len(obs.ids) == 2
    assert m.label_last(["a", "a"])
    assert not m.label_last(["a"])  # one truth per row
    m.record([1.0, 2.0], "b", latency_s=0.001)
    assert m.label_last("b")
    assert m.flush()
    m.close()
    assert sum(_confusion(otlp_server.received).values()) == 3
    assert _unmatched(otlp_server.received) == {"invalid": 2}


def test_labelling_disabled_counts_nothing_and_never_raises(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    m = _monitor(tmp_path / "s", otlp_server.url, max_pending_labels=0)
    i = _observe(m, "cat")
    assert not m.label(i, "cat")
    assert not m.label("garbage", object())  # type: ignore[arg-type]
    m.close()
    with pytest.raises(ValueError, match="max_pending_labels"):
        _monitor(tmp_path / "t", otlp_server.url, max_pending_labels=-1)


def test_true_classes_are_capped_like_predicted_ones(
    tmp_path: Path, otlp_server: OtlpServer
) -> None:
    fixed = _monitor(tmp_path / "a", otlp_server.url, classes=["cat", "dog"])
    assert fixed.label(_observe(fixed, "cat"), "zebra")
    assert fixed.flush()
    fixed.close()
    assert {k[1:] for k in _confusion(otlp_server.received)} == {("cat", "__other__")}
