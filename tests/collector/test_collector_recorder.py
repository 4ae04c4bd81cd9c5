"""The hot-path recorder against numpy on generated data: every value lands in the right
bucket, counts/sum/min/max match, NaN counts as missing, and block boundaries do not matter."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgewatch.collector._recorder import Recorder, block_rows_for
from edgewatch.detectors import ExpHistogram, bucket_index, from_values, validate

finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)
elements = finite | st.just(0.0) | st.just(float("nan")) | st.just(-0.0)


def _assert_matches_numpy(h: ExpHistogram, column: np.ndarray) -> None:
    kept = column[np.isfinite(column)]
    validate(h)
    assert h.count == kept.size
    assert h.zero_count == int(np.sum(kept == 0))
    if kept.size:
        assert h.min == kept.min() and h.max == kept.max()
        total, magnitude = float(np.sum(kept)), float(np.sum(np.abs(kept)))
        if np.isfinite(magnitude):  # block-wise summation differs from numpy's only by rounding
            assert abs(h.sum - total) <= 1e-12 * magnitude
    for side, values, offset, counts in (
        ("+", kept[kept > 0], h.positive_offset, h.positive_counts),
        ("-", -kept[kept < 0], h.negative_offset, h.negative_counts),
    ):
        expected = np.zeros(counts.size, dtype=np.int64)
        if values.size:
            idx = bucket_index(values, h.scale) - offset
            assert idx.min() >= 0 and idx.max() < counts.size, side
            np.add.at(expected, idx, 1)
        assert np.array_equal(expected, counts), side


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(0, 700), st.integers(1, 4)), elements=elements),
    st.sampled_from([1, 7, 256]),
)
def test_block_aggregation_matches_numpy(matrix: np.ndarray, block_rows: int) -> None:
    names = [f"f{i}" for i in range(matrix.shape[1])]
    rec = Recorder(names, {}, None, block_rows=block_rows)
    for row in matrix:
        rec.record(row, 0.001, False)
    snap = rec.take()
    assert snap.ok == matrix.shape[0] and snap.errors == 0
    for k in range(matrix.shape[1]):
        _assert_matches_numpy(snap.features[k], matrix[:, k])
        assert snap.missing[k] == int(np.sum(~np.isfinite(matrix[:, k])))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(0, 600), elements=elements), st.integers(0, 600))
def test_blocks_merge_like_the_concatenation(values: np.ndarray, split: int) -> None:
    """Recording in many small blocks equals aggregating all values at once (same buckets)."""
    rec = Recorder(["x"], {}, None, block_rows=16)
    rec.record(values[:split].reshape(-1, 1), 0.0, False)
    rec.record(values[split:].reshape(-1, 1), 0.0, False)
    got = rec.take().features[0]
    whole = from_values(values)
    assert got.scale == whole.scale
    assert got == ExpHistogram(
        whole.scale,
        whole.zero_count,
        whole.positive_offset,
        whole.positive_counts,
        whole.negative_offset,
        whole.negative_counts,
        whole.count,
        got.sum,
        whole.min,
        whole.max,
    )


def test_huge_ranges_negatives_and_zeros() -> None:
    values = np.array([-1e300, -5.0, -1e-300, 0.0, -0.0, 1e-300, 3.0, 1e300, np.nan, np.inf])
    rec = Recorder(["x"], {}, None, block_rows=3)
    for v in values:
        rec.record([v], 0.0, False)
    snap = rec.take()
    _assert_matches_numpy(snap.features[0], values)
    assert snap.missing == (2,)  # NaN and inf are not values of the distribution


def test_latency_outcome_classes_scores_and_batches() -> None:
    rec = Recorder(["a", "b"], {}, ["cat", "dog"], block_rows=4)
    rec.record([1.0, 2.0], 0.5, False, "cat", 0.9)
    rec.record([1.0, 2.0], 0.25, True, "dog", 0.6)
    rec.record(np.ones((5, 2)), 0.125, False, ["cat"] * 4 + ["bird"], [0.1] * 5)
    rec.record(None, 0.1, False, "dog")
    snap = rec.take()
    assert (snap.ok, snap.errors) == (7, 1)
    assert snap.latency.count == 4  # a batch is one call: one latency
    assert snap.latency.min == 0.1 and snap.latency.max == 0.5
    assert snap.score.count == 7
    assert snap.classes == {"cat": 5, "dog": 2, "__other__": 1}
    assert snap.features[0].count == 7  # the row-less call records no feature values
    empty = rec.take()
    assert empty.inferences == 0 and empty.classes == {}


def test_learned_classes_are_capped_with_other() -> None:
    rec = Recorder([], {}, None, max_classes=3)
    for label in [0, 1, 2, 3, 4, np.int64(1)]:
        rec.record(None, 0.0, False, label)
    assert rec.take().classes == {"0": 1, "1": 2, "2": 1, "__other__": 2}


def test_categorical_counts_other_and_missing() -> None:
    rec = Recorder(["x"], {"color": ["red", "blue"]}, None, block_rows=2)
    for color in ["red", "red", "blue", "green", None, "purple"]:
        rec.record({"x": 1.0, "color": color}, 0.0, False)
    rec.record({"x": 2.0}, 0.0, False)
    snap = rec.take()
    assert snap.categories == {
        ("color", "red"): 2,
        ("color", "blue"): 1,
        ("color", "__other__"): 2,
    }
    assert dict(zip(rec.missing_names, snap.missing, strict=True)) == {"x": 0, "color": 2}


def test_bad_rows_are_counted_drops_never_exceptions() -> None:
    rec = Recorder(["a", "b"], {}, None)
    rec.record([1.0], 0.0, False)  # too short
    rec.record([1.0, 2.0, 3.0], 0.0, False)  # too long
    rec.record(np.ones((3, 5)), 0.0, False)  # batch of the wrong width
    rec.record(np.ones((2, 2, 2)), 0.0, False)
    rec.record(["x", 1.0], 0.0, False)  # not a number
    rec.record(np.ones((2, 2)), 0.0, False, ["only one label"])
    rec.record([1.0, 2.0], 0.0, False, np.array([0.2, 0.8]))  # unhashable label
    snap = rec.take()
    assert snap.dropped == {"shape_mismatch": 8, "invalid_value": 1, "invalid_prediction": 1}
    assert snap.ok == 1  # the row with an unusable label still counts as an inference


def test_threads_recording_concurrently_give_exact_totals() -> None:
    rec = Recorder(["a", "b", "c"], {}, ["x", "y"], block_rows=64)
    threads_n, per_thread = 6, 3000

    def work(seed: int) -> None:
        for i in range(per_thread):
            rec.record([float(seed), 1.0, -1.0], 0.001, i % 10 == 0, "x" if i % 2 else "y")
            if i % 500 == 0:
                rec.aggregate_pending()

    threads = [threading.Thread(target=work, args=(s,)) for s in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = rec.take()
    total = threads_n * per_thread
    assert snap.ok + snap.errors == total and snap.errors == threads_n * per_thread // 10
    assert snap.classes == {"x": total // 2, "y": total // 2}
    assert snap.features[0].count == total and snap.features[0].sum == sum(
        float(s) * per_thread for s in range(threads_n)
    )
    assert snap.features[2].negative_counts.sum() == total


def test_array_likes_go_through_numpy() -> None:
    class Frame:  # what pandas offers: __array__
        def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
            return np.array([[1.0, 2.0], [3.0, 4.0]])

    rec = Recorder(["a", "b"], {}, None)
    rec.record(Frame(), 0.001, False)
    snap = rec.take()
    assert snap.ok == 2 and snap.features[1].sum == 6.0


def test_an_image_with_one_value_per_feature_is_one_row() -> None:
    rec = Recorder([f"px{i}" for i in range(64)], {}, list(range(10)))
    image = np.arange(64.0).reshape(8, 8)
    rec.record(image, 0.001, False, np.array([3]), np.array([0.75]))  # sklearn-style outputs
    rec.record(np.ones((2, 64)), 0.001, False, [1, 2])
    snap = rec.take()
    assert snap.ok == 3 and snap.features[63].max == 63.0
    assert snap.classes == {"3": 1, "1": 1, "2": 1} and snap.score.count == 1


def test_without_features_rows_only_count() -> None:
    rec = Recorder([], {}, None)
    rec.record(np.ones((5, 3)), 0.001, False)
    rec.record([[1, 2], [3, 4]], 0.001, False)
    rec.record([1.0, 2.0], 0.001, False)
    rec.record({"a": 1.0}, 0.001, False)
    snap = rec.take()
    assert snap.ok == 9 and snap.dropped == {} and snap.features == ()


def test_block_size_follows_the_feature_count() -> None:
    assert block_rows_for(32) == 4096
    assert block_rows_for(784) == 256  # wide inputs: memory stays about 1.6 MiB per block
    assert block_rows_for(0) == 4096
