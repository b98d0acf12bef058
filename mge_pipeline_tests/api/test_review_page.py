"""The review page in headless Chromium: sign in, sort the queue, approve one entry and edit
another through the dialogs; the store records both and the next run of the plan serves the
edit. Screenshots go to ``MGE_SCREENSHOT_DIR`` when set (how docs/images was made)."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from mge_pipeline.store import MgeStore
from mge_pipeline.store.review_repository import ReviewRepository
from mge_pipeline_tests.api.conftest import review_plan
from mge_pipeline_tests.api.helpers import REVIEWER, running_api
from mge_pipeline_tests.orchestration.helpers import run_plan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("chromium") is None or shutil.which("chromedriver") is None,
        reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
    ),
]
FIXED = "def broken(a: int, b: int) -> int:\n    total = a + b\n    return total\n"


def _driver() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _wait_for(driver: object, css: str, seconds: float = 90) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = driver.find_elements("css selector", css)  # type: ignore[attr-defined]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{css} did not appear; page: {driver.page_source[:2000]}")  # type: ignore[attr-defined]


def test_approve_and_edit_through_the_page(
    api_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shots = Path(os.environ.get("MGE_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with running_api(api_database) as api:
        reviews = ReviewRepository(api.store)
        broken = next(e for e in reviews.entries("api_plan") if e.atom_id == "broken")
        attempts = Counter(a.atom_id for a in api.store.attempts(broken.execution_id))
        passing = max(  # the validated entry with most attempts: its diff shows the retry
            (e for e in reviews.entries("api_plan") if e.atom_status == "succeeded"),
            key=lambda e: attempts[e.atom_id],
        )
        driver = _driver()
        try:
            driver.get(f"{api.url}/review")  # type: ignore[attr-defined]
            _wait_for(driver, "#token").send_keys(REVIEWER)  # type: ignore[attr-defined]
            driver.find_element("css selector", "#sign-in").click()  # type: ignore[attr-defined]
            _wait_for(driver, "#queue")
            _wait_for(driver, "#sort-confidence").click()  # type: ignore[attr-defined]
            _wait_for(driver, "#sort-confidence.active")
            rows = driver.find_elements("css selector", "#queue tbody tr")  # type: ignore[attr-defined]
            assert len(rows) == 3
            driver.save_screenshot(str(shots / "review-queue.png"))  # type: ignore[attr-defined]

            driver.get(f"{api.url}/review/entries/{passing.entry_id}")  # type: ignore[attr-defined]
            _wait_for(driver, "#btn-approve")
            driver.save_screenshot(str(shots / "review-entry.png"))  # type: ignore[attr-defined]
            driver.find_element("css selector", "#btn-approve").click()  # type: ignore[attr-defined]
            _wait_for(driver, "#confirm-approve").click()  # type: ignore[attr-defined]
            assert "approved" in _wait_for(driver, "#done").text  # type: ignore[attr-defined]

            driver.get(f"{api.url}/review/entries/{broken.entry_id}")  # type: ignore[attr-defined]
            _wait_for(driver, "#btn-reject").click()  # type: ignore[attr-defined]
            _wait_for(driver, "#confirm-reject").click()  # type: ignore[attr-defined]
            # the feedback is required: the browser keeps the dialog open, nothing is posted
            assert reviews.entry(broken.entry_id).status == "pending"  # type: ignore[union-attr]
            driver.find_element("css selector", "#dlg-reject button.close").click()  # type: ignore[attr-defined]
            driver.find_element("css selector", "#btn-edit").click()  # type: ignore[attr-defined]
            code = _wait_for(driver, "#edit-code")
            code.clear()  # type: ignore[attr-defined]
            code.send_keys(FIXED)  # type: ignore[attr-defined]
            driver.find_element("css selector", "#feedback-edit").send_keys("plain sum")  # type: ignore[attr-defined]
            driver.save_screenshot(str(shots / "review-edit-dialog.png"))  # type: ignore[attr-defined]
            driver.find_element("css selector", "#confirm-edit").click()  # type: ignore[attr-defined]
            assert "edited" in _wait_for(driver, "#done").text  # type: ignore[attr-defined]
            driver.save_screenshot(str(shots / "review-edited.png"))  # type: ignore[attr-defined]
        finally:
            driver.quit()  # type: ignore[attr-defined]
        approved, edited = reviews.entry(passing.entry_id), reviews.entry(broken.entry_id)
    assert approved is not None and approved.status == "approved"
    assert approved.decided_by == "ana"
    assert edited is not None and edited.status == "edited" and edited.code == FIXED

    # The pipeline: the next run serves the edit from the store and marks it carried out.
    url = api_database
    monkeypatch.setenv("MGE_REVIEW_BOTTOM_PERCENT", "0")
    run = run_plan(review_plan(), tmp_path, url, wave_stop_threshold=0.0)
    assert run.success
    store = MgeStore(url)
    try:
        [result] = store.atom_results(run.run_id, ["broken"])
        assert result.status.value == "cached" and result.code == FIXED
        applied = ReviewRepository(store).entry(broken.entry_id)
        assert applied is not None and applied.applied_execution_id == run.run_id
        assert (run.output_dir / "pkg" / "core.py").read_text().count("total = a + b") == 1
    finally:
        store.dispose()
