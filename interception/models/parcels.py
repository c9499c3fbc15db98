"""Parcels, their goods and tracking events (R8), and after-sales (R7, R14-R17)."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from interception.models.network import (
    Carrier,
    GoodsCategory,
    Merchant,
    Outlet,
    Platform,
    money_field,
)
from kernel.permissions import requires
from kernel.timeline import register_transitions

register_transitions(
    {
        "create_aftersale": _("after-sale received"),
        "start_interception": _("interception started"),
        "refund": _("refunded"),
        "refuse": _("refund refused"),
        "ask_platform": _("platform intervention requested"),
        "close_aftersale": _("closed by the buyer"),
        "auto_intercept_refused": _("automatic interception not possible"),
    }
)

# A parcel without any event for longer than this is stagnant (包裹停滞超3天, R8).
STAGNANT_AFTER = timedelta(days=3)


class LogisticsStatus(models.TextChoices):
    NO_TRACKING = "no_tracking", _("no tracking yet")
    PICKED_UP = "picked_up", _("picked up")
    IN_TRANSIT = "in_transit", _("in transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("out for delivery")
    AWAITING_PICKUP = "awaiting_pickup", _("awaiting pickup at a station or locker")
    # The carrier's service flags a delivery problem (kuaidi100 疑难, 拒签): not signed, not blocking (R8).
    PROBLEM = "problem", _("problem (疑难)")
    SIGNED = "signed", _("signed")
    RETURN_ADDRESS_UNSERVED = "return_address_unserved", _("return address not served")
    STAGNANT = "stagnant", _("stagnant for more than 3 days")
    RETURNING = "returning", _("returning to the sender")
    RETURNED = "returned", _("returned to the sender")


# Statuses a carrier reports; "no tracking" and "stagnant" are derived, never reported.
REPORTED_STATUSES = [
    s for s in LogisticsStatus.values if s not in (LogisticsStatus.NO_TRACKING, LogisticsStatus.STAGNANT)
]
# Final statuses never turn stagnant.
FINAL_STATUSES = {LogisticsStatus.SIGNED, LogisticsStatus.RETURNED}


class Subscription(models.TextChoices):
    NONE = "none", _("not subscribed")
    DUE = "due", _("to subscribe")
    SUBSCRIBED = "subscribed", _("subscribed")
    ENDED = "ended", _("ended")
    REFUSED = "refused", _("refused by the service")


class Parcel(models.Model):
    # No index of their own for carrier and outlet: the unique key and parcel_outlet_idx lead with them, and
    # every carrier callback that moves a parcel would pay for the extra ones.
    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("carrier"), db_index=False
    )
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    outlet = models.ForeignKey(
        Outlet, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("outlet"), db_index=False
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("merchant"))
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("platform"))
    order_number = models.CharField(_("order number"), max_length=64)
    parcels_in_order = models.PositiveSmallIntegerField(
        _("parcels in the order"), default=1, validators=[MinValueValidator(1)]
    )
    # The latest event, kept on the row so lists and eligibility need no join (derived from the events).
    last_status = models.CharField(
        _("last reported status"), max_length=32, choices=LogisticsStatus.choices, default=LogisticsStatus.NO_TRACKING
    )
    last_event_at = models.DateTimeField(_("last event at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    # Tracking subscribed at the carrier's service, where its adapter offers it (kuaidi100): the runner
    # subscribes what is due at resubscribe_at (new parcels, an "abort" 30 minutes on).
    subscription = models.CharField(
        _("tracking subscription"), max_length=12, choices=Subscription.choices, default=Subscription.NONE
    )
    resubscribe_at = models.DateTimeField(_("subscribe again at"), null=True, blank=True)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["carrier", "tracking_number"], name="parcel_tracking_unique")]
        indexes = [
            models.Index(
                fields=["tracking_number"], name="parcel_tracking_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["merchant", "order_number"], name="parcel_order_idx"),
            # The search box finds an order's parcels by its number alone (issue 19).
            models.Index(fields=["order_number"], name="parcel_order_number_idx"),
            models.Index(fields=["outlet", "id"], name="parcel_outlet_idx"),
            models.Index(
                fields=["resubscribe_at"], condition=Q(resubscribe_at__isnull=False), name="parcel_subscribe_idx"
            ),
        ]

    def __str__(self):
        return self.tracking_number

    def logistics_status(self, now=None):
        """The current status (R8): the last reported one, or stagnant after 3 days of silence."""
        if self.last_event_at is None:
            return LogisticsStatus.NO_TRACKING
        if self.last_status not in FINAL_STATUSES and (now or timezone.now()) - self.last_event_at > STAGNANT_AFTER:
            return LogisticsStatus.STAGNANT
        return LogisticsStatus(self.last_status)


class GoodsLine(models.Model):
    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="goods", verbose_name=_("parcel"))
    name = models.CharField(_("goods name"), max_length=200)
    category = models.CharField(
        _("category"), max_length=16, choices=GoodsCategory.choices, default=GoodsCategory.GENERAL
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])
    specification = models.CharField(_("specification"), max_length=200, blank=True)
    value = money_field(_("value (yuan)"))

    class Meta:
        verbose_name = _("goods line")
        verbose_name_plural = _("goods")
        ordering = ["parcel", "id"]

    def __str__(self):
        return f"{self.name} × {self.quantity}"


class TrackingEvent(models.Model):
    parcel = models.ForeignKey(
        Parcel, on_delete=models.CASCADE, related_name="tracking_events", verbose_name=_("parcel"), db_index=False
    )  # tracking_parcel_idx leads with it
    status = models.CharField(_("status"), max_length=32, choices=LogisticsStatus.choices)
    raw_text = models.CharField(_("carrier's text"), max_length=500, blank=True)
    # Where the scan happened, as the carrier names it (kuaidi100's areaName): blank when the protocol says none.
    place = models.CharField(_("place"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["parcel", "at", "id"]
        indexes = [models.Index(fields=["parcel", "at"], name="tracking_parcel_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_status_display()}"


class AfterSale(FSMModelMixin, models.Model):
    """The buyer's request; refund-only after-sales are what we intercept for (R7)."""

    class Kind(models.TextChoices):
        REFUND_ONLY = "refund_only", _("refund only")
        RETURN_AND_REFUND = "return_refund", _("return and refund")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        INTERCEPTING = "intercepting", _("intercepting")
        PLATFORM_INTERVENTION = "platform", _("platform intervention")
        REFUNDED = "refunded", _("refunded")
        REFUSED = "refused", _("refused")
        CLOSED = "closed", _("closed by the buyer")

    # What still needs work: the after-sale list opens on these.
    TODO_STATES = [State.OPEN, State.INTERCEPTING, State.PLATFORM_INTERVENTION]

    number = models.CharField(_("after-sale number"), max_length=64)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="after_sales", verbose_name=_("merchant")
    )
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="after_sales", verbose_name=_("platform")
    )
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="after_sales", verbose_name=_("parcel"))
    # Douyin lets the buyer's after-sale name several parcels of the order ("可点选需要拦截的快递"): the first is
    # `parcel`, which every list shows; the others are here.
    other_parcels = models.ManyToManyField(
        Parcel, blank=True, related_name="other_after_sales", verbose_name=_("other parcels of the order")
    )
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    amount = money_field(_("refund amount (yuan)"))
    reason = models.CharField(_("buyer's reason"), max_length=500, blank=True)
    state = FSMField(_("state"), max_length=16, choices=State.choices, default=State.OPEN, protected=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now)
    intercepting_since = models.DateTimeField(_("intercepting since"), null=True, blank=True)
    window_ends_at = models.DateTimeField(
        _("handling window ends"),
        null=True,
        blank=True,
        help_text=_("Unhandled when it ends, the refund is granted."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)

    class Meta:
        verbose_name = _("after-sale")
        verbose_name_plural = _("after-sales")
        ordering = ["-id"]
        permissions = [("handle_aftersale", _("Can agree, refuse or escalate after-sales"))]
        constraints = [models.UniqueConstraint(fields=["platform", "number"], name="aftersale_number_unique")]
        indexes = [
            models.Index(fields=["state", "id"], name="aftersale_state_idx"),
            models.Index(fields=["merchant", "id"], name="aftersale_merchant_idx"),
            # With the id, the open windows are read from the index alone (the dashboard's decision count).
            models.Index(
                fields=["window_ends_at", "id"], condition=Q(state="intercepting"), name="aftersale_window_idx"
            ),
            models.Index(fields=["number"], name="aftersale_number_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.number

    @transition(
        field=state,
        source=State.OPEN,
        target=State.INTERCEPTING,
        permission=requires("interception.start_interception"),
    )
    def start_interception(self, *, by, at, window_ends_at):
        self.intercepting_since, self.window_ends_at = at, window_ends_at

    @transition(
        field=state,
        source=[State.OPEN, State.INTERCEPTING, State.PLATFORM_INTERVENTION],
        target=State.REFUNDED,
        permission=requires("interception.handle_aftersale"),
    )
    def refund(self, *, by, at, reason=""):
        self.decided_by, self.decided_at, self.decision_reason = by, at, reason

    @transition(
        field=state,
        source=[State.INTERCEPTING, State.PLATFORM_INTERVENTION],
        target=State.REFUSED,
        permission=requires("interception.handle_aftersale"),
    )
    def refuse(self, *, by, at, reason):
        self.decided_by, self.decided_at, self.decision_reason = by, at, reason

    @transition(
        field=state,
        source=State.INTERCEPTING,
        target=State.PLATFORM_INTERVENTION,
        permission=requires("interception.handle_aftersale"),
    )
    def ask_platform(self, *, by, at, reason):
        self.decision_reason = reason

    @transition(field=state, source=State.OPEN, target=State.CLOSED, permission=requires("interception.add_aftersale"))
    def close(self, *, by, at, reason=""):
        self.decided_at, self.decision_reason = at, reason

    def named_parcels(self):
        """Every parcel the after-sale names, the first one first."""
        return [self.parcel, *sorted(self.other_parcels.all(), key=lambda p: p.pk)]  # prefetched by lists

    @property
    def intercepting(self):
        """Waiting on its interception: the handling window runs (R15) and R16 governs refusing."""
        return self.state == self.State.INTERCEPTING

    @property
    def running_window_end(self):
        """When the handling window ends (R15), while it runs; else None."""
        return self.window_ends_at if self.intercepting else None
