"""Version switches are stored: each device-hour is attributed to the version that produced it,
the hour of a switch is split at minute resolution, and the switches survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from otlp_wire import device_batch

from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Store, StoreConfig

pytestmark = pytest.mark.timeout(60)

HOUR_S = 3600.0
T0 = datetime(2026, 11, 30, 8, tzinfo=UTC).timestamp()
"""08:00; the device switches at 10:30 (data time)."""
SWITCH_S = T0 + 2.5 * HOUR_S


def _write(store: Store, device: str, version: str, end_s: float) -> None:
    batch = convert(
        device_batch(
            device,
            end_ns=int(end_s * 1e9),
            features=1,
            inferences=100,
            errors=0,
            model_version=version,
            latency_s=0.02 if version == "v1" else 0.04,
        ),
        received_s=end_s + 1.0,
        limits=IngestLimits(max_age_s=30 * 86400),
        limiter=CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000),
    ).batch
    store.submit(batch).result(10)


def _fleet(store: Store) -> None:
    """``steady`` on v1 throughout; ``switcher`` on v1 until 10:30, v2 after; exports of one
    minute every ten, 08:10 to 11:50."""
    t = T0 + 600
    while t < T0 + 4 * HOUR_S:
        _write(store, "steady", "v1", t)
        _write(store, "switcher", "v1" if t <= SWITCH_S else "v2", t)
        t += 600


def _by_version(store: Store, device: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    end = datetime.fromtimestamp(T0 + 4 * HOUR_S + 60, UTC)
    for h in store.device_hours("classifier", datetime.fromtimestamp(T0, UTC), end):
        if h.device_id == device and h.reported:
            out.setdefault(h.model_version, []).append(h.hour.hour)
    return out


@pytest.mark.parametrize("hours_rolled_up", [True, False])
def test_hours_go_to_the_version_that_produced_them(tmp_path: Path, hours_rolled_up: bool) -> None:
    with Store.open(tmp_path / "v.duckdb", StoreConfig(maintenance=False)) as store:
        _fleet(store)
        store.roll_up(hours=hours_rolled_up)
        # 10:00-11:00 holds both versions: split at the switch, not all under the newer one.
        assert _by_version(store, "switcher") == {"v1": [8, 9, 10], "v2": [10, 11]}
        assert _by_version(store, "steady") == {"v1": [8, 9, 10, 11]}
        split = [
            h
            for h in store.device_hours(
                "classifier",
                datetime.fromtimestamp(T0 + 2 * HOUR_S, UTC),
                datetime.fromtimestamp(T0 + 3 * HOUR_S, UTC),
            )
            if h.device_id == "switcher"
        ]
        latency = {h.model_version: h.latency_mean_s for h in split}
        assert latency["v2"] == pytest.approx(0.04 * 1.046, rel=0.15)  # lognormal mean
        assert latency["v1"] == pytest.approx(0.02 * 1.046, rel=0.15)
        assert {h.model_version: h.inferences for h in split} == {"v1": 400.0, "v2": 200.0}


def test_switches_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        _fleet(store)
        store.roll_up()
        before = store.version_spans("classifier")
    with Store.open(db, StoreConfig(maintenance=False)) as store:
        assert store.version_spans("classifier") == before
        assert _by_version(store, "switcher") == {"v1": [8, 9, 10], "v2": [10, 11]}
    switches = [(s.model_version, s.since.timestamp()) for s in before if s.device_id == "switcher"]
    # v2 starts at the minute of its first data point: the export ending 10:40.
    assert switches[1] == ("v2", SWITCH_S + 600)


def test_a_device_silent_for_whole_hours_is_counted_as_such(tmp_path: Path) -> None:
    with Store.open(tmp_path / "v.duckdb", StoreConfig(maintenance=False)) as store:
        for t in (T0 + 600, T0 + 1200, T0 + 3 * HOUR_S + 600):
            _write(store, "flaky", "v1", t)
        store.roll_up()
        hours = store.device_hours(
            "classifier",
            datetime.fromtimestamp(T0, UTC),
            datetime.fromtimestamp(T0 + 4 * HOUR_S - 1, UTC),
        )
        assert [(h.hour.hour, h.complete, h.reported) for h in hours] == [
            (8, False, True),  # first seen at 08:10: not a whole hour on record
            (9, True, False),
            (10, True, False),
            (11, False, True),  # the current hour
        ]


def test_short_periods_of_a_compressed_fleet_line_up_with_the_data(tmp_path: Path) -> None:
    """Seven-minute periods (an hour at 60/7x): every whole period of a device that reported
    every minute is a reported one, none counted as silent."""
    with Store.open(tmp_path / "v.duckdb", StoreConfig(maintenance=False)) as store:
        for minute in range(1, 50):
            _write(store, "steady", "v1", T0 + 60 * minute)
        store.roll_up(hours=False)
        hours = store.device_hours(
            "classifier",
            datetime.fromtimestamp(T0, UTC),
            datetime.fromtimestamp(T0 + 50 * 60, UTC),
            period_s=420,
        )
        whole = [h for h in hours if h.complete]
        assert len(whole) >= 5 and all(h.reported for h in whole)
        assert all(h.hour.timestamp() % 420 == 0 for h in hours)


def test_a_switch_in_the_minute_of_the_first_report_is_kept(tmp_path: Path) -> None:
    """A device that reports on v1 and switches to v2 within the same minute (the demo's
    compressed rollout did) is on v2 from then on, not on v1 for ever."""
    with Store.open(tmp_path / "db.duckdb", StoreConfig(maintenance=False)) as store:
        _write(store, "quick", "v1", T0 + 10)
        _write(store, "quick", "v2", T0 + 40)
        _write(store, "quick", "v2", T0 + 600)
        spans = store.version_spans("classifier")
        assert [s.model_version for s in spans] == ["v2"]
        store.roll_up()
        end = datetime.fromtimestamp(T0 + 3600, UTC)
        hours = store.device_hours("classifier", datetime.fromtimestamp(T0, UTC), end)
        assert {h.model_version for h in hours if h.inferences} == {"v2"}
