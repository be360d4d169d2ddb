"""The dashboard in a real browser: Debian's chromium, driven by Playwright, against the running service.

The service runs with uvicorn in a thread on a free 127.0.0.1 port over a seeded DuckDB store. The
browser is the system's chromium (``executable_path``); nothing is downloaded. Without chromium the
tests skip, except with ``CI=true``, where they fail. A screenshot goes to
``build/test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fairwatch.monitor import Store, open_store
from fairwatch.server import Settings, create_app
from fairwatch.server import _dashboard as dashboard

from .dashboard_seed import seed_store
from .events import T0

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
TIMEOUT_MS = 15_000


#: An alert rule on the seeded model (the four-fifths rule, evaluated per 6-hour window).
RULE = {
    "name": "four-fifths",
    "model": "credit",
    "metric": "demographic_parity",
    "disparity": "ratio",
    "op": "<",
    "threshold": 0.8,
    "sensitive": ["sex"],
    "window": "6h",
}
ADMIN = {"Authorization": "Bearer env-admin"}


@dataclass
class LiveService:
    url: str
    store: Store
    read_key: str
    with_rules: bool


def _add_rule(app: Any, url: str) -> bool:
    """Create :data:`RULE` through the public API and run one scheduler pass; False without rule support."""
    import httpx

    r = httpx.post(f"{url}v1/rules", json=RULE, headers=ADMIN, timeout=10)
    if r.status_code in (404, 405):
        return False
    assert r.status_code == 201, r.text
    try:
        from fairwatch.server._rules_api import scheduler_of
    except ImportError:
        return True
    # replay the scheduler over the seeded history: a new rule starts at the window closing at "now"
    scheduler = scheduler_of(app.state.context)
    for now in (T0 + timedelta(hours=6), T0 + timedelta(days=5)):
        scheduler.run_once(now=now)
    return True


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    import uvicorn

    store = open_store(f"duckdb://{tmp_path_factory.mktemp('dashboard-browser') / 'events.duckdb'}")
    seed_store(store)
    key = store.create_key("dashboard viewer", ["read"])
    assert key.plain is not None
    app = create_app(Settings(api_keys="env-ingest:ingest,env-admin:admin"), store=store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:  # readiness of the server thread, not a timing assumption of the test
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}/"
    yield LiveService(url, store, key.plain, _add_rule(app, url))
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    store.close()


@dataclass
class Tab:
    page: Any
    problems: list[str]


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    yield Tab(page, problems)
    context.close()


def _log_in(tab: Tab, url: str, key: str) -> None:
    from playwright.sync_api import expect

    tab.page.goto(url)
    expect(tab.page.locator("#login")).to_be_visible()
    tab.page.fill("#api-key", key)
    tab.page.click("#login-form button[type=submit]")


def test_log_in_open_a_model_and_log_out(tab: Tab, service: LiveService) -> None:
    from playwright.sync_api import expect

    page = tab.page
    _log_in(tab, service.url, service.read_key)
    expect(page.locator("#models-table tbody tr")).to_have_count(2)
    cookie = next(c for c in page.context.cookies() if c["name"] == dashboard.SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"

    page.get_by_role("link", name="credit").click()
    expect(page.locator("#model-name")).to_have_text("credit")
    charts = page.locator("#charts svg.chart")
    expect(charts).to_have_count(6)  # label coverage + five metrics
    expect(page.locator("#groups tbody tr")).to_have_count(2)  # sex F and M
    expect(page.locator("#drift tbody tr")).to_have_count(6)  # age, region: overall and per group
    expect(page.locator("#disparity-charts svg.chart")).to_have_count(2)
    expect(page.locator("#rules")).not_to_be_empty()
    if service.with_rules:
        expect(page.locator("#rules tbody tr")).to_have_count(1)
        ratio = page.locator("figure.chart-box", has_text="Demographic parity ratio")
        expect(ratio.locator("line.threshold")).to_have_count(2)  # the rule and the four-fifths guide
        expect(page.locator("#disparities")).to_contain_text("four-fifths: alert when ratio < 0.8")
        expect(page.locator("#alerts tbody tr").first).to_be_visible()
        assert page.locator("#alerts td.state").count() >= 1

    selection = page.locator("figure.chart-box", has_text="Selection rate")
    assert selection.locator("path.line").count() == 2
    bands = selection.locator("path.band")
    assert bands.count() >= 2
    assert all(
        len(d) > 20 and d.startswith("M") and d.endswith("Z")
        for d in bands.evaluate_all("n => n.map(p => p.getAttribute('d'))")
    )
    assert selection.locator("circle.point").count() >= 2 * 15
    assert page.locator("#disparities tbody tr").count() >= 5

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000

    page.reload()  # a deep link to the model survives a reload
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    page.click("a.brand")
    expect(page.locator("#models-table tbody tr")).to_have_count(2)

    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("You are logged out.")
    page.reload()
    expect(page.locator("#login")).to_be_visible()  # the session is gone, not only hidden
    assert not [c for c in page.context.cookies() if c["name"] == dashboard.SESSION_COOKIE]
    assert tab.problems == []


def test_a_wrong_key_shows_an_error(tab: Tab, service: LiveService) -> None:
    from playwright.sync_api import expect

    _log_in(tab, service.url, "not-a-key")
    expect(tab.page.locator("#login-error")).to_have_text("invalid or revoked API key")
    expect(tab.page.locator("#models")).to_be_hidden()
    # the browser itself reports the refused request (401) on the console; nothing else may appear
    assert [p for p in tab.problems if "status of 401" not in p] == []


def test_an_ingest_key_is_refused(tab: Tab, service: LiveService) -> None:
    from playwright.sync_api import expect

    _log_in(tab, service.url, "env-ingest")
    expect(tab.page.locator("#login-error")).to_have_text("this API key lacks the 'read' scope (it has: ingest)")


def test_estimates_fill_the_windows_whose_labels_are_missing(tab: Tab, service: LiveService) -> None:
    from playwright.sync_api import expect

    page = tab.page
    _log_in(tab, service.url, service.read_key)
    page.get_by_role("link", name="credit").click()
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    note = page.locator("#estimate-note")
    expect(note).to_contain_text(
        "chosen automatically: the most recent 12 windows with label coverage of at least 90 %"
    )
    expect(note).to_contain_text("2024-05-01 00:00 UTC – 2024-05-04 00:00 UTC")

    tpr = page.locator("figure.chart-box", has_text="True positive rate")
    expect(tpr.locator("path.line.estimated")).to_have_count(2)  # one dashed stretch per group
    assert tpr.locator("path.line:not(.estimated)").count() == 2  # the labelled days stay solid
    assert tpr.locator("circle.point.estimated").count() == 2 * 5  # 2 half-labelled + 3 unlabelled windows
    expect(tpr.locator("li.legend-estimated")).to_contain_text("estimated")
    dash = tpr.locator("path.line.estimated").first.evaluate("p => getComputedStyle(p).strokeDasharray")
    assert dash not in ("", "none")
    selection = page.locator("figure.chart-box", has_text="Selection rate")
    assert selection.locator("path.line.estimated").count() == 0  # needs no labels: never estimated
    gap = page.locator("figure.chart-box", has_text="Equalized odds difference")
    expect(gap.locator("path.line.estimated")).to_have_count(1)

    # the latest window has no labels: the four label-dependent metrics of both groups are estimates
    estimated_cells = page.locator("#groups td.estimated")
    expect(estimated_cells).to_have_count(2 * 4)
    expect(estimated_cells.first.locator(".est-badge")).to_have_text("est.")
    expect(page.locator("#window-note")).to_contain_text("Label coverage of this window: 0 %")
    expect(page.locator("#window-note")).to_contain_text("fewer than 30 predictions")  # 29 F in the last window
    page.select_option("#window-pick", "14")  # 2024-05-04 12:00, unlabelled, both groups large enough
    expect(page.locator("#disparities tr.estimated", has_text="Equalized odds")).to_have_count(1)
    page.select_option("#window-pick", "13")  # half labelled, 29 M: gaps on the labelled rows, said so
    expect(page.locator("#disparities tr", has_text="Equalized odds")).to_contain_text("(labelled rows only)")
    expect(page.locator("#groups td.estimated")).to_have_count(2 * 4)
    page.select_option("#window-pick", "3")  # a labelled window: realised values only
    expect(page.locator("#groups td.estimated")).to_have_count(0)
    expect(page.locator("#window-note")).to_have_text("Label coverage of this window: 100 %.")

    page.goto(service.url + "#/models/loans")  # no labels at all: the page says why nothing is estimated
    expect(page.locator("#estimate-note")).to_contain_text(
        "No estimates: no reference period: no window has label coverage of at least 90% yet"
    )
    expect(page.locator("#groups td.estimated")).to_have_count(0)
    assert tab.problems == []
