"""What the portal asked of a carrier's service and what it answered: the outbound call log."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.models.network import Carrier
from interception.models.orders import InterceptionOrder
from interception.models.parcels import Parcel


class CarrierCall(models.Model):
    """One request to a carrier's service and its answer, secrets redacted; kept CARRIER_LOG_DAYS."""

    class Operation(models.TextChoices):
        SUBMIT = "submit", _("intercept")
        QUERY = "query", _("ask for the result")
        SUBSCRIBE = "subscribe", _("subscribe to tracking")

    class Outcome(models.TextChoices):
        OK = "ok", _("answered")
        RETRY = "retry", _("busy or unreachable: asked again later")
        REFUSED = "refused", _("refused: not asked again")

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="calls", verbose_name=_("carrier"))
    operation = models.CharField(_("operation"), max_length=12, choices=Operation.choices)
    interception = models.ForeignKey(
        InterceptionOrder,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carrier_calls",
        verbose_name=_("interception"),
    )
    parcel = models.ForeignKey(
        Parcel, null=True, blank=True, on_delete=models.CASCADE, related_name="carrier_calls", verbose_name=_("parcel")
    )
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    url = models.TextField(_("address"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    service_code = models.CharField(_("service's code"), max_length=32, blank=True)
    service_message = models.TextField(_("service's message"), blank=True)
    request = models.TextField(_("request (secrets redacted)"), blank=True)
    response = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("carrier call")
        verbose_name_plural = _("carrier calls")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["at"], name="carriercall_at_idx"),
            models.Index(fields=["interception", "id"], name="carriercall_order_idx"),
            models.Index(fields=["carrier", "operation", "id"], name="carriercall_carrier_idx"),
            models.Index(fields=["tracking_number", "operation", "at"], name="carriercall_tracking_idx"),
        ]

    def __str__(self):
        return f"{self.carrier_id} {self.operation} {self.at:%Y-%m-%d %H:%M:%S}"
