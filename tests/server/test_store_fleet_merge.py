"""The server's fleet-drift read end to end: histograms ingested from several devices through
the OTLP conversion and writer, then ``store.merged_histograms`` by feature, equal the library's
``merge_all`` of each feature's device histograms (different scales, empty histograms), and one
device's counts near the int64 cap in one feature change no other feature's result."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from fleet_histograms import CAP, assert_same, export_features, near_cap

from edgewatch.collector import semconv
from edgewatch.detectors import ExpHistogram, empty, from_values, merge_all
from edgewatch.server.store import Selection, Store, StoreConfig


def test_fleet_merge_by_feature_is_merge_all_and_one_device_cannot_change_another_feature(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    end_s = time.time()
    sent: dict[str, list[ExpHistogram]] = {"f0": [], "f1": []}
    with Store.open(tmp_path / "s.duckdb", StoreConfig(maintenance=False)) as store:
        for d in range(6):
            f0 = from_values(rng.normal(d, 1 + d, 50 + 40 * d), max_buckets=(8, 40, 160)[d % 3])
            f1 = empty() if d == 2 else from_values(rng.lognormal(0, 1, 30), max_buckets=20)
            sent["f0"].append(f0)
            sent["f1"].append(f1)
            export_features(store, f"dev-{d}", end_s, {"f0": f0, "f1": f1}, received_s=end_s)

        def read() -> dict[str, ExpHistogram]:
            return store.merged_histograms(
                semconv.FEATURE_VALUE,
                semconv.FEATURE_NAME,
                start=datetime.fromtimestamp(end_s - 600, UTC),
                end=datetime.fromtimestamp(end_s + 1, UTC),
                selection=Selection(),
            )

        before = read()
        for name, histograms in sent.items():
            assert_same(before[name], merge_all(histograms))
        huge = near_cap(1.0, 2.0)
        export_features(store, "dev-huge", end_s, {"f1": huge}, received_s=end_s)
        export_features(store, "dev-huge-2", end_s, {"f1": huge}, received_s=end_s)
        after = read()
    assert_same(after["f0"], before["f0"])
    assert after["f1"].count == CAP  # held at the cap, neither wrapped nor an error
    assert int(after["f1"].positive_counts.max()) == CAP
