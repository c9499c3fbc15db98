"""Outlet contracts (R1-R6): a merchant's subscription to an outlet's interception service."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from interception.models.network import (
    Merchant,
    Outlet,
    Platform,
    SettlementMode,
    money_field,
)
from kernel.permissions import requires
from kernel.timeline import register_transitions

register_transitions(
    {
        "apply": _("applied"),
        "approve": _("approved"),
        "reject": _("rejected"),
        "close": _("closed"),
        "request_fee_change": _("fee change requested"),
        "approve_fee_change": _("fee change approved"),
        "reject_fee_change": _("fee change rejected"),
        "sign_agreement": _("agreement signed"),
        "open_by_default": _("opened by default"),
    }
)


class ContractState(models.TextChoices):
    PENDING = "pending", _("pending approval")
    ACTIVE = "active", _("active")
    REJECTED = "rejected", _("rejected")
    CLOSED = "closed", _("closed")


# One live contract per merchant × outlet × platform (a database constraint below).
CONTRACT_LIVE_STATES = [ContractState.PENDING, ContractState.ACTIVE]


class Contract(FSMModelMixin, models.Model):
    State = ContractState
    LIVE_STATES = CONTRACT_LIVE_STATES

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("merchant")
    )
    outlet = models.ForeignKey(Outlet, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("outlet"))
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("platform")
    )
    settlement_mode = models.CharField(_("settlement mode"), max_length=8, choices=SettlementMode.choices)
    fee = money_field(
        _("fee per interception (yuan)"), help_text=_("The fee in force. A change needs the outlet's approval.")
    )
    # Online: the platform's fee covers interception and return shipping (R19); offline: as negotiated.
    fee_includes_return = models.BooleanField(
        _("fee includes return shipping"),
        default=False,
        help_text=_("Otherwise the outlet charges return shipping separately."),
    )
    charge_succeeded = models.BooleanField(_("charge successful interceptions"), default=True)
    charge_failed = models.BooleanField(_("charge failed interceptions"), default=False)
    # Another fee when the parcel goes elsewhere than back to the sender; empty: the same fee.
    fee_return_outlet = money_field(
        _("fee back to the sending outlet (yuan)"), null=True, blank=True, help_text=_("Empty: the same fee.")
    )
    fee_reroute = money_field(
        _("fee to a new address (yuan)"), null=True, blank=True, help_text=_("Empty: the same fee.")
    )
    state = FSMField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, protected=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("applied by"),
    )
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.TextField(_("reject reason"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("close reason"), blank=True)

    class Meta:
        verbose_name = _("outlet contract")
        verbose_name_plural = _("outlet contracts")
        ordering = ["-applied_at", "-id"]
        permissions = [
            ("apply_contract", _("Can apply for outlet contracts")),
            ("decide_contract", _("Can approve or reject outlet contracts")),
            ("close_contract", _("Can close outlet contracts")),
            ("amend_contract_fee", _("Can request a contract fee change")),
            ("sign_agreement", _("Can record the interception agreement")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "outlet", "platform"],
                condition=Q(state__in=CONTRACT_LIVE_STATES),
                name="contract_one_live",
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="contract_fee_not_negative"),
            models.CheckConstraint(
                condition=~Q(settlement_mode="online") | Q(fee_includes_return=True),
                name="contract_online_fee_includes_return",
            ),
        ]
        indexes = [
            models.Index(fields=["outlet", "state", "applied_at"], name="contract_queue_idx"),
            models.Index(fields=["merchant", "state"], name="contract_merchant_idx"),
            models.Index(fields=["state", "applied_at"], name="contract_state_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.merchant} × {self.outlet}"

    @transition(
        field=state, source=State.PENDING, target=State.ACTIVE, permission=requires("interception.decide_contract")
    )
    def approve(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        field=state, source=State.PENDING, target=State.REJECTED, permission=requires("interception.decide_contract")
    )
    def reject(self, *, by, at, reason):
        self.decided_by, self.decided_at, self.reject_reason = by, at, reason

    @transition(
        field=state, source=State.ACTIVE, target=State.CLOSED, permission=requires("interception.close_contract")
    )
    def close(self, *, by, at, reason):
        self.closed_by, self.closed_at, self.close_reason = by, at, reason

    @property
    def waiting_since(self):
        """When the application was made, while it waits for the outlet; None once decided."""
        return self.applied_at if self.state == ContractState.PENDING else None

    def fee_for(self, mode):
        """The fee in force for an interception going `mode` (InterceptionOrder.Mode values)."""
        special = {"return_outlet": self.fee_return_outlet, "reroute": self.fee_reroute}.get(mode)
        return self.fee if special is None else special

    def fee_at(self, when):
        """The fee in force at `when` (R6): history never changes."""
        row = self.fee_history.filter(effective_from__lte=when).order_by("-effective_from", "-id").first()
        return row.fee if row else None

    @property
    def carrier(self):
        return self.outlet.carrier

    @property
    def return_shipping(self):
        return return_shipping_label(self.fee_includes_return)


def return_shipping_label(fee_includes_return):
    """How a person reads whether a fee covers shipping the parcel back (a contract's, an interception's)."""
    if fee_includes_return is None:
        return ""
    return RETURN_SHIPPING[bool(fee_includes_return)]


RETURN_SHIPPING = {True: _("fee includes return shipping"), False: _("return shipping charged separately")}


class ContractFee(models.Model):
    """The history of a contract's fee: each fee with the time it took effect."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="fee_history", verbose_name=_("contract")
    )
    fee = money_field(_("fee (yuan)"))
    effective_from = models.DateTimeField(_("effective from"))
    amendment = models.OneToOneField(
        "FeeAmendment", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("fee change")
    )

    class Meta:
        verbose_name = _("contract fee")
        verbose_name_plural = _("contract fee history")
        ordering = ["contract", "effective_from", "id"]
        indexes = [models.Index(fields=["contract", "effective_from"], name="contractfee_idx")]

    def __str__(self):
        return f"{self.fee} @ {self.effective_from:%Y-%m-%d %H:%M}"


class FeeAmendment(FSMModelMixin, models.Model):
    """A requested fee change on an active contract; the outlet approves it like an application (R6)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="amendments", verbose_name=_("contract")
    )
    old_fee = money_field(_("old fee (yuan)"))
    new_fee = money_field(_("new fee (yuan)"))
    state = FSMField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, protected=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.TextField(_("reject reason"), blank=True)

    class Meta:
        verbose_name = _("fee change")
        verbose_name_plural = _("fee changes")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["contract"], condition=Q(state="pending"), name="feeamendment_one_pending")
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="feeamendment_state_idx")]

    def __str__(self):
        return f"#{self.pk} {self.old_fee} → {self.new_fee}"

    @transition(
        field=state, source=State.PENDING, target=State.APPROVED, permission=requires("interception.decide_contract")
    )
    def approve(self, *, by, at):
        self.decided_by, self.decided_at = by, at

    @transition(
        field=state, source=State.PENDING, target=State.REJECTED, permission=requires("interception.decide_contract")
    )
    def reject(self, *, by, at, reason):
        self.decided_by, self.decided_at, self.reject_reason = by, at, reason


class InterceptionAgreement(models.Model):
    """The merchant signs the interception agreement once per platform (R5)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="agreements", verbose_name=_("merchant")
    )
    platform = models.ForeignKey(
        Platform, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("platform")
    )
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("interception agreement")
        verbose_name_plural = _("interception agreements")
        constraints = [models.UniqueConstraint(fields=["merchant", "platform"], name="agreement_unique")]

    def __str__(self):
        return f"{self.merchant} / {self.platform}"
