"""The dashboard without a browser: assets, the cookie session, and the JSON endpoints behind the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fairwatch.monitor import Store, drift, open_store, window_metrics
from fairwatch.monitor._estimate import estimate_windows
from fairwatch.server import Settings, create_app
from fairwatch.server import _dashboard as dashboard
from fairwatch.server._dashboard import ASSETS, CONTENT_SECURITY_POLICY, SESSION_COOKIE, SessionStore

from .dashboard_seed import LABELS_UNTIL, seed_store
from .events import T0

ENV_KEYS = "env-read:read,env-ingest:ingest,env-admin:admin,env-credit:read@credit"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML namespace name: an identifier, never fetched


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"duckdb://{tmp_path_factory.mktemp('dashboard') / 'events.duckdb'}")
    seed_store(store)
    yield store
    store.close()


def _client(store: Store, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**{"api_keys": ENV_KEYS, **settings}), store=store))


@pytest.fixture
def client(seeded: Store) -> Iterator[TestClient]:
    with _client(seeded) as c:
        yield c


def _login(client: TestClient, key: str = "env-read") -> None:
    r = client.post("/dashboard/api/login", json={"api_key": key})
    assert r.status_code == 200, r.text


# -- assets ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "media_type"), [("/", ASSETS["index.html"])] + [(f"/dashboard/static/{n}", t) for n, t in ASSETS.items()]
)
def test_assets_are_served_with_their_type_and_a_strict_policy(client: TestClient, path: str, media_type: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == media_type
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    again = client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_policy_allows_only_this_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"


def test_unknown_asset_is_404(client: TestClient) -> None:
    r = client.get("/dashboard/static/../_app.py")
    assert r.status_code == 404
    r = client.get("/dashboard/static/secrets.txt")
    assert r.status_code == 404
    assert "no dashboard asset named 'secrets.txt'" in r.json()["detail"]


def test_assets_reference_no_external_url(client: TestClient) -> None:
    for path in ["/", *(f"/dashboard/static/{n}" for n in ASSETS)]:
        text = client.get(path).text.replace(SVG_NAMESPACE, "")
        assert not re.search(r"[a-z][a-z0-9+.-]*://", text, re.IGNORECASE), path  # any scheme: http, https, ws...
        assert not re.search(r"""["'(]\s*//""", text), path  # protocol-relative URLs
        assert "@import" not in text, path


def test_page_needs_no_inline_script_or_style(client: TestClient) -> None:
    """The policy forbids inline code; the page must not need any."""
    html = client.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    script = client.get("/dashboard/static/dashboard.js").text
    assert "innerHTML" not in script and "eval(" not in script and "new Function" not in script


def test_assets_are_package_data() -> None:
    folder = Path(dashboard.__file__).parent / "static"
    assert sorted(p.name for p in folder.iterdir()) == sorted(ASSETS)


# -- login, sessions, logout -------------------------------------------------------------------------
def test_login_sets_a_strict_opaque_cookie(client: TestClient) -> None:
    r = client.post("/dashboard/api/login", json={"api_key": "env-read"})
    assert r.status_code == 200
    assert r.json() == {"authenticated": True, "auth_disabled": False, "scopes": ["read"]}
    cookie = r.headers["set-cookie"]
    token = re.match(rf"{SESSION_COOKIE}=([^;]+);", cookie)
    assert token is not None and len(token[1]) >= 40 and "env-read" not in token[1]
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert "secure" not in attributes  # plain HTTP (tests); see the two tests below
    assert client.get("/dashboard/api/session").json()["authenticated"] is True


def test_secure_flag_follows_the_setting(seeded: Store) -> None:
    with _client(seeded, session_cookie_secure=True) as c:
        r = c.post("/dashboard/api/login", json={"api_key": "env-read"})
    assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}


def test_secure_flag_is_set_over_https_by_default(seeded: Store) -> None:
    with TestClient(create_app(Settings(api_keys=ENV_KEYS), store=seeded), base_url="https://testserver") as c:
        r = c.post("/dashboard/api/login", json={"api_key": "env-read"})
    assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("wrong", 401, "invalid or revoked API key"),
        ("env-ingest", 403, "this API key lacks the 'read' scope (it has: ingest)"),
    ],
)
def test_login_refuses_bad_keys(client: TestClient, key: str, status: int, message: str) -> None:
    r = client.post("/dashboard/api/login", json={"api_key": key})
    assert r.status_code == status
    assert r.json()["detail"] == message
    assert "set-cookie" not in r.headers
    assert client.get("/dashboard/api/models").status_code == 401


def test_login_with_an_empty_key_is_a_validation_error(client: TestClient) -> None:
    assert client.post("/dashboard/api/login", json={"api_key": ""}).status_code == 422


def test_admin_keys_may_log_in(client: TestClient) -> None:
    _login(client, "env-admin")
    assert client.get("/dashboard/api/models").status_code == 200


def test_data_needs_a_session(client: TestClient) -> None:
    r = client.get("/dashboard/api/models")
    assert r.status_code == 401
    assert r.json()["detail"] == "not logged in: log in with an API key of scope 'read'"
    client.cookies.set(SESSION_COOKIE, "made-up-token")
    assert client.get("/dashboard/api/models").status_code == 401
    assert client.get("/dashboard/api/session").json()["authenticated"] is False


def test_a_session_does_not_open_the_bearer_api(client: TestClient) -> None:
    _login(client)
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer env-read"}).status_code == 200


def test_logout_ends_the_session(client: TestClient) -> None:
    _login(client)
    token = client.cookies[SESSION_COOKIE]
    r = client.post("/dashboard/api/logout")
    assert r.status_code == 200
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.set(SESSION_COOKIE, token)  # replaying the old cookie does not help
    assert client.get("/dashboard/api/models").status_code == 401


def test_revoking_the_key_ends_its_sessions(client: TestClient, seeded: Store) -> None:
    key = seeded.create_key("dashboard viewer", ["read"])
    assert key.plain is not None
    _login(client, key.plain)
    assert client.get("/dashboard/api/models").status_code == 200
    seeded.revoke_key(key.key_id)
    r = client.get("/dashboard/api/models")
    assert r.status_code == 401
    assert r.json()["detail"] == "session ended: invalid or revoked API key; log in again"
    assert client.get("/dashboard/api/session").json()["authenticated"] is False


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_cross_origin_login_and_logout_are_refused(client: TestClient, site: str) -> None:
    headers = {"Sec-Fetch-Site": site}
    r = client.post("/dashboard/api/login", json={"api_key": "env-read"}, headers=headers)
    assert r.status_code == 403
    assert r.json()["detail"] == "cross-origin login refused"
    _login(client)
    assert client.post("/dashboard/api/logout", headers=headers).status_code == 403
    assert client.get("/dashboard/api/models").status_code == 200


def test_no_login_when_auth_is_disabled(seeded: Store) -> None:
    with _client(seeded, auth_disabled=True) as c:
        assert c.get("/dashboard/api/session").json() == {"authenticated": True, "auth_disabled": True, "scopes": []}
        assert c.get("/dashboard/api/models").status_code == 200


def test_sessions_expire_when_idle_and_are_bounded() -> None:
    now = [0.0]
    sessions = SessionStore(ttl=60.0, clock=lambda: now[0], limit=3)
    token = sessions.open("k")
    now[0] = 59.0
    assert sessions.key(token) == "k"  # use renews the session
    now[0] = 118.0
    assert sessions.key(token) == "k"
    now[0] = 179.0
    assert sessions.key(token) is None
    tokens = [sessions.open(f"k{i}") for i in range(4)]
    assert len(sessions) == 3
    assert sessions.key(tokens[0]) is None  # the least recently used went first
    assert sessions.key(tokens[3]) == "k3"
    assert len({sessions.open("k") for _ in range(50)}) == 50


def test_session_idle_limit_comes_from_settings(seeded: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]

    class ManualClockSessions(SessionStore):
        def __init__(self, ttl: float) -> None:
            super().__init__(ttl, clock=lambda: now[0])

    monkeypatch.setattr(dashboard, "SessionStore", ManualClockSessions)
    with _client(seeded, session_ttl_seconds=30) as c:
        _login(c)
        now[0] += 31
        assert c.get("/dashboard/api/models").status_code == 401


# -- the data behind the page ------------------------------------------------------------------------
def test_models_list(client: TestClient) -> None:
    _login(client)
    body = client.get("/dashboard/api/models").json()
    assert [m["model"] for m in body["models"]] == ["credit", "loans"]
    credit = body["models"][0]
    assert credit["predictions"] == 1500 and 0 < credit["label_coverage"] < 1
    assert "sex" in body["sensitive"]
    assert client.get("/dashboard/api/models").headers["cache-control"] == "no-store"


def test_metrics_are_the_window_service_numbers(client: TestClient, seeded: Store) -> None:
    _login(client)
    body = client.get("/dashboard/api/models/credit/metrics", params={"sensitive": "sex"}).json()
    assert body["window"] == "6h"  # ~4 days in at most 48 windows
    assert body["truncated"] is False
    direct = window_metrics(seeded, "credit", sensitive=["sex"], window="6h", ci=0.95)
    assert body["windows"] == [w.to_dict() for w in direct]
    assert len(body["windows"]) == 17
    groups = body["windows"][0]["groups"]
    assert [g["group"] for g in groups] == [{"sex": "F"}, {"sex": "M"}]
    assert all(m["lo"] is not None for m in groups[0]["metrics"].values())
    assert body["windows"][-1]["label_coverage"] == 0  # the last day has no outcomes yet


def test_metrics_show_only_the_latest_windows_of_a_long_history(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, seeded: Store
) -> None:
    monkeypatch.setattr(dashboard, "MAX_WINDOWS", 10)
    _login(client)
    body = client.get("/dashboard/api/models/credit/metrics", params={"sensitive": "sex", "window": "1h"}).json()
    assert body["truncated"] is True
    assert len(body["windows"]) == 10
    last = seeded.time_range("credit")
    assert last is not None
    assert body["windows"][-1]["start"] <= last[1].isoformat() < body["windows"][-1]["end"]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/dashboard/api/models/nope/metrics", {}, 404, "unknown model 'nope'"),
        ("/dashboard/api/models/credit/metrics", {"window": "often"}, 422, "window must be a positive duration"),
        ("/dashboard/api/models/credit/metrics", {"sensitive": "religion"}, 422, "unknown sensitive attribute"),
        ("/dashboard/api/models/nope/drift", {}, 404, "unknown model 'nope'"),
        ("/dashboard/api/models/nope/alerts", {}, 404, "unknown model 'nope'"),
        ("/dashboard/api/models/nope/estimates", {}, 404, "unknown model 'nope'"),
        ("/dashboard/api/models/credit/estimates", {"sensitive": "religion"}, 422, "unknown sensitive attribute"),
        ("/dashboard/api/models/credit/estimates", {"window": "often"}, 422, "window must be a positive duration"),
        (
            "/dashboard/api/models/credit/estimates",
            {"reference_start": "2024-05-01T00:00:00Z"},
            422,
            "give both reference_start and reference_end, or neither",
        ),
    ],
)
def test_bad_requests_say_what_is_wrong(
    client: TestClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    _login(client)
    r = client.get(path, params=params)
    assert r.status_code == status
    assert message in r.json()["detail"]


def test_drift_compares_the_two_halves_of_the_history(client: TestClient, seeded: Store) -> None:
    _login(client)
    body = client.get("/dashboard/api/models/credit/drift", params={"sensitive": "sex"}).json()
    ref, cur = body["reference"], body["current"]
    assert ref["end"] == cur["start"]
    direct = drift(
        seeded,
        "credit",
        reference_start=_parse(ref["start"]),
        reference_end=_parse(ref["end"]),
        start=_parse(cur["start"]),
        end=_parse(cur["end"]),
        sensitive=["sex"],
    )
    assert body["features"] == [d.to_dict() for d in direct]
    assert {f["feature"] for f in body["features"]} == {"age", "region"}


def _close(a: Any, b: Any) -> bool:
    """Equal structures whose floats agree to 1e-12 (relative)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-15, nan_ok=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _parse(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_alerts_need_rule_support_in_the_store(client: TestClient, seeded: Store) -> None:
    assert dashboard._records(object(), "list_alerts", "credit") is None  # "no alert rules configured"
    _login(client)
    body = client.get("/dashboard/api/models/credit/alerts").json()
    expected = None if not hasattr(seeded, "list_alerts") else []
    assert body["alerts"] == expected


class _Record:
    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        return self.fields


def test_alerts_and_rules_come_from_the_store_when_it_keeps_them(
    client: TestClient, seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timezone

    started = datetime(2024, 5, 3, tzinfo=timezone.utc)
    alerts = [_Record(rule="dp", metric="demographic_parity", group={"sex": "F"}, state="firing", started=started)]
    asked: list[str] = []

    def list_alerts(model: str) -> list[_Record]:
        asked.append(model)
        return alerts

    monkeypatch.setattr(seeded, "list_alerts", list_alerts, raising=False)
    monkeypatch.setattr(
        seeded,
        "list_rules",
        lambda: [{"name": "dp", "model": "credit", "threshold": 0.8}, {"name": "x", "model": "loans"}],
        raising=False,
    )
    _login(client)
    body = client.get("/dashboard/api/models/credit/alerts").json()
    assert asked == ["credit"]
    assert body["alerts"] == [
        {
            "rule": "dp",
            "metric": "demographic_parity",
            "group": {"sex": "F"},
            "state": "firing",
            "started": "2024-05-03T00:00:00+00:00",
        }
    ]
    assert body["rules"] == [{"name": "dp", "model": "credit", "threshold": 0.8}]  # another model's rule left out


def test_a_key_limited_to_some_models_sees_only_those(client: TestClient) -> None:
    _login(client, "env-credit")
    assert [m["model"] for m in client.get("/dashboard/api/models").json()["models"]] == ["credit"]
    r = client.get("/dashboard/api/models/loans/metrics")
    assert r.status_code == 404
    assert r.json()["detail"] == "unknown model 'loans': no predictions stored for it"  # same words as a missing one
    assert client.get("/dashboard/api/models/credit/alerts").status_code == 200


# -- estimates before the labels arrive ---------------------------------------------------------------
def test_estimates_mark_windows_without_all_labels_and_keep_realised_ones(client: TestClient, seeded: Store) -> None:
    _login(client)
    body = client.get("/dashboard/api/models/credit/estimates", params={"sensitive": "sex"}).json()
    assert body["refused"] is None and body["refusals"] == []
    reference = body["reference"]  # chosen automatically: the fully labelled first three days
    assert (reference["chosen"], reference["windows"], reference["min_coverage"]) == ("auto", 12, 0.9)
    assert (_parse(reference["start"]), _parse(reference["end"])) == (T0, LABELS_UNTIL)
    assert {g["method"] for g in reference["groups"]} <= {"identity", "platt", "isotonic"}

    _, direct = estimate_windows(
        seeded,
        "credit",
        sensitive=["sex"],
        reference_start=T0,
        reference_end=LABELS_UNTIL,
        window="6h",
        ci=dashboard.DASHBOARD_CI,
        min_group_size=dashboard.ESTIMATE_MIN_GROUP_SIZE,
        min_reference_rows=dashboard.ESTIMATE_MIN_REFERENCE_ROWS,
    )
    # the same numbers, up to the last bit of floating-point sums (numpy's SIMD sums can round
    # differently run to run with the arrays' memory alignment)
    assert _close(body["windows"], [dashboard._estimate_window_payload(w.to_dict()) for w in direct])
    realised = window_metrics(seeded, "credit", sensitive=["sex"], window="6h")
    assert len(body["windows"]) == len(realised) == 17
    coverage = [w["label_coverage"] for w in body["windows"]]
    assert coverage == [1.0] * 12 + [0.5, 0.5] + [0.0] * 3
    for window, truth in zip(body["windows"], realised):
        if window["label_coverage"] == 1.0:  # every label in: the realised values, not flagged
            assert window["estimated"] is False
            for group, real in zip(window["groups"], truth.to_dict()["groups"]):
                assert group["estimated"] is False
                assert group["metrics"]["true_positive_rate"]["value"] == pytest.approx(
                    real["metrics"]["true_positive_rate"]["value"]
                )
                assert "estimated" not in group["metrics"]["true_positive_rate"]
            assert window["disparities"]["equalized_odds"]["estimated"] is False
        else:
            assert window["estimated"] is True
            for group in window["groups"]:
                assert group["estimated"] is True and group["estimate_refused"] is None
                assert group["label_coverage"] == window["label_coverage"] or window["label_coverage"] == 0.5
                for metric in ("true_positive_rate", "false_positive_rate", "precision", "accuracy"):
                    value = group["metrics"][metric]
                    assert value["estimated"] is True
                    assert value["lo"] <= value["value"] <= value["hi"]
    estimated_gaps = [w["disparities"]["equalized_odds"] for w in body["windows"][12:] if w["disparities"]]
    assert estimated_gaps and all(d["estimated"] and 0 <= d["difference"] <= 1 for d in estimated_gaps)
    assert all(d["difference_lo"] <= d["difference"] <= d["difference_hi"] for d in estimated_gaps)
    single = body["windows"][14]["disparities"]["true_positive_rate"]
    assert single["max_value"] >= single["min_value"] and single["max_group"] != single["min_group"]


def test_estimates_with_a_given_reference_period(client: TestClient) -> None:
    _login(client)
    params = {"sensitive": "sex", "reference_start": T0.isoformat(), "reference_end": "2024-05-03T00:00:00+00:00"}
    body = client.get("/dashboard/api/models/credit/estimates", params=params).json()
    assert body["reference"]["chosen"] == "given" and body["reference"]["windows"] is None
    assert body["reference"]["end"] == "2024-05-03T00:00:00+00:00"


@pytest.mark.parametrize(
    ("model", "params", "reason"),
    [
        ("loans", {}, "no reference period: no window has label coverage of at least 90% yet"),
        (
            "credit",
            {"reference_start": "2024-05-05T00:00:00Z", "reference_end": "2024-05-06T00:00:00Z"},
            "has no predictions of model 'credit' with both a score and an outcome",
        ),
        ("credit", {"min_coverage": "0.95", "sensitive": "sex"}, None),  # the same run: 100 % coverage
    ],
)
def test_estimates_say_why_they_are_refused(
    client: TestClient, model: str, params: dict[str, str], reason: str | None
) -> None:
    _login(client)
    r = client.get(f"/dashboard/api/models/{model}/estimates", params=params)
    assert r.status_code == 200
    body = r.json()
    if reason is None:
        assert body["refused"] is None and body["reference"]["windows"] == 12
        return
    assert reason in body["refused"]
    assert body["windows"] == [] and body["reference"] is None


def test_estimates_refused_for_every_group_say_so_per_group(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "ESTIMATE_MIN_REFERENCE_ROWS", 5000)
    _login(client)
    body = client.get("/dashboard/api/models/credit/estimates", params={"sensitive": "sex"}).json()
    assert [r["group"] for r in body["refusals"]] == [{"sex": "F"}, {"sex": "M"}]
    assert all("too few labelled reference rows for this group" in r["reason"] for r in body["refusals"])
    assert body["refused"].startswith("sex=F: too few labelled reference rows for this group: ")
    assert "min_reference_rows=5000" in body["refused"]
    latest = body["windows"][-1]["groups"]
    assert all(g["metrics"]["true_positive_rate"]["value"] is None and g["estimate_refused"] for g in latest)


def test_estimates_follow_the_key_s_model_grant(client: TestClient) -> None:
    _login(client, "env-credit")
    r = client.get("/dashboard/api/models/loans/estimates")
    assert r.status_code == 404
    assert r.json()["detail"] == "unknown model 'loans': no predictions stored for it"
    assert client.get("/dashboard/api/models/credit/estimates").status_code == 200
    client.cookies.clear()
    assert client.get("/dashboard/api/models/credit/estimates").status_code == 401


def test_estimates_on_each_store(store: Store) -> None:
    """The coverage query and the estimates on DuckDB and PostgreSQL (the ``store`` fixture runs both)."""
    seed_store(store)
    with _client(store) as c:
        _login(c)
        body = c.get("/dashboard/api/models/credit/estimates", params={"sensitive": "sex"}).json()
    assert body["refused"] is None
    assert (body["reference"]["windows"], body["reference"]["end"]) == (12, LABELS_UNTIL.isoformat())
    assert [w["estimated"] for w in body["windows"]] == [False] * 12 + [True] * 5


def _coverage(*windows: tuple[int, int]) -> list[Any]:
    from datetime import timedelta

    hour = timedelta(hours=1)
    return [
        dashboard._Coverage(T0 + i * hour, T0 + (i + 1) * hour, n, labelled) for i, (n, labelled) in enumerate(windows)
    ]


def test_the_reference_is_the_latest_run_of_labelled_windows() -> None:
    from datetime import timedelta

    hour = timedelta(hours=1)
    windows = _coverage((10, 10), (10, 2), (10, 10), (0, 0), (10, 9), (10, 0), (0, 0))
    assert dashboard._reference_run(windows, 0.9) == (T0 + 2 * hour, T0 + 5 * hour, 2)  # the empty window is skipped
    assert dashboard._reference_run(windows, 0.95) == (T0 + 2 * hour, T0 + 3 * hour, 1)
    assert dashboard._reference_run(_coverage((10, 0), (0, 0)), 0.9) is None


def test_dashboard_routes_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/dashboard")]
