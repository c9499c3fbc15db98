"""The outbox and its channels: rows written with the event that causes them, sent by the runner.

A Channel is a group robot (WeCom, DingTalk, Feishu) or a list of e-mail addresses that speaks for an
audience: one outlet, or a team. A Notification is one message for one channel; a Send is one request
to the channel (the delivery log: sent, failed with the answer, too fast, given up). A WebhookEndpoint is a
merchant API client's address for the events it chose; a WebhookDelivery one event for it, with its attempts.
The outlet and the API client are referred to by name ("interception.Outlet"): this app sits below
interception in the layers and imports none of it.
"""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.models import SealedCredentials


class Audience(models.TextChoices):
    OUTLET = "outlet", _("an outlet")
    CUSTOMER_SERVICE = "customer_service", _("customer service")
    FINANCE = "finance", _("finance")
    SUPERVISORS = "supervisors", _("supervisors")


class ChannelKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu group robot")
    EMAIL = "email", _("e-mail")


class Channel(SealedCredentials):
    """Where an audience is told: the robot's address and secret are sealed (written, never shown again)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=ChannelKind.choices)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    outlet = models.ForeignKey(
        "interception.Outlet",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_channels",
        verbose_name=_("outlet"),
    )
    recipients = models.TextField(
        _("e-mail recipients"), blank=True, help_text=_("For e-mail: addresses, one a line or comma-separated.")
    )
    active = models.BooleanField(_("active"), default=True)
    # Not before: set while the robot said "too fast", while its rate limit is used up, or after a failure.
    next_send_at = models.DateTimeField(_("next send not before"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        ordering = ["audience", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(audience="outlet", outlet__isnull=False)
                    | (~models.Q(audience="outlet") & models.Q(outlet__isnull=True))
                ),
                name="channel_outlet_iff_outlet_audience",
            )
        ]

    def __str__(self):
        return self.name


class Notification(models.Model):
    """One message for one channel; messages of the same event waiting for a channel are sent together."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent")
        GIVEN_UP = "given_up", _("given up")

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("channel")
    )
    event = models.CharField(_("event"), max_length=48)
    title = models.CharField(_("title"), max_length=200)
    line = models.TextField(_("text"), blank=True)
    link = models.TextField(_("link"), blank=True)
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("about")
    )
    subject_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # Set by what the runner sends on its own (window warnings, digests, alerts): one message per key and channel,
    # however many runners or passes write it.
    dedupe_key = models.CharField(_("sent once as"), max_length=120, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["channel", "next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="notification_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="notification_once_per_key"
            )
        ]

    def __str__(self):
        return f"{self.title} → {self.channel_id}"


class Send(models.Model):
    """One request to a channel and what it answered: the delivery log (secrets never written here)."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed: tried again later")
        TOO_FAST = "too_fast", _("too fast: sent again after a wait")
        GIVEN_UP = "given_up", _("failed: given up")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sends", verbose_name=_("channel"))
    notifications = models.ManyToManyField(Notification, related_name="sends", verbose_name=_("notifications"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    text = models.TextField(_("message sent"), blank=True)

    class Meta:
        verbose_name = _("send")
        verbose_name_plural = _("delivery log")
        ordering = ["-id"]
        indexes = [models.Index(fields=["channel", "at"], name="send_channel_at_idx")]

    def __str__(self):
        return f"{self.channel_id} {self.outcome} {self.at:%Y-%m-%d %H:%M:%S}"


class WebhookEndpoint(SealedCredentials):
    """A merchant API client's HTTPS address for the events it chose; its signing secret is sealed."""

    client = models.ForeignKey(
        "interception.ApiClient", on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("API client")
    )
    url = models.URLField(_("address"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("merchant webhook")
        verbose_name_plural = _("merchant webhooks")
        ordering = ["-id"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one webhook: the same event id on every attempt, so the merchant can drop repeats."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be delivered")
        DELIVERED = "delivered", _("delivered")
        GIVEN_UP = "given_up", _("given up")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    event = models.CharField(_("event"), max_length=48)
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Failures are tried again until then (24 hours after the event, or after "deliver again").
    retry_until = models.DateTimeField(_("tried until"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_due_idx", condition=models.Q(state="pending")),
        ]

    def __str__(self):
        return f"{self.event} {self.event_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what the merchant's server answered."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    ok = models.BooleanField(_("delivered"), default=False)
    answer = models.TextField(_("answer"), blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.delivery_id} {self.http_status}"
