"""What people do with channels and webhooks: check and save a channel, send a test message, register a
webhook (its secret shown once), deliver a webhook or a message again."""

import ipaddress
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from kernel.errors import DomainError, Problem, refuse
from notifications.channels import KINDS, Message
from notifications.delivery import rate_wait
from notifications.models import Notification, Send, WebhookDelivery, WebhookEndpoint
from notifications.outbox import WEBHOOK_EVENTS, WEBHOOK_RETRY_HOURS


def channel_problems(*, kind, credentials, recipients=""):
    """What is wrong with a channel's settings: a bad address, a missing secret, bad e-mail addresses."""
    return KINDS[kind].problems(credentials, recipients)


def channel_test(*, channel, actor, now=None):
    """Send a short message to the channel now and say what it answered (logged like any other send)."""
    now = now or timezone.now()
    kind = KINDS[channel.kind]
    with transaction.atomic():
        type(channel).objects.select_for_update().get(pk=channel.pk)  # one sender per channel, as the runner
        if rate_wait(channel, kind, now):
            raise DomainError("too_fast", _("The robot's rate limit is used up: try again in a minute."))
        with translation.override(settings.LANGUAGE_CODE):  # read in the group, not in the session
            message = Message(
                str(_("Test message from the interception portal")),
                [
                    (
                        str(_("Sent by %(user)s: this channel works.") % {"user": actor.get_username()}),
                        settings.PORTAL_URL,
                    )
                ],
            )
        answer = kind.send(channel, message, now)
        body = kind.body(message)
        Send.objects.create(
            channel=channel,
            at=now,
            outcome={"sent": Send.Outcome.SENT, "too_fast": Send.Outcome.TOO_FAST}.get(
                answer.outcome, Send.Outcome.FAILED
            ),
            http_status=answer.http_status,
            answer=answer.text or str(answer.reason),
            text=body if isinstance(body, str) else str(body),
        )
    if answer.outcome != "sent":
        raise DomainError(
            "channel_failed", _("The channel did not take the message: %(r)s") % {"r": answer.reason or answer.text}
        )
    return answer


def webhook_url_problems(url):
    """A merchant's webhook address: https, a public host (not an address inside our network)."""
    if not url or len(url) > 500:
        return [Problem("bad_url", _("Enter an https address of at most 500 characters."), field="url")]
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in settings.NOTIFY_TEST_HOSTS:
        return []
    if parts.scheme != "https" or not host:
        return [Problem("bad_url", _("A webhook address must start with https://."), field="url")]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".local") or (address is not None and not address.is_global):
        return [Problem("bad_url", _("A webhook address must be reachable on the internet."), field="url")]
    return []


def webhook_event_problems(events):
    if not events or not isinstance(events, list | tuple):
        return [Problem("missing_events", _("Choose at least one event."), field="events")]
    unknown = [e for e in events if e not in WEBHOOK_EVENTS]
    if unknown:
        return [
            Problem(
                "unknown_event",
                _("Unknown events: %(e)s.") % {"e": ", ".join(str(e) for e in unknown)},
                field="events",
            )
        ]
    return []


def new_webhook_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_register(*, client, url, events, actor):
    """A new webhook for a merchant's API client; returns (endpoint, secret): the secret is shown only now."""
    problems = webhook_url_problems(url) + webhook_event_problems(events)
    if client.merchant_id is None:
        problems.append(Problem("not_merchant", _("Only a merchant's API client receives webhooks.")))
    if problems:
        refuse(problems, status=400)
    secret = new_webhook_secret()
    endpoint = WebhookEndpoint(client=client, url=url, events=sorted(set(events)))
    endpoint.set_credentials({"secret": secret})
    endpoint.save()
    return endpoint, secret


def webhook_update(*, endpoint, url=None, events=None, active=None):
    problems = (webhook_url_problems(url) if url is not None else []) + (
        webhook_event_problems(events) if events is not None else []
    )
    if problems:
        refuse(problems, status=400)
    if url is not None:
        endpoint.url = url
    if events is not None:
        endpoint.events = sorted(set(events))
    if active is not None:
        endpoint.active = active
    endpoint.save()
    return endpoint


def webhook_redeliver(*, delivery_id, actor, now=None):
    """Deliver an event again (same event id), tried for another 24 hours if it fails."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.state = WebhookDelivery.State.PENDING
        delivery.next_attempt_at = now
        delivery.retry_until = now + timedelta(hours=WEBHOOK_RETRY_HOURS)
        delivery.save(update_fields=["state", "next_attempt_at", "retry_until"])
    return delivery


def notification_resend(*, notification_id, actor, now=None):
    """Send a message that was given up (or sent) once more, with its attempts counted afresh."""
    now = now or timezone.now()
    with transaction.atomic():
        n = Notification.objects.select_for_update().get(pk=notification_id)
        n.state, n.attempts, n.next_attempt_at = Notification.State.PENDING, 0, now
        n.save(update_fields=["state", "attempts", "next_attempt_at"])
    return n


def webhook_secret_rotate(*, endpoint, actor):
    """A new signing secret for a webhook, returned to be shown once; the old one stops signing at once."""
    secret = new_webhook_secret()
    endpoint.sealed_credentials = ""
    endpoint.set_credentials({"secret": secret})
    endpoint.save(update_fields=["sealed_credentials", "credentials_set_at"])
    return secret
