"""``python -m edgewatch.demo.baselines`` writes one reference file per version and names them."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from edgewatch.demo import FEATURE_NAMES


def test_writes_and_lists_baseline_files(tmp_path: Path) -> None:
    out = tmp_path / "baselines"
    done = subprocess.run(
        [sys.executable, "-m", "edgewatch.demo.baselines", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [(m, v) for m, v, _ in lines] == [("digits", "v1"), ("digits", "v2")]
    for _, _, path in lines:
        with open(path, newline="") as f:
            header = next(csv.reader(f))
        assert header == [*FEATURE_NAMES, "prediction", "score", "label", "latency_s"]


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "edgewatch.demo.baselines", "--out", str(blocker / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "cannot write there" in done.stderr
