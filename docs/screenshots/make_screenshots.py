"""Regenerate docs/screenshots/*.png: every dashboard page in headless chromium.

Starts a real edgewatch server seeded with the dashboard tests' known fleet (its own scheduler\nraises the alerts), runs
``edgewatch dashboard`` against it, and saves each page (light theme) plus the Fleet and
Device pages in the dark theme. Run from the repository root:

    .venv/bin/python docs/screenshots/make_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

from dashboard_browser import CHROMIUM, PAGES, open_page, start_dashboard, stop  # noqa: E402
from dashboard_harness import free_port, start_seeded_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

VIEWPORT = {"width": 1400, "height": 2400}


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        running = start_seeded_server(Path(tmp) / "edgewatch.duckdb")
        seeded = running.seeded
        port = free_port()
        proc = start_dashboard(seeded.url, seeded.admin, port, Path(tmp) / "dashboard.log")
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
                try:
                    for scheme in ("light", "dark"):
                        page = browser.new_page(viewport=VIEWPORT, color_scheme=scheme)
                        shots = PAGES if scheme == "light" else PAGES[:2]
                        for shot in shots:
                            open_page(page, base, shot)
                            name = shot.file.replace(".png", f"-{scheme}.png")
                            path = OUT / (shot.file if scheme == "light" else name)
                            page.screenshot(path=str(path), full_page=True)
                            print(f"wrote {path.relative_to(ROOT)}")
                        page.close()
                finally:
                    browser.close()
        finally:
            stop(proc)
            running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
