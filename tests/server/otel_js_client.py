"""The OpenTelemetry JavaScript SDK as a real client: installs ``tests/clients/otel-js`` once
and runs its ``report.js`` against a server.

A plain module (not a conftest) so any test file can import it by name. The packages are
installed by npm's ordinary client with exact versions from ``package.json`` and no lock file,
into ``.cache/otel-js/<hash of package.json>/`` (ignored by git): a changed manifest installs
afresh, an unchanged one is reused at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "clients" / "otel-js"
CACHE = ROOT / ".cache" / "otel-js"
MIN_NODE = (18, 19)
"""The oldest Node.js the pinned SDK supports (its ``engines``; Debian 12 ships 18.20)."""
INSTALL_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 60.0


class ClientUnavailableError(RuntimeError):
    """Node.js or npm is missing or too old, or the packages could not be installed."""


@dataclass(frozen=True, slots=True)
class Report:
    """What ``report.js`` printed: its resource attributes and the outcome of every export."""

    resource: dict[str, Any]
    exports_ok: int
    exports_failed: list[str]
    stderr: str


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (pytest-xdist workers may install at the same time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _node_version(node: str) -> tuple[int, ...]:
    out = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    if match is None:
        raise ClientUnavailableError(f"cannot read the Node.js version from {out!r}")
    return int(match[1]), int(match[2])


def install() -> Path:
    """The ``node_modules`` folder of the pinned SDK, installed if not yet cached."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise ClientUnavailableError(
            "Node.js and npm are needed for the OpenTelemetry JavaScript SDK test "
            "(apt-get install -y nodejs npm)"
        )
    version = _node_version(node)
    if version < MIN_NODE:
        raise ClientUnavailableError(
            f"Node.js {'.'.join(map(str, version))} is older than the "
            f"{'.'.join(map(str, MIN_NODE))} the pinned OpenTelemetry JavaScript SDK needs"
        )
    manifest = (PROJECT / "package.json").read_bytes()
    home = CACHE / hashlib.sha256(manifest).hexdigest()[:16]
    done = home / ".installed"
    with _locked(CACHE / f"{home.name}.lock"):
        if done.exists():
            return home / "node_modules"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (home / "package.json").write_bytes(manifest)
        try:
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                ],
                cwd=home,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise ClientUnavailableError(
                f"npm install of tests/clients/otel-js took over {INSTALL_TIMEOUT_S:.0f} s"
            ) from None
        if result.returncode != 0:
            raise ClientUnavailableError(
                f"npm install of tests/clients/otel-js failed ({result.returncode}): "
                f"{(result.stderr or result.stdout)[-1500:]}"
            )
        done.touch()
    return home / "node_modules"


def run_report(
    node_modules: Path, protocol: str, plan: Mapping[str, Any], env: Mapping[str, str], work: Path
) -> Report:
    """Run ``report.js`` over ``plan`` with ``protocol`` (``proto`` or ``json``); ``env`` holds
    the ``OTEL_*`` configuration, every other ``OTEL_*`` of this process is left out so the
    SDK runs in its defaults. Fails with the program's output when it does not exit 0."""
    plan_path = work / f"plan-{protocol}.json"
    plan_path.write_text(json.dumps(plan))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        ["node", str(PROJECT / "report.js"), protocol, str(plan_path)],
        env={**clean, **env, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=work,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"report.js {protocol} exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return Report(
        resource=out["resource"],
        exports_ok=out["exports"]["ok"],
        exports_failed=out["exports"]["failed"],
        stderr=result.stderr,
    )
