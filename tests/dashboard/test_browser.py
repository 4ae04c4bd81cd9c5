"""The dashboard in headless chromium: ``edgewatch dashboard`` against a real seeded server,
every page opened, content visible, no Streamlit exception box, an interaction, screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_browser import CHROMIUM, PAGES, open_page, settle, start_dashboard, stop
from dashboard_harness import SeededServer
from live_server import free_port

pytestmark = [pytest.mark.timeout(180), pytest.mark.serial]


@pytest.fixture
def dashboard_url(seeded_server: SeededServer, tmp_path: Path) -> Iterator[str]:
    if not CHROMIUM.exists():
        print(f"skipping the browser test: {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    port = free_port()
    proc = start_dashboard(seeded_server.url, seeded_server.admin, port, tmp_path / "dash.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_every_page_renders_in_chromium(
    dashboard_url: str, seeded_server: SeededServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for shot in PAGES:
                open_page(page, dashboard_url, shot)
                expect(page.locator("h1").first).to_be_visible()
                assert page.locator('[data-testid="stException"]').count() == 0, shot.path
                page.screenshot(path=str(shots / shot.file), full_page=True)
            # The device page drew its charts.
            open_page(page, dashboard_url, PAGES[1])
            assert page.locator(".js-plotly-plot").count() >= 6
            # Filter the fleet's device table by typing in the search box.
            open_page(page, dashboard_url, PAGES[0])
            search = page.get_by_label("Search device id or hardware")
            search.fill("dev-d")
            search.press("Enter")
            settle(page, "1 of 6 devices")
            assert page.locator('[data-testid="stException"]').count() == 0
            # ... and follow the link to that device's page.
            page.get_by_text("Open dev-d").click()
            settle(page, "Clock skew")
            expect(page.get_by_text("dev-d · status online").first).to_be_visible()
            assert "device=dev-d" in page.url
            # Acknowledge the alert the Alerts page opens with.
            open_page(page, dashboard_url, PAGES[2])
            page.get_by_label("Your name").fill("carol")
            page.get_by_label("Comment", exact=True).fill("on it")
            page.get_by_role("button", name="Acknowledge").click()
            settle(page, "Acknowledged by carol")
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
    with seeded_server.api() as api:
        alerts = api.get("/api/v1/alerts").json()["alerts"]
    assert [a["ack"]["comment"] for a in alerts if a["ack"] and a["ack"]["author"] == "carol"] == [
        "on it"
    ]
    assert sorted(p.name for p in shots.iterdir()) == sorted(s.file for s in PAGES)
    assert all(p.stat().st_size > 10_000 for p in shots.iterdir())
