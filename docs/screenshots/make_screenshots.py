"""Regenerate docs/screenshots/*.png: every dashboard page in headless chromium, during a real
``edgewatch up`` with its defaults (the default scenario's 14 devices at 60x, the built-in
rules scaled to that speed), as a newcomer's ``make up`` shows it.

Waits until the default scenario's incidents have fired their alerts (the bad rollout, the
last of them, about two minutes in), then saves each page (light theme) plus the Fleet and
Device pages in the dark theme, and stops ``up`` with Ctrl-C. Run from the repository root:

    .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
sys.path.insert(0, str(ROOT / "tests"))

from dashboard_browser import CHROMIUM, Shot  # noqa: E402
from live_server import free_port  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

VIEWPORT = {"width": 1400, "height": 2400}
DRIFTING_DEVICE = "demo-north-0"
"""The default scenario's sensor drift: its Device page shows alerts firing to the end."""
PAGES = (
    Shot("/", "Firing now", "fleet.png"),
    Shot(f"/device?device={DRIFTING_DEVICE}", "Model versions", "device.png"),
    Shot("/alerts", "Evidence", "alerts.png"),
    Shot("/drift", "Most drifted features", "drift.png"),
    Shot("/versions", "Rollout verdict", "versions.png"),
    Shot("/settings", "Access tokens", "settings.png"),
)
"""The same pages and files as the dashboard's browser test, on the demo's devices."""
AWAITED = {"DeviceFeatureDrift", "MemoryLeak", "LatencyP95Regression", "BadRollout"}
"""Alerts the screenshots should show firing together: drift, a leak, latency and the bad
rollout (the last one, about two minutes in on a quiet machine)."""
UP_TIMEOUT_S = 180.0
ALERTS_TIMEOUT_S = 150.0
PALETTE_COLOURS = 256
"""Screenshots are saved with a 256-colour palette: a third of the size, the same to read."""


def _wait_for_up(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + UP_TIMEOUT_S
    while "edgewatch is up" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"edgewatch up did not come up:\n{log.read_text()}")
        time.sleep(0.5)


def _wait_for_alerts(client: httpx.Client) -> None:
    """Until every awaited rule has an alert firing, or the timeout (then say what is missing)."""
    deadline = time.monotonic() + ALERTS_TIMEOUT_S
    firing: set[str] = set()
    while time.monotonic() < deadline:
        alerts = client.get("/api/v1/alerts", params={"state": "firing", "limit": 1000}).json()
        firing = {a["labels"]["alertname"] for a in alerts["alerts"]}
        if firing >= AWAITED:
            print(f"firing: {sorted(firing)}")
            return
        time.sleep(2.0)
    print(f"not firing after {ALERTS_TIMEOUT_S:.0f} s: {sorted(AWAITED - firing)}", file=sys.stderr)


def _settle(page: Page, base: str, shot: Shot) -> None:
    """Open the page and wait for its text and for Streamlit to finish running it; with
    auto-refresh on while the fleet is live a run may still be going after a minute on a
    busy machine, so the page is taken as it is then."""
    page.goto(base + shot.path)
    expect(page.get_by_text(shot.expect_text, exact=False).first).to_be_visible(timeout=90_000)
    try:
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
    except PlaywrightTimeout:
        print(f"{shot.path}: still running after 60 s, taken as it is", file=sys.stderr)
    page.wait_for_timeout(1500)  # lets plotly finish drawing


def _save(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as image:
        image.convert("RGB").quantize(PALETTE_COLOURS).save(path, optimize=True)


def _shoot(base: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport=VIEWPORT, color_scheme=scheme)
                shots = PAGES if scheme == "light" else PAGES[:2]
                for shot in shots:
                    _settle(page, base, shot)
                    name = shot.file.replace(".png", f"-{scheme}.png")
                    path = OUT / (shot.file if scheme == "light" else name)
                    _save(page, path)
                    print(f"wrote {path.relative_to(ROOT)}")
                page.close()
        finally:
            browser.close()


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 1
    edgewatch = Path(sys.executable).with_name("edgewatch")
    with tempfile.TemporaryDirectory() as tmp:
        data, log = Path(tmp) / "data", Path(tmp) / "up.log"
        port, dashboard_port = free_port(), free_port()
        argv = [str(edgewatch), "up", "--data-dir", str(data), "--port", str(port)]
        argv += ["--dashboard-port", str(dashboard_port)]
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for_up(proc, log)
            token = (data / "admin-token").read_text().strip()
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10.0,
            ) as client:
                _wait_for_alerts(client)
            _shoot(f"http://127.0.0.1:{dashboard_port}")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
