"""Notifiers: where alerts go (webhook, Slack-compatible webhook, e-mail, log, command).

Notifiers are configured by the operator, not through the API: ``FAIRWATCH_NOTIFIERS`` holds a JSON
object of named configurations and a rule lists the names it notifies (``"notify": ["oncall"]``).
Secrets (HMAC keys, SMTP passwords) thus stay in the deployment's secret store and never in the
database or API responses, and a ``command`` hook (the retraining hook) can only run what the
operator configured: an admin API key cannot make the service execute an arbitrary program.

Every notifier receives the same payload: the event (``firing`` / ``resolved``), the alert, the rule
and the window's evidence (group values, sizes, interval, the reason). Deliveries are queued in the
store's outbox and sent from there; a failure is recorded and retried with exponential backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from fairwatch.exceptions import InvalidInputError, NotificationError
from fairwatch.monitor._alerts import DeliveryRecord, short_hash

__all__ = [
    "CommandNotifier",
    "DeliveryReport",
    "EmailNotifier",
    "LogNotifier",
    "NotifierConfig",
    "SlackNotifier",
    "WebhookNotifier",
    "deliver_due",
    "parse_notifiers",
    "send_notification",
    "sign",
]

log = logging.getLogger("fairwatch.alerts")

Event = Literal["firing", "resolved"]
#: Attempts of one delivery across evaluation passes before it is marked failed.
MAX_DELIVERY_ATTEMPTS = 12
SIGNATURE_HEADER = "X-Fairwatch-Signature"


def _both_events() -> list[Event]:
    return ["firing", "resolved"]


def _firing_only() -> list[Event]:
    return ["firing"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(default_factory=_both_events)


class _HttpConfig(_Config):
    url: str = Field(pattern=r"^https?://")
    timeout: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts within one delivery")
    backoff: float = Field(default=0.5, ge=0, description="First retry delay in seconds (doubles each time)")
    headers: dict[str, str] = Field(default_factory=dict)


class WebhookNotifier(_HttpConfig):
    """POST the JSON payload, signed with HMAC-SHA256 over the body when ``secret`` is set."""

    type: Literal["webhook"] = "webhook"
    secret: str | None = None


class SlackNotifier(_HttpConfig):
    """POST ``{"text": ..., "blocks": [...]}`` to a Slack-compatible incoming webhook."""

    type: Literal["slack"] = "slack"


class EmailNotifier(_Config):
    """Send a plain-text e-mail over SMTP (optionally STARTTLS or implicit TLS, and login)."""

    type: Literal["email"] = "email"
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(default=10.0, gt=0)


class LogNotifier(_Config):
    """Write one line per event to the ``fairwatch.alerts`` logger (no sensitive attribute values)."""

    type: Literal["log"] = "log"
    level: Literal["info", "warning", "error"] = "warning"


class CommandNotifier(_Config):
    """Run a program (e.g. a retraining job) with the payload as JSON on stdin."""

    type: Literal["command"] = "command"
    argv: list[str] = Field(min_length=1, description="Program and arguments (no shell)")
    timeout: float = Field(default=60.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables")
    events: list[Event] = Field(default_factory=_firing_only)


NotifierConfig = Annotated[
    Union[WebhookNotifier, SlackNotifier, EmailNotifier, LogNotifier, CommandNotifier], Field(discriminator="type")
]
_NOTIFIERS = TypeAdapter(dict[str, NotifierConfig])
AnyNotifier = Union[WebhookNotifier, SlackNotifier, EmailNotifier, LogNotifier, CommandNotifier]


def parse_notifiers(text: str | Mapping[str, Any] | None) -> dict[str, AnyNotifier]:
    """Named notifier configurations from JSON (``FAIRWATCH_NOTIFIERS``); ``log`` is always there.

    Examples
    --------
    >>> sorted(parse_notifiers('{"oncall": {"type": "webhook", "url": "https://hooks.example/x"}}'))
    ['log', 'oncall']
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        raw: Any = {}
    elif isinstance(text, str):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"FAIRWATCH_NOTIFIERS must be a JSON object of named notifiers ({exc.msg} at position {exc.pos})"
            ) from None
    else:
        raw = dict(text)
    if not isinstance(raw, dict):
        raise InvalidInputError(
            'FAIRWATCH_NOTIFIERS must be a JSON object such as {"oncall": {"type": "webhook", ...}}'
        )
    try:
        parsed: dict[str, AnyNotifier] = _NOTIFIERS.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInputError(
            f"notifier configuration {where}: {first['msg']} (types: webhook, slack, email, log, command)"
        ) from None
    parsed.setdefault("log", LogNotifier())
    return parsed


# -- messages --------------------------------------------------------------------------------------
def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``body``.

    Examples
    --------
    >>> sign("s3cret", b'{"a": 1}')[:15]
    'sha256=1a9fab6c'
    """
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _headline(payload: Mapping[str, Any], *, with_groups: bool) -> str:
    alert, evidence = payload.get("alert", {}), payload.get("evidence", {})
    rule = payload.get("rule", {})
    value, lo, hi = evidence.get("value"), evidence.get("lo"), evidence.get("hi")
    statistic = evidence.get("statistic") or evidence.get("metric", "")
    numbers = f"{statistic} = {value:.4g}" if isinstance(value, (int, float)) else statistic
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        numbers += f" [{lo:.4g}, {hi:.4g}]"
    if with_groups and evidence.get("groups"):
        numbers += " for " + " vs ".join(
            ", ".join(f"{k}={v}" for k, v in group.items()) for group in evidence["groups"]
        )
    elif evidence.get("groups"):
        numbers += f" ({len(evidence['groups'])} group(s) of {', '.join(sorted(evidence['groups'][0]))})"
    threshold = f"; threshold {rule.get('op', '')} {rule.get('threshold', '')}" if "threshold" in rule else ""
    return (
        f"[fairwatch] {str(payload.get('event', '')).upper()}: rule {alert.get('rule')!r} on model "
        f"{alert.get('model')!r}: {numbers}{threshold} (alert {alert.get('id')})"
    )


def _body(payload: Mapping[str, Any], idempotency_key: str) -> bytes:
    return json.dumps({**payload, "idempotency_key": idempotency_key}, sort_keys=True, default=str).encode("utf-8")


def _endpoint(url: str) -> str:
    """``https://hooks.example`` of a webhook URL: its path and query often carry a secret token
    (Slack incoming webhooks do), and errors end up in the outbox, which read keys can see.

    Examples
    --------
    >>> _endpoint("https://hooks.slack.com/services/T0/B0/s3cret?x=1")
    'https://hooks.slack.com'
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")
    except ValueError:  # not a valid URL (the request fails and says so): show no part of it
        return "the notifier's URL"


def _post(config: _HttpConfig, body: bytes, headers: dict[str, str], sleep: Any = time.sleep) -> None:
    import httpx

    endpoint = _endpoint(config.url)
    problem = ""
    with httpx.Client(timeout=config.timeout) as client:
        for attempt in range(config.max_attempts):
            if attempt:
                sleep(config.backoff * 2 ** (attempt - 1))
            try:
                response = client.post(config.url, content=body, headers={**config.headers, **headers})
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {str(exc).replace(config.url, endpoint)}"
                continue
            if response.status_code < 300:
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in (408, 429):
                raise NotificationError(f"{endpoint} refused the notification ({problem})", retryable=False)
    raise NotificationError(
        f"{endpoint} did not accept the notification after {config.max_attempts} attempt(s): {problem}"
    )


def send_notification(config: AnyNotifier, payload: Mapping[str, Any], idempotency_key: str) -> None:
    """Deliver ``payload`` with one notifier; raises :class:`~fairwatch.exceptions.NotificationError`.

    ``idempotency_key`` travels with the notification (header, body or environment) so that a
    receiver can drop the duplicates a retry may cause.

    Examples
    --------
    >>> send_notification(LogNotifier(level="info"), {"event": "firing", "alert": {"rule": "dp"}}, "k1")
    """
    event = str(payload.get("event", ""))
    if isinstance(config, WebhookNotifier):
        body = _body(payload, idempotency_key)
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key, "X-Fairwatch-Event": event}
        if config.secret:
            headers[SIGNATURE_HEADER] = sign(config.secret, body)
        _post(config, body, headers)
    elif isinstance(config, SlackNotifier):
        text = _headline(payload, with_groups=True)
        reason = str(payload.get("evidence", {}).get("reason", ""))
        message = {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": reason[:2900] or "-"}]},
            ],
        }
        _post(
            config,
            json.dumps(message).encode("utf-8"),
            {"Content-Type": "application/json", "Idempotency-Key": idempotency_key},
        )
    elif isinstance(config, EmailNotifier):
        _send_email(config, payload, idempotency_key)
    elif isinstance(config, LogNotifier):
        log.log(logging.getLevelName(config.level.upper()), _headline(payload, with_groups=False))
    else:
        _run_command(config, payload, idempotency_key)


def _send_email(config: EmailNotifier, payload: Mapping[str, Any], idempotency_key: str) -> None:
    message = EmailMessage()
    message["Subject"] = _headline(payload, with_groups=False)[:200]
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["X-Fairwatch-Idempotency-Key"] = idempotency_key
    evidence = payload.get("evidence", {})
    message.set_content(
        f"{_headline(payload, with_groups=True)}\n\n{evidence.get('reason', '')}\n\n"
        f"{json.dumps(payload, indent=2, sort_keys=True, default=str)}\n"
    )
    smtp_class = smtplib.SMTP_SSL if config.ssl else smtplib.SMTP
    try:
        with smtp_class(config.host, config.port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls()
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotificationError(f"SMTP login to {config.host}:{config.port} failed: {exc}", retryable=False) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationError(f"SMTP delivery via {config.host}:{config.port} failed: {exc}") from exc


#: Variables of the service's environment a command hook inherits; the rest (API keys, database
#: URLs, notifier secrets) stays in the service. Pass more with the hook's ``env``.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")


def _run_command(config: CommandNotifier, payload: Mapping[str, Any], idempotency_key: str) -> None:
    import os

    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    env.update(config.env)
    env.update({"FAIRWATCH_EVENT": str(payload.get("event", "")), "FAIRWATCH_IDEMPOTENCY_KEY": idempotency_key})
    try:
        done = subprocess.run(
            config.argv,
            input=_body(payload, idempotency_key),
            capture_output=True,
            timeout=config.timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NotificationError(f"command {config.argv[0]!r} did not finish within {config.timeout} s") from None
    except OSError as exc:
        raise NotificationError(f"command {config.argv[0]!r} could not start: {exc}", retryable=False) from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-300:]
        raise NotificationError(f"command {config.argv[0]!r} exited with status {done.returncode}: {tail}")


# -- the outbox ------------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next pass retries a delivery: 30 s, 1 min, 2 min, ... capped at 6 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def deliver_due(
    store: Any, notifiers: Mapping[str, AnyNotifier], now: datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Send every due notification of the outbox; failures are recorded and rescheduled."""
    now = now or datetime.now(timezone.utc)
    report = DeliveryReport()
    for delivery in store.due_deliveries(now, limit=limit):
        config = notifiers.get(delivery.notifier)
        if config is not None and delivery.event not in config.events:
            _finish(store, delivery, "skipped", None, now)
            report.skipped += 1
            continue
        try:
            if config is None:
                raise NotificationError(
                    f"notifier {delivery.notifier!r} is not configured (FAIRWATCH_NOTIFIERS has: "
                    f"{', '.join(sorted(notifiers))})",
                    retryable=False,
                )
            try:
                send_notification(config, delivery.payload, delivery.delivery_id)
            except NotificationError:
                raise
            except Exception as exc:  # a broken configuration (e.g. an invalid URL) must not block the outbox
                raise NotificationError(
                    f"notifier {delivery.notifier!r} failed unexpectedly ({type(exc).__name__}); check its "
                    f"configuration in FAIRWATCH_NOTIFIERS; it is retried later"
                ) from exc
        except NotificationError as exc:
            delivery.attempts += 1
            delivery.last_error = str(exc)[:500]
            if exc.retryable and delivery.attempts < MAX_DELIVERY_ATTEMPTS:
                delivery.next_attempt = now + retry_delay(delivery.attempts)
                store.record_delivery(delivery)
                report.retrying += 1
            else:
                _finish(store, delivery, "failed", delivery.last_error, now)
                report.failed += 1
            log.warning(
                "notification %s via %r failed: %s", delivery.delivery_id, delivery.notifier, type(exc).__name__
            )
            continue
        delivery.attempts += 1
        _finish(store, delivery, "sent", None, now)
        report.sent += 1
    return report


def _finish(store: Any, delivery: DeliveryRecord, status: str, error: str | None, now: datetime) -> None:
    delivery.status = status
    delivery.last_error = error
    delivery.sent = now if status == "sent" else None
    store.record_delivery(delivery)


def idempotency_key(alert_id: str, event: str, notifier: str) -> str:
    return short_hash(alert_id, event, notifier)
