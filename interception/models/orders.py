"""Interception orders (R11, R13) and the carrier events that drive them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from interception.models.contracts import Contract, return_shipping_label
from interception.models.network import (
    Carrier,
    Merchant,
    Outlet,
    Platform,
    SettlementMode,
    money_field,
)
from interception.models.parcels import AfterSale, Parcel
from kernel.permissions import requires
from kernel.timeline import register_transitions

register_transitions(
    {
        "request": _("interception requested"),
        "submit": _("submitted to the carrier"),
        "submit_failed": _("submission to the carrier failed"),
        "poll_failed": _("asking the carrier for the result failed"),
        "succeed": _("interception succeeded"),
        "fail": _("interception failed"),
        "start_return": _("return leg started"),
        "return_done": _("returned to the sender"),
        "return_fail": _("return failed"),
    }
)


class InterceptionState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    INTERCEPTING = "intercepting", _("intercepting")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    RETURNING = "returning", _("returning")
    RETURNED = "returned", _("returned")
    RETURN_FAILED = "return_failed", _("return failed")


# Every state but "failed" holds the parcel: at most one such interception per parcel (R11), a database
# constraint below.
LIVE_STATES = [s for s in InterceptionState if s != InterceptionState.FAILED]


class CarrierResult(models.TextChoices):
    """What a carrier (or staff, by phone) reports about an interception: its result, then the return's."""

    SUCCEEDED = "succeeded", _("interception succeeded")
    FAILED = "failed", _("interception failed")
    RETURNING = "returning", _("return leg started")
    RETURNED = "returned", _("returned to the sender")
    LOST = "lost", _("lost on the way back")
    DAMAGED = "damaged", _("damaged on the way back")


class InterceptionMode(models.TextChoices):
    """Where an intercepted parcel goes: back to the sender (原址返回, the seeds' only mode), back to the sending
    outlet, or to a new address (改址), as the carrier's service supports them."""

    RETURN_TO_SENDER = "return_sender", _("back to the sender's address")
    RETURN_TO_OUTLET = "return_outlet", _("back to the sending outlet")
    REROUTE = "reroute", _("to a new address")


class InterceptionOrder(FSMModelMixin, models.Model):
    """One interception of one parcel: its lifecycle and the fee snapshot taken when it started (R6)."""

    State = InterceptionState

    class Via(models.TextChoices):
        MANUAL = "manual", _("from the after-sale")
        BULK = "bulk", _("in bulk")
        AUTO = "auto", _("auto-intercept rule")
        API = "api", _("API")

    class ReturnLoss(models.TextChoices):
        LOST = "lost", _("lost")
        DAMAGED = "damaged", _("damaged")

    class Source(models.TextChoices):
        CALLBACK = "callback", _("carrier callback")
        POLL = "poll", _("carrier query")
        MANUAL = "manual", _("entered by staff")
        SUBMISSION = "submit", _("refused when submitted")
        # Customer service confirming the returned parcel's arrival (退件签收), or its damage, on receipt.
        RECEIPT = "receipt", _("confirmed on receipt")

    Mode = InterceptionMode

    LIVE_STATES = LIVE_STATES
    IN_FLIGHT = [State.REQUESTED, State.INTERCEPTING]
    # The carrier said "intercepted"; the return may have gone on since.
    SUCCESS_STATES = [State.SUCCEEDED, State.RETURNING, State.RETURNED, State.RETURN_FAILED]

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="interceptions", verbose_name=_("parcel"))
    after_sale = models.ForeignKey(
        AfterSale, on_delete=models.PROTECT, related_name="interceptions", verbose_name=_("after-sale")
    )
    # Copied from the parcel so the million-row list filters and searches without joins; the
    # composite indexes below start with these columns, so they need no index of their own.
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"), db_index=False
    )
    outlet = models.ForeignKey(
        Outlet, on_delete=models.PROTECT, related_name="interceptions", verbose_name=_("outlet"), db_index=False
    )
    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"), db_index=False
    )
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="+", verbose_name=_("platform"), db_index=False
    )
    # The fee snapshot (R6, R21): what was in force when the interception started.
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="interceptions", verbose_name=_("contract")
    )
    settlement_mode = models.CharField(_("settlement mode"), max_length=8, choices=SettlementMode.choices)
    fee = money_field(_("fee (yuan)"))
    fee_includes_return = models.BooleanField(_("fee includes return shipping"), default=False)
    charge_on_success = models.BooleanField(_("charged if it succeeds"), default=True)
    charge_on_failure = models.BooleanField(_("charged if it fails"), default=False)
    chargeable = models.BooleanField(
        _("chargeable"), default=False, help_text=_("Set when the result arrives, from the contract's terms.")
    )
    state = FSMField(_("state"), max_length=16, choices=State.choices, default=State.REQUESTED, protected=True)
    via = models.CharField(_("started"), max_length=8, choices=Via.choices, default=Via.MANUAL)
    mode = models.CharField(
        _("where it goes"), max_length=16, choices=InterceptionMode.choices, default=InterceptionMode.RETURN_TO_SENDER
    )
    # Rerouting only: the new recipient (改址).
    recipient_name = models.CharField(_("new recipient"), max_length=50, blank=True)
    recipient_phone = models.CharField(_("new recipient's phone"), max_length=20, blank=True)
    recipient_address = models.CharField(_("new address"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    carrier_ref = models.CharField(_("carrier's reference"), max_length=64, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(_("submission attempts"), default=0)
    next_submit_at = models.DateTimeField(_("next submission attempt"), null=True, blank=True)
    last_submit_error = models.TextField(_("last submission error"), blank=True)
    last_polled_at = models.DateTimeField(_("last asked the carrier"), null=True, blank=True)
    result_at = models.DateTimeField(_("result at"), null=True, blank=True)
    result_source = models.CharField(_("result from"), max_length=8, choices=Source.choices, blank=True)
    failure_code = models.CharField(_("carrier's reason code"), max_length=64, blank=True)
    failure_text = models.CharField(_("carrier's reason"), max_length=500, blank=True)
    return_scan_at = models.DateTimeField(_("return scanned at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_loss = models.CharField(_("return failure"), max_length=8, choices=ReturnLoss.choices, blank=True)
    return_failed_at = models.DateTimeField(_("return failed at"), null=True, blank=True)
    note = models.TextField(_("staff note"), blank=True)

    class Meta:
        verbose_name = _("interception order")
        verbose_name_plural = _("interception orders")
        ordering = ["-id"]
        permissions = [
            ("start_interception", _("Can start interceptions")),
            ("record_result", _("Can record interception results")),
            ("export_interceptions", _("Can export interception records")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["parcel"], condition=Q(state__in=LIVE_STATES), name="interception_one_live_per_parcel"
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="interception_fee_not_negative"),
        ]
        # Each list filter has an index that ends with the list's order (-id), so a page is an index range.
        indexes = [
            models.Index(
                fields=["tracking_number"], name="interception_tracking_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["state", "id"], name="interception_state_idx"),
            models.Index(fields=["carrier", "id"], name="interception_carrier_idx"),
            models.Index(fields=["platform", "id"], name="interception_platform_idx"),
            models.Index(fields=["outlet", "id"], name="interception_outlet_idx"),
            models.Index(fields=["merchant", "id"], name="interception_merchant_idx"),
            models.Index(fields=["settlement_mode", "id"], name="interception_mode_idx"),
            models.Index(fields=["requested_at"], name="interception_requested_idx"),
            # The dashboard's figures and the "carrier result within" filter: results of the last hours or days.
            # It covers every column the dashboard's aggregates read, so they never touch the table.
            models.Index(
                fields=["result_at"],
                condition=Q(result_at__isnull=False),
                name="interception_result_idx",
                include=["id", "carrier", "outlet", "state", "fee", "chargeable", "requested_at"],
            ),
            # The KPI roll-ups recount a day's finished returns and lost or damaged parcels (kpi app).
            models.Index(
                fields=["returned_at"], condition=Q(returned_at__isnull=False), name="interception_returned_idx"
            ),
            models.Index(
                fields=["return_failed_at"],
                condition=Q(return_failed_at__isnull=False),
                name="interception_return_failed_idx",
            ),
            models.Index(
                fields=["next_submit_at"], condition=Q(state=InterceptionState.REQUESTED), name="interception_retry_idx"
            ),
            # Outlet staff's dashboard counts their outlets' interceptions in flight: a small index of those alone.
            models.Index(
                fields=["outlet", "state"],
                condition=Q(state__in=[InterceptionState.REQUESTED, InterceptionState.INTERCEPTING]),
                name="interception_in_flight_idx",
            ),
            # Claim candidates (succeeded, no return scan after N days), which the dashboard counts: the rows wait
            # here in result order instead of among every result.
            models.Index(
                fields=["result_at"],
                condition=Q(state=InterceptionState.SUCCEEDED, return_scan_at__isnull=True),
                name="interception_candidate_idx",
                include=["platform", "outlet", "merchant", "carrier"],
            ),
            models.Index(
                fields=["submitted_at"], condition=Q(state=InterceptionState.INTERCEPTING), name="interception_poll_idx"
            ),
            # The dashboard's "failed interceptions awaiting a decision" probes each open handling window's
            # after-sale for a failed interception: index-only in this small index, not among all of them.
            models.Index(
                fields=["after_sale"], condition=Q(state=InterceptionState.FAILED), name="interception_failed_idx"
            ),
            # Statement generation: one merchant × outlet's chargeable offline results of a period.
            models.Index(
                fields=["outlet", "merchant", "result_at"],
                condition=Q(settlement_mode="offline", chargeable=True),
                name="interception_billable_idx",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.tracking_number}"

    @property
    def return_shipping(self):
        return return_shipping_label(self.fee_includes_return)

    @transition(field=state, source=State.REQUESTED, target=State.INTERCEPTING)
    def submit(self, *, by, at, carrier_ref=""):
        self.submitted_at, self.carrier_ref = at, carrier_ref or self.carrier_ref
        self.next_submit_at = None

    # A result can overtake our own submission's bookkeeping, so it is accepted from "requested" too.
    @transition(
        field=state,
        source=[State.REQUESTED, State.INTERCEPTING],
        target=State.SUCCEEDED,
        permission=requires("interception.record_result"),
    )
    def succeed(self, *, by, at, source, note=""):
        self.result_at, self.result_source, self.note = at, source, note or self.note
        self.chargeable = self.charge_on_success

    @transition(
        field=state,
        source=[State.REQUESTED, State.INTERCEPTING],
        target=State.FAILED,
        permission=requires("interception.record_result"),
    )
    def fail(self, *, by, at, source, reason_code, reason_text, note=""):
        self.result_at, self.result_source, self.note = at, source, note or self.note
        self.failure_code, self.failure_text = reason_code, reason_text
        self.chargeable = self.charge_on_failure

    @transition(
        field=state, source=State.SUCCEEDED, target=State.RETURNING, permission=requires("interception.record_result")
    )
    def start_return(self, *, by, at, source, note=""):
        self.return_scan_at = at

    @transition(
        field=state,
        source=[State.SUCCEEDED, State.RETURNING],
        target=State.RETURNED,
        permission=requires("interception.record_result"),
    )
    def return_done(self, *, by, at, source, note=""):
        self.returned_at, self.note = at, note or self.note
        self.return_scan_at = self.return_scan_at or at

    @transition(
        field=state,
        source=[State.SUCCEEDED, State.RETURNING],
        target=State.RETURN_FAILED,
        permission=requires("interception.record_result"),
    )
    def return_fail(self, *, by, at, source, loss, note=""):
        self.return_loss, self.note = loss, note or self.note
        self.return_failed_at = at


class CarrierEvent(models.Model):
    """Every callback a carrier sent, as received: the idempotency key and the replay queue."""

    class Kind(models.TextChoices):
        TRACKING = "tracking", _("tracking update")
        INTERCEPTION_RESULT = "interception_result", _("interception result")
        RETURN_RESULT = "return_result", _("return result")

    class Outcome(models.TextChoices):
        # "applied" is also a contract's first step (applied for): the context keeps the two apart.
        APPLIED = "applied", pgettext_lazy("carrier event outcome", "applied")
        UNKNOWN_PARCEL = "unknown_parcel", _("unknown parcel: held until it arrives")
        HELD = "held", _("out of order: held until the interception catches up")
        IGNORED = "ignored", _("no effect")

    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="events", verbose_name=_("carrier"), db_index=False
    )  # the unique (carrier, event_id) leads with it
    event_id = models.CharField(_("event id"), max_length=100)
    kind = models.CharField(_("type"), max_length=24, choices=Kind.choices)
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("carrier event")
        verbose_name_plural = _("carrier events")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["carrier", "event_id"], name="carrierevent_unique")]
        indexes = [
            models.Index(
                fields=["carrier", "tracking_number"],
                condition=Q(outcome__in=["unknown_parcel", "held"]),
                name="carrierevent_waiting_idx",
            ),
            models.Index(fields=["outcome", "id"], name="carrierevent_outcome_idx"),
            models.Index(
                fields=["tracking_number"], name="carrierevent_tracking_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self):
        return f"{self.carrier.code}:{self.event_id}"
