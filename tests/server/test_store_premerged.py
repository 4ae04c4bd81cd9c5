"""Histograms pre-merged across devices by the rollups answer exactly what the per-series rows
answer: for random selections (all, fleet, model, version, hardware, attribute filters) and
windows (aligned or not; raw rows, minute or hour rollups) over stored data from devices in random
fleets, with late points rolled up after their window, points not rolled up yet, a device with counts near the int64
cap and one with bucket indexes far out of range; and when a device changes fleet, queries
over its earlier rows fall back to per-series rows (which follow the device's labels now)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fleet_histograms import assert_same, export_features, near_cap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.detectors import ExpHistogram, from_values
from edgewatch.server.store import Resolution, Selection, Store, StoreConfig
from edgewatch.server.store._premerged import premerged_source
from edgewatch.server.store._select import WindowQuery

_FLEETS = ("fleet-a", "fleet-b", "fleet-c")
_VERSIONS = ("1.0.0", "2.0.0")
_T0 = (time.time() // 3600 - 5) * 3600
"""An hour boundary five hours ago: the data spans four hours from it."""


def _features(rng: np.random.Generator, d: int) -> dict[str, ExpHistogram]:
    return {
        "f0": from_values(rng.normal(d, 1 + d, 40), max_buckets=int(rng.choice([8, 40, 160]))),
        "f1": from_values(rng.lognormal(0, 1, 30), max_buckets=20),
    }


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    rng = np.random.default_rng(11)
    labels = {f"dev-{d}": (str(rng.choice(_FLEETS)), str(rng.choice(_VERSIONS))) for d in range(8)}
    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "s.duckdb", StoreConfig(maintenance=False)) as s:

            def export(device: str, at: float, d: int) -> None:
                fleet, version = labels[device]
                export_features(
                    s, device, at, _features(rng, d), fleet=fleet, model_version=version
                )

            for k in range(14):
                for d, device in enumerate(labels):
                    export(device, _T0 + k * 1000 + float(rng.integers(0, 300)), d)
            huge = near_cap(8.0, 10.0)
            for k in (2, 3):
                export_features(s, "dev-huge", _T0 + k * 1000 + 30, {"f0": huge})
            # Devices whose stored rows hold indexes far beyond any float (as older servers
            # stored them), in the same commit groups as the others' rows.
            for device, offset in (("dev-far", 2147483000), ("dev-low", -2147483000)):
                s._db.write(  # the test reaches past the store API to store what ingest refuses
                    lambda cur, device=device, offset=offset: cur.execute(
                        f"INSERT INTO exp_histograms SELECT * REPLACE ('{device}' AS device_id,"
                        f" {offset} AS pos_offset) FROM exp_histograms WHERE device_id = 'dev-0';"
                        f"INSERT INTO devices SELECT * REPLACE ('{device}' AS device_id)"
                        " FROM devices WHERE device_id = 'dev-0'"
                    )
                )
            s.roll_up()
            # Late points: windows already rolled up get more rows in a later rollup.
            for d, device in enumerate(list(labels)[:4]):
                export(device, _T0 + 900 + 7 * d, d)
            s.roll_up()
            # Points no rollup has reached: raw-resolution queries read them as raw rows.
            for d, device in enumerate(list(labels)[4:]):
                export(device, _T0 + 3000 + 11 * d, d)
            yield s


_SELECTIONS = st.one_of(
    st.just(Selection()),
    st.sampled_from(_FLEETS).map(lambda f: Selection(fleet=f)),
    st.sampled_from(_VERSIONS).map(lambda v: Selection(model_version=v)),
    st.builds(
        lambda f, v: Selection(fleet=f, model_version=v),
        st.sampled_from(_FLEETS),
        st.sampled_from(_VERSIONS),
    ),
    st.just(Selection(model_name="classifier")),
    st.just(Selection(hardware="raspberry-pi-5")),
    st.just(Selection(fleet="no-such-fleet")),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    selection=_SELECTIONS,
    start_min=st.one_of(st.integers(-30, 300), st.integers(-1, 5).map(lambda h: h * 60)),
    length_min=st.one_of(st.integers(1, 330), st.integers(1, 6).map(lambda h: h * 60)),
    seconds=st.one_of(st.just((0, 0)), st.tuples(st.integers(0, 59), st.integers(0, 59))),
    resolution=st.sampled_from([Resolution.RAW, Resolution.MINUTE, Resolution.HOUR]),
    feature=st.sampled_from([None, "f0", "f1"]),
)
def test_premerged_rows_answer_what_per_series_rows_answer(
    store: Store,
    selection: Selection,
    start_min: int,
    length_min: int,
    seconds: tuple[int, int],
    resolution: Resolution,
    feature: str | None,
) -> None:
    start_s = _T0 + start_min * 60 + seconds[0]
    end_s = _T0 + (start_min + length_min) * 60 + seconds[1]
    window = {
        "start": from_unix_s(start_s),
        "end": from_unix_s(end_s),
        "selection": selection,
        "resolution": resolution,
    }
    if feature is None:
        by = semconv.FEATURE_NAME
        fast = store.merged_histograms(semconv.FEATURE_VALUE, by, **window)
        slow = store.merged_histograms(semconv.FEATURE_VALUE, by, **window, premerged=False)
        assert fast.keys() == slow.keys()
        for name in slow:
            assert_same(fast[name], slow[name])
    else:
        attributes = ((semconv.FEATURE_NAME, feature),)
        one = store.merged_histogram(semconv.FEATURE_VALUE, attributes=attributes, **window)
        per_series = store.merged_histogram(
            semconv.FEATURE_VALUE, attributes=attributes, **window, premerged=False
        )
        assert_same(one, per_series)


def test_a_fleet_query_reads_premerged_rows_and_bad_devices_stay_in_their_groups(
    store: Store,
) -> None:
    def source(selection: Selection) -> tuple[str, list[object]] | None:
        return store._db.read(  # which rows answer is not part of the store API
            lambda cur: premerged_source(
                cur,
                Resolution.HOUR,
                WindowQuery(
                    semconv.FEATURE_VALUE, from_unix_s(_T0), from_unix_s(_T0 + 4 * 3600), selection
                ),
                "count",
            )
        )

    assert source(Selection(fleet="fleet-a")) is not None
    assert source(Selection(device_id="dev-0")) is None
    rows = store._db.read(
        lambda cur: cur.execute(
            "SELECT (SELECT count(*) FROM exp_histograms_fleet_1h),"
            " (SELECT count(*) FROM exp_histograms_1h)"
        ).fetchone()
    )
    assert rows is not None and 0 < rows[0] < rows[1]
    window = {
        "start": from_unix_s(_T0),
        "end": from_unix_s(_T0 + 4 * 3600),
        "resolution": Resolution.HOUR,
    }
    for fleet in ("fleet-b", "fleet-c"):
        got = store.merged_histograms(
            semconv.FEATURE_VALUE, semconv.FEATURE_NAME, selection=Selection(fleet=fleet), **window
        )
        assert all(h.count < 10**9 for h in got.values())  # dev-huge (fleet-a) stays out


def test_a_device_that_changes_fleet_makes_queries_over_its_old_rows_read_per_series(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(5)
    with Store.open(tmp_path / "s.duckdb", StoreConfig(maintenance=False)) as s:
        for d in range(3):
            export_features(s, f"dev-{d}", _T0 + 600, _features(rng, d))
        s.roll_up()
        export_features(s, "dev-0", _T0 + 3 * 3600, _features(rng, 0), fleet="fleet-b")
        s.roll_up()
        window = {
            "start": from_unix_s(_T0),
            "end": from_unix_s(_T0 + 4 * 3600),
            "resolution": Resolution.HOUR,
        }
        for fleet in ("fleet-a", "fleet-b"):
            selection = Selection(fleet=fleet)
            fast = s.merged_histogram(semconv.FEATURE_VALUE, selection=selection, **window)
            slow = s.merged_histogram(
                semconv.FEATURE_VALUE, selection=selection, **window, premerged=False
            )
            assert_same(fast, slow)
        moved = s.merged_histogram(
            semconv.FEATURE_VALUE, selection=Selection(fleet="fleet-b"), **window
        )
        assert moved.count == 70 * 2  # dev-0's rows from both hours, under its fleet now
        later = s._db.read(
            lambda cur: premerged_source(
                cur,
                Resolution.HOUR,
                WindowQuery(
                    semconv.FEATURE_VALUE,
                    from_unix_s(_T0 + 2 * 3600),
                    from_unix_s(_T0 + 4 * 3600),
                    Selection(fleet="fleet-b"),
                ),
                "count",
            )
        )
        assert later is not None  # windows after the move still read pre-merged rows
