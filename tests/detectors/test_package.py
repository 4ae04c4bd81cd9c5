"""Package-level promises: a device install (numpy only) can import the detectors."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_detectors_does_not_import_scipy() -> None:
    code = (
        "import sys, edgewatch.detectors as d;"
        "d.drift(d.from_values(range(100)), d.from_values(range(5, 105)), 'wasserstein');"
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
