"""Offline statements with versions, the outlet's bill reconciled, the online fee ledger (R19-R22)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from interception.models import Carrier, InterceptionOrder, Merchant, Outlet, Platform
from kernel.money import PAYMENT_REFERENCE_LENGTH, money
from kernel.permissions import requires
from kernel.timeline import register_transitions
from settlement.rules import ADJUSTMENT_REASON_LENGTH

register_transitions(
    {
        "generate": _("generated"),
        "add_lines": _("new interceptions added"),
        "issue": _("issued"),
        "void": _("voided"),
        "confirm": _("confirmed"),
        "dispute": _("disputed"),
        "supersede": _("replaced by a new version"),
        "revise": _("new version with adjustments"),
        "settle": _("payment recorded"),
        "reconcile": _("outlet's bill reconciled"),
    }
)


def signed_money(verbose_name, **kwargs):
    return money(models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs))


class Statement(FSMModelMixin, models.Model):
    """One version of the offline statement of one merchant × outlet × period (R22).

    A dispute is answered by a new version (copying the lines, adding adjustments);
    the old version stays readable, superseded.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        ISSUED = "issued", _("issued")
        CONFIRMED = "confirmed", _("confirmed by the outlet")
        DISPUTED = "disputed", _("disputed by the outlet")
        SUPERSEDED = "superseded", _("superseded by a new version")
        SETTLED = "settled", _("settled")
        VOID = "void", _("void")

    # Versions in these states hold no interception: their lines are history only.
    DEAD_STATES = [State.SUPERSEDED, State.VOID]

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="statements", verbose_name=_("merchant")
    )
    outlet = models.ForeignKey(Outlet, on_delete=models.PROTECT, related_name="statements", verbose_name=_("outlet"))
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"), help_text=_("Inclusive, in Asia/Shanghai dates."))
    reference = models.CharField(
        _("reference"), max_length=32, blank=True, help_text=_("Shared by every version of one statement.")
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_version",
        verbose_name=_("previous version"),
    )
    state = FSMField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT, protected=True)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    total = signed_money(_("total (yuan)"), default=Decimal("0.00"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered by the outlet at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("answered by"),
    )
    dispute_reason = models.TextField(_("dispute reason"), blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=PAYMENT_REFERENCE_LENGTH, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_amount = signed_money(_("amount paid (yuan)"), null=True, blank=True)
    difference_reason = models.TextField(_("reason for a different amount"), blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-id"]
        permissions = [
            ("generate_statement", _("Can generate statements")),
            ("issue_statement", _("Can issue, void and revise statements")),
            ("answer_statement", _("Can confirm or dispute statements")),
            ("settle_statement", _("Can record statement payments")),
            ("export_statement", _("Can export statements")),
            ("reconcile_statement", _("Can reconcile an outlet's bill")),
        ]
        constraints = [
            # New interceptions of a period are gathered on its one draft.
            models.UniqueConstraint(
                fields=["merchant", "outlet", "period_start", "period_end"],
                condition=Q(state="draft"),
                name="statement_one_draft_per_period",
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="statement_period_ordered"),
        ]
        indexes = [
            models.Index(fields=["state", "id"], name="statement_state_idx"),
            models.Index(fields=["outlet", "id"], name="statement_outlet_idx"),
            models.Index(fields=["merchant", "id"], name="statement_merchant_idx"),
            models.Index(fields=["period_start", "id"], name="statement_period_idx"),
        ]

    def __str__(self):
        return _("Statement %(number)s") % {"number": self.number}

    @property
    def number(self):
        return f"{self.reference}-v{self.version}"

    @transition(field=state, source=State.DRAFT, target=State.ISSUED, permission=requires("settlement.issue_statement"))
    def issue(self, *, by, at):
        self.issued_at = at

    @transition(field=state, source=State.DRAFT, target=State.VOID, permission=requires("settlement.issue_statement"))
    def void(self, *, by, at, reason=""):
        pass

    @transition(
        field=state, source=State.ISSUED, target=State.CONFIRMED, permission=requires("settlement.answer_statement")
    )
    def confirm(self, *, by, at):
        self.answered_by, self.answered_at = by, at

    @transition(
        field=state, source=State.ISSUED, target=State.DISPUTED, permission=requires("settlement.answer_statement")
    )
    def dispute(self, *, by, at, reason):
        self.answered_by, self.answered_at, self.dispute_reason = by, at, reason

    @transition(
        field=state,
        source=[State.ISSUED, State.DISPUTED],
        target=State.SUPERSEDED,
        permission=requires("settlement.issue_statement"),
    )
    def supersede(self, *, by, at, reason=""):
        pass

    @transition(
        field=state, source=State.CONFIRMED, target=State.SETTLED, permission=requires("settlement.settle_statement")
    )
    def settle(self, *, by, at, payment_reference, paid_at, paid_amount, difference_reason=""):
        self.payment_reference, self.paid_at, self.paid_amount = payment_reference, paid_at, paid_amount
        self.difference_reason = difference_reason

    @property
    def is_current(self):
        """A version that holds its interceptions: neither superseded by a newer one nor void."""
        return self.state not in self.DEAD_STATES


class StatementLine(models.Model):
    """A charged interception (its fee snapshot, R6) or an adjustment (signed amount with its reason)."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("interception")
        ADJUSTMENT = "adjustment", _("adjustment")

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("statement")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CHARGE)
    interception = models.ForeignKey(
        InterceptionOrder,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
        verbose_name=_("interception"),
    )
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    occurred_at = models.DateTimeField(_("result at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, blank=True)
    amount = signed_money(_("amount (yuan)"))
    reason = models.CharField(_("reason"), max_length=ADJUSTMENT_REASON_LENGTH, blank=True)
    # False once the statement is void or superseded: the line is history and its interception is free.
    live = models.BooleanField(_("current"), default=True)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "id"]
        constraints = [
            # An interception is on at most one statement that is not void or superseded.
            models.UniqueConstraint(
                fields=["interception"],
                condition=Q(live=True, kind="charge"),
                name="statementline_one_live_per_interception",
            ),
            models.CheckConstraint(
                condition=Q(kind="adjustment") | Q(interception__isnull=False),
                name="statementline_charge_has_interception",
            ),
            models.CheckConstraint(
                condition=Q(kind="charge") | ~Q(reason=""), name="statementline_adjustment_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["statement", "id"], name="statementline_order_idx")]

    def __str__(self):
        return f"{self.tracking_number or self.get_kind_display()} {self.amount}"


class BillFormat(models.Model):
    """The column names of a carrier's outlet bills (CSV or XLSX); defaults fit our own export."""

    carrier = models.OneToOneField(
        Carrier, on_delete=models.CASCADE, related_name="bill_format", verbose_name=_("carrier")
    )
    tracking_column = models.CharField(_("tracking number column"), max_length=64, default="tracking_number")
    date_column = models.CharField(_("date column"), max_length=64, default="date")
    fee_column = models.CharField(_("fee column"), max_length=64, default="fee")

    class Meta:
        verbose_name = _("outlet bill format")
        verbose_name_plural = _("outlet bill formats")

    def __str__(self):
        return str(self.carrier)


class Reconciliation(models.Model):
    """The outlet's own bill for a statement, matched line by line (three-way: bill, statement, contract)."""

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="reconciliations", verbose_name=_("statement")
    )
    file_name = models.TextField(_("file"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    bill_lines = models.PositiveIntegerField(_("lines in their bill"), default=0)
    bill_total = signed_money(_("their bill's total (yuan)"), default=Decimal("0.00"))
    statement_total = signed_money(_("our statement's total (yuan)"), default=Decimal("0.00"))

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-id"]

    def __str__(self):
        return _("Reconciliation #%(n)s of %(s)s") % {"n": self.pk, "s": self.statement}


class Difference(models.Model):
    """One tracking number's outcome in a reconciliation."""

    class Kind(models.TextChoices):
        MATCHED = "matched", _("matched")
        FEE_DIFFERS = "fee_differs", _("fee differs")
        ONLY_THEIRS = "only_theirs", _("only in their bill")
        ONLY_OURS = "only_ours", _("only in our statement")
        NOT_CHARGEABLE = "not_chargeable", _("not chargeable")
        DUPLICATE = "duplicate", _("duplicate line in their bill")

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="differences", verbose_name=_("reconciliation")
    )
    kind = models.CharField(_("class"), max_length=16, choices=Kind.choices)
    row = models.PositiveIntegerField(_("row in their file"), null=True, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40)
    billed_on = models.DateField(_("their date"), null=True, blank=True)
    their_fee = signed_money(_("their fee"), null=True, blank=True)
    our_fee = signed_money(_("our fee"), null=True, blank=True)
    contract_fee = signed_money(_("contract fee"), null=True, blank=True)
    interception = models.ForeignKey(
        InterceptionOrder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("interception"),
    )
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("reconciliation line")
        verbose_name_plural = _("reconciliation lines")
        ordering = ["reconciliation", "kind", "id"]
        indexes = [models.Index(fields=["reconciliation", "kind", "id"], name="difference_kind_idx")]

    def __str__(self):
        return f"{self.tracking_number} {self.get_kind_display()}"


class OnlineFee(models.Model):
    """R19: the fixed fee of a chargeable online interception, collected by the platform and passed on in full."""

    interception = models.OneToOneField(
        InterceptionOrder, on_delete=models.PROTECT, related_name="online_fee", verbose_name=_("interception")
    )
    month = models.DateField(_("month"), help_text=_("First day of the month of the result, Asia/Shanghai."))
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+", verbose_name=_("platform"))
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+", verbose_name=_("carrier"))
    outlet = models.ForeignKey(Outlet, on_delete=models.PROTECT, related_name="+", verbose_name=_("outlet"))
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"))
    collected = signed_money(_("collected by the platform (yuan)"))
    passed_on = signed_money(_("passed to the carrier (yuan)"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("online fee")
        verbose_name_plural = _("online fee ledger")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(passed_on=F("collected")), name="onlinefee_platform_keeps_nothing"),
            models.CheckConstraint(condition=Q(collected__gte=0), name="onlinefee_not_negative"),
        ]
        indexes = [
            models.Index(fields=["month", "carrier", "platform"], name="onlinefee_month_idx"),
            models.Index(fields=["outlet", "id"], name="onlinefee_outlet_idx"),
        ]

    def __str__(self):
        return f"{self.interception_id} {self.collected}"
