"""Feature drift reads every feature of a member in one grouped query: the grouped fetch
returns exactly what one query per feature returns (numeric and categorical, devices, a
version and fleets, raw and rolled-up windows, a name that JSON must escape), and the
findings are those of the per-feature evaluation, in the same order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from otlp_wire import exp_metric, exp_point, kv, resource_attributes, sum_metric

from edgewatch.collector import semconv
from edgewatch.contract import from_unix_s
from edgewatch.detectors import (
    CategoricalCounts,
    DriftResult,
    ExpHistogram,
    Verdict,
    drift,
    empty,
    from_values,
)
from edgewatch.server.alert import Rule, Scope, ScopeLevel, Threshold
from edgewatch.server.detect import EVALUATORS, Finding, Member, members
from edgewatch.server.detect._context import CATEGORY_KEY, FEATURE_KEY, Context, Signal, Window
from edgewatch.server.detect._profile import categorical_profile, numeric_profile
from edgewatch.server.ingest import CardinalityLimiter, IngestLimits, convert
from edgewatch.server.store import Store, StoreConfig

pytestmark = pytest.mark.timeout(120)

QUOTED = 'say "hi" \\ bye'
"""A feature name that JSON escapes (quotes and a backslash)."""
NUMERIC = ("f00", "f01", QUOTED, "old")
CATEGORICAL = ("color", QUOTED, "old")
COLORS = ("red", "green", "blue")
DEVICES = (("dev-0", "fleet-a"), ("dev-1", "fleet-a"), ("dev-2", "fleet-b"))
"""dev-2 reports neither ``f01`` nor the quoted categorical feature."""
MINUTES = 10
OLD_S = 8 * 3600.0
"""The ``old`` features report once, this long before now: known, but no data in a window."""


def _export(
    device: str, fleet: str, end_s: float, rng: np.random.Generator, *, old: bool
) -> ExportMetricsServiceRequest:
    end_ns, start_ns = int(end_s * 1e9), int((end_s - 60) * 1e9)
    own = int(device[-1])
    numeric = ("old",) if old else tuple(f for f in NUMERIC if f != "old")
    categorical = ("old",) if old else tuple(f for f in CATEGORICAL if f != "old")
    if device == "dev-2":
        numeric = tuple(f for f in numeric if f != "f01")
        categorical = tuple(f for f in categorical if f != QUOTED)
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(resource_attributes(device, fleet=fleet))
    rm.scope_metrics.add().metrics.extend(
        [
            exp_metric(
                semconv.FEATURE_VALUE,
                "1",
                [
                    exp_point(
                        from_values(rng.normal(i - 1 + own / 2, 1.0 + i, 100)),
                        start_ns,
                        end_ns,
                        [kv(semconv.FEATURE_NAME, f)],
                    )
                    for i, f in enumerate(numeric)
                ],
            ),
            sum_metric(
                semconv.FEATURE_CATEGORY_COUNT,
                [
                    (int(n), [kv(semconv.FEATURE_NAME, f), kv(semconv.FEATURE_CATEGORY, c)])
                    for f in categorical
                    for c, n in zip(COLORS, rng.multinomial(100, [0.5, 0.3, 0.2]), strict=True)
                ],
                start_ns,
                end_ns,
            ),
        ]
    )
    return request


@dataclass(frozen=True, slots=True)
class Seeded:
    store: Store
    now_s: float


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """Three devices in two fleets, ten minutes of features each, rolled up, with a baseline
    of every feature but ``f01`` (numeric) and ``color`` (categorical)."""
    now_s = (time.time() // 60) * 60
    rng = np.random.default_rng(3)
    limiter = CardinalityLimiter(max_series_per_metric=1000, max_series_per_device=1000)
    with Store.open(tmp_path / "x.duckdb", StoreConfig(maintenance=False)) as store:
        for device, fleet in DEVICES:
            ends = [now_s - OLD_S] + [now_s - 60 * k for k in range(MINUTES)]
            for i, end_s in enumerate(ends):
                converted = convert(
                    _export(device, fleet, end_s, rng, old=i == 0),
                    received_s=now_s,
                    limits=IngestLimits(),
                    limiter=limiter,
                )
                assert not converted.rejected
                store.submit(converted.batch).result(10)
        store.roll_up()
        numeric = [numeric_profile(f, rng.normal(0, 1, 2000)) for f in NUMERIC if f != "f01"]
        categorical = [
            categorical_profile(f, list(rng.choice(COLORS, 2000))) for f in CATEGORICAL[1:]
        ]
        store.baselines.create(
            model_name="classifier",
            model_version="1.0.0",
            source="upload",
            rows=2000,
            features=sorted({*NUMERIC, *CATEGORICAL}),
            profiles=[*numeric, *categorical],
            now=datetime.now(UTC),
        )
        yield Seeded(store, now_s)


def _members(ctx: Context) -> list[Member]:
    levels = (ScopeLevel.DEVICE, ScopeLevel.VERSION, ScopeLevel.FLEET)
    found = [m for level in levels for m in members(level, ctx.devices)]
    assert [m.level for m in found].count(ScopeLevel.FLEET) == 2
    return found


WINDOWS_S = (1800.0, 6 * 3600.0)
"""Raw points, and the hourly rollups (categorical counts always read raw points)."""


@pytest.mark.parametrize("window_s", WINDOWS_S)
def test_grouped_fetch_is_the_per_feature_fetch(seeded: Seeded, window_s: float) -> None:
    ctx = Context(
        seeded.store, seeded.now_s, seeded.store.list_devices(now=from_unix_s(seeded.now_s))
    )
    window = Window(seeded.now_s - window_s, seeded.now_s + 30)
    metric = semconv.FEATURE_VALUE
    counted = semconv.FEATURE_CATEGORY_COUNT
    for member in _members(ctx):
        names = ctx.features(member, metric)
        assert "old" in names and QUOTED in names
        grouped = ctx.histograms(member, Signal(metric), FEATURE_KEY, window)
        assert set(grouped) == set(names) - {"old"}
        for name in names:
            single = ctx.histogram(member, Signal(metric, ((FEATURE_KEY, name),)), window)
            assert grouped.get(name, empty()) == single, (member.labels, name)
            assert (single.count > 0) == (name != "old")
        names = ctx.features(member, counted)
        assert "old" in names
        by = ctx.counts_by(member, counted, CATEGORY_KEY, FEATURE_KEY, window)
        assert set(by) == set(names) - {"old"}
        for name in names:
            single_counts = ctx.counts(
                member, counted, CATEGORY_KEY, window, ((FEATURE_KEY, name),)
            )
            assert by.get(name, CategoricalCounts({})) == single_counts, (member.labels, name)
    assert QUOTED in ctx.features(members(ScopeLevel.DEVICE, ctx.devices)[0], counted)


def _per_feature(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    """The evaluation as it was before the grouped fetch: one query per feature."""
    numeric = rule.signal == semconv.FEATURE_VALUE
    kind = "numeric" if numeric else "categorical"
    findings = []
    for name in ctx.features(member, rule.signal):
        ref = ctx.reference(member, name, (kind,))
        if ref is None:
            reason = f"psi: no baseline with a {kind} profile of {name!r}"
            findings.append(
                Finding(DriftResult("psi", np.nan, np.nan, Verdict.INSUFFICIENT_DATA, reason), name)
            )
            continue
        attrs = ((FEATURE_KEY, name),)
        cur: ExpHistogram | CategoricalCounts = (
            ctx.histogram(member, Signal(rule.signal, attrs), window)
            if numeric
            else ctx.counts(member, rule.signal, CATEGORY_KEY, window, attrs)
        )
        result = drift(ref[0], cur, "psi", 0.2, min_samples=50)
        findings.append(Finding(result, name, None, ref[1]))
    return findings


@pytest.mark.parametrize("metric", [semconv.FEATURE_VALUE, semconv.FEATURE_CATEGORY_COUNT])
def test_findings_are_those_of_the_per_feature_evaluation(seeded: Seeded, metric: str) -> None:
    ctx = Context(
        seeded.store, seeded.now_s, seeded.store.list_devices(now=from_unix_s(seeded.now_s))
    )
    window = Window(seeded.now_s - 1800, seeded.now_s + 30)
    rule = Rule(
        "FeatureDrift",
        "psi",
        metric,
        Threshold(">", 0.2),
        Scope(ScopeLevel.DEVICE),
        {"threshold": 0.2, "min_samples": 50},
    )
    for member in _members(ctx):
        findings = EVALUATORS["psi"](ctx, rule, member, window)
        assert repr(findings) == repr(_per_feature(ctx, rule, member, window)), member.labels
    # On a device: judged features, one without a baseline, and one without data.
    device = members(ScopeLevel.DEVICE, ctx.devices)[0]
    found = {f.feature: f.result for f in EVALUATORS["psi"](ctx, rule, device, window)}
    unbased = "f01" if metric == semconv.FEATURE_VALUE else "color"
    assert "no baseline" in found.pop(unbased).explanation
    assert found.pop("old").verdict is Verdict.INSUFFICIENT_DATA
    assert found and all(r.verdict is not Verdict.INSUFFICIENT_DATA for r in found.values())


def test_counts_and_histograms_take_the_same_points_at_the_window_edges(seeded: Seeded) -> None:
    """Every read is over [start, end): a point exactly at the start counts and one exactly at
    the end does not, for category counts as for histograms (points fall on whole minutes)."""
    ctx = Context(
        seeded.store, seeded.now_s, seeded.store.list_devices(now=from_unix_s(seeded.now_s))
    )
    member = members(ScopeLevel.DEVICE, ctx.devices)[0]
    feature = Signal(semconv.FEATURE_VALUE, ((FEATURE_KEY, "f00"),))
    color = ((FEATURE_KEY, "color"),)
    for start_ago, end_ago, minutes in ((300, 90, 4), (300, 120, 3), (290, 120, 2)):
        window = Window(seeded.now_s - start_ago, seeded.now_s - end_ago)
        counts = ctx.counts(member, semconv.FEATURE_CATEGORY_COUNT, CATEGORY_KEY, window, color)
        assert ctx.histogram(member, feature, window).count == 100 * minutes
        assert sum(counts.counts.values()) == 100 * minutes
