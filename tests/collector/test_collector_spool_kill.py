"""Spool durability under ``kill -9``: a child process writes batches while the server is down
and is SIGKILLed at random moments; after a restart with the server up, every batch that
reached the spool is received exactly once (by idempotency key) and none is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from collector_otlp import OtlpServer

from edgewatch.collector import Monitor

CHILD = """
import sys
from edgewatch.collector import Monitor

spool_dir, url, journal = sys.argv[1:4]
m = Monitor("killme", "v1", endpoint=url, spool_dir=spool_dir, features=8, samplers=[],
            start=False, timeout_s=0.05)
print("ready", flush=True)
rows = [[float(i)] * 8 for i in range(50)]
with open(journal, "a") as j:
    while True:
        for row in rows:
            m.record(row, latency_s=0.001)
        m.flush(timeout_s=0.01)  # export into the spool; the send fails (server down)
        j.write("spooled\\n")
        j.flush()
"""
KILLS = 5


def _spooled_keys(spool_dir: Path) -> set[str]:
    return {p.name.split("-")[1].split(".")[0] for p in (spool_dir / "batches").glob("*.otlp.gz")}


def test_every_spooled_batch_survives_kill_9_and_is_sent_exactly_once(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    journal = tmp_path / "journal"
    journal.touch()
    spool_dir = tmp_path / "spool"
    down = OtlpServer()
    down_url = down.url
    down.close()

    seen: set[str] = set()
    for _ in range(KILLS):
        with subprocess.Popen(
            [sys.executable, str(script), str(spool_dir), down_url, str(journal)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", f"seed {seed}"
            child.stdout.close()
            try:
                child.wait(timeout=rng.uniform(0.02, 0.4))
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=10) == -signal.SIGKILL, f"seed {seed}"
        keys = _spooled_keys(spool_dir)
        assert seen <= keys, f"a spooled batch vanished (seed {seed})"
        completed = journal.read_text().count("spooled")
        assert len(keys) >= completed, f"a batch the child saw spooled is missing (seed {seed})"
        seen = keys
    assert seen, f"the child never spooled a batch (seed {seed})"

    up = OtlpServer()
    try:
        m = Monitor(
            "killme",
            "v1",
            endpoint=up.url,
            spool_dir=spool_dir,
            features=8,
            samplers=[],
            start=False,
        )
        assert m.flush(timeout_s=10.0) is True
        m.close()
        received = up.keys()
        assert len(received) == len(set(received)), f"a batch was sent twice (seed {seed})"
        assert seen <= set(received), f"a spooled batch was never sent (seed {seed})"
        assert len(received) == len(seen) + 2  # plus the restarted Monitor's flush and close
        assert not any((spool_dir / "batches").iterdir()), "the spool is empty after delivery"
    finally:
        up.close()
