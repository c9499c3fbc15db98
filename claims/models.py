"""Claims on interceptions whose return failed: lost or damaged on the way back (R23-R26)."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from claims.rules import GOODS_TEXT_LENGTH
from interception.models import Carrier, InterceptionOrder, Merchant, Outlet, Platform
from interception.models.network import money_field
from kernel.money import PAYMENT_REFERENCE_LENGTH
from kernel.permissions import requires
from kernel.timeline import register_transitions

register_transitions(
    {
        "file": _("claim filed"),
        "propose": _("amount proposed"),
        "accept": _("amount accepted"),
        "escalate": _("escalated to platform arbitration"),
        "award": _("arbitration awarded"),
        "dismiss": _("arbitration dismissed"),
        "pay": _("payment recorded"),
        "withdraw": _("withdrawn"),
        "note": _("note"),
        "add_evidence": _("evidence added"),
    }
)


class EvidenceStorage(FileSystemStorage):
    """Evidence lives under MEDIA_ROOT/evidence, outside the static files; it is served only by a checked view."""

    def __init__(self):
        super().__init__(base_url=None)

    @cached_property
    def base_location(self):
        return Path(settings.MEDIA_ROOT) / "evidence"


evidence_storage = EvidenceStorage()


class ClaimState(models.TextChoices):
    FILED = "filed", _("filed")
    NEGOTIATING = "negotiating", _("negotiating with the outlet")
    AGREED = "agreed", _("agreed")
    ESCALATED = "escalated", _("in platform arbitration")
    AWARDED = "awarded", _("awarded")
    DISMISSED = "dismissed", _("dismissed")
    PAID = "paid", _("paid")
    WITHDRAWN = "withdrawn", _("withdrawn")


# Not yet paid, dismissed or withdrawn: at most one such claim per interception (a database constraint below).
CLAIM_OPEN_STATES = [
    ClaimState.FILED,
    ClaimState.NEGOTIATING,
    ClaimState.AGREED,
    ClaimState.ESCALATED,
    ClaimState.AWARDED,
]


class Claim(FSMModelMixin, models.Model):
    class Kind(models.TextChoices):
        LOSS = "loss", _("loss")
        DAMAGE = "damage", _("damage")

    State = ClaimState

    class Side(models.TextChoices):
        MERCHANT = "merchant", _("merchant")
        OUTLET = "outlet", _("outlet")

    OPEN_STATES = CLAIM_OPEN_STATES

    interception = models.ForeignKey(
        InterceptionOrder, on_delete=models.PROTECT, related_name="claims", verbose_name=_("interception")
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="claims", verbose_name=_("merchant"))
    outlet = models.ForeignKey(Outlet, on_delete=models.PROTECT, related_name="claims", verbose_name=_("outlet"))
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"))
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+", verbose_name=_("platform"))
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    state = FSMField(_("state"), max_length=12, choices=State.choices, default=State.FILED, protected=True)
    description = models.TextField(_("description"), blank=True)
    goods_value = money_field(_("goods value (yuan)"))
    claimed_amount = money_field(_("claimed amount (yuan)"))
    offer_amount = money_field(_("amount on the table (yuan)"))
    offer_side = models.CharField(_("proposed by"), max_length=8, choices=Side.choices, default=Side.MERCHANT)
    final_amount = money_field(_("agreed or awarded amount (yuan)"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("interception succeeded at"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("filed by"),
    )
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    closing_reason = models.TextField(_("reason"), blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=PAYMENT_REFERENCE_LENGTH, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["-id"]
        permissions = [
            ("negotiate_claim", _("Can propose and accept claim amounts")),
            ("escalate_claim", _("Can escalate claims and record arbitration")),
            ("pay_claim", _("Can record claim payments")),
            ("withdraw_claim", _("Can withdraw claims")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["interception"],
                condition=Q(state__in=CLAIM_OPEN_STATES),
                name="claim_one_open_per_interception",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "id"], name="claim_state_idx"),
            models.Index(fields=["outlet", "id"], name="claim_outlet_idx"),
            models.Index(fields=["merchant", "id"], name="claim_merchant_idx"),
        ]

    def __str__(self):
        return _("Claim #%(n)s %(t)s") % {"n": self.pk, "t": self.tracking_number}

    @transition(
        field=state,
        source=[State.FILED, State.NEGOTIATING],
        target=State.NEGOTIATING,
        permission=requires("claims.negotiate_claim"),
    )
    def propose(self, *, by, at, amount, side):
        self.offer_amount, self.offer_side = amount, side

    @transition(
        field=state,
        source=[State.FILED, State.NEGOTIATING],
        target=State.AGREED,
        permission=requires("claims.negotiate_claim"),
    )
    def accept(self, *, by, at):
        self.final_amount, self.decided_at = self.offer_amount, at

    @transition(
        field=state, source=State.NEGOTIATING, target=State.ESCALATED, permission=requires("claims.escalate_claim")
    )
    def escalate(self, *, by, at, reason=""):
        self.escalated_at = at

    @transition(field=state, source=State.ESCALATED, target=State.AWARDED, permission=requires("claims.escalate_claim"))
    def award(self, *, by, at, amount):
        self.final_amount, self.decided_at = amount, at

    @transition(
        field=state, source=State.ESCALATED, target=State.DISMISSED, permission=requires("claims.escalate_claim")
    )
    def dismiss(self, *, by, at, reason):
        self.decided_at, self.closing_reason = at, reason

    @transition(
        field=state, source=[State.AGREED, State.AWARDED], target=State.PAID, permission=requires("claims.pay_claim")
    )
    def pay(self, *, by, at, payment_reference, paid_at):
        self.payment_reference, self.paid_at = payment_reference, paid_at

    @transition(
        field=state,
        source=[State.FILED, State.NEGOTIATING],
        target=State.WITHDRAWN,
        permission=requires("claims.withdraw_claim"),
    )
    def withdraw(self, *, by, at, reason):
        self.closing_reason = reason

    @property
    def is_open(self):
        """Not yet paid, dismissed or withdrawn: evidence and notes may still be added."""
        return self.state in CLAIM_OPEN_STATES

    @property
    def negotiable(self):
        """Filed or under negotiation: the two sides may still agree, or it may go to arbitration (R25)."""
        return self.state in (ClaimState.FILED, ClaimState.NEGOTIATING)


class ClaimGoodsLine(models.Model):
    """What was lost (R24): name, quantity, specification and value."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="goods", verbose_name=_("claim"))
    name = models.CharField(_("name"), max_length=GOODS_TEXT_LENGTH)
    quantity = models.PositiveIntegerField(_("quantity"))
    specification = models.CharField(_("specification"), max_length=GOODS_TEXT_LENGTH)
    value = money_field(_("value (yuan)"))

    class Meta:
        verbose_name = _("claimed goods")
        verbose_name_plural = _("claimed goods")
        ordering = ["claim", "id"]

    def __str__(self):
        return f"{self.name} × {self.quantity}"


def evidence_name(instance, filename):
    # A random name: nothing of the uploader's file name reaches the disk.
    return f"{uuid.uuid4().hex}{Path(filename).suffix}"


class Evidence(models.Model):
    """A photo of the damage (R24): JPEG, PNG or WebP, checked by content, at most 10 MB."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("claim"))
    file = models.FileField(_("file"), storage=evidence_storage, upload_to=evidence_name, max_length=100)
    content_type = models.CharField(_("content type"), max_length=32)
    size = models.PositiveIntegerField(_("size (bytes)"))
    original_name = models.TextField(_("original name"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["claim", "id"]

    def __str__(self):
        return self.original_name or self.file.name
