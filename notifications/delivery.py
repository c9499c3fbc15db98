"""The runner's step: send what waits in the outbox. Safe in several processes at once.

A channel is worked by one runner at a time: its row is locked (SKIP LOCKED, so another runner takes the
next channel instead of waiting) while its messages are sent and marked, so each message goes out once.
The lock also makes the rate limit exact: the sends of the last second and minute are counted in the
delivery log under it. A channel that fails or says "too fast" is left for this pass (its `next_send_at`
says when to try again) and the runner goes on with the others; its HTTP calls are bounded by timeouts.
Webhook deliveries are locked one by one the same way.
"""

import json
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kernel import signing
from notifications.channels import Message, kind_of
from notifications.models import Channel, Notification, Send, WebhookAttempt, WebhookDelivery


@dataclass
class DeliveryReport:
    sent: int = 0  # notifications
    failed: int = 0
    given_up: int = 0
    too_fast: int = 0
    webhooks_delivered: int = 0
    webhooks_failed: int = 0
    webhooks_given_up: int = 0

    def __bool__(self):
        return any(vars(self).values())


def backoff(attempts, *, base=30, cap=3600):
    """Seconds to wait after the `attempts`-th failure: 30 s, 1 min, 2 min, … at most an hour."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def deliver(*, now=None, max_channels=500, max_webhooks=1000):
    """One pass over the outbox: every channel with messages due, then every webhook delivery due."""
    now = now or timezone.now()
    report = DeliveryReport()
    visited = set()
    while len(visited) < max_channels:
        with transaction.atomic():
            channel = (
                Channel.objects.select_for_update(skip_locked=True)
                .filter(active=True)
                .filter(Q(next_send_at__isnull=True) | Q(next_send_at__lte=now))
                .filter(
                    Exists(
                        Notification.objects.filter(
                            channel=OuterRef("pk"), state=Notification.State.PENDING, next_attempt_at__lte=now
                        )
                    )
                )
                .exclude(pk__in=visited)
                .order_by("pk")
                .first()
            )
            if channel is None:
                break
            visited.add(channel.pk)
            _work_channel(channel, now, report)
    failed_endpoints = set()
    for _ in range(max_webhooks):
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint")
                .filter(state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now, endpoint__active=True)
                .exclude(endpoint_id__in=failed_endpoints)
                .order_by("next_attempt_at", "pk")
                .first()
            )
            if delivery is None:
                break
            if not _deliver_webhook(delivery, now, report):
                failed_endpoints.add(delivery.endpoint_id)  # one dead address does not eat the pass
    return report


def groups_of(notifications):
    """The waiting messages of one channel, grouped by event and title in the order they were written."""
    groups = {}
    for n in notifications:
        groups.setdefault((n.event, n.title), []).append(n)
    return list(groups.values())


def _work_channel(channel, now, report):
    kind = kind_of(channel)
    pending = list(
        channel.notifications.filter(state=Notification.State.PENDING, next_attempt_at__lte=now).order_by("pk")[:500]
    )
    for group in groups_of(pending):
        while group:
            wait = rate_wait(channel, kind, now)
            if wait:
                channel.next_send_at = wait
                channel.save(update_fields=["next_send_at"])
                return
            message = Message(group[0].title, [(n.line or n.title, n.link) for n in group])
            batch = group[: len(kind.fit(message))]
            group = group[len(batch) :]
            if not send_batch(channel, kind, batch, now, report):
                return


def rate_wait(channel, kind, now):
    """When the channel may send again if its rate limit is used up now; None when it may send."""
    for limit, span in ((kind.per_second, timedelta(seconds=1)), (kind.per_minute, timedelta(minutes=1))):
        if not limit:
            continue
        recent = list(
            Send.objects.filter(channel=channel, at__gt=now - span, at__lte=now)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            return recent[-1] + span
    return None


def send_batch(channel, kind, batch, now, report):
    """Send one message made of `batch`, log it, mark the notifications; False when the channel failed."""
    message = Message(batch[0].title, [(n.line or n.title, n.link) for n in batch])
    answer = kind.send(channel, message, now)
    text = _logged_text(kind, message)
    if answer.outcome == "sent":
        send = Send.objects.create(
            channel=channel,
            at=now,
            outcome=Send.Outcome.SENT,
            http_status=answer.http_status,
            answer=answer.text,
            text=text,
        )
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
            state=Notification.State.SENT, sent_at=now, attempts=batch[0].attempts + 1, last_error=""
        )
        send.notifications.set(batch)
        report.sent += len(batch)
        return True
    if answer.outcome == "too_fast":
        send = Send.objects.create(
            channel=channel,
            at=now,
            outcome=Send.Outcome.TOO_FAST,
            http_status=answer.http_status,
            answer=answer.text,
            text=text,
        )
        send.notifications.set(batch)
        channel.next_send_at = now + timedelta(seconds=kind.too_fast_wait)
        channel.save(update_fields=["next_send_at"])
        report.too_fast += len(batch)
        return False
    attempts = max(n.attempts for n in batch) + 1
    given_up = attempts >= settings.NOTIFY_MAX_ATTEMPTS
    send = Send.objects.create(
        channel=channel,
        at=now,
        outcome=Send.Outcome.GIVEN_UP if given_up else Send.Outcome.FAILED,
        http_status=answer.http_status,
        answer=answer.text or str(answer.reason),
        text=text,
    )
    send.notifications.set(batch)
    reason = str(answer.reason or answer.text)[:1000]
    if given_up:
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
            state=Notification.State.GIVEN_UP, attempts=attempts, last_error=reason
        )
        report.given_up += len(batch)
    else:
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
            attempts=attempts, last_error=reason, next_attempt_at=now + timedelta(seconds=backoff(attempts))
        )
        report.failed += len(batch)
    channel.next_send_at = now + timedelta(seconds=backoff(attempts))
    channel.save(update_fields=["next_send_at"])
    return False


def _logged_text(kind, message):
    body = kind.body(message)
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)


def webhook_body(delivery):
    """The bytes posted for a delivery: the same on every attempt (only the signature's time changes)."""
    return json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(secret, body, t):
    """X-Signature as our carrier callbacks carry it (kernel.signing)."""
    return signing.sign(secret, body, t)


def _deliver_webhook(delivery, now, report):
    endpoint = delivery.endpoint
    body = webhook_body(delivery)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "interception-portal-webhooks/1",
        "X-Event-Id": str(delivery.event_id),
        "X-Event-Type": delivery.event,
        "X-Signature": webhook_signature(endpoint.credentials.get("secret", ""), body, now.timestamp()),
    }
    started = time.monotonic()
    status, answer = None, ""
    try:
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=(settings.NOTIFY_CONNECT_TIMEOUT, settings.NOTIFY_READ_TIMEOUT),
            allow_redirects=False,
        )
        status, answer = response.status_code, response.text[:2000]
    except requests.RequestException as exc:
        answer = f"{exc.__class__.__name__}"
    ok = status is not None and 200 <= status < 300
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=now,
        http_status=status,
        ok=ok,
        answer=answer,
        latency_ms=int((time.monotonic() - started) * 1000),
    )
    delivery.attempts += 1
    delivery.last_status = status
    if ok:
        delivery.state, delivery.delivered_at, delivery.last_error = WebhookDelivery.State.DELIVERED, now, ""
        report.webhooks_delivered += 1
    else:
        delivery.last_error = (f"HTTP {status}: " if status else "") + answer[:500]
        retry_at = now + timedelta(seconds=backoff(delivery.attempts, base=60))
        if retry_at > delivery.retry_until:
            delivery.state = WebhookDelivery.State.GIVEN_UP
            report.webhooks_given_up += 1
        else:
            delivery.next_attempt_at = retry_at
            report.webhooks_failed += 1
    delivery.save(update_fields=["attempts", "last_status", "state", "delivered_at", "last_error", "next_attempt_at"])
    return ok
