"""A real collector process that works offline: it records and spools while the server is
down (so a small spool drops its oldest batches), says how many batches it built and dropped,
and waits to be killed with SIGKILL. Shared by the collector and server tests of drop counts."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROWS = 50
"""Inferences recorded per batch."""
FEATURES = 64
"""Wide enough that a batch is ~6 KB: the smallest spool (64 KiB) holds about ten."""
SPOOL_MAX_BYTES = 64 * 1024

CHILD = f"""
import sys
import numpy as np
from edgewatch.collector import Monitor

spool_dir, url, batches, token, device_id, seed = sys.argv[1:7]
m = Monitor("lossy", "v1", endpoint=url, token=token or None, device_id=device_id,
            spool_dir=spool_dir, features={FEATURES}, samplers=[], start=False, timeout_s=0.05,
            spool_max_bytes={SPOOL_MAX_BYTES})
rng = np.random.default_rng(int(seed))
for _ in range(int(batches)):
    for row in rng.normal(size=({ROWS}, {FEATURES})):
        m.record(row, latency_s=0.001)
    m.flush(timeout_s=0.01)  # export into the spool; the send fails (server down)
s = m.stats()
print("done", s["batches.built"], s["batches.dropped"], flush=True)
sys.stdin.read()  # wait for SIGKILL: no close(), no last flush
"""


@dataclass(frozen=True)
class OfflineRun:
    built: int
    dropped: int
    """Batches this process dropped from the spool (its own in-memory count)."""


def run_offline(
    spool_dir: Path,
    url: str,
    batches: int,
    *,
    token: str = "",
    device_id: str = "lossy-1",
    seed: int = 0,
) -> OfflineRun:
    """Run the child until it spooled ``batches`` batches, then SIGKILL it."""
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(spool_dir),
            url,
            str(batches),
            token,
            device_id,
            str(seed),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    assert line[:1] == ["done"], f"the offline collector failed: {line!r}"
    return OfflineRun(built=int(line[1]), dropped=int(line[2]))
