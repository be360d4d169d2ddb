"""The HTML audit report in a real browser (Debian's chromium driven by Playwright, never a
download): charts render, no console error, no request leaves the file, and it prints.

Without chromium the test skips, except with ``CI=true``, where it fails. A screenshot of the
print layout goes to ``build/test-artifacts/audit-report.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fairwatch as fw

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"


def test_report_renders_offline_and_prints(browser: Any, scored_audit: fw.Audit, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    scored_audit.to_html(path, checks=["demographic_parity_ratio >= 0.8"])
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(path.as_uri())
    expected = page.locator("div.chart").count()
    assert expected >= 7  # five metric bars, ROC and calibration
    # selector waits, not wait_for_function: the page's CSP forbids the eval that polling would need
    page.locator(".js-plotly-plot").nth(expected - 1).wait_for(state="attached", timeout=15_000)
    assert page.locator(".js-plotly-plot").count() == expected
    assert page.locator("#roc .scatterlayer .trace").count() >= 4  # a curve per reported group (+ chance line)
    assert page.locator("#bar-selection_rate .errorbar").count() >= 4  # error bars drawn
    page.locator("#bar-selection_rate").scroll_into_view_if_needed()
    box = page.locator("#bar-selection_rate .point path").first.bounding_box()
    assert box is not None  # hover a bar: interaction works under the strict Content-Security-Policy
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#bar-selection_rate .hoverlayer .hovertext").first.wait_for(state="attached", timeout=5_000)
    assert errors == [] and outside == []
    assert "<script>alert('x')</script>" in page.locator("#bar-selection_rate .xtick").all_text_contents()  # as typed
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("document.getElementById('roc').layout.width") == 680  # redrawn at A4 width
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit-report.png"))
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    page.close()
