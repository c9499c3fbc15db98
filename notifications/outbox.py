"""Writing to the outbox: called by services inside their transaction, so a rolled-back action sends nothing."""

import functools
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone, translation

from notifications.models import Audience, Channel, Notification, WebhookDelivery, WebhookEndpoint

WEBHOOK_RETRY_HOURS = 24  # a failed webhook delivery is tried again for this long

# What a merchant's webhook may subscribe to (docs/notifications.md says what each carries).
WEBHOOK_EVENTS = (
    "interception.started",
    "interception.succeeded",
    "interception.failed",
    "interception.return_scanned",
    "interception.returned",
    "interception.return_failed",
    "aftersale.refunded",
    "aftersale.refused",
    "claim.changed",
)


def in_portal_language(function):
    """Write a message's texts (``_("…") % {…}`` is translated when formatted) in the portal's language: they
    are read in a group chat, not in the session of whoever caused the event."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return function(*args, **kwargs)

    return wrapper


def absolute(link):
    """A link people can open from a group chat: the portal's public address in front of an admin path."""
    return f"{settings.PORTAL_URL}{link}" if link and link.startswith("/") else (link or "")


def enqueue(*, event, audience, title, line="", link="", subject=None, outlet_id=None, at=None, dedupe_key=""):
    """A message for every active channel of `audience` (one outlet's, or a team's); returns how many.

    With a `dedupe_key`, a channel that already has a message of that key gets none (the database decides, so
    two runners writing the same warning at once write it once).

    The texts are written in the portal's language now (they are read in a group chat, not in a session).
    Messages of the same event and title waiting for one channel go out together (see delivery.py).
    """
    if audience not in Audience.values:
        raise ValueError(f"unknown audience {audience!r}")
    channels = Channel.objects.filter(active=True, audience=audience)
    if audience == Audience.OUTLET:
        channels = channels.filter(outlet_id=outlet_id)
    at = at or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        title, line = str(title), str(line)
    subject_type = ContentType.objects.get_for_model(subject, for_concrete_model=True) if subject is not None else None
    rows = [
        Notification(
            channel=channel,
            event=event,
            title=title[:200],
            line=line,
            link=absolute(link),
            subject_type=subject_type,
            subject_id=subject.pk if subject is not None else None,
            created_at=at,
            next_attempt_at=at,
            dedupe_key=dedupe_key,
        )
        for channel in channels.only("pk")
    ]
    if not dedupe_key:
        Notification.objects.bulk_create(rows)
        return len(rows)
    before = Notification.objects.filter(dedupe_key=dedupe_key, channel__in=[r.channel for r in rows]).count()
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return Notification.objects.filter(dedupe_key=dedupe_key, channel__in=[r.channel for r in rows]).count() - before


def enqueue_webhook(*, event, merchant_id, data, at=None):
    """A delivery of `event` to every active webhook of the merchant's API clients that chose it."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    at = at or timezone.now()
    # Filtered here rather than with a JSON `contains` lookup, which SQLite (the demo) lacks; a merchant has few.
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(active=True, client__merchant_id=merchant_id).only("pk", "events")
        if event in e.events
    ]
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    rows = []
    for endpoint in endpoints:
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": event, "created_at": at.isoformat(), "data": data}
        rows.append(
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                event_id=event_id,
                payload=payload,
                created_at=at,
                next_attempt_at=at,
                retry_until=at + timedelta(hours=WEBHOOK_RETRY_HOURS),
            )
        )
    WebhookDelivery.objects.bulk_create(rows)
    return len(rows)
