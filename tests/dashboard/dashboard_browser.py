"""The dashboard in a real browser: ``edgewatch dashboard`` in a subprocess and Debian's
chromium driven by Playwright (never ``playwright install``). Shared by the browser test and
``docs/screenshots/make_screenshots.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Shot:
    """One page to open: its URL path, a text that proves it rendered, the file name."""

    path: str
    expect_text: str
    file: str


PAGES = (
    Shot("/", "Devices", "fleet.png"),
    Shot("/device?device=dev-d", "Clock skew", "device.png"),
    Shot("/alerts", "Evidence", "alerts.png"),
    Shot("/drift", "Most drifted features", "drift.png"),
    Shot("/versions", "Rollout verdict", "versions.png"),
    Shot("/settings", "Access tokens", "settings.png"),
)


def start_dashboard(server_url: str, token: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``edgewatch dashboard`` on ``port``; returns once Streamlit answers its health check."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgewatch.server.cli",
                "dashboard",
                "--server",
                server_url,
                "--token",
                token,
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "HOME": str(log.parent)},
        )
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"dashboard exited with {proc.returncode}: {log.read_text()}")
            try:
                if client.get(f"http://127.0.0.1:{port}/_stcore/health").text == "ok":
                    return proc
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    stop(proc)
    raise TimeoutError(f"dashboard not up after 120 s: {log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the dashboard and its Streamlit child."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def settle(page: Page, text: str) -> None:
    """Wait until ``text`` is visible and Streamlit has finished running the page."""
    expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=60_000)
    # While a script runs, Streamlit shows its status widget ("Running...", "Stop").
    running = page.locator('[data-testid="stStatusWidget"]')
    for _ in range(2):  # twice: a rerun (a fragment, a query-parameter update) may follow
        running.wait_for(state="detached", timeout=60_000)
        page.wait_for_timeout(700)  # also lets plotly finish drawing before a screenshot


def open_page(page: Page, base_url: str, shot: Shot) -> None:
    """Open one dashboard page and wait for it to render."""
    page.goto(base_url + shot.path)
    settle(page, shot.expect_text)
