"""Domain actions of settlement (R19-R22). The admin, the API, imports and automation all call these."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from interception.models import ContractFee, InterceptionOrder, Merchant, Outlet, SettlementMode
from kernel import timeline
from kernel.errors import DomainError, refuse
from kernel.spreadsheets import FileErrors, FileRefused, read_table
from kernel.transitions import find, invalid_state, lock, require, take
from settlement import notify, rules, selectors
from settlement.models import (
    BillFormat,
    Difference,
    OnlineFee,
    Reconciliation,
    Statement,
    StatementLine,
)

ZERO = Decimal("0.00")
LINE_BATCH = 5000


def period_bounds(start, end):
    """The aware datetimes [from, until) of a period of Asia/Shanghai days."""
    tz = timezone.get_default_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def billable(*, merchant_id=None, outlet_id=None, period_start, period_end):
    """Chargeable offline interceptions with their result in the period that are on no current statement."""
    since, until = period_bounds(period_start, period_end)
    qs = InterceptionOrder.objects.filter(
        settlement_mode=SettlementMode.OFFLINE, chargeable=True, result_at__gte=since, result_at__lt=until
    )
    if merchant_id is not None:
        qs = qs.filter(merchant=merchant_id, outlet=outlet_id)
    return qs.filter(
        ~Exists(StatementLine.objects.filter(interception=OuterRef("pk"), live=True, kind=StatementLine.Kind.CHARGE))
    )


@dataclass
class Generated:
    merchant: object
    outlet: object
    statement: Statement | None
    added: int
    # The period's statement that was sent already: the new lines went on its new version or beside it.
    earlier: Statement | None = None

    @property
    def message(self):
        if self.statement is None:
            return _("%(m)s × %(o)s: nothing new to add for this period.") % {"m": self.merchant, "o": self.outlet}
        if self.earlier is not None and self.statement.previous_id == self.earlier.pk:
            return _(
                "%(o)s was issued already: %(n)s interceptions added on its new version %(s)s, issued to the outlet."
            ) % {"o": self.earlier.number, "n": self.added, "s": self.statement.number}
        if self.earlier is not None:
            return _(
                "%(o)s is %(state)s already: %(n)s interceptions go on a supplementary statement %(s)s (a draft)."
            ) % {
                "o": self.earlier.number,
                "state": self.earlier.get_state_display(),
                "n": self.added,
                "s": self.statement.number,
            }
        return _("%(s)s: %(n)s interceptions added.") % {"s": self.statement.number, "n": self.added}


def statement_generate(*, actor, merchant, outlet, period_start, period_end):
    """Gather a merchant × outlet's new chargeable offline interceptions of a period on its draft (R20, R22).

    When the period's statement has been issued already, a late result never makes a second statement
    silently: it goes on a new version of the issued one (R22), or, once the outlet confirmed it, on a
    supplementary draft; the result says which.
    """
    require(actor, "settlement.generate_statement")
    if problems := rules.period_problems(period_start, period_end):
        refuse(problems, status=400)
    with transaction.atomic():
        # One generation per merchant at a time: two would pick the same interceptions.
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        rows = list(
            billable(merchant_id=merchant.pk, outlet_id=outlet.pk, period_start=period_start, period_end=period_end)
            .order_by("result_at", "id")
            .values_list("pk", "tracking_number", "result_at", "state", "fee")
        )
        if not rows:
            return Generated(merchant, outlet, None, 0)
        lines = [
            StatementLine(interception_id=pk, tracking_number=tracking, occurred_at=at, result=state, amount=fee)
            for pk, tracking, at, state, fee in rows
        ]
        period = {"merchant": merchant, "outlet": outlet, "period_start": period_start, "period_end": period_end}
        statement = Statement.objects.filter(**period, state=Statement.State.DRAFT).first()
        earlier = None
        if statement is None:
            earlier = (
                Statement.objects.select_for_update()
                .filter(**period)
                .exclude(state__in=Statement.DEAD_STATES)
                .order_by("-id")
                .first()
            )
            if earlier is not None and can_proceed(earlier.supersede):
                new = _new_version(
                    earlier, actor, lines=lines, reason=_("%(n)s late interceptions added") % {"n": len(rows)}
                )
                return Generated(merchant, outlet, new, len(rows), earlier)
        created = statement is None
        if created:
            statement = Statement.objects.create(**period, created_by=actor)
            statement.reference = f"ST{period_start:%Y%m}-{statement.pk:06d}"
        for line in lines:
            line.statement = statement
        StatementLine.objects.bulk_create(lines, batch_size=LINE_BATCH)
        _refresh_totals(statement)
        timeline.record(
            statement,
            actor=actor,
            transition="generate" if created else "add_lines",
            to_state=statement.state,
            reason=_("%(n)s interceptions") % {"n": len(rows)},
        )
        return Generated(merchant, outlet, statement, len(rows), earlier)


def statement_generate_all(*, actor, period_start, period_end):
    """Generation for every merchant × outlet with something new in the period: one action (R22)."""
    require(actor, "settlement.generate_statement")
    if problems := rules.period_problems(period_start, period_end):
        refuse(problems, status=400)
    pairs = sorted(
        set(
            billable(period_start=period_start, period_end=period_end)
            .order_by()
            .values_list("merchant", "outlet")
            .distinct()
        )
    )
    merchants = Merchant.objects.in_bulk({m for m, _o in pairs})
    outlets = Outlet.objects.in_bulk({o for _m, o in pairs})
    return [
        statement_generate(
            actor=actor, merchant=merchants[m], outlet=outlets[o], period_start=period_start, period_end=period_end
        )
        for m, o in pairs
    ]


def _refresh_totals(statement):
    totals = statement.lines.aggregate(n=Count("id"), total=Sum("amount"))
    statement.line_count, statement.total = totals["n"], totals["total"] or ZERO
    statement.save()


def _lock(actor, statement_id):
    return lock(selectors.statement_list(actor), statement_id, what=_("Statement"))


@transaction.atomic
def statement_issue(*, statement_id, actor):
    statement = _lock(actor, statement_id)
    if can_proceed(statement.issue) and not statement.line_count:
        raise DomainError("statement_empty", _("An empty statement cannot be issued."))
    take(statement, "issue", actor=actor)
    notify.statement_issued(statement)
    return statement


@transaction.atomic
def statement_void(*, statement_id, actor, reason):
    """A draft that should not be sent: its interceptions become free for another statement."""
    statement = _lock(actor, statement_id)
    take(statement, "void", actor=actor, reason=reason, reason_for=_("void a statement"))
    statement.lines.update(live=False)
    return statement


@transaction.atomic
def statement_confirm(*, statement_id, actor):
    statement = _lock(actor, statement_id)
    take(statement, "confirm", actor=actor)
    notify.statement_answered(statement, disputed=False)
    return statement


@transaction.atomic
def statement_dispute(*, statement_id, actor, reason):
    statement = _lock(actor, statement_id)
    take(statement, "dispute", actor=actor, reason=reason, reason_for=_("dispute a statement"))
    notify.statement_answered(statement, disputed=True, reason=reason)
    return statement


@transaction.atomic
def statement_revise(*, statement_id, actor, adjustments, reason=""):
    """Answer a dispute (or correct an issued statement) with a new issued version: the lines are copied,
    the adjustments added; the old version stays readable, superseded (R22: never a silent edit)."""
    old = _lock(actor, statement_id)
    tracking_numbers = set(old.lines.exclude(tracking_number="").values_list("tracking_number", flat=True))
    if problems := rules.adjustment_problems(adjustments, tracking_numbers):
        refuse(problems, status=400)
    return _new_version(
        old,
        actor,
        reason=reason,
        lines=[
            StatementLine(
                kind=StatementLine.Kind.ADJUSTMENT,
                tracking_number=str(line.get("tracking_number") or "").strip().upper(),
                amount=rules.parse_amount(line["amount"]),
                reason=str(line["reason"]).strip(),
            )
            for line in adjustments
        ],
    )


def _new_version(old, actor, *, reason, lines):
    """Version N+1 of a locked statement with every line copied and `lines` added, issued; the old superseded."""
    at = take(old, "supersede", actor=actor, reason=reason)
    old.lines.update(live=False)
    # Issued at once: the outlet answers the new version as it answered the old one.
    new = Statement.objects.create(
        merchant_id=old.merchant_id,
        outlet_id=old.outlet_id,
        period_start=old.period_start,
        period_end=old.period_end,
        reference=old.reference,
        version=old.version + 1,
        previous=old,
        state=Statement.State.ISSUED,
        issued_at=at,
        created_by=actor,
        created_at=at,
    )
    copied = old.lines.order_by("id").values_list(
        "kind", "interception_id", "tracking_number", "occurred_at", "result", "amount", "reason"
    )
    StatementLine.objects.bulk_create(
        (
            StatementLine(
                statement=new,
                kind=kind,
                interception_id=interception,
                tracking_number=tracking,
                occurred_at=occurred,
                result=result,
                amount=amount,
                reason=why,
            )
            for kind, interception, tracking, occurred, result, amount, why in copied.iterator(chunk_size=LINE_BATCH)
        ),
        batch_size=LINE_BATCH,
    )
    for line in lines:
        line.statement = new
    StatementLine.objects.bulk_create(lines, batch_size=LINE_BATCH)
    _refresh_totals(new)
    timeline.record(
        new,
        actor=actor,
        transition="revise",
        to_state=new.state,
        at=at,
        reason=reason or _("replaces %(n)s") % {"n": old.number},
    )
    return new


@transaction.atomic
def statement_settle(*, statement_id, actor, payment_reference, paid_at, paid_amount, difference_reason=""):
    """Finance records the offline payment of a confirmed statement (R22)."""
    statement = _lock(actor, statement_id)
    if problems := rules.payment_problems(
        total=statement.total,
        amount=paid_amount,
        reference=payment_reference,
        difference_reason=difference_reason,
        paid_at=paid_at,
    ):
        refuse(problems, status=400)
    take(
        statement,
        "settle",
        actor=actor,
        reason=difference_reason,
        payment_reference=payment_reference.strip(),
        paid_at=paid_at,
        paid_amount=rules.parse_amount(paid_amount),
        difference_reason=difference_reason.strip(),
    )
    return statement


# --- reconciliation with the outlet's bill ---------------------------------------------------------------------------


def bill_columns(carrier):
    fmt = BillFormat.objects.filter(carrier=carrier).first() or BillFormat()
    return fmt.tracking_column, fmt.date_column, fmt.fee_column


def read_bill(uploaded, columns):
    """Every line of the outlet's file, or a refusal naming the first bad rows and columns, with their total
    (nothing is kept)."""
    table = read_table(uploaded, required_columns=list(columns))
    lines, errors, shared = [], FileErrors(), {}
    for number, values in table:
        if not any(str(v or "").strip() for v in values):
            continue
        line, problems = rules.parse_bill_row(number, dict(zip(table.columns, values)), columns)
        for problem in problems:
            errors.add({**problem.as_dict(), "row": number})
        if line:  # a bill holds few distinct dates and fees: one object each instead of one per line
            lines.append(
                rules.BillLine(
                    line.row,
                    line.tracking_number,
                    shared.setdefault(line.billed_on, line.billed_on),
                    shared.setdefault(line.fee, line.fee),
                )
            )
    if errors:
        first = errors.listed[0]
        raise FileRefused(first["code"], first["message"], errors=errors, status=400)
    if not lines:
        raise DomainError("file_empty", _("The file has no bill lines."), status=400)
    return lines


@transaction.atomic
def reconciliation_run(*, statement_id, actor, uploaded, file_name=""):
    """Match the outlet's bill against the statement and the contract fee; classify every line."""
    require(actor, "settlement.reconcile_statement")
    statement = find(selectors.statement_list(actor), statement_id, what=_("Statement"))
    if not statement.is_current:
        raise invalid_state(statement.get_state_display())
    bill = read_bill(uploaded, bill_columns(statement.outlet.carrier_id))
    ours = _our_lines(statement)
    # (pk, chargeable, state) of the merchant's other interceptions at this outlet that the bill names.
    others = {
        tracking: rest
        for tracking, *rest in InterceptionOrder.objects.filter(
            merchant=statement.merchant_id,
            outlet=statement.outlet_id,
            tracking_number__in=[b.tracking_number for b in bill if b.tracking_number not in ours],
        ).values_list("tracking_number", "pk", "chargeable", "state")
    }
    reconciliation = Reconciliation.objects.create(
        statement=statement,
        file_name=file_name or getattr(uploaded, "name", "") or "bill",
        uploaded_by=actor,
        bill_lines=len(bill),
        bill_total=sum((b.fee for b in bill), ZERO),
        statement_total=statement.total,
    )
    batch = []
    for diff in _differences(bill, ours, others):
        diff.reconciliation = reconciliation
        diff.detail = str(diff.detail)
        batch.append(diff)
        if len(batch) == LINE_BATCH:  # written as they come: a bill at the row limit is never all in memory
            Difference.objects.bulk_create(batch)
            batch = []
    Difference.objects.bulk_create(batch)
    notify.reconciliation_differs(reconciliation)
    timeline.record(
        statement,
        actor=actor,
        transition="reconcile",
        from_state=statement.state,
        to_state=statement.state,
        reason=reconciliation.file_name,
    )
    return reconciliation


def _differences(bill, ours, others):
    """One Difference per line of their bill, then one per line of ours they did not bill."""
    D, seen = Difference.Kind, set()
    for line in bill:
        diff = Difference(
            row=line.row, tracking_number=line.tracking_number, billed_on=line.billed_on, their_fee=line.fee
        )
        if line.tracking_number in seen:
            diff.kind, diff.detail = D.DUPLICATE, _("billed again in the same file")
            yield diff
            continue
        seen.add(line.tracking_number)
        if line.tracking_number in ours:
            amount, interception, diff.contract_fee = ours[line.tracking_number]
            diff.our_fee, diff.interception_id = amount, interception
            diff.kind = D.MATCHED if line.fee == amount else D.FEE_DIFFERS
            if diff.kind == D.FEE_DIFFERS:
                diff.detail = _("they bill %(t)s, we count %(o)s") % {"t": line.fee, "o": amount}
            yield diff
            continue
        pk, chargeable, state = others.get(line.tracking_number, (None, None, None))
        diff.interception_id = pk
        if pk is not None and not chargeable:
            diff.kind = D.NOT_CHARGEABLE
            # R21: what the contract charges for decides, not the state alone.
            diff.detail = _("interception #%(n)s is %(s)s: not chargeable under the contract") % {
                "n": pk,
                "s": InterceptionOrder.State(state).label,
            }
        else:
            diff.kind = D.ONLY_THEIRS
            diff.detail = (
                (_("interception #%(n)s is not on this statement (other period or statement)") % {"n": pk})
                if pk
                else _("no interception of ours with this tracking number")
            )
        yield diff
    for tracking, (amount, interception, contract_fee) in ours.items():
        if tracking not in seen:
            yield Difference(
                kind=D.ONLY_OURS,
                tracking_number=tracking,
                our_fee=amount,
                interception_id=interception,
                contract_fee=contract_fee,
                detail=_("not in their bill"),
            )


def _our_lines(statement):
    """Tracking number -> (the amount we count: its charge plus its adjustments, its interception, the contract's
    fee in force when the interception started (R6): the third column of the match)."""
    in_force = ContractFee.objects.filter(
        contract=OuterRef("interception__contract"), effective_from__lte=OuterRef("interception__requested_at")
    )
    lines = (
        statement.lines.exclude(tracking_number="")
        .annotate(contract_fee=Subquery(in_force.order_by("-effective_from", "-id").values("fee")[:1]))
        .values_list("tracking_number", "amount", "interception_id", "contract_fee")
    )
    ours, shared = {}, {}
    for tracking, amount, interception, fee in lines.iterator(chunk_size=LINE_BATCH):
        total, known, known_fee = ours.get(tracking, (ZERO, None, None))
        total = total + amount
        # A statement holds few distinct amounts: one object each instead of one per line.
        ours[tracking] = (
            shared.setdefault(total, total),
            known or interception,
            known_fee if known else shared.setdefault(fee, fee),
        )
    return ours


# --- online fee ledger (R19) -----------------------------------------------------------------------------------------


def online_fee_record(*, order):
    """A chargeable online interception's fee: collected by the platform, passed to the carrier in full (R19)."""
    if not order.chargeable or order.settlement_mode != SettlementMode.ONLINE or order.result_at is None:
        return None
    month = timezone.localtime(order.result_at).date().replace(day=1)
    entry, _created = OnlineFee.objects.get_or_create(
        interception=order,
        defaults={
            "month": month,
            "platform_id": order.platform_id,
            "carrier_id": order.carrier_id,
            "outlet_id": order.outlet_id,
            "merchant_id": order.merchant_id,
            "collected": order.fee,
            "passed_on": order.fee,
        },
    )
    return entry
