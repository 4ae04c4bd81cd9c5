"""Evaluators of the model-performance rules: realized accuracy from late labels, accuracy
estimated without labels, and the labelled share of the inferences.

Each judges one scope member over the rule's window and returns one finding with its own
verdict (a rule's threshold can only add a condition, as for every detector); too few labels
(or no calibration) is insufficient data, never a 0.

- ``accuracy_drop``: reference accuracy minus the upper end of the realized accuracy's 95 %
  Wilson interval, so a drop fires only when the labels prove it: more than ``min_drop``
  (default 0.05) with at least ``min_labels`` (default 100) labels.
- ``estimated_accuracy_drop``: reference accuracy minus the upper end of the estimate's
  interval, a drift above ``min_drop``; insufficient when the version has no calibration or input drift makes the estimate
  unreliable (the drift rules speak then).
- ``label_coverage_low``: labelled share of the window's inferences, low below
  ``min_coverage`` (default 0.01) with at least ``min_inferences``; a
  version that sent no labels in the window nor in ``lookback_s`` before is not judged.

The reference accuracy is the rule's ``reference_accuracy`` parameter, else the accuracy of the
labelled baseline the version was calibrated on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from edgewatch.detectors import DriftResult, Verdict
from edgewatch.server.alert import Rule
from edgewatch.server.detect._context import Context, Window
from edgewatch.server.detect._members import Member
from edgewatch.server.performance import MAX_DRIFT_SHARE, PerformanceRow, window_performance

if TYPE_CHECKING:  # _evaluators imports this module to register the evaluators below
    from edgewatch.server.detect._evaluators import Evaluator, Finding

DEFAULT_MIN_LABELS = 100
DEFAULT_MIN_INFERENCES = 100
DEFAULT_MIN_DROP = 0.05
"""Accuracy points below the reference that count as a drop (after the interval's margin)."""
DEFAULT_MIN_COVERAGE = 0.01
DEFAULT_LOOKBACK_S = 7 * 86_400.0
"""Without labels in the window, coverage is judged only if labels came in this long before:
a version that never sends labels is not paged for it."""


def _finding(result: DriftResult, base: float | None = None) -> list[Finding]:
    from edgewatch.server.detect._evaluators import Finding

    return [Finding(result, None, base)]


def _insufficient(method: str, reason: str) -> list[Finding]:
    text = f"{method}: {reason}"
    return _finding(DriftResult(method, math.nan, math.nan, Verdict.INSUFFICIENT_DATA, text))


def _judged(
    method: str, score: float, limit: float, low_is_bad: bool, text: str, base: float | None
) -> list[Finding]:
    """The detector's verdict: ``score`` beyond ``limit`` (below it when ``low_is_bad``)."""
    bad = score < limit if low_is_bad else score > limit
    verdict = Verdict.DRIFT if bad else Verdict.NO_DRIFT
    return _finding(DriftResult(method, score, limit, verdict, text), base)


def _min_drop(rule: Rule) -> float:
    return float(rule.params.get("min_drop", DEFAULT_MIN_DROP))


def _window(
    ctx: Context, rule: Rule, member: Member, window: Window
) -> tuple[PerformanceRow, float | None]:
    row, reference = window_performance(
        ctx.store,
        member.selection,
        start=window.start,
        end=window.end,
        max_drift_share=float(rule.params.get("max_drift_share", MAX_DRIFT_SHARE)),
    )
    given = rule.params.get("reference_accuracy")
    return row, (float(given) if given is not None else reference)


def _accuracy_drop(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    row, reference = _window(ctx, rule, member, window)
    min_labels = int(rule.params.get("min_labels", DEFAULT_MIN_LABELS))
    c = row.classification
    if c is None or c.count < min_labels:
        return _insufficient(
            "accuracy_drop", f"{0 if c is None else c.count} labels (< {min_labels})"
        )
    if reference is None:
        return _insufficient("accuracy_drop", "no reference accuracy (labelled baseline or param)")
    text = (
        f"realized accuracy {c.accuracy:.1%} (95 % up to {c.accuracy_high:.1%}) from {c.count} "
        f"labels against {reference:.1%}"
    )
    drop = reference - c.accuracy_high
    return _judged("accuracy_drop", drop, _min_drop(rule), False, text, reference)


def _estimated_drop(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    row, reference = _window(ctx, rule, member, window)
    e = row.estimate
    min_inferences = int(rule.params.get("min_inferences", DEFAULT_MIN_INFERENCES))
    if e is None or reference is None:
        return _insufficient("estimated_accuracy_drop", "no calibration for the version")
    if e.count < min_inferences:
        return _insufficient("estimated_accuracy_drop", f"{e.count} scored inferences")
    if not row.estimate_reliable:
        return _insufficient("estimated_accuracy_drop", "input drift makes the estimate unreliable")
    text = (
        f"estimated accuracy {e.accuracy:.1%} (95 % {e.low:.1%}-{e.high:.1%}) from {e.count} "
        f"scores against {reference:.1%}"
    )
    drop = reference - e.high
    return _judged("estimated_accuracy_drop", drop, _min_drop(rule), False, text, reference)


def _coverage(ctx: Context, rule: Rule, member: Member, window: Window) -> list[Finding]:
    row, _ = _window(ctx, rule, member, window)
    min_inferences = int(rule.params.get("min_inferences", DEFAULT_MIN_INFERENCES))
    if row.coverage is None or row.inferences < min_inferences:
        return _insufficient("label_coverage", f"{row.inferences} inferences (< {min_inferences})")
    if row.labelled == 0:
        before = window.before(
            float(rule.params.get("lookback_s", ctx.scale.seconds(DEFAULT_LOOKBACK_S)))
        )
        earlier, _ = _window(ctx, rule, member, before)
        if earlier.labelled == 0:
            return _insufficient("label_coverage", "the version has not sent labels")
    text = f"{row.labelled} of {row.inferences} inferences labelled ({row.coverage:.1%})"
    limit = float(rule.params.get("min_coverage", DEFAULT_MIN_COVERAGE))
    return _judged("label_coverage", row.coverage, limit, True, text, None)


PERFORMANCE_EVALUATORS: Mapping[str, Evaluator] = {
    "accuracy_drop": _accuracy_drop,
    "estimated_accuracy_drop": _estimated_drop,
    "label_coverage_low": _coverage,
}
"""Detector name in a rule → evaluator, merged into ``EVALUATORS``."""
