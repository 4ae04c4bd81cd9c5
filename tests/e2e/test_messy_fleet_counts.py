"""``Fleet.counts`` (what bench/fleet_rules.py evaluates) is what each minute's export
carries: the same inferences and errors, and None exactly when the device does not report."""

from __future__ import annotations

from messy_fleet import Fleet, fleet, incidents

from edgewatch.collector import semconv

T = 1_764_475_200.0  # a whole minute


def _exported(request: object, device: str) -> tuple[int, int] | None:
    for rm in request.resource_metrics:  # type: ignore[attr-defined]
        attrs = {a.key: a.value.string_value for a in rm.resource.attributes}
        if attrs[semconv.DEVICE_ID] != device:
            continue
        for metric in rm.scope_metrics[0].metrics:
            if metric.name == semconv.INFERENCE_COUNT:
                by = {p.attributes[0].value.string_value: p.as_int for p in metric.sum.data_points}
                ok, errors = by[semconv.OUTCOME_OK], by[semconv.OUTCOME_ERROR]
                return ok + errors, errors
    return None


def test_counts_match_the_exports_with_incidents_and_restarts() -> None:
    specs = fleet()
    the_fleet = Fleet(specs, incidents(T + 600))
    seen_gap = seen_errors = False
    for minute in range(0, 24 * 60, 97):
        end_s = T + 60 * minute
        request = the_fleet.minute(specs, end_s)
        for spec in specs:
            counts = the_fleet.counts(spec, end_s)
            assert counts == _exported(request, spec.device_id), (spec.device_id, minute)
            seen_gap |= counts is None
            seen_errors |= counts is not None and counts[1] > 0
    assert seen_gap and seen_errors
