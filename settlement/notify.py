"""What settlement tells people (docs/notifications.md): a statement issued to its outlet, and the outlet's
answer (confirmed or disputed) to finance. Called in the transaction of the action."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from notifications import enqueue, in_portal_language
from notifications.models import Audience


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
