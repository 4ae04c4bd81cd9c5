"""Drift benchmark: edgewatch's histogram path against Evidently's DataDriftPreset, and fleet
drift over already-aggregated device histograms, by the library (``merge_arrays``) and by the
server's own path (the same histograms ingested into a store, merged by a store query).

Our path = build both sides' exponential histograms from the raw values (what the collector
and the baseline upload do) + ``drift(method="auto")`` per feature + ``dataset_drift``.
Evidently's path = ``Report([DataDriftPreset()]).run(current, reference)`` on the same
DataFrames, in the same run. Evidently needs about 5 s per feature at 1M rows here, so a
full 20 × 1M run alone would take the whole 3-minute allowance: it is measured at 1M rows on
a stated subset of features and on all features at a stated smaller row count; every ratio
compares the two paths on exactly the same data. Nothing is extrapolated.

Run: ``.venv/bin/python bench/drift.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import exp_metric, exp_point, kv, resource_attributes

from edgewatch.collector import semconv
from edgewatch.detectors import (
    DriftResult,
    ExpHistogram,
    Verdict,
    dataset_drift,
    drift,
    from_values,
    merge_all,
    merge_arrays,
)
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Resolution, Selection, Store, StoreConfig
from edgewatch.server.store._histsql import HISTOGRAM_COLUMNS, merged_histograms_sql
from edgewatch.server.store._maintenance import _transaction
from edgewatch.server.store._premerged import premerge
from edgewatch.server.store._select import WindowQuery, json_path
from edgewatch.server.store._series import resolution_for_window, window_source

SPEEDUP_BUDGET = 100.0
"""DESIGN.md: ≥ 100× faster than Evidently on the same data, with the same verdicts."""
FLEET_BUDGET_S = 0.100
"""DESIGN.md: fleet drift for 50 features over 10 M inferences ≤ 100 ms."""
EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
}


def make_frames(features: int, rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames; every third feature drifts (mean or shape changes)."""
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(features):
        kind = i % 4
        drifted = i % 3 == 0
        if kind == 0:
            ref[f"f{i}"] = rng.normal(0, 1, rows)
            cur[f"f{i}"] = rng.normal(0.5 if drifted else 0, 1, rows)
        elif kind == 1:
            ref[f"f{i}"] = rng.lognormal(0, 0.8, rows)
            cur[f"f{i}"] = rng.lognormal(0.4 if drifted else 0, 0.8, rows)
        elif kind == 2:
            ref[f"f{i}"] = rng.normal(100, 5, rows)
            cur[f"f{i}"] = rng.normal(100, 8 if drifted else 5, rows)
        else:
            left = rng.random(rows) < 0.5
            ref[f"f{i}"] = np.where(left, rng.normal(-3, 1, rows), rng.normal(3, 1, rows))
            left = rng.random(rows) < (0.3 if drifted else 0.5)
            cur[f"f{i}"] = np.where(left, rng.normal(-3, 1, rows), rng.normal(3, 1, rows))
    return pd.DataFrame(ref), pd.DataFrame(cur)


def ours(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, DriftResult], Verdict]:
    """Histograms from raw values, then the auto drift test per feature and the dataset verdict."""
    results = {
        c: drift(from_values(ref[c].to_numpy()), from_values(cur[c].to_numpy()))
        for c in ref.columns
    }
    return results, dataset_drift(results).verdict


def evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, bool], Verdict]:
    """Evidently's per-column drift flags and dataset verdict (share ≥ 0.5)."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(cur, ref).dict()
    flags: dict[str, bool] = {}
    share = 0.0
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            method = EVIDENTLY_METHODS[config["method"]]
            value, threshold = float(metric["value"]), float(config["threshold"])
            if method == "ks":
                flags[config["column"]] = value <= threshold
            elif method in ("chisquare", "z"):
                flags[config["column"]] = value < threshold
            else:
                flags[config["column"]] = value >= threshold
        elif config["type"].endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
    return flags, Verdict.DRIFT if share >= 0.5 else Verdict.NO_DRIFT


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


OUR_REPEATS = 5
"""Our path is cheap enough to time five times (median); Evidently runs once."""


def timed_median(fn: Callable[[], Any], repeats: int = OUR_REPEATS) -> tuple[float, Any]:
    runs = [timed(fn) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def compare_case(label: str, ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    t_ours, (mine, my_verdict) = timed_median(lambda: ours(ref, cur))
    t_ev, (theirs, their_verdict) = timed(lambda: evidently(ref, cur))
    agree = sum((mine[c].verdict is Verdict.DRIFT) == theirs[c] for c in ref.columns)
    row = {
        "case": label,
        "ours_s": t_ours,
        "evidently_s": t_ev,
        "ratio": t_ev / t_ours,
        "columns_agree": f"{agree}/{len(ref.columns)}",
        "dataset_agree": my_verdict is their_verdict,
        "all_agree": agree == len(ref.columns) and my_verdict is their_verdict,
    }
    print(
        f"  {label:<40} ours {t_ours:7.3f} s   Evidently {t_ev:8.2f} s   "
        f"ratio {row['ratio']:7.1f}×   verdicts agree {row['columns_agree']} columns, "
        f"dataset {'yes' if row['dataset_agree'] else 'NO'}"
    )
    return row


def compare_fleet(baseline: list[ExpHistogram], merged: list[ExpHistogram]) -> Any:
    """The server's fleet drift: every feature against its baseline, then the dataset verdict."""
    pairs = zip(baseline, merged, strict=True)
    return dataset_drift({f"f{i}": drift(b, m) for i, (b, m) in enumerate(pairs)})


def as_columns(histograms: list[ExpHistogram]) -> dict[str, Any]:
    """One feature's device histograms as the store holds them: one array per field, bucket
    counts end to end with each row's length (an Arrow list column), for ``merge_arrays``."""
    columns: dict[str, Any] = {
        name: np.array([getattr(h, field) for h in histograms])
        for name, field in (
            ("scales", "scale"),
            ("zero_counts", "zero_count"),
            ("positive_offsets", "positive_offset"),
            ("negative_offsets", "negative_offset"),
            ("counts", "count"),
            ("sums", "sum"),
            ("mins", "min"),
            ("maxs", "max"),
        )
    }
    for side in ("positive", "negative"):
        rows = [getattr(h, f"{side}_counts") for h in histograms]
        columns[f"{side}_counts"] = np.concatenate(rows)
        columns[f"{side}_lengths"] = np.array([r.size for r in rows])
    return columns


def fleet(
    features: int, devices: int, per_device: int, repeats: int, seed: int
) -> dict[str, float]:
    """Device histograms are built first (the devices' work, not timed); then the fleet
    comparison is timed: merge each feature over all devices, compare with the baseline.

    The merge is timed twice: ``merge_arrays`` over the histograms as columns (as an Arrow
    list column holds them; the budgeted figure) and ``merge_all`` over 1,000 ``ExpHistogram``
    objects per feature (what a library user holding objects pays)."""
    rng = np.random.default_rng(seed)
    print(
        f"  setup: {devices} devices × {per_device:,} inferences × {features} features "
        f"= {devices * per_device:,} inferences (not timed) …",
        flush=True,
    )
    shifts = np.where(np.arange(features) % 3 == 0, 0.3, 0.0)
    per_feature: list[list[ExpHistogram]] = [[] for _ in range(features)]
    for _ in range(devices):
        block = rng.normal(shifts, 1.0, size=(per_device, features))
        for f in range(features):
            per_feature[f].append(from_values(block[:, f]))
    baseline = [from_values(rng.normal(0.0, 1.0, 200_000)) for _ in range(features)]
    columns = [as_columns(hs) for hs in per_feature]
    merge_times, objects_times, compare_times = [], [], []
    verdict = Verdict.INSUFFICIENT_DATA
    for _ in range(repeats):
        t_merge, merged = timed(lambda: [merge_arrays(**c) for c in columns])
        t_objects, from_objects = timed(lambda: [merge_all(hs) for hs in per_feature])
        if from_objects != merged:
            raise AssertionError("merge_arrays and merge_all disagree")
        t_cmp, result = timed(partial(compare_fleet, baseline, merged))
        merge_times.append(t_merge)
        objects_times.append(t_objects)
        compare_times.append(t_cmp)
        verdict = result.verdict
    merge_s, compare_s = statistics.median(merge_times), statistics.median(compare_times)
    objects_s = statistics.median(objects_times)
    drifted = sum(r.verdict is Verdict.DRIFT for r in result.features.values())
    print(
        f"  merge (columns) {merge_s * 1e3:.1f} ms + compare {compare_s * 1e3:.1f} ms = "
        f"{(merge_s + compare_s) * 1e3:.1f} ms (median of {repeats}); "
        f"merge_all over objects {objects_s * 1e3:.1f} ms; "
        f"{drifted}/{features} features drifted (expected {int(np.count_nonzero(shifts))}), "
        f"dataset verdict {verdict.value}"
    )
    server = server_fleet(per_feature, baseline, merged, repeats)
    return {
        "merge_s": merge_s,
        "objects_s": objects_s,
        "compare_s": compare_s,
        "drifted": drifted,
        **server,
    }


def _same_buckets(a: ExpHistogram, b: ExpHistogram) -> bool:
    """Equal but for ``sum``, which SQL adds in another order than the fold."""
    return a == ExpHistogram(
        b.scale,
        b.zero_count,
        b.positive_offset,
        b.positive_counts,
        b.negative_offset,
        b.negative_counts,
        b.count,
        a.sum,
        b.min,
        b.max,
    ) and np.isclose(a.sum, b.sum, rtol=1e-9)


def _ingest(store: Store, per_feature: list[list[ExpHistogram]], end_s: float) -> None:
    """Each device's histograms as one OTLP export (one point per feature), through the same
    conversion and writer as ``POST /v1/metrics``."""
    limiter = CardinalityLimiter(max_series_per_metric=100_000, max_series_per_device=1_000)
    end_ns = int(end_s * 1e9)
    start_ns = end_ns - 60 * 10**9
    futures = []
    for d in range(len(per_feature[0])):
        request = ExportMetricsServiceRequest()
        rm = request.resource_metrics.add()
        rm.resource.attributes.extend(resource_attributes(f"dev-{d:04d}"))
        points = [
            exp_point(hs[d], start_ns, end_ns, [kv(semconv.FEATURE_NAME, f"f{f}")])
            for f, hs in enumerate(per_feature)
        ]
        rm.scope_metrics.add().metrics.append(exp_metric(semconv.FEATURE_VALUE, "1", points))
        converted = convert(request, received_s=end_s, limits=IngestLimits(), limiter=limiter)
        if converted.rejected:
            raise AssertionError(f"ingest rejected points: {converted.rejected}")
        futures.append(store.submit(converted.batch))
        if len(futures) >= 64:
            for f in futures:
                f.result(60)
            futures.clear()
    for f in futures:
        f.result(60)


def _sql_merged(store: Store, start_s: float, end_s: float) -> dict[str, ExpHistogram]:
    """The same question answered by the SQL merge (``merged_histograms_sql``, what the rollups
    run, and what queries ran before they read Arrow columns): DuckDB unnests every bucket,
    downscales, sums and densifies them."""
    window = WindowQuery(
        semconv.FEATURE_VALUE,
        datetime.fromtimestamp(start_s, UTC),
        datetime.fromtimestamp(end_s, UTC),
        Selection(),
    )
    src, params = window_source(
        "exp", resolution_for_window(end_s - start_s), window,
        f"json_extract_string(attrs, ?) AS g, {HISTOGRAM_COLUMNS}",
        [json_path(semconv.FEATURE_NAME)],
    )  # fmt: skip
    rows = store._db.read(  # the bench reaches past the store API to time the old merge
        lambda cur: cur.execute(merged_histograms_sql(src, ["g"]), params).fetchall()
    )
    return {
        r[0]: ExpHistogram(
            r[1], r[2], r[3], np.asarray(r[4], np.int64), r[5], np.asarray(r[6], np.int64),
            r[7], r[8], np.nan if r[9] is None else r[9], np.nan if r[10] is None else r[10],
        )
        for r in rows
    }  # fmt: skip


def server_fleet(
    per_feature: list[list[ExpHistogram]],
    baseline: list[ExpHistogram],
    library: list[ExpHistogram],
    repeats: int,
) -> dict[str, float]:
    """The server's own fleet-drift path on the same device histograms: ingested into a
    DuckDB store and rolled up (not timed), then timed in the same run: one
    ``store.merged_histograms`` query grouped by feature over the fleet's 30-minute window
    (raw resolution), read from the rows the rollup pre-merged across devices (``_premerged``,
    the default) and from the per-series rows (``premerged=False``), both merged by
    ``merge_arrays``; the comparison with the baseline; and the SQL merge (DuckDB unnesting
    every bucket, the query path before). The data lies in the last whole minute of the window,
    as a fleet's data does but for the minute in progress. Every path's merged histograms are
    checked against the library path's."""
    data_s = (time.time() // 60) * 60 - 30
    start_s, end_s = data_s - 1770, data_s + 30
    features = [f"f{i}" for i in range(len(per_feature))]
    with tempfile.TemporaryDirectory() as tmp:
        print("  server path: ingesting the same histograms into a store (not timed) …", flush=True)
        with Store.open(Path(tmp) / "bench.duckdb", StoreConfig(maintenance=False)) as store:
            _ingest(store, per_feature, data_s)
            t_rollup, _ = timed(store.roll_up)
            t_premerge = premerge_cost(store)

            def query(premerged: bool) -> list[ExpHistogram]:
                found = store.merged_histograms(
                    semconv.FEATURE_VALUE,
                    semconv.FEATURE_NAME,
                    start=datetime.fromtimestamp(start_s, UTC),
                    end=datetime.fromtimestamp(end_s, UTC),
                    selection=Selection(),
                    premerged=premerged,
                )
                return [found[f] for f in features]

            def sql() -> list[ExpHistogram]:
                found = _sql_merged(store, start_s, end_s)
                return [found[f] for f in features]

            # The first queries plan and load; the scheduler's later ones do not.
            query(True)
            query(False)
            sql()
            pre_times, query_times, sql_times, compare_times = [], [], [], []
            for _ in range(repeats):
                t_pre, from_pre = timed(partial(query, True))
                t_query, merged = timed(partial(query, False))
                t_sql, from_sql = timed(sql)
                t_cmp, result = timed(partial(compare_fleet, baseline, from_pre))
                pre_times.append(t_pre)
                query_times.append(t_query)
                sql_times.append(t_sql)
                compare_times.append(t_cmp)
    checked = (
        ("pre-merged query", from_pre),
        ("per-series query", merged),
        ("SQL merge", from_sql),
    )
    for name, got in checked:
        if not all(_same_buckets(a, b) for a, b in zip(got, library, strict=True)):
            raise AssertionError(f"the {name}'s merged histograms differ from merge_arrays'")
    query_s, compare_s = statistics.median(query_times), statistics.median(compare_times)
    sql_s, pre_s = statistics.median(sql_times), statistics.median(pre_times)
    drifted = sum(r.verdict is Verdict.DRIFT for r in result.features.values())
    print(
        f"  server (median of {repeats}): pre-merged rows {pre_s * 1e3:.1f} ms, per-series rows"
        f" {query_s * 1e3:.1f} ms, SQL merge (old path) {sql_s * 1e3:.1f} ms; compare"
        f" {compare_s * 1e3:.1f} ms; all give the same merged histograms as merge_arrays;"
        f" {drifted}/{len(baseline)} features drifted. The rollup (not timed above) took"
        f" {t_rollup:.2f} s, of which pre-merging minutes {t_premerge:.2f} s"
        f" ({t_premerge / t_rollup:.0%})"
    )
    return {
        "server_query_s": query_s,
        "server_compare_s": compare_s,
        "sql_query_s": sql_s,
        "premerged_query_s": pre_s,
    }


def premerge_cost(store: Store) -> float:
    """Seconds the minute rollup's pre-merge step takes over every chunk it rolled up, run
    again in a transaction that is rolled back."""

    def run(cur: Any) -> float:
        seqs = [r[0] for r in cur.execute("SELECT DISTINCT seq FROM exp_histograms_1m").fetchall()]
        return sum(timed(partial(premerge, cur, Resolution.MINUTE, int(q)))[0] for q in seqs)

    return float(store._db.read(lambda cur: _transaction(cur, run, commit=False)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per side (default 1M)")
    parser.add_argument(
        "--evidently-subset",
        type=int,
        default=4,
        help="features on which Evidently runs at full --rows (default 4)",
    )
    parser.add_argument(
        "--evidently-rows",
        type=int,
        default=100_000,
        help="rows at which Evidently runs on all features (default 100k)",
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--per-device", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--fleet-only", action="store_true", help="only the fleet section (library and server)"
    )
    args = parser.parse_args()
    if args.fleet_only:
        print(f"== Fleet: {50} features merged from device histograms, compared with a baseline")
        fleet_budgets(fleet(50, args.devices, args.per_device, args.repeats, seed=7), args)
        return

    # Import and first-call set-up of Evidently are not counted against it.
    warm_ref, warm_cur = make_frames(2, 200, seed=0)
    evidently(warm_ref, warm_cur)

    rows: list[dict[str, Any]] = []
    print("== Raw values → histograms → drift, against Evidently DataDriftPreset (same data)")
    for features in (20, 50):
        ref, cur = make_frames(features, args.rows, seed=features)
        t_full, (_, verdict) = timed_median(partial(ours, ref, cur))
        print(
            f"  ours, all {features} features × {args.rows:,} rows per side: {t_full:.2f} s (median of {OUR_REPEATS}) "
            f"(dataset verdict {verdict.value}); Evidently not run at this size (≈ 5 s per feature)"
        )
        subset = list(ref.columns[: args.evidently_subset])
        rows.append(
            compare_case(
                f"{features} feat: {len(subset)} feat × {args.rows:,} rows",
                ref[subset],
                cur[subset],
            )
        )
        small_ref = ref.iloc[: args.evidently_rows]
        small_cur = cur.iloc[: args.evidently_rows]
        rows.append(
            compare_case(
                f"{features} feat: all × {args.evidently_rows:,} rows", small_ref, small_cur
            )
        )

    print(f"\n== Fleet: {50} features merged from device histograms, compared with a baseline")
    fleet_row = fleet(50, args.devices, args.per_device, args.repeats, seed=7)

    print("\n== Budgets")
    worst = min(r["ratio"] for r in rows)
    agree = all(r["all_agree"] for r in rows)
    speed_ok = worst >= SPEEDUP_BUDGET and agree
    print(
        f"  speed-up ≥ {SPEEDUP_BUDGET:.0f}× with the same verdicts: worst ratio {worst:.1f}×, "
        f"verdicts {'all agree' if agree else 'DIFFER'} → {'PASS' if speed_ok else 'FAIL'}"
    )
    fleet_budgets(fleet_row, args)


def fleet_budgets(row: dict[str, float], args: argparse.Namespace) -> None:
    """The ≤ 100 ms fleet budget for the library path and the server's, side by side."""
    library_s = row["merge_s"] + row["compare_s"]
    series_s = row["server_query_s"] + row["server_compare_s"]
    pre_s = row["premerged_query_s"] + row["server_compare_s"]
    old_s = row["sql_query_s"] + row["server_compare_s"]
    paths = (
        ("library (merge_arrays)", library_s),
        ("server, pre-merged rows", pre_s),
        ("server, per-series rows", series_s),
        ("server, old SQL merge", old_s),
    )
    for label, took in paths:
        print(
            f"  fleet drift, {label}, 50 features, {args.devices * args.per_device:,} "
            f"inferences ≤ {FLEET_BUDGET_S * 1e3:.0f} ms: {took * 1e3:.1f} ms → "
            f"{'PASS' if took <= FLEET_BUDGET_S else 'FAIL'}"
        )
    print(
        f"  per-series / pre-merged: {series_s / pre_s:.1f}×; pre-merged / library:"
        f" {pre_s / library_s:.2f}×; per-series / library: {series_s / library_s:.2f}×;"
        f" old SQL / per-series: {old_s / series_s:.2f}×"
    )


if __name__ == "__main__":
    main()
