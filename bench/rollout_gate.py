"""Rollout gate benchmark: false fails over healthy canaries checked every hour, and the
device-hours of evidence each bad canary needs before the gate fails it.

Each simulated rollout puts a canary version on 6 devices of one hardware class beside 24 on
the established version (tests/canary_sim.py states the noise: 10 % hour-to-hour, 3 %
device-to-device on latency and energy, Poisson errors, binomial accuracy on 60 labels per
device-hour) and evaluates the gate after every hour. Healthy canaries run their whole
horizon even after passing, so every hourly look is a chance to fail them.

Run: ``.venv/bin/python bench/rollout_gate.py`` (options: ``--help``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from canary_sim import Canary, run_canary  # noqa: E402

from edgewatch.detectors import DEFAULT_ALPHA, GateOutcome  # noqa: E402

BAD = {
    "latency 1.3x": Canary(latency=1.3),
    "energy 1.3x": Canary(energy=1.3),
    "accuracy -5 points": Canary(accuracy_drop=0.05),
    "accuracy -5 no labels": Canary(accuracy_drop=0.05, labels=False),
    "error rate 3x": Canary(error_rate=3.0),
    "accuracy -5 no labels, bound": Canary(
        accuracy_drop=0.05, labels=False, map_variance_bound=True
    ),
}
"""``no labels``: accuracy is estimated (CBPE on each device-hour's score histogram, each version
calibrated on its own 10,000-row labelled baseline), the fleet sending no labels at all; beside
the measured case in the same run, the ratio of device-hours each needed is printed. ``bound``:
the same canaries with each arm's shared map variance the former, looser figure (the squared
count-weighted mean of the hours' map standard deviations) instead of the exact one."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=200, help="healthy canaries (default 200)")
    parser.add_argument("--bad", type=int, default=40, help="canaries per bad kind (default 40)")
    parser.add_argument("--hours", type=int, default=48, help="horizon in hours (default 48)")
    parser.add_argument(
        "--canary-devices",
        type=int,
        default=6,
        help="canary devices (default 6; 1 judges a lone canary by the established side's "
        "device-to-device spread)",
    )
    args = parser.parse_args()
    shape = {"canary_devices": args.canary_devices}
    t0 = time.perf_counter()
    healthy = [
        run_canary(Canary(**shape), seed, args.hours, stop_at_pass=False)
        for seed in range(args.healthy)
    ]
    fails = sum(o is GateOutcome.FAIL for o, _, _ in healthy)
    unlabelled = [
        run_canary(Canary(**shape, labels=False), seed, args.hours, stop_at_pass=False)
        for seed in range(args.healthy)
    ]
    unlabelled_fails = sum(o is GateOutcome.FAIL for o, _, _ in unlabelled)
    bound = [
        run_canary(
            Canary(**shape, labels=False, map_variance_bound=True),
            seed,
            args.hours,
            stop_at_pass=False,
        )
        for seed in range(args.healthy)
    ]
    passed = [
        h
        for o, h, _ in (run_canary(Canary(**shape), s, args.hours) for s in range(args.bad))
        if o is GateOutcome.PASS
    ]
    print(
        f"healthy: {fails}/{len(healthy)} failed over {args.hours} hourly looks "
        f"({fails / len(healthy):.1%}; stated bound {DEFAULT_ALPHA:.0%})"
    )
    print(
        f"healthy, no labels (estimated accuracy): {unlabelled_fails}/{len(unlabelled)} failed "
        f"({unlabelled_fails / len(unlabelled):.1%}; stated bound {DEFAULT_ALPHA:.0%}); "
        f"{sum(o is GateOutcome.PASS for o, _, _ in unlabelled)} passed"
    )
    print(
        f"the same, shared map variance the former bound: "
        f"{sum(o is GateOutcome.FAIL for o, _, _ in bound)}/{len(bound)} failed; "
        f"{sum(o is GateOutcome.PASS for o, _, _ in bound)} passed; verdicts differing from "
        f"the exact one's: {sum(a[0] is not b[0] for a, b in zip(unlabelled, bound, strict=True))}"
    )
    if passed:
        print(
            f"healthy: {len(passed)}/{args.bad} passed; canary device-hours to pass: "
            f"median {statistics.median(passed):g}, max {max(passed)}"
        )
    print(f"{'bad canary':<30} {'failed':>8} {'device-hours median':>20} {'p90':>6} {'max':>6}")
    medians: dict[str, float] = {}
    for name, canary in BAD.items():
        runs = [
            run_canary(replace(canary, **shape), 10_000 + s, args.hours) for s in range(args.bad)
        ]
        hours = sorted(h for o, h, _ in runs if o is GateOutcome.FAIL)
        p90 = hours[min(len(hours) - 1, int(0.9 * len(hours)))] if hours else 0
        medians[name] = statistics.median(hours) if hours else math.nan
        print(
            f"{name:<30} {len(hours):>4}/{len(runs):<3} {medians[name]:>20g}"
            f" {p90:>6} {max(hours, default=0):>6}"
        )
    measured, estimated = medians["accuracy -5 points"], medians["accuracy -5 no labels"]
    print(
        f"accuracy -5 points: median device-hours to fail without labels / with labels = "
        f"{estimated:g} / {measured:g} = {estimated / measured:.2f}x"
    )
    exact, former = medians["accuracy -5 no labels"], medians["accuracy -5 no labels, bound"]
    print(
        f"accuracy -5 no labels: median device-hours to fail, exact map variance / former "
        f"bound = {exact:g} / {former:g} = {exact / former:.2f}x"
    )
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
