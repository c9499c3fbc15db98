"""What settlement tells people (docs/notifications.md): a statement issued to its outlet, the outlet's answer
(confirmed or disputed) and a reconciliation with differences to finance. Called in the transaction of the action."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from notifications import enqueue, in_portal_language
from notifications.models import Audience
from settlement.models import Difference


def _line(statement):
    return _("%(merchant)s · %(start)s – %(end)s · total %(total)s yuan") % {
        "merchant": statement.merchant,
        "start": statement.period_start,
        "end": statement.period_end,
        "total": statement.total,
    }


def _link(statement):
    return reverse("admin:settlement_statement_change", args=[statement.pk])


@in_portal_language
def statement_issued(statement):
    enqueue(
        event="statement.issued",
        audience=Audience.OUTLET,
        outlet_id=statement.outlet_id,
        title=_("Statements issued to you: please confirm or dispute"),
        line=_line(statement),
        link=_link(statement),
        subject=statement,
    )


@in_portal_language
def statement_answered(statement, *, disputed, reason=""):
    title = _("Statements disputed by the outlet") if disputed else _("Statements confirmed by the outlet")
    line = _line(statement)
    enqueue(
        event="statement.disputed" if disputed else "statement.confirmed",
        audience=Audience.FINANCE,
        title=title,
        line=f"{statement.outlet} · {line}" + (f" · {reason}" if reason else ""),
        link=_link(statement),
        subject=statement,
    )


@in_portal_language
def reconciliation_differs(reconciliation):
    """The outlet's bill and our statement disagree somewhere: finance looks at the lines that differ."""
    differing = reconciliation.differences.exclude(kind=Difference.Kind.MATCHED).count()
    if not differing:
        return 0
    statement = reconciliation.statement
    return enqueue(
        event="reconciliation.differs",
        audience=Audience.FINANCE,
        title=_("Reconciliations with differences"),
        line=_("%(outlet)s · %(line)s · %(n)s lines differ")
        % {"outlet": statement.outlet, "line": _line(statement), "n": differing},
        link=reverse("admin:settlement_reconciliation_change", args=[reconciliation.pk]),
        subject=reconciliation,
    )
