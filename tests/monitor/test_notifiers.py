"""Notifiers against local receivers: an HTTP server thread and an aiosmtpd SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fairwatch.exceptions import InvalidInputError, NotificationError
from fairwatch.monitor import Store
from fairwatch.monitor._alerts import RuleRecord, apply_evaluations
from fairwatch.monitor._notifiers import (
    CommandNotifier,
    DestinationPolicy,
    EmailNotifier,
    LogNotifier,
    SlackNotifier,
    WebhookNotifier,
    deliver_due,
    parse_notifiers,
    send_notification,
    sign,
    verify_signature,
)
from fairwatch.monitor._rules import evaluate_rule

from .test_rules import DAY, REAL_GAP, T0, dp_rule, store_days

#: The receivers of these tests listen on 127.0.0.1: they need the allowance a deployment must opt into.
LOCAL = DestinationPolicy(allow_private=True)

PAYLOAD: dict[str, Any] = {
    "event": "firing",
    "alert": {"id": "a1", "rule": "dp gap", "model": "credit"},
    "rule": {"op": ">", "threshold": 0.05},
    "evidence": {
        "statistic": "|selection_rate difference|",
        "metric": "selection_rate",
        "value": 0.4,
        "lo": 0.33,
        "hi": 0.46,
        "groups": [{"sex": "F"}, {"sex": "M"}],
        "n": [400, 400],
        "reason": "clears the threshold",
    },
}


class Receiver:
    """A local HTTP endpoint answering with the given statuses in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.headers = dict(headers or {})
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_is_signed_with_a_timestamp_and_carries_the_evidence(receiver: Receiver) -> None:
    config = WebhookNotifier(url=receiver.url, secret="s3cret", backoff=0)
    before = int(time.time())
    send_notification(config, PAYLOAD, "key-1", destinations=LOCAL)
    ((headers, body),) = receiver.requests
    timestamp = headers["X-Fairwatch-Timestamp"]
    assert before <= int(timestamp) <= time.time()
    signed = timestamp.encode() + b"." + body  # the timestamp is signed too: no replay with a new one
    expected = "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert headers["X-Fairwatch-Signature"] == expected == sign("s3cret", body, int(timestamp))
    verify_signature("s3cret", body, timestamp, headers["X-Fairwatch-Signature"])
    assert headers["Idempotency-Key"] == "key-1" and headers["X-Fairwatch-Event"] == "firing"
    sent = json.loads(body)
    assert sent["idempotency_key"] == "key-1"
    assert sent["evidence"]["n"] == [400, 400] and sent["evidence"]["lo"] == 0.33


def test_webhook_retries_5xx_with_the_same_key() -> None:
    receiver = Receiver([503, 502])
    try:
        send_notification(
            WebhookNotifier(url=receiver.url, backoff=0, max_attempts=3), PAYLOAD, "key-2", destinations=LOCAL
        )
    finally:
        receiver.close()
    assert len(receiver.requests) == 3
    assert {h["Idempotency-Key"] for h, _ in receiver.requests} == {"key-2"}


def test_webhook_gives_up_with_a_retryable_error() -> None:
    receiver = Receiver([500, 500])
    try:
        with pytest.raises(
            NotificationError, match="did not accept the notification after 2 attempt\\(s\\): HTTP 500"
        ) as info:
            send_notification(
                WebhookNotifier(url=receiver.url, backoff=0, max_attempts=2), PAYLOAD, "k", destinations=LOCAL
            )
    finally:
        receiver.close()
    assert info.value.retryable


def test_webhook_4xx_is_not_retried() -> None:
    receiver = Receiver([403])
    try:
        with pytest.raises(NotificationError, match="refused the notification \\(HTTP 403\\)") as info:
            send_notification(WebhookNotifier(url=receiver.url, backoff=0), PAYLOAD, "k", destinations=LOCAL)
    finally:
        receiver.close()
    assert not info.value.retryable and len(receiver.requests) == 1


def test_webhook_connection_refused_is_retryable() -> None:
    config = WebhookNotifier(url=f"http://127.0.0.1:{free_port()}/hook", backoff=0, max_attempts=2, timeout=2)
    with pytest.raises(NotificationError, match="ConnectError") as info:
        send_notification(config, PAYLOAD, "k", destinations=LOCAL)
    assert info.value.retryable


def test_slack_message(receiver: Receiver) -> None:
    send_notification(SlackNotifier(url=receiver.url), PAYLOAD, "k", destinations=LOCAL)
    message = json.loads(receiver.requests[0][1])
    assert message["text"].startswith("[fairwatch] FIRING: rule 'dp gap' on model 'credit'")
    assert "sex=F vs sex=M" in message["text"]
    assert [b["type"] for b in message["blocks"]] == ["section", "context"]


def test_email_over_smtp() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    received: list[Any] = []

    class Collect(Sink):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = EmailNotifier(host="127.0.0.1", port=port, sender="fw@example.org", recipients=["ops@example.org"])
        send_notification(config, PAYLOAD, "key-3")
    finally:
        controller.stop()
    (envelope,) = received
    assert envelope.rcpt_tos == ["ops@example.org"]
    text = envelope.content.decode()
    assert "Subject: [fairwatch] FIRING: rule 'dp gap'" in text
    assert "X-Fairwatch-Idempotency-Key: key-3" in text and "clears the threshold" in text


def test_email_to_a_closed_port_is_retryable() -> None:
    config = EmailNotifier(host="127.0.0.1", port=free_port(), sender="a@b.c", recipients=["d@e.f"], timeout=2)
    with pytest.raises(NotificationError, match=r"SMTP delivery via 127\.0\.0\.1") as info:
        send_notification(config, PAYLOAD, "k")
    assert info.value.retryable


def test_log_notifier_keeps_group_values_out_of_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fairwatch.alerts"):
        send_notification(LogNotifier(), PAYLOAD, "k")
    (line,) = caplog.messages
    assert "FIRING: rule 'dp gap' on model 'credit'" in line and "2 group(s) of sex" in line
    assert "sex=F" not in line and "'F'" not in line


def test_command_hook_gets_the_alert_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "hook.json"
    script = f"import sys, os; open({str(out)!r}, 'w').write(os.environ['FAIRWATCH_EVENT'] + sys.stdin.read())"
    send_notification(CommandNotifier(argv=[sys.executable, "-c", script]), PAYLOAD, "key-4")
    text = out.read_text()
    assert text.startswith("firing")
    received = json.loads(text[len("firing") :])
    assert received["evidence"]["groups"] == [{"sex": "F"}, {"sex": "M"}] and received["idempotency_key"] == "key-4"


def test_command_hook_does_not_inherit_the_service_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRWATCH_API_KEYS", "secret-key:admin")
    out = tmp_path / "env.json"
    script = f"import json, os; open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"
    hook = CommandNotifier(argv=[sys.executable, "-c", script], env={"RETRAIN_QUEUE": "gpu"})
    send_notification(hook, PAYLOAD, "k")
    env = json.loads(out.read_text())
    assert "FAIRWATCH_API_KEYS" not in env and env["RETRAIN_QUEUE"] == "gpu" and env["FAIRWATCH_EVENT"] == "firing"


def test_command_hook_failures() -> None:
    failing = CommandNotifier(argv=[sys.executable, "-c", "import sys; sys.stderr.write('no GPU'); sys.exit(3)"])
    with pytest.raises(NotificationError, match="exited with status 3: no GPU"):
        send_notification(failing, PAYLOAD, "k")
    slow = CommandNotifier(argv=[sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)
    with pytest.raises(NotificationError, match=r"did not finish within 0\.3 s"):
        send_notification(slow, PAYLOAD, "k")
    with pytest.raises(NotificationError, match="could not start") as info:
        send_notification(CommandNotifier(argv=["/nonexistent/retrain"]), PAYLOAD, "k")
    assert not info.value.retryable


def test_parse_notifiers() -> None:
    parsed = parse_notifiers(
        '{"oncall": {"type": "webhook", "url": "https://hooks.example/x", "secret": "s"},'
        ' "retrain": {"type": "command", "argv": ["retrain.sh"]}}'
    )
    assert sorted(parsed) == ["log", "oncall", "retrain"]
    assert parsed["retrain"].events == ["firing"] and parsed["oncall"].events == ["firing", "resolved"]
    with pytest.raises(InvalidInputError, match="must be a JSON object of named notifiers"):
        parse_notifiers("{oops")
    with pytest.raises(InvalidInputError, match=r"oncall\.webhook\.url: String should match pattern"):
        parse_notifiers('{"oncall": {"type": "webhook", "url": "ftp://x"}}')
    with pytest.raises(InvalidInputError, match="types: webhook, slack, email, log, command"):
        parse_notifiers('{"x": {"type": "pager"}}')


def test_failed_notifications_are_kept_and_retried(store: Store) -> None:
    store_days(store, [REAL_GAP])
    rule = dp_rule(notify=["hook", "retrain"])
    record = RuleRecord("r1", rule.name, rule.model, rule.kind, rule.model_dump(mode="json"), T0, T0)
    store.insert_rule(record)
    (opened,) = apply_evaluations(store, record, evaluate_rule(store, rule, T0, T0 + DAY), T0 + DAY)
    down = Receiver([500, 500])
    notifiers: dict[str, Any] = {
        "hook": WebhookNotifier(url=down.url, backoff=0, max_attempts=2),
        "retrain": CommandNotifier(argv=[sys.executable, "-c", "import sys; sys.stdin.read()"]),
    }
    now = T0 + DAY
    try:
        report = deliver_due(store, notifiers, now, destinations=LOCAL)
        assert (report.sent, report.retrying) == (1, 1)
        hook = next(d for d in store.list_deliveries(opened.alert.alert_id) if d.notifier == "hook")
        assert hook.status == "pending" and hook.attempts == 1 and "HTTP 500" in (hook.last_error or "")
        assert hook.next_attempt == now + dt.timedelta(seconds=30)
        assert deliver_due(store, notifiers, now, destinations=LOCAL).sent == 0  # not due yet
        report = deliver_due(
            store, notifiers, now + dt.timedelta(minutes=1), destinations=LOCAL
        )  # the receiver is back
        assert report.sent == 1
    finally:
        down.close()
    deliveries = {d.notifier: d for d in store.list_deliveries(opened.alert.alert_id)}
    assert {k: (d.status, d.attempts) for k, d in deliveries.items()} == {"hook": ("sent", 2), "retrain": ("sent", 1)}
    assert len(down.requests) == 3 and len({h["Idempotency-Key"] for h, _ in down.requests}) == 1
    assert store.list_alerts(state="firing")[0].alert_id == opened.alert.alert_id


def test_unconfigured_notifier_fails_without_losing_the_alert(store: Store) -> None:
    store_days(store, [REAL_GAP])
    rule = dp_rule(notify=["gone"])
    record = RuleRecord("r1", rule.name, rule.model, rule.kind, rule.model_dump(mode="json"), T0, T0)
    store.insert_rule(record)
    apply_evaluations(store, record, evaluate_rule(store, rule, T0, T0 + DAY), T0 + DAY)
    report = deliver_due(store, {"log": LogNotifier()}, T0 + DAY)
    assert report.failed == 1
    (alert,) = store.list_alerts()
    (delivery,) = store.list_deliveries(alert.alert_id)
    assert delivery.status == "failed" and "notifier 'gone' is not configured" in (delivery.last_error or "")


def test_webhook_errors_do_not_reveal_the_url_path() -> None:
    # the path of a Slack-style webhook URL is its secret; errors are stored and shown to read keys
    receiver = Receiver([403])
    secret_url = receiver.url + "/T000/B000/s3cretToken"
    try:
        with pytest.raises(NotificationError, match="refused the notification") as info:
            send_notification(SlackNotifier(url=secret_url, backoff=0), PAYLOAD, "k", destinations=LOCAL)
    finally:
        receiver.close()
    assert "s3cretToken" not in str(info.value) and "127.0.0.1" in str(info.value)
    down = f"http://127.0.0.1:{free_port()}/hook/s3cretToken"
    with pytest.raises(NotificationError, match="ConnectError") as info:
        send_notification(
            WebhookNotifier(url=down, backoff=0, max_attempts=1, timeout=2), PAYLOAD, "k", destinations=LOCAL
        )
    assert "s3cretToken" not in str(info.value)


def test_a_broken_notifier_does_not_block_the_outbox(store: Store) -> None:
    store_days(store, [REAL_GAP])
    rule = dp_rule(notify=["broken", "log"])
    record = RuleRecord("r1", rule.name, rule.model, rule.kind, rule.model_dump(mode="json"), T0, T0)
    store.insert_rule(record)
    apply_evaluations(store, record, evaluate_rule(store, rule, T0, T0 + DAY), T0 + DAY)
    notifiers: dict[str, Any] = {"broken": WebhookNotifier(url="http://a:b/x"), "log": LogNotifier()}
    report = deliver_due(store, notifiers, T0 + DAY)
    assert (report.sent, report.retrying) == (1, 1)
    (alert,) = store.list_alerts()
    broken = next(d for d in store.list_deliveries(alert.alert_id) if d.notifier == "broken")
    assert broken.status == "pending" and "check its configuration in FAIRWATCH_NOTIFIERS" in (broken.last_error or "")


# -- replay protection: the timestamp is signed ----------------------------------------------------
BODY = b'{"event": "firing"}'
SENT = 1714521600


@pytest.mark.parametrize(
    ("timestamp", "signature", "now", "message"),
    [
        (None, "sha256=x", SENT, "X-Fairwatch-Timestamp and X-Fairwatch-Signature headers are both required"),
        ("yesterday", "sha256=x", SENT, "X-Fairwatch-Timestamp must be Unix seconds; got 'yesterday'"),
        (
            str(SENT),
            sign("s3cret", BODY, SENT),
            SENT + 301,
            "X-Fairwatch-Timestamp is 301 s away from now (at most 300 s accepted): an old message replayed, "
            "or a wrong clock",
        ),
        (
            str(SENT),
            sign("s3cret", BODY, SENT),
            SENT - 600,
            "X-Fairwatch-Timestamp is 600 s away from now (at most 300 s accepted)",
        ),
        (
            str(SENT + 1),  # a replay with a fresh timestamp: the signature covers the old one
            sign("s3cret", BODY, SENT),
            SENT + 1,
            "X-Fairwatch-Signature does not match the body and timestamp (wrong secret?)",
        ),
        (str(SENT), sign("other", BODY, SENT), SENT, "X-Fairwatch-Signature does not match the body and timestamp"),
    ],
)
def test_receivers_refuse_old_replayed_or_forged_webhooks(
    timestamp: str | None, signature: str, now: int, message: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        verify_signature("s3cret", BODY, timestamp, signature, now=now)
    assert str(info.value).startswith(message)
    verify_signature("s3cret", BODY, str(SENT), sign("s3cret", BODY, SENT), now=SENT + 299)


def test_each_attempt_is_signed_with_its_own_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import fairwatch.monitor._notifiers as notifiers_module

    clock = iter([SENT, SENT + 40])
    monkeypatch.setattr(notifiers_module, "time", types.SimpleNamespace(time=lambda: next(clock), sleep=time.sleep))
    receiver = Receiver([503])
    try:
        send_notification(
            WebhookNotifier(url=receiver.url, secret="s3cret", backoff=0), PAYLOAD, "k", destinations=LOCAL
        )
    finally:
        receiver.close()
    stamps = [h["X-Fairwatch-Timestamp"] for h, _ in receiver.requests]
    assert stamps == [str(SENT), str(SENT + 40)]
    for headers, body in receiver.requests:
        ts = int(headers["X-Fairwatch-Timestamp"])
        verify_signature("s3cret", body, str(ts), headers["X-Fairwatch-Signature"], now=ts)


# -- where notifiers may send (SSRF) ---------------------------------------------------------------
REFUSED = "which is not a public address; notifiers send to public addresses only unless " + (
    "FAIRWATCH_NOTIFIER_ALLOW_PRIVATE=true or the host is listed in FAIRWATCH_NOTIFIER_ALLOWED_HOSTS"
)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.1.5", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"]
)
def test_notifiers_do_not_send_to_internal_addresses(address: str) -> None:
    config = WebhookNotifier(url=f"http://{address}:8080/hook", backoff=0, max_attempts=1, timeout=1)
    with pytest.raises(NotificationError) as info:
        send_notification(config, PAYLOAD, "k")
    assert REFUSED in str(info.value) and not info.value.retryable


def test_the_host_is_resolved_again_at_delivery_and_the_checked_address_is_used(receiver: Receiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    answers = {"hooks.example.com": ["127.0.0.1"]}
    allowed = DestinationPolicy(allowed_hosts=("hooks.example.com",), resolve=lambda host, _: answers[host])
    url = f"http://hooks.example.com:{port}/hook"
    send_notification(WebhookNotifier(url=url), PAYLOAD, "k", destinations=allowed)
    ((headers, _),) = receiver.requests  # sent to the address resolved, under its own Host name
    assert headers["Host"] == f"hooks.example.com:{port}"

    rebinding = DestinationPolicy(resolve=lambda host, _: answers[host])  # now the name points inside
    with pytest.raises(NotificationError, match=re.escape("resolves to 127.0.0.1, which is not a public address")):
        send_notification(WebhookNotifier(url=url), PAYLOAD, "k", destinations=rebinding)
    answers["hooks.example.com"] = ["93.184.216.34", "10.0.0.7"]  # any internal answer refuses
    with pytest.raises(NotificationError, match=re.escape("resolves to 10.0.0.7")):
        send_notification(WebhookNotifier(url=url), PAYLOAD, "k", destinations=rebinding)
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed() -> None:
    receiver = Receiver([302], headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    try:
        with pytest.raises(NotificationError) as info:
            send_notification(WebhookNotifier(url=receiver.url, backoff=0), PAYLOAD, "k", destinations=LOCAL)
    finally:
        receiver.close()
    assert str(info.value) == (
        f"{receiver.url.rsplit('/', 1)[0]} answered with a redirect (HTTP 302 to http://169.254.169.254); "
        "redirects are not followed: configure the final URL"
    )
    assert not info.value.retryable and len(receiver.requests) == 1


def test_allowed_networks_and_bad_settings() -> None:
    policy = DestinationPolicy.from_settings(False, "alerts.internal, 10.20.0.0/16")
    assert policy.address("http://10.20.3.4/hook") == "10.20.3.4"
    with pytest.raises(NotificationError, match=re.escape("resolves to 10.21.0.1")):
        policy.address("http://10.21.0.1/hook")
    with pytest.raises(
        InvalidInputError, match=re.escape("FAIRWATCH_NOTIFIER_ALLOWED_HOSTS: '10.20.0.0/99' is not an IP network")
    ):
        DestinationPolicy.from_settings(False, "10.20.0.0/99")
    unresolvable = DestinationPolicy(resolve=lambda host, port: (_ for _ in ()).throw(OSError("no such host")))
    with pytest.raises(
        NotificationError, match=re.escape("cannot resolve the host of https://nowhere.example")
    ) as info:
        unresolvable.address("https://nowhere.example/hook")
    assert info.value.retryable  # DNS may be back at the next pass


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.1"])
def test_rules_naming_an_internal_notifier_are_refused(store: Store, address: str) -> None:
    from fastapi.testclient import TestClient

    from fairwatch.server import Settings, create_app

    from .test_rules import ADMIN, KEYS

    notifiers = json.dumps({"internal": {"type": "webhook", "url": f"http://{address}:9/hook"}})
    body = dp_rule(notify=["internal"]).model_dump(mode="json")
    refused_app = create_app(Settings(api_keys=KEYS, notifiers=notifiers, evaluation_interval=0), store=store)
    with TestClient(refused_app) as client:
        refused = client.post("/v1/rules", json=body, headers=ADMIN)
    assert refused.status_code == 422
    assert refused.json()["detail"] == f"notifier 'internal': http://{address}:9 resolves to {address}, {REFUSED}"
    assert store.list_rules() == []
    allowed = Settings(api_keys=KEYS, notifiers=notifiers, evaluation_interval=0, notifier_allow_private=True)
    with TestClient(create_app(allowed, store=store)) as client:
        assert client.post("/v1/rules", json=body, headers=ADMIN).status_code == 201


def test_the_service_delivers_to_internal_receivers_only_when_allowed(store: Store, receiver: Receiver) -> None:
    from fastapi.testclient import TestClient

    from fairwatch.server import Settings, create_app
    from fairwatch.server._rules_api import scheduler_of

    from .test_rules import ADMIN, KEYS

    store_days(store, [REAL_GAP])
    notifiers = json.dumps({"hook": {"type": "webhook", "url": receiver.url, "secret": "s3cret"}})
    settings = Settings(api_keys=KEYS, notifiers=notifiers, evaluation_interval=0, notifier_allowed_hosts="127.0.0.1")
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        assert client.post("/v1/rules", json=dp_rule(notify=["hook"]).model_dump(mode="json"), headers=ADMIN).is_success
        report = scheduler_of(app.state.context).run_once(T0 + DAY + dt.timedelta(minutes=5))
    assert report.deliveries.sent == 1 and len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    verify_signature("s3cret", body, headers["X-Fairwatch-Timestamp"], headers["X-Fairwatch-Signature"])
