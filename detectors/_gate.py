"""The rollout gate: a sequential pass / fail / wait verdict for a canary model version.

Each signal (latency, energy per inference, errors, throughput, heartbeats, confidence,
accuracy measured from labels or estimated without them) compares the canary with a reference on the same hardware class: the established
version on comparable devices, or a fixed figure from the hardware class's profile. Evidence
arrives in device-hours (one summary per device per hour); the effect's always-valid
confidence sequence (``_sequential``) decides:

- ``fail``: the canary is worse than the reference by more than ``fail_margin``, confidently;
- ``pass``: it is worse by less than ``pass_margin``, confidently (improvements pass);
- ``wait``: neither yet.

False-fail rate: a canary that is truly no worse than its reference on every signal fails
with probability at most ``alpha`` however often the gate is checked, because each of the
``m`` (hardware class × signal) tests runs its confidence sequence at ``alpha / m``
(Bonferroni) and fails only when the whole interval lies beyond ``fail_margin`` ≥ 0. The
Gaussian approximation makes the guarantee asymptotic; bench/rollout_gate.py measures it.

Example:
    >>> canary = Arm(values=(1.3, 1.31, 1.29, 1.3, 1.32, 1.28))
    >>> old = Arm(values=(1.0, 1.01, 0.99, 1.0, 1.02, 0.98))
    >>> evaluate_gate({"rpi4": ClassEvidence(6, {"latency": (canary, old)})}).outcome
    <GateOutcome.FAIL: 'fail'>
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edgewatch.detectors._sequential import DEFAULT_MIXING_SD, confidence_sequence

DEFAULT_ALPHA = 0.05
"""Overall false-fail rate of the gate, over all hardware classes and signals and all looks."""
PSEUDO_EVENTS = 0.5
"""Added to an arm's event count before taking logs (zero errors is evidence, not a crash), and
the doubt a proportion of exactly 0 or 1 keeps: its variance is at least this over the trials."""


class GateOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WAIT = "wait"


class SignalKind(enum.StrEnum):
    LOG_MEAN = "log_mean"
    """Positive per-device-hour values (latency, energy, throughput): ratio of geometric means."""
    RATE = "rate"
    """Events per exposure (errors per inference): ratio of rates."""
    PROPORTION = "proportion"
    """Hits per trial (correct per labelled, missed heartbeats per expected): difference."""


@dataclass(frozen=True, slots=True)
class SignalRule:
    """How one signal is judged. Margins are relative (0.05 = 5 % worse) for ``log_mean`` and
    ``rate``, absolute (0.01 = 1 point) for ``proportion``."""

    kind: SignalKind
    higher_is_worse: bool
    fail_margin: float
    pass_margin: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_margin <= self.pass_margin:
            raise ValueError(
                f"need 0 <= fail_margin <= pass_margin, got {self.fail_margin}, {self.pass_margin}"
            )

    def threshold(self, margin: float) -> float:
        """The margin on the scale of the effect (log ratio, or points)."""
        return margin if self.kind is SignalKind.PROPORTION else math.log1p(margin)


DEFAULT_RULES: Mapping[str, SignalRule] = {
    "latency": SignalRule(SignalKind.LOG_MEAN, True, 0.05, 0.15),
    "energy": SignalRule(SignalKind.LOG_MEAN, True, 0.05, 0.15),
    "throughput": SignalRule(SignalKind.LOG_MEAN, False, 0.05, 0.15),
    "confidence": SignalRule(SignalKind.LOG_MEAN, False, 0.02, 0.05),
    "errors": SignalRule(SignalKind.RATE, True, 0.25, 1.0),
    "accuracy": SignalRule(SignalKind.PROPORTION, False, 0.01, 0.03),
    "heartbeats": SignalRule(SignalKind.PROPORTION, True, 0.02, 0.05),
    "estimated_accuracy": SignalRule(SignalKind.PROPORTION, False, 0.01, 0.03),
}
"""Signals by name. ``heartbeats`` counts missed heartbeats per expected one; ``accuracy`` is
measured where labels arrive; ``estimated_accuracy`` is estimated (CBPE on score histograms,
each version with its own calibration) where they do not, its arms carrying the calibration
maps' error as ``Arm.shared_variance``."""


@dataclass(frozen=True, slots=True)
class Arm:
    """One side's evidence for one signal, one entry per device-hour: ``values`` for
    ``log_mean`` signals, ``events`` with their ``exposure`` for ``rate``/``proportion``, and
    optionally the ``devices`` they came from, so that the variance accounts for hours of one
    device being alike (cluster-robust) rather than counting them as independent."""

    values: tuple[float, ...] = ()
    events: tuple[float, ...] = ()
    exposure: tuple[float, ...] = ()
    devices: tuple[str, ...] = ()
    shared_variance: float = 0.0
    """Variance on the effect's scale that every device-hour of the arm shares and more hours do
    not average away: an estimated accuracy's calibration-map error (one map judges them all).
    It is added to the arm's sampling variance, keeping the confidence sequence valid."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.shared_variance) and self.shared_variance >= 0.0):
            raise ValueError(f"shared_variance must be finite and >= 0, got {self.shared_variance}")
        if len(self.events) != len(self.exposure):
            raise ValueError(f"events ({len(self.events)}) and exposure ({len(self.exposure)})")
        if self.devices and len(self.devices) != self.device_hours:
            raise ValueError(
                f"devices ({len(self.devices)}) and device-hours ({self.device_hours})"
            )

    @property
    def device_hours(self) -> int:
        return max(len(self.values), len(self.events))


Reference = Arm | float
"""The established version's evidence, or a fixed figure (a profile's) for ``log_mean``."""


@dataclass(frozen=True, slots=True)
class ClassEvidence:
    """What one hardware class holds: canary devices seen and (canary, reference) per signal."""

    canary_devices: int
    signals: Mapping[str, tuple[Arm, Reference]]


@dataclass(frozen=True, slots=True)
class GateConfig:
    """The gate's parameters; ``alpha`` is the overall false-fail rate."""

    alpha: float = DEFAULT_ALPHA
    mixing_sd: float = DEFAULT_MIXING_SD
    min_device_hours: int = 3
    """Per arm and signal before any verdict: fewer give no variance to speak of."""
    min_devices: int = 2
    """Canary devices a hardware class needs before it may pass (a fail needs only evidence)."""
    rules: Mapping[str, SignalRule] = field(default_factory=lambda: dict(DEFAULT_RULES))

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_device_hours < 2 or self.min_devices < 1:
            raise ValueError("min_device_hours must be >= 2 and min_devices >= 1")


@dataclass(frozen=True, slots=True)
class SignalResult:
    """One signal's verdict. ``estimate``/``lower``/``upper`` are how much worse the canary is:
    a ratio (1.3 = 30 % worse) for ``log_mean``/``rate``, points (0.05) for ``proportion``."""

    signal: str
    outcome: GateOutcome
    estimate: float
    lower: float
    upper: float
    canary_device_hours: int
    reference_device_hours: int
    """0 when the reference is a profile's fixed figure."""
    detail: str


@dataclass(frozen=True, slots=True)
class ClassVerdict:
    hardware_class: str
    outcome: GateOutcome
    canary_devices: int
    signals: tuple[SignalResult, ...]

    @property
    def failed(self) -> list[str]:
        return [s.signal for s in self.signals if s.outcome is GateOutcome.FAIL]


@dataclass(frozen=True, slots=True)
class GateResult:
    """The overall verdict, each hardware class's, and the per-test alpha used."""

    outcome: GateOutcome
    classes: tuple[ClassVerdict, ...]
    alpha: float
    test_alpha: float

    @property
    def failed(self) -> list[str]:
        """``class/signal`` of every failed signal."""
        return [f"{c.hardware_class}/{s}" for c in self.classes for s in c.failed]


def _spread(residuals: Sequence[float], devices: Sequence[str]) -> float:
    """n² × the variance of a mean of ``residuals``: the larger of the independent estimate
    and the cluster-robust one over ``devices`` (sandwich, with the G/(G−1) correction)."""
    n = len(residuals)
    iid = sum(r * r for r in residuals) * n / max(n - 1, 1)
    if not devices:
        return iid
    sums: dict[str, float] = {}
    for r, d in zip(residuals, devices, strict=True):
        sums[d] = sums.get(d, 0.0) + r
    g = len(sums)
    clustered = sum(v * v for v in sums.values()) * g / (g - 1) if g > 1 else math.inf
    return max(iid, clustered)


def _log_mean_arm(arm: Arm) -> tuple[float, float, int, float]:
    """Mean of the logs, its variance (infinite from a single device), the number of devices
    (0 when not given), and the variance of a device's mean log across devices (NaN below two)."""
    pairs = [
        (math.log(v), d)
        for v, d in zip(arm.values, arm.devices or _none(arm), strict=True)
        if v > 0
    ]
    logs = [x for x, _ in pairs]
    mean = sum(logs) / len(logs)
    devices = [d for _, d in pairs] if arm.devices else []
    variance = _spread([x - mean for x in logs], devices) / len(logs) ** 2
    by_device: dict[str, list[float]] = {}
    for x, d in pairs:
        by_device.setdefault(d, []).append(x)
    means = [sum(xs) / len(xs) for xs in by_device.values()]
    g = len(means) if devices else 0
    centre = sum(means) / len(means)
    between = sum((m - centre) ** 2 for m in means) / (g - 1) if g > 1 else math.nan
    return mean, variance, g, between


def _none(arm: Arm) -> list[str]:
    return [""] * arm.device_hours


def _one_device(variance: float, devices: int, other_between: float) -> float:
    """A side measured on one device cannot tell the version from that device: its mean is
    taken to vary as one device's mean does on the other side (the between-device variance
    there), assuming devices of a class differ alike whichever version they run."""
    if devices == 1 and math.isinf(variance) and math.isfinite(other_between):
        return other_between
    return variance


def _log_mean(canary: Arm, reference: Reference) -> tuple[float, float]:
    mean_c, var_c, g_c, between_c = _log_mean_arm(canary)
    if isinstance(reference, Arm):
        mean_r, var_r, g_r, between_r = _log_mean_arm(reference)
        var_c, var_r = _one_device(var_c, g_c, between_r), _one_device(var_r, g_r, between_c)
        return mean_c - mean_r, var_c + var_r
    return mean_c - math.log(reference), var_c


def _ratio(arm: Arm) -> tuple[float, float]:
    """Events per exposure and the variance of its log (delta method)."""
    events = sum(arm.events) + PSEUDO_EVENTS
    exposure = sum(arm.exposure)
    rate = events / exposure
    residuals = [e - rate * n for e, n in zip(arm.events, arm.exposure, strict=True)]
    # Poisson's variance as a floor: device-hours that happen to agree prove little.
    return rate, max(_spread(residuals, arm.devices), events) / (events * events)


def _rate(canary: Arm, reference: Reference) -> tuple[float, float]:
    if not isinstance(reference, Arm):
        raise ValueError("a rate signal needs the established version's counts, not a figure")
    rate_c, var_c = _ratio(canary)
    rate_r, var_r = _ratio(reference)
    return math.log(rate_c / rate_r), var_c + var_r


def _share(arm: Arm) -> tuple[float, float]:
    total = sum(arm.exposure)
    p = sum(arm.events) / total
    residuals = [e - p * n for e, n in zip(arm.events, arm.exposure, strict=True)]
    # Binomial variance as a floor, with PSEUDO_EVENTS of doubt at p = 0 or 1.
    binomial = max(p * (1 - p), PSEUDO_EVENTS / total) / total
    return p, max(_spread(residuals, arm.devices) / (total * total), binomial)


def _proportion(canary: Arm, reference: Reference) -> tuple[float, float]:
    if not isinstance(reference, Arm):
        raise ValueError("a proportion signal needs the established version's counts")
    p_c, var_c = _share(canary)
    p_r, var_r = _share(reference)
    return p_c - p_r, var_c + var_r


_EFFECTS = {
    SignalKind.LOG_MEAN: _log_mean,
    SignalKind.RATE: _rate,
    SignalKind.PROPORTION: _proportion,
}


def evaluate_signal(
    name: str,
    rule: SignalRule,
    canary: Arm,
    reference: Reference,
    alpha: float,
    config: GateConfig,
) -> SignalResult:
    """One signal's verdict at confidence-sequence level ``alpha``."""
    ref_hours = reference.device_hours if isinstance(reference, Arm) else 0
    enough = canary.device_hours >= config.min_device_hours and (
        ref_hours >= config.min_device_hours or not isinstance(reference, Arm)
    )
    if not enough:
        return SignalResult(
            name,
            GateOutcome.WAIT,
            math.nan,
            -math.inf,
            math.inf,
            canary.device_hours,
            ref_hours,
            f"waiting for {config.min_device_hours} device-hours on each side",
        )
    effect, variance = _EFFECTS[rule.kind](canary, reference)
    variance += canary.shared_variance
    if isinstance(reference, Arm):
        variance += reference.shared_variance
    if not rule.higher_is_worse:
        effect = -effect
    cs = confidence_sequence(effect, variance, alpha, config.mixing_sd)
    if cs.lower > rule.threshold(rule.fail_margin):
        outcome, detail = GateOutcome.FAIL, f"worse by more than {rule.fail_margin:g}"
    elif cs.upper < rule.threshold(rule.pass_margin):
        outcome, detail = GateOutcome.PASS, f"worse by less than {rule.pass_margin:g}"
    else:
        outcome, detail = GateOutcome.WAIT, "not enough evidence either way yet"
    if rule.kind is SignalKind.PROPORTION:
        shown = (cs.estimate, cs.lower, cs.upper)
    else:
        shown = (_exp(cs.estimate), _exp(cs.lower), _exp(cs.upper))
    return SignalResult(name, outcome, *shown, canary.device_hours, ref_hours, detail)


def _exp(x: float) -> float:
    """exp that saturates instead of overflowing (e^700 is near the float maximum)."""
    return math.exp(min(x, 700.0))


def evaluate_gate(
    evidence: Mapping[str, ClassEvidence], config: GateConfig | None = None
) -> GateResult:
    """Every hardware class's verdict and the overall one: ``fail`` if any class fails,
    ``pass`` once every class passes, ``wait`` otherwise (and with no evidence at all)."""
    config = config or GateConfig()
    tests = sum(1 for ev in evidence.values() for name in ev.signals if name in config.rules)
    test_alpha = config.alpha / max(tests, 1)
    classes = []
    for hardware_class, ev in sorted(evidence.items()):
        results = tuple(
            evaluate_signal(name, config.rules[name], canary, ref, test_alpha, config)
            for name, (canary, ref) in sorted(ev.signals.items())
            if name in config.rules
        )
        outcomes = {r.outcome for r in results}
        if GateOutcome.FAIL in outcomes:
            outcome = GateOutcome.FAIL
        elif results and outcomes == {GateOutcome.PASS} and ev.canary_devices >= config.min_devices:
            outcome = GateOutcome.PASS
        else:
            outcome = GateOutcome.WAIT
        classes.append(ClassVerdict(hardware_class, outcome, ev.canary_devices, results))
    kinds = {c.outcome for c in classes}
    if GateOutcome.FAIL in kinds:
        overall = GateOutcome.FAIL
    elif kinds == {GateOutcome.PASS}:
        overall = GateOutcome.PASS
    else:
        overall = GateOutcome.WAIT
    return GateResult(overall, tuple(classes), config.alpha, test_alpha)
