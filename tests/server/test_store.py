"""The store on its own: migrations, writer, rollups with late data, retention, tokens."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from otlp_wire import device_batch, gauge_metric, kv

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import (
    Batch,
    Retention,
    SeriesQuery,
    Store,
    StoreBusyError,
    StoreClosedError,
    StoreConfig,
    StoreError,
    WriteOutcome,
)
from edgewatch.server.store._migrations import available

pytestmark = pytest.mark.timeout(60)


def _config(**kw: object) -> StoreConfig:
    return StoreConfig(maintenance=False, **kw)  # type: ignore[arg-type]


def _batch(
    device: str, end_s: float, *, received_s: float | None = None, key: str | None = None
) -> Batch:
    limiter = CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000)
    return convert(
        device_batch(device, end_ns=int(end_s * 1e9), features=2, inferences=100, errors=1),
        received_s=received_s or time.time(),
        limits=IngestLimits(max_age_s=30 * 86400),
        limiter=limiter,
        batch_key=key,
    ).batch


def _write(store: Store, batch: Batch) -> WriteOutcome:
    return store.submit(batch).result(10)


def _inferences(store: Store, start: float, end: float, step: float) -> float:
    result = store.series(
        SeriesQuery(semconv.INFERENCE_COUNT, from_unix_s(start), from_unix_s(end), step)
    )
    return sum(result.values)


def test_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    versions = [m.version for m in available()]
    assert versions[0] == 1 and versions == sorted(set(versions))
    db = tmp_path / "x.duckdb"
    with Store.open(db, _config()) as store:
        _write(store, _batch("d", time.time()))
    with Store.open(db, _config()) as store:  # reopening applies nothing again and keeps data
        assert store.row_counts("d")["points"] > 0


@pytest.mark.parametrize("chunk", [1, 8])
def test_rollups_are_incremental_and_take_late_points(tmp_path: Path, chunk: int) -> None:
    minute = (time.time() // 60 - 10) * 60
    with Store.open(tmp_path / "x.duckdb", _config(rollup_chunk_groups=chunk)) as store:
        _write(store, _batch("d", minute + 30))
        store.roll_up()
        window = (minute - 3600 * 4, minute + 3600 * 4)
        assert _inferences(store, *window, 60) == 100
        _write(store, _batch("d", minute + 45))  # late: same minute, after its rollup ran
        _write(store, _batch("d", minute + 90))
        store.roll_up()
        assert _inferences(store, *window, 60) == 300
        assert _inferences(store, (window[0] // 3600) * 3600, window[1], 3600) == 300
        assert _inferences(store, *window, 1) == 300  # raw
        store.roll_up()  # nothing new: nothing counted twice
        assert _inferences(store, *window, 60) == 300
        # 4 histogram series: one partial row each for run 1, then for the late minute and the
        # next (in one chunk, or one chunk per commit group)
        assert store.row_counts()["exp_histograms_1m"] == 3 * 4
        merged = store.distribution(
            semconv.INFERENCE_DURATION, start=from_unix_s(window[0]), end=from_unix_s(window[1])
        )
        assert merged.resolution.value == "1h"
        assert merged.histogram.count == 300


def test_rollups_beside_ingest_count_every_point_once(tmp_path: Path) -> None:
    """Rollups run on their own cursors while the writer commits: with batches landing
    between and during rollup runs (from several threads), every commit group is rolled up
    exactly once, none before its commit and none twice."""
    minute = (time.time() // 60 - 10) * 60
    window = (minute - 3600 * 4, minute + 3600 * 4)
    with Store.open(tmp_path / "x.duckdb", _config(rollup_chunk_groups=2)) as store:
        errors: list[BaseException] = []

        def roll() -> None:
            try:
                for _ in range(5):
                    store.roll_up()
            except BaseException as e:  # surfaced below, in the test's thread
                errors.append(e)

        threads = [threading.Thread(target=roll) for _ in range(3)]
        for t in threads:
            t.start()
        for i in range(12):
            _write(store, _batch(f"d{i % 3}", minute + i))
        for t in threads:
            t.join(30)
        assert errors == []
        store.roll_up()
        assert _inferences(store, *window, 1) == 1200  # raw
        assert _inferences(store, *window, 60) == 1200
        assert _inferences(store, (window[0] // 3600) * 3600, window[1], 3600) == 1200


def test_retention_per_resolution(tmp_path: Path) -> None:
    now = time.time()
    retention = Retention(raw_s=86400, minute_s=3 * 86400, hour_s=10 * 86400, batch_keys_s=86400)
    with Store.open(tmp_path / "x.duckdb", _config(retention=retention)) as store:
        _write(store, _batch("d", now - 2 * 86400))
        store.roll_up()
        store.enforce_retention(now=from_unix_s(now))
        counts = store.row_counts()
        assert counts["points"] == 0 and counts["exp_histograms"] == 0
        assert counts["points_1m"] > 0 and counts["points_1h"] > 0
        store.enforce_retention(now=from_unix_s(now + 5 * 86400))
        assert store.row_counts()["points_1m"] == 0
        assert store.row_counts()["points_1h"] > 0
        store.enforce_retention(now=from_unix_s(now + 20 * 86400))
        assert store.row_counts()["points_1h"] == 0


def test_idempotency_key_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with Store.open(db, _config()) as store:
        assert _write(store, _batch("d", time.time(), key="k1")) is WriteOutcome.STORED
        assert _write(store, _batch("d", time.time(), key="k1")) is WriteOutcome.DUPLICATE
        assert (
            _write(store, _batch("e", time.time(), key="k1")) is WriteOutcome.STORED
        )  # per device
    with Store.open(db, _config()) as store:
        assert _write(store, _batch("d", time.time(), key="k1")) is WriteOutcome.DUPLICATE
        device = store.get_device("d")
        assert device.last_batch_key == "k1"


def test_full_queue_refuses_at_once(tmp_path: Path) -> None:
    release = threading.Event()
    with Store.open(tmp_path / "x.duckdb", _config(max_queue=2)) as store:
        stall = store._writer.call(lambda cur: release.wait(10))  # a stalled disk, in effect
        while not stall.running():
            time.sleep(0.001)
        queued = [store.submit(_batch("d", time.time())) for _ in range(2)]
        with pytest.raises(StoreBusyError) as busy:
            store.submit(_batch("d", time.time()))
        assert busy.value.retry_after_s > 0
        release.set()
        stall.result(10)
        assert all(f.result(10) is WriteOutcome.STORED for f in queued)
    with pytest.raises(StoreClosedError):
        store.submit(_batch("d", time.time()))


def test_tokens_are_hashed_and_revocable(tmp_path: Path) -> None:
    with Store.open(tmp_path / "x.duckdb", _config()) as store:
        new = store.create_token(role="device", device_id="d", name="pi")
        assert store.cached_principal(new.token) is None  # never verified: no shortcut
        assert store.verify_token(new.token).device_id == "d"
        cached = store.cached_principal(new.token)
        assert cached is not None and cached.device_id == "d"
        assert store.verify_token(new.token[:-1] + "x") is None
        assert store.cached_principal(new.token[:-1] + "x") is None
        assert store.verify_token("garbage") is None
        store.revoke_token(new.info.token_id)
        assert store.cached_principal(new.token) is None
        assert store.verify_token(new.token) is None
        with pytest.raises(ValueError, match="a device token needs a device id"):
            store.create_token(role="device")
        assert not store.has_admin_token()
        store.create_token(role="admin")
        assert store.has_admin_token()


def test_a_failed_group_is_reported_and_the_writer_keeps_going(tmp_path: Path) -> None:
    with Store.open(tmp_path / "x.duckdb", _config()) as store:
        broken = _batch("d", time.time())
        broken.numeric.value.pop()  # columns of unequal length cannot become a table
        with pytest.raises(StoreError, match="storage failed"):
            _write(store, broken)
        assert store.ready
        assert _write(store, _batch("d", time.time())) is WriteOutcome.STORED


def _with_drops(device: str, end_s: float, batches: int, *, key: str) -> Batch:
    """A collector batch that says the device lost ``batches`` batches of 50 inferences so far."""
    request = device_batch(device, end_ns=int(end_s * 1e9), features=2, inferences=100)
    reason = [kv(semconv.REASON, "spool_full")]
    end_ns, start_ns = int(end_s * 1e9), int((end_s - 60) * 1e9)
    request.resource_metrics[0].scope_metrics[0].metrics.extend(
        [
            gauge_metric(
                semconv.DROPPED_TOTAL, "{inference}", [(50.0 * batches, reason)], start_ns, end_ns
            ),
            gauge_metric(
                semconv.BATCHES_DROPPED_TOTAL, "{batch}", [(batches, reason)], start_ns, end_ns
            ),
            gauge_metric(semconv.LAST_DROP, "s", [(end_s - 30, [])], start_ns, end_ns),
        ]
    )
    limiter = CardinalityLimiter(max_series_per_metric=100, max_series_per_device=1000)
    return convert(
        request,
        received_s=time.time(),
        limits=IngestLimits(max_age_s=30 * 86400),
        limiter=limiter,
        batch_key=key,
    ).batch


def test_device_drops_are_the_last_reported_totals_even_when_the_clock_jumps_back(
    tmp_path: Path,
) -> None:
    now = time.time()
    with Store.open(tmp_path / "x.duckdb", _config()) as store:
        _write(store, _batch("dev-a", now - 600))
        assert store.device_drops("dev-a") is None  # never reported a loss
        _write(store, _with_drops("dev-a", now - 300, 2, key="a" * 32))
        _write(store, _with_drops("dev-a", now - 3600, 5, key="b" * 32))  # clock set back
        _write(store, _batch("dev-a", now - 3500))  # a batch without totals changes nothing
        drops = store.device_drops("dev-a")
        assert drops is not None
        assert drops.batches == {"spool_full": 5}
        assert drops.inferences == {"spool_full": 250}
        assert drops.last_drop is not None
        assert drops.last_drop.timestamp() == pytest.approx(now - 3630)
        assert drops.reported.timestamp() == pytest.approx(now - 3600, abs=1e-3)
        assert store.device_drops("dev-b") is None
