"""Which power sources does this device have? ``python -m edgewatch.collector.power``

Prints every source the collector would use (RAPL, NVML, Jetson INA3221, battery, hwmon) and
one reading from each, or says that there is none — then ``hw.power`` is not reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from edgewatch.collector import semconv
from edgewatch.collector._power import detect_power_samplers, power_sources, rapl_zones
from edgewatch.collector._types import Reading, SamplerError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edgewatch.collector.power", description=__doc__
    )
    parser.add_argument("--root", default="/", help="filesystem root holding sys/ (default /)")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="time between the two samples (RAPL needs two)"
    )
    args = parser.parse_args(argv)
    if args.seconds < 0:
        parser.error(f"--seconds must be >= 0, got {args.seconds}")
    samplers = detect_power_samplers(args.root)
    print(f"{semconv.POWER_SOURCES}={power_sources(samplers)}")
    if rapl_zones(args.root) and not any(s.name == semconv.POWER_RAPL for s in samplers):
        print(
            "RAPL counters exist but energy_uj is not readable by this user "
            "(root only on this kernel): run as root or grant read access to use them"
        )
    if not samplers:
        print("no power source found: hw.power and ml.inference.energy will not be reported")
        return 0
    for s in samplers:
        _sample(s)
    time.sleep(args.seconds)
    for s in samplers:
        readings, problems = _sample(s)
        for r in readings:
            rail = r.attributes.get(semconv.HW_NAME) or r.attributes.get(semconv.HW_ID, "")
            print(f"  {r.attributes[semconv.POWER_SOURCE]:8s} {rail:24s} {r.value:10.3f} W")
        for p in problems:
            print(f"  {s.name:8s} error: {p}")
    return 0


def _sample(sampler: object) -> tuple[list[Reading], list[str]]:
    try:
        return list(sampler.sample()), []  # type: ignore[attr-defined]
    except SamplerError as e:
        return e.readings, e.errors
    except Exception as e:
        return [], [repr(e)]


if __name__ == "__main__":
    sys.exit(main())
