"""The fleet view of device-scope drift: after each evaluation of a ``drift_fdr`` rule, one
recorded row per model version ranking the devices and cohorts (hardware class, fleet, site)
that explain its drift, shown with the drift results (``GET /api/v1/drift``, scope
``version``, method ``drift_fdr/cohorts``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from edgewatch.detectors import Verdict, rank_cohorts
from edgewatch.server.alert import Rule
from edgewatch.server.detect._context import Window
from edgewatch.server.detect._evaluators import Finding
from edgewatch.server.detect._members import Member
from edgewatch.server.store import EvaluationRow

COHORT_METHOD = "drift_fdr/cohorts"
SITE_ATTRIBUTES = ("edgewatch.site", "site")
"""Resource attributes read as a device's site, first found wins."""
TOP = 5


def _cohorts(member: Member) -> dict[str, str]:
    d = member.device
    if d is None:
        return {}
    out = {"hardware": d.hardware or "unknown", "fleet": d.fleet or "none"}
    site = next((str(d.attributes[k]) for k in SITE_ATTRIBUTES if k in d.attributes), None)
    if site is not None:
        out["site"] = site
    return out


def cohort_rows(
    rule: Rule, findings: Sequence[tuple[Member, Finding]], window: Window
) -> list[EvaluationRow]:
    """One row per model version with drifted devices: the top cohorts by share of the drift."""
    by_version: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    members: dict[str, Member] = {}
    for member, finding in findings:
        device, model, version = member.get("device"), member.get("model"), member.get("version")
        if device is None or model is None or version is None:
            continue
        members[device] = member
        scores = by_version[(model, version)]
        drifted = finding.result.verdict is Verdict.DRIFT
        scores[device] = max(scores.get(device, 0.0), finding.result.score if drifted else 0.0)
    rows = []
    for (model, version), scores in sorted(by_version.items()):
        ranked = rank_cohorts(scores, {d: _cohorts(members[d]) for d in scores}, floor=0.0)
        if not ranked:
            continue
        text = "; ".join(
            f"{c.dimension}={c.value}: {c.share:.0%} of the drift, {c.drifted} of {c.devices}"
            f" devices drifted (lift {c.lift:.1f}x)"
            for c in ranked[:TOP]
        )
        rows.append(
            EvaluationRow(
                rule=rule.name,
                detector=rule.detector,
                window_start=window.start,
                window_end=window.end,
                scope="version",
                device_id=None,
                fleet=None,
                model_name=model,
                model_version=version,
                feature=None,
                method=COHORT_METHOD,
                score=ranked[0].share,
                threshold=0.0,
                verdict=Verdict.DRIFT.value,
                explanation=f"{model} {version}: {text}",
                baseline_id=None,
            )
        )
    return rows
