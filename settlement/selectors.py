"""Querysets of settlement, scoped like interception's: outlet staff see their outlets' statements only."""

from django.db.models import Count, Sum

from interception.selectors import scope_filter
from settlement.models import (
    Difference,
    OnlineFee,
    Reconciliation,
    Statement,
    StatementLine,
)


def _scoped(qs, user, prefix=""):
    if user is None:  # the system
        return qs
    return qs.filter(
        scope_filter(user, outlet=f"{prefix}outlet", merchant=f"{prefix}merchant", carrier=f"{prefix}outlet__carrier")
    )


def statement_list(user):
    return _scoped(Statement.objects.select_related("merchant", "outlet", "outlet__carrier"), user)


def statement_line_list(user):
    return _scoped(StatementLine.objects.select_related("statement"), user, "statement__")


def reconciliation_list(user):
    return _scoped(
        Reconciliation.objects.select_related("statement", "statement__merchant", "statement__outlet", "uploaded_by"),
        user,
        "statement__",
    )


def difference_list(user):
    return _scoped(
        Difference.objects.select_related("reconciliation", "reconciliation__statement"),
        user,
        "reconciliation__statement__",
    )


def reconciliation_summary(reconciliation):
    """Per class: how many lines, their amounts and ours, in the order of Difference.Kind."""
    rows = {
        r["kind"]: r
        for r in reconciliation.differences.order_by()
        .values("kind")
        .annotate(lines=Count("id"), theirs=Sum("their_fee"), ours=Sum("our_fee"))
    }
    return [
        {"kind": kind, "label": label, **rows.get(kind, {"lines": 0, "theirs": None, "ours": None})}
        for kind, label in Difference.Kind.choices
    ]


def online_fee_list(user):
    return _scoped(OnlineFee.objects.select_related("platform", "carrier", "outlet", "merchant"), user)


def online_fee_totals(user, *, month_from=None, month_to=None):
    """R19: per month × carrier × platform, what the platform collected and what it passed on."""
    qs = online_fee_list(user).order_by()
    if month_from:
        qs = qs.filter(month__gte=month_from)
    if month_to:
        qs = qs.filter(month__lte=month_to)
    return (
        qs.values("month", "carrier__name", "platform__name")
        .annotate(interceptions=Count("id"), collected=Sum("collected"), passed_on=Sum("passed_on"))
        .order_by("-month", "carrier__name", "platform__name")
    )
