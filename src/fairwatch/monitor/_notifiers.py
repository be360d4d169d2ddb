"""Notifiers: where alerts go (webhook, Slack-compatible webhook, e-mail, log, command).

Notifiers are configured by the operator, not through the API: ``FAIRWATCH_NOTIFIERS`` holds a JSON
object of named configurations and a rule lists the names it notifies (``"notify": ["oncall"]``).
Secrets (HMAC keys, SMTP passwords) thus stay in the deployment's secret store and never in the
database or API responses, and a ``command`` hook (the retraining hook) can only run what the
operator configured: an admin API key cannot make the service execute an arbitrary program.

Every notifier receives the same payload: the event (``firing`` / ``resolved``), the alert, the rule
and the window's evidence (group values, sizes, interval, the reason). Deliveries are queued in the
store's outbox and sent from there; a failure is recorded and retried with exponential backoff.

Webhook and Slack URLs must point at public addresses (:class:`DestinationPolicy`): the host is
resolved when a rule names the notifier and again at each delivery, the request goes to the address
that was checked (a DNS answer that changes in between cannot redirect it), and redirects are not
followed. ``FAIRWATCH_NOTIFIER_ALLOW_PRIVATE`` or ``FAIRWATCH_NOTIFIER_ALLOWED_HOSTS`` allow internal
receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from fairwatch.exceptions import InvalidInputError, NotificationError
from fairwatch.monitor._alerts import DeliveryRecord, short_hash

__all__ = [
    "PUBLIC_ONLY",
    "CommandNotifier",
    "DeliveryReport",
    "DestinationPolicy",
    "EmailNotifier",
    "LogNotifier",
    "NotifierConfig",
    "SlackNotifier",
    "WebhookNotifier",
    "deliver_due",
    "parse_notifiers",
    "send_notification",
    "sign",
    "verify_signature",
]

log = logging.getLogger("fairwatch.alerts")

Event = Literal["firing", "resolved"]
#: Attempts of one delivery across evaluation passes before it is marked failed.
MAX_DELIVERY_ATTEMPTS = 12
SIGNATURE_HEADER = "X-Fairwatch-Signature"
#: Unix time (seconds) of the attempt, part of the signed message: receivers refuse old messages.
TIMESTAMP_HEADER = "X-Fairwatch-Timestamp"
#: Largest age (seconds) of a signed webhook that :func:`verify_signature` accepts by default.
SIGNATURE_TOLERANCE = 300


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


# -- where HTTP notifiers may send ------------------------------------------------------------------
Resolver = Callable[[str, int], Sequence[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class DestinationPolicy:
    """Where webhook and Slack notifiers may send: public unicast addresses only, by default.

    Loopback, private, link-local (cloud metadata services at 169.254.169.254 among them),
    carrier-grade NAT, multicast, reserved and unspecified addresses are refused, so a notifier URL
    (or a DNS answer for its host) cannot make the service call into its own network.

    Parameters
    ----------
    allow_private : bool
        Allow every address (``FAIRWATCH_NOTIFIER_ALLOW_PRIVATE=true``): for receivers inside the
        network, when the notifier configuration is trusted.
    allowed_hosts : tuple of str
        Host names and IP networks allowed whatever they resolve to
        (``FAIRWATCH_NOTIFIER_ALLOWED_HOSTS=alerts.internal,10.20.0.0/16``).
    resolve : callable
        ``(host, port) -> addresses`` (tests pass a fake resolver).

    Examples
    --------
    >>> DestinationPolicy().address("http://127.0.0.1:9000/hook")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fairwatch.exceptions.NotificationError: http://127.0.0.1:9000 resolves to 127.0.0.1, which is not ...
    >>> DestinationPolicy(allowed_hosts=("127.0.0.0/8",)).address("http://127.0.0.1:9000/hook")
    '127.0.0.1'
    """

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    resolve: Resolver = field(default=_resolve, compare=False, repr=False)

    @classmethod
    def from_settings(cls, allow_private: bool, allowed_hosts: str) -> DestinationPolicy:
        """The policy of ``FAIRWATCH_NOTIFIER_ALLOW_PRIVATE`` and ``FAIRWATCH_NOTIFIER_ALLOWED_HOSTS``."""
        hosts = tuple(h.strip().lower() for h in allowed_hosts.split(",") if h.strip())
        for host in hosts:
            if "/" in host:
                try:
                    ipaddress.ip_network(host, strict=False)
                except ValueError:
                    raise InvalidInputError(
                        f"FAIRWATCH_NOTIFIER_ALLOWED_HOSTS: {host!r} is not an IP network such as 10.20.0.0/16"
                    ) from None
        return cls(allow_private, hosts)

    def _allowed(self, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if self.allow_private or _is_public(address) or host.lower() in self.allowed_hosts:
            return True
        return any(
            "/" in entry and address in ipaddress.ip_network(entry, strict=False) for entry in self.allowed_hosts
        )

    def address(self, url: str) -> str:
        """The checked address to send to for ``url``.

        Raises
        ------
        NotificationError
            The host resolves to an address that is not allowed (not retryable), or does not
            resolve (retryable).
        """
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [host] if _is_ip(host) else list(self.resolve(host, port))
        except OSError as exc:
            raise NotificationError(f"cannot resolve the host of {_endpoint(url)}: {exc}") from None
        if not addresses:
            raise NotificationError(f"cannot resolve the host of {_endpoint(url)}")
        for text in addresses:
            if not self._allowed(host, ipaddress.ip_address(text.split("%")[0])):
                raise NotificationError(
                    f"{_endpoint(url)} resolves to {text}, which is not a public address; notifiers send to public "
                    f"addresses only unless FAIRWATCH_NOTIFIER_ALLOW_PRIVATE=true or the host is listed in "
                    f"FAIRWATCH_NOTIFIER_ALLOWED_HOSTS",
                    retryable=False,
                )
        return addresses[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: The default policy: public addresses only.
PUBLIC_ONLY = DestinationPolicy()


def check_destinations(configs: Mapping[str, AnyNotifier], destinations: DestinationPolicy) -> None:
    """Refuse webhook and Slack notifiers whose host resolves to an address ``destinations`` does not allow.

    For a rule's ``notify`` list when the rule is created or replaced. A host that does not resolve
    now passes (DNS may be briefly down): every delivery checks again.

    Raises
    ------
    InvalidInputError
        Naming the notifier, the address and the settings that would allow it.
    """
    for name, config in configs.items():
        if not isinstance(config, _HttpConfig):
            continue
        try:
            destinations.address(config.url)
        except NotificationError as exc:
            if not exc.retryable:
                raise InvalidInputError(f"notifier {name!r}: {exc}") from None


# -- messages --------------------------------------------------------------------------------------
def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>." + body``.

    The timestamp (Unix seconds, sent in ``X-Fairwatch-Timestamp``) is part of the signed message, so a
    captured notification cannot be replayed later with a fresh timestamp.

    Examples
    --------
    >>> sign("s3cret", b'{"a": 1}', 1714521600)[:15]
    'sha256=0fb4a191'
    """
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance: float = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a webhook on the receiving side: the signature, and that it is at most ``tolerance`` s old.

    Parameters
    ----------
    secret : str
        The notifier's ``secret``.
    body : bytes
        The raw request body, as received.
    timestamp, signature : str or None
        The ``X-Fairwatch-Timestamp`` and ``X-Fairwatch-Signature`` headers.
    tolerance : float, default 300
        Largest accepted difference between ``timestamp`` and the receiver's clock, in seconds.
    now : float, optional
        The receiver's Unix time (default: the clock).

    Raises
    ------
    InvalidInputError
        A header is missing or malformed, the timestamp is too old (a replay) or in the future, or the
        signature does not match.

    Examples
    --------
    >>> body = b'{"event": "firing"}'
    >>> verify_signature("s3cret", body, "1714521600", sign("s3cret", body, 1714521600), now=1714521660)
    >>> verify_signature("s3cret", body, "1714521600", sign("s3cret", body, 1714521600), now=1714522000)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fairwatch.exceptions.InvalidInputError: X-Fairwatch-Timestamp is 400 s away from now (at most 300 s ...
    """
    if not timestamp or not signature:
        raise InvalidInputError(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are both required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise InvalidInputError(f"{TIMESTAMP_HEADER} must be Unix seconds; got {timestamp[:40]!r}") from None
    age = (time.time() if now is None else now) - sent
    if abs(age) > tolerance:
        raise InvalidInputError(
            f"{TIMESTAMP_HEADER} is {abs(age):.0f} s away from now (at most {tolerance:g} s accepted): an old "
            f"message replayed, or a wrong clock"
        )
    if not hmac.compare_digest(sign(secret, body, sent).encode(), signature.encode()):
        raise InvalidInputError(f"{SIGNATURE_HEADER} does not match the body and timestamp (wrong secret?)")


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


def _pinned(url: str, address: str) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """``url`` with its host replaced by the checked ``address``, the ``Host`` header and TLS server name
    that keep the request what it was (certificates are still verified against the host name)."""
    import httpx

    original = httpx.URL(url)
    if original.host == address or _is_ip(original.host):
        return original, {}, {}
    host_header = original.host if original.port is None else f"{original.host}:{original.port}"
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return original.copy_with(host=address), {"Host": host_header}, extensions


def _post(
    config: _HttpConfig,
    body: bytes,
    headers: dict[str, str],
    sleep: Any = time.sleep,
    *,
    destinations: DestinationPolicy = PUBLIC_ONLY,
    secret: str | None = None,
) -> None:
    """POST ``body`` with retries, to the address ``destinations`` allows; signed per attempt with ``secret``."""
    import httpx

    endpoint = _endpoint(config.url)
    problem = ""
    # redirects are not followed: a receiver must not be able to send the service elsewhere
    with httpx.Client(timeout=config.timeout, follow_redirects=False) as client:
        for attempt in range(config.max_attempts):
            if attempt:
                sleep(config.backoff * 2 ** (attempt - 1))
            target, pinned_headers, extensions = _pinned(config.url, destinations.address(config.url))
            sent = {**config.headers, **headers, **pinned_headers}
            if secret:
                timestamp = int(time.time())
                sent[TIMESTAMP_HEADER] = str(timestamp)
                sent[SIGNATURE_HEADER] = sign(secret, body, timestamp)
            try:
                response = client.post(target, content=body, headers=sent, extensions=extensions)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {str(exc).replace(config.url, endpoint)}"
                continue
            if response.status_code < 300:
                return
            problem = f"HTTP {response.status_code}"
            if response.is_redirect:
                location = _endpoint(response.headers.get("location", ""))
                raise NotificationError(
                    f"{endpoint} answered with a redirect ({problem} to {location}); redirects are not followed: "
                    f"configure the final URL",
                    retryable=False,
                )
            if response.status_code < 500 and response.status_code not in (408, 429):
                raise NotificationError(f"{endpoint} refused the notification ({problem})", retryable=False)
    raise NotificationError(
        f"{endpoint} did not accept the notification after {config.max_attempts} attempt(s): {problem}"
    )


def send_notification(
    config: AnyNotifier,
    payload: Mapping[str, Any],
    idempotency_key: str,
    *,
    destinations: DestinationPolicy = PUBLIC_ONLY,
) -> None:
    """Deliver ``payload`` with one notifier; raises :class:`~fairwatch.exceptions.NotificationError`.

    ``idempotency_key`` travels with the notification (header, body or environment) so that a
    receiver can drop the duplicates a retry may cause. Webhook and Slack notifiers send only where
    ``destinations`` allows (by default: public addresses).

    Examples
    --------
    >>> send_notification(LogNotifier(level="info"), {"event": "firing", "alert": {"rule": "dp"}}, "k1")
    """
    event = str(payload.get("event", ""))
    if isinstance(config, WebhookNotifier):
        body = _body(payload, idempotency_key)
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key, "X-Fairwatch-Event": event}
        _post(config, body, headers, destinations=destinations, secret=config.secret)
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
            destinations=destinations,
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
    store: Any,
    notifiers: Mapping[str, AnyNotifier],
    now: datetime | None = None,
    limit: int = 100,
    *,
    destinations: DestinationPolicy = PUBLIC_ONLY,
) -> DeliveryReport:
    """Send every due notification of the outbox; failures are recorded and rescheduled.

    HTTP notifiers send only where ``destinations`` allows (checked again at each delivery).
    """
    now = now or datetime.now(timezone.utc)
    report = DeliveryReport()
    for delivery in store.claim_due_deliveries(now, limit=limit):
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
                send_notification(config, delivery.payload, delivery.delivery_id, destinations=destinations)
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
                delivery.status = "pending"
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
