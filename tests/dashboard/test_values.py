"""What the pages compute and how they write numbers: units, offline spans, drift ranking,
histogram buckets, and the ``edgewatch dashboard`` command's refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgewatch.contract import AlertOut as Alert
from edgewatch.contract import BucketsOut, EvidenceOut, SeriesOut, VersionCompareOut, WindowOut
from edgewatch.contract import DeviceOut as Device
from edgewatch.contract import DriftRowOut as DriftResult
from edgewatch.contract import HistogramOut as Histogram
from edgewatch.dashboard import _format as fmt
from edgewatch.dashboard._alert_links import by_urgency, evidence_url, subject_url
from edgewatch.dashboard._analysis import (
    accuracy_rows,
    latest_per_feature,
    offline_gaps,
    reporting_s,
)
from edgewatch.dashboard._charts import Marker, data_extent, time_chart
from edgewatch.server.cli import main

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (fmt.seconds(0.0215), "21.5 ms"),
        (fmt.seconds(0.00042), "420 µs"),
        (fmt.seconds(2.5), "2.5 s"),
        (fmt.seconds(None), "—"),
        (fmt.signed_seconds(-90.04), "-90 s"),
        (fmt.signed_seconds(0.0), "+0 s"),
        (fmt.size_bytes(80 * 2**20), "80.0 MiB"),
        (fmt.percent(0.01, 2), "1.00 %"),
        (fmt.watts(0.25), "250 mW"),
        (fmt.joules(0.4), "400 mJ"),
        (fmt.celsius(71.0), "71.0 °C"),
        (fmt.rate(23.0), "23 /s"),
        (fmt.percent(float("nan")), "—"),
        (fmt.duration(604_800), "7 d"),
        (fmt.ago(T0 - timedelta(minutes=10), T0), "10 min ago"),
    ],
)
def test_numbers_carry_units(shown: str, expected: str) -> None:
    assert shown == expected


def _device(
    status: str, last_seen: datetime, first_seen: datetime | None = None, device_id: str = "d"
) -> Device:
    none = dict.fromkeys(
        ("fleet", "model_name", "model_version", "hardware", "runtime", "host_arch", "os_type")
    )
    return Device(
        device_id=device_id,
        **none,
        service_name=None,
        power_sources=[],
        attributes={},
        first_seen=first_seen or T0 - timedelta(days=1),
        last_seen=last_seen,
        last_batch_key=None,
        clock_skew_s=None,
        status=status,
    )


def _every_minute(*spans: tuple[int, int]) -> SeriesOut:
    points = [(T0 + timedelta(minutes=m), 1.0) for a, b in spans for m in range(a, b)]
    return SeriesOut(
        metric="m", kind="gauge", agg="avg", resolution="1m", step_s=60.0, points=points
    )


def test_offline_gaps_shade_silences_longer_than_three_minutes() -> None:
    series = [_every_minute((0, 10), (12, 20), (30, 40))]  # a 2-min hole, then a 10-min hole
    gaps = offline_gaps(
        series,
        start=T0,
        end=T0 + timedelta(minutes=40),
        step_s=60,
        device=_device("online", T0 + timedelta(minutes=39)),
    )
    assert gaps == [(T0 + timedelta(minutes=20), T0 + timedelta(minutes=30))]


def test_offline_device_is_shaded_until_the_end_of_the_window() -> None:
    series = [_every_minute((0, 10))]
    end = T0 + timedelta(minutes=60)
    gaps = offline_gaps(
        series, start=T0, end=end, step_s=60, device=_device("offline", T0 + timedelta(minutes=9))
    )
    assert gaps == [(T0 + timedelta(minutes=9), end)]


def test_time_axis_fits_the_data_not_the_whole_window() -> None:
    end = T0 + timedelta(hours=1)
    five_minutes = _every_minute((50, 55))  # a fleet that started reporting ten minutes ago
    lines = {"p95": five_minutes}
    assert data_extent(lines, start=T0, end=end) == (
        T0 + timedelta(minutes=49),
        T0 + timedelta(minutes=55),
    )
    figure = time_chart(lines, unit="ms", start=T0, end=end)
    assert list(figure.layout.xaxis.range) == [
        T0 + timedelta(minutes=49),
        T0 + timedelta(minutes=55),
    ]
    alert = Marker(T0 + timedelta(minutes=59, seconds=30), "fired", "warning")
    assert data_extent(lines, start=T0, end=end, markers=[alert])[1] == end  # padded, clipped
    assert data_extent({}, start=T0, end=end) == (T0, end)  # nothing yet: the whole window


def test_rates_are_over_the_time_devices_reported_within_the_window() -> None:
    end = T0 + timedelta(hours=1)
    old = _device("online", end)  # first seen a day before the window
    new = _device("online", end, end - timedelta(minutes=5), "n")
    assert reporting_s([old, new], start=T0, end=end) == 3600.0
    assert reporting_s([new], start=T0, end=end) == 300.0  # the demo started five minutes ago
    just_now = _device("online", end, end, "j")
    assert reporting_s([just_now], start=T0, end=end) == 60.0  # one export, not a burst
    assert reporting_s([], start=T0, end=end) == 3600.0


def _alert(severity: str, fired_min: int, **labels: str) -> Alert:
    fired = T0 + timedelta(minutes=fired_min)
    return Alert(
        fingerprint=f"fp-{severity}-{fired_min}", rule="Rule", state="firing", severity=severity,
        labels=labels, annotations={}, value=None, active_at=fired, fired_at=fired,
        resolved_at=None, last_evaluated_at=None, ack=None, silenced_by=[], inhibited=False,
    )  # fmt: skip


def test_alerts_lead_to_their_evidence_and_their_device_or_version() -> None:
    on_device = _alert("warning", 5, device="dev a/1", model="m", version="1")
    on_version = _alert("critical", 9, model="classifier", version="1.1.0")
    fleet_wide = _alert("critical", 2)
    assert evidence_url(on_device) == "alerts?alert=fp-warning-5"
    assert subject_url(on_device) == "device?device=dev%20a%2F1"  # the device wins
    assert subject_url(on_version) == "versions?model=classifier&version=1.1.0"
    assert subject_url(fleet_wide) is None
    ordered = by_urgency([on_device, on_version, fleet_wide])
    assert ordered == [fleet_wide, on_version, on_device]  # critical first, longest-firing first


@pytest.mark.parametrize(
    ("method", "p_value"), [("ks", 0.001), ("chisquare", 0.001), ("psi", None)]
)
def test_a_significance_tests_score_is_its_p_value(method: str, p_value: float | None) -> None:
    e = EvidenceOut(
        detector="drift", method=method, score=0.001, threshold=0.05, verdict="drift",
        explanation="", window=WindowOut(from_=T0, to=T0), baseline=None,
    )  # fmt: skip
    assert e.p_value == p_value


def _result(feature: str, minute: int, score: float, threshold: float) -> DriftResult:
    return DriftResult(
        window_start=T0, window_end=T0 + timedelta(minutes=minute), scope="version",
        device=None, model="m", version="1", feature=feature, rule="drift", method="psi",
        score=score, threshold=threshold,
        verdict="drift" if score > threshold else "no_drift",
    )  # fmt: skip


def test_most_drifted_features_rank_newest_scores_against_their_thresholds() -> None:
    results = [
        _result("age", 5, 0.9, 0.2),  # old: superseded by the newer judgement
        _result("age", 10, 0.1, 0.2),
        _result("income", 10, 0.3, 0.2),
        _result("ks_feature", 10, 0.12, 0.05),  # another method's scale: 2.4 × threshold
    ]
    ranked = latest_per_feature(results)
    assert [r.feature for r in ranked] == ["ks_feature", "income", "age"]
    assert ranked[-1].score == 0.1


def test_histogram_buckets_follow_the_otlp_exponential_layout() -> None:
    h = Histogram(
        scale=0,
        zero_count=1,
        positive=BucketsOut(offset=1, bucket_counts=[2, 0, 3]),
        negative=BucketsOut(offset=0, bucket_counts=[4]),
        count=10,
        sum=None,
        min=None,
        max=None,
    )
    assert h.buckets() == [(-2.0, -1.0, 4), (0.0, 0.0, 1), (2.0, 4.0, 2), (8.0, 16.0, 3)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server", "127.0.0.1:4318", "--token", "t"], "must be an http:// or https:// URL"),
        (["--server", "http://127.0.0.1:4318", "--token", " "], "an admin token is needed"),
        (["--token", "t", "--port", "70000"], "is not a TCP port"),
    ],
)
def test_dashboard_command_refuses_bad_arguments(argv, message, capsys, monkeypatch) -> None:
    monkeypatch.delenv("EDGEWATCH_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", *argv]) == 2
    assert message in capsys.readouterr().err


def test_versions_page_shows_realized_and_estimated_accuracy_side_by_side() -> None:
    answer = {
        "verdict": "b_worse",
        "signals": [],
        "accuracy": {
            "a": {"labelled": 1200, "coverage": 0.5, "realized": 0.95, "realized_low": 0.94,
                  "realized_high": 0.96, "estimated": 0.951, "estimated_low": 0.94,
                  "estimated_high": 0.962, "estimate_reliable": True, "reference": 0.95},
            "b": {"labelled": 0, "coverage": 0.0, "realized": None, "realized_low": None,
                  "realized_high": None, "estimated": 0.71, "estimated_low": 0.68,
                  "estimated_high": 0.74, "estimate_reliable": False, "reference": None},
        },
    }  # fmt: skip
    comparison = VersionCompareOut.model_validate(answer)
    table = accuracy_rows(comparison, "v1", "v2.1")
    assert table is not None
    rows = table.set_index("version").to_dict("index")
    assert rows["v1"]["realized (late labels)"] == "95.0 % (94.0 %–96.0 %)"
    assert rows["v1"]["labelled"] == "1,200"
    assert rows["v2.1"]["realized (late labels)"] == "—"
    assert rows["v2.1"]["estimated (from scores)"].endswith("unreliable: inputs drifted")


def test_versions_page_says_when_no_version_has_accuracy() -> None:
    answer = {"verdict": "no_difference", "signals": [], "accuracy": {}}
    without = VersionCompareOut.model_validate(answer)
    assert without.accuracy == {}
    assert accuracy_rows(without, "v1", "v2") is None
