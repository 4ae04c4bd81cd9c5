"""Wall time of one scheduler pass over the built-in rules, per rule, on a copy of a real
store (``edgewatch up --data-dir DIR`` run for a few minutes, then stopped).

Every built-in rule is evaluated once at the store's newest data time, scaled as ``edgewatch
up`` scales them (60x by default), through one tick's ``Context`` as ``Scheduler.run_once``
builds it, in the rules file's order. Prints a per-rule table (wall and CPU milliseconds,
store reads, members, findings: on a shared machine the read count and CPU time say more than
the wall time) and, with ``--findings FILE``, writes every finding so two builds can be compared
verdict for verdict (``--compare FILE``).

Run: ``.venv/bin/python bench/scheduler_pass.py --db DIR/edgewatch.duckdb``
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from edgewatch.server.alert import load_default_rules
from edgewatch.server.alerting._scheduler import evaluate_rule
from edgewatch.server.detect import Context, TimeScale, scale_ruleset
from edgewatch.server.store import Store, StoreConfig


def _finding_key(member_labels: tuple[tuple[str, str], ...], f: object) -> dict[str, object]:
    r = f.result  # type: ignore[attr-defined]
    score = r.score if math.isfinite(r.score) else str(r.score)
    return {
        "member": dict(member_labels),
        "feature": f.feature,  # type: ignore[attr-defined]
        "verdict": r.verdict.value,
        "score": score,
        "explanation": r.explanation,
        "baseline_id": f.baseline_id,  # type: ignore[attr-defined]
        "error": f.error,  # type: ignore[attr-defined]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a stopped server's DuckDB file")
    parser.add_argument("--scale", type=float, default=60.0, help="rule time scale (default 60)")
    parser.add_argument("--passes", type=int, default=3, help="passes to time (median shown)")
    parser.add_argument("--findings", type=Path, help="write every finding here (JSON)")
    parser.add_argument("--compare", type=Path, help="findings file to compare with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "edgewatch.duckdb"
        shutil.copy(args.db, copy)
        wal = args.db.with_name(args.db.name + ".wal")
        if wal.exists():
            shutil.copy(wal, copy.with_name(copy.name + ".wal"))
        store = Store.open(copy, StoreConfig(maintenance=False))
        try:
            run(store, args)
        finally:
            store.close()


def run(store: Store, args: argparse.Namespace) -> None:
    scale = TimeScale(args.scale)
    rules = scale_ruleset(load_default_rules(), scale).rules
    newest = store._con.execute("SELECT max(last_seen) FROM devices").fetchone()[0]
    now = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    devices = store.list_devices(limit=100_000, now=now)
    times: dict[str, list[float]] = {r.name: [] for r in rules}
    cpu: dict[str, list[float]] = {r.name: [] for r in rules}
    reads = [0]
    gateway_read = store._db.read

    def counted(*a: Any, **k: Any) -> Any:
        reads[0] += 1
        return gateway_read(*a, **k)

    store._db.read = counted  # type: ignore[method-assign]
    per_rule_reads: dict[str, int] = {}
    totals: list[float] = []
    out: dict[str, list[dict[str, object]]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(args.passes):
        pass_start = time.perf_counter()
        ctx = Context(store, now.timestamp(), devices, scale)
        for rule in rules:
            t0, c0, r0 = time.perf_counter(), time.process_time(), reads[0]
            findings = evaluate_rule(ctx, rule, now)
            times[rule.name].append(time.perf_counter() - t0)
            cpu[rule.name].append(time.process_time() - c0)
            per_rule_reads[rule.name] = reads[0] - r0
            out[rule.name] = [_finding_key(m.labels, f) for m, f in findings]
            counts[rule.name] = (len({m.labels for m, _ in findings}), len(findings))
        totals.append(time.perf_counter() - pass_start)
    print(f"now={now.isoformat()} devices={len(devices)} scale={args.scale:g}x")
    print(f"{'rule':<26} {'wall ms':>9} {'cpu ms':>8} {'reads':>6} {'members':>8} {'findings':>9}")
    for rule in rules:
        members, n = counts[rule.name]
        ms = statistics.median(times[rule.name]) * 1000
        cpu_ms = statistics.median(cpu[rule.name]) * 1000
        print(
            f"{rule.name:<26} {ms:>9.1f} {cpu_ms:>8.1f} {per_rule_reads[rule.name]:>6}"
            f" {members:>8} {n:>9}"
        )
    total_reads = sum(per_rule_reads.values())
    print(f"{'pass':<26} {statistics.median(totals) * 1000:>9.1f} {'':>8} {total_reads:>6}")
    if args.findings:
        args.findings.write_text(json.dumps(out, indent=1, sort_keys=True))
    if args.compare:
        before = json.loads(args.compare.read_text())
        after = json.loads(json.dumps(out, sort_keys=True))
        differ = [name for name in before if before[name] != after.get(name)]
        print("findings equal" if not differ else f"findings differ: {differ}")


if __name__ == "__main__":
    main()
